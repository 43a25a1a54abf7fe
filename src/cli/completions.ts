/**
 * Shell completion scripts for bash, zsh and fish, generated from the adapter registry and the
 * option definitions, so that a new adapter completes without touching this file.
 *
 * @example
 * ```sh
 * source <(dsync completions bash)
 * ```
 * @module
 */
import { UsageError } from "../model/errors.ts";
import { listImporters, listPairs } from "../app/registry.ts";
import type { Importer } from "../adapter_kit/importer.ts";
import { optionApplies } from "./help.ts";

/** Long and short flags of an adapter's options, all or those of one role. */
function adapterFlags(importer: Importer, role?: "source" | "target"): string {
  return importer.options.filter((o) => role === undefined || optionApplies(o, role))
    .flatMap((o) => longFlags(o.flags)).join(" ");
}

/** What the scripts complete. */
export interface CompletionSpec {
  /** Options of every pair command, long and short forms. */
  common: string[];
  /** Values of `--format`. */
  formats: string[];
  /** Other subcommands. */
  commands: string[];
}

function longFlags(flags: string): string[] {
  return flags.split(/[ ,|]+/).filter((f) => f.startsWith("-"));
}

function bash(spec: CompletionSpec): string {
  // Per adapter: all its options (both sides of a pair), and those of each role.
  const adapterVars = listImporters().map((i) =>
    `_dsync_opts_${i.name}="${adapterFlags(i)}"\n` +
    `_dsync_src_opts_${i.name}="${adapterFlags(i, "source")}"\n` +
    `_dsync_tgt_opts_${i.name}="${adapterFlags(i, "target")}"`
  );
  return `# dsync bash completion: source <(dsync completions bash)
_dsync_pairs="${listPairs().join(" ")}"
_dsync_common="${spec.common.join(" ")}"
${adapterVars.join("\n")}
_dsync() {
  local line="\${COMP_LINE:0:\$COMP_POINT}"
  local cur="\${line##*[[:space:]]}"
  local words=(\$line)
  local count=\${#words[@]}
  [[ "\$line" =~ [[:space:]]\$ ]] && count=\$((count + 1))
  local prev="\${words[count-2]}"
  local candidates
  if [ "\$count" -le 2 ]; then
    candidates="\$_dsync_pairs ${spec.commands.join(" ")} --help --version"
  elif [ "\$prev" = "--format" ]; then
    candidates="${spec.formats.join(" ")}"
  elif [ "\${words[1]}" = "completions" ]; then
    candidates="bash zsh fish"
  elif [[ "\$cur" == -* ]]; then
    local pair="\${words[1]}" src tgt
    src="_dsync_src_opts_\${pair%%:*}"
    tgt="_dsync_tgt_opts_\${pair##*:}"
    if [ "\${pair%%:*}" = "\${pair##*:}" ]; then
      src="_dsync_opts_\${pair%%:*}"
      tgt=_dsync_none
    fi
    candidates="\$_dsync_common \${!src} \${!tgt}"
  else
    COMPREPLY=(\$(compgen -f -- "\$cur"))
    return
  fi
  COMPREPLY=(\$(compgen -W "\$candidates" -- "\$cur"))
  # bash splits words at ':'; drop the part of a pair before the cursor's colon
  if [[ "\$cur" == *:* ]]; then
    local prefix="\${cur%"\${cur##*:}"}"
    COMPREPLY=("\${COMPREPLY[@]#"\$prefix"}")
  fi
}
complete -o default -F _dsync dsync
`;
}

function zsh(spec: CompletionSpec): string {
  return `# dsync zsh completion: source <(dsync completions zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(spec)}`;
}

function fish(spec: CompletionSpec): string {
  const lines = [
    "# dsync fish completion: dsync completions fish | source",
    "complete -c dsync -f",
    `complete -c dsync -n __fish_use_subcommand -a "${
      [...listPairs(), ...spec.commands].join(" ")
    }"`,
  ];
  const option = (flag: string, condition: string) => {
    const name = flag.replace(/^-+/, "");
    const kind = flag.startsWith("--") ? "-l" : "-s";
    return `complete -c dsync -n "${condition}" ${kind} ${name}`;
  };
  const anyPair = `__fish_seen_subcommand_from ${listPairs().join(" ")}`;
  for (const flag of spec.common) lines.push(option(flag, anyPair));
  lines.push(
    `complete -c dsync -n "${anyPair}; and __fish_prev_arg_in --format" -a "${
      spec.formats.join(" ")
    }"`,
  );
  lines.push(`complete -c dsync -n "${anyPair}" -F`);
  for (const importer of listImporters()) {
    for (const o of importer.options) {
      const pairs = listPairs().filter((p) => {
        const [source, target] = p.split(":");
        return (source === importer.name && optionApplies(o, "source")) ||
          (target === importer.name && optionApplies(o, "target"));
      });
      for (const flag of longFlags(o.flags)) {
        lines.push(option(flag, `__fish_seen_subcommand_from ${pairs.join(" ")}`));
      }
    }
  }
  lines.push(`complete -c dsync -n "__fish_seen_subcommand_from completions" -a "bash zsh fish"`);
  return lines.join("\n") + "\n";
}

/** The completion script for `shell`. */
export function completionScript(shell: string, spec: CompletionSpec): string {
  switch (shell) {
    case "bash":
      return bash(spec);
    case "zsh":
      return zsh(spec);
    case "fish":
      return fish(spec);
  }
  throw new UsageError(`completions: unknown shell '${shell}'`, "expected bash, zsh or fish");
}

/** Long and short forms of option flag strings such as `"-k, --key <cols>"`. */
export function optionFlags(flags: string[]): string[] {
  return flags.flatMap(longFlags);
}
