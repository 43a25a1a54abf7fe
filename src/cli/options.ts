/**
 * The options of the commands: the common ones every pair takes, and how an adapter's options
 * join a command (each once, repeatable `<value...>` flags one value per flag).
 *
 * @module
 */
import { type Command, Option } from "commander";
import type { Importer } from "../adapter_kit/importer.ts";
import { optionApplies } from "./help.ts";

/** Options every pair command takes, in help order. */
export const COMMON_OPTIONS: { flags: string; description: string; defaultValue?: string }[] = [
  {
    flags: "-k, --key <cols>",
    description:
      "key fields, comma separated (default: target primary key, else source primary key, else id)",
  },
  { flags: "--fields <cols>", description: "only these fields are compared and written" },
  { flags: "--exclude <cols>", description: "these fields are neither compared nor written" },
  {
    flags: "--map <src=dst...>",
    description: "rename a source field to a target field (repeatable)",
  },
  { flags: "--no-create", description: "do not create missing records" },
  { flags: "--no-update", description: "do not update differing records" },
  {
    flags: "--delete",
    description: "delete target records missing from the source (off: only reported)",
  },
  { flags: "--max-create <n>", description: "refuse more creates than N or N% of the target" },
  { flags: "--max-update <n>", description: "refuse more updates than N or N% of the target" },
  { flags: "--max-delete <n>", description: "refuse more deletes than N or N% of the target" },
  { flags: "--max-changes <n>", description: "refuse more changes than N or N% of the target" },
  {
    flags: "--create-table",
    description:
      "create a missing target table even in PostgreSQL's implicit default database (no URL, DATABASE_URL or PG*)",
  },
  {
    flags: "--no-create-table",
    description: "fail instead of creating a missing target table or file",
  },
  {
    flags: "--strategy <name>",
    description:
      "how records are paired: auto (default), merge (both sides read into dsync), hash (checksum bisection between SQL databases), join (inside one database), or changes (only the keys change capture recorded: dsync capture install)",
  },
  {
    flags: "--mode <mode>",
    description:
      "how the target is loaded: sync|full-refresh|truncate|snapshot|append|incremental|backfill (default sync)",
  },
  {
    flags: "--merge-strategy <s>",
    description:
      "how changes are written: upsert|insert|update|delete_insert|collapse (default upsert)",
  },
  {
    flags: "--update-key <col>",
    description: "incremental/backfill: the source field that grows with every change",
  },
  { flags: "--range <from..to>", description: "backfill: inclusive range of the update key" },
  {
    flags: "--add-columns",
    description: "add source fields the target lacks as new columns (default off)",
  },
  { flags: "--sign-column <col>", description: "collapse: the sign column (default sign)" },
  { flags: "-n, --dry-run", description: "compute and print the change set; change nothing" },
  {
    flags: "--format <fmt>",
    description:
      "stdout: ndjson|json|table|summary|sql|html (default: table on a terminal, else ndjson; cron: summary, one JSON line per run)",
  },
  {
    flags: "-o, --output <file>",
    description: "write the change set to FILE instead of stdout (-: stdout)",
  },
  {
    flags: "--color <when>",
    description: "colour the table: auto (the stream written is a terminal), always, never",
  },
  { flags: "--exit-code", description: "with --dry-run: exit 1 when there are differences" },
  {
    flags: "--watch",
    description: "repeat the sync until SIGTERM/SIGINT (a file source: also when it changes)",
  },
  {
    flags: "--every <duration>",
    description: "with --watch: time between rounds: 500ms, 30s, 5m, 1h (default 60s)",
  },
  {
    flags: "--batch-size <n>",
    description: "records per read/write round trip",
    defaultValue: "5000",
  },
  {
    flags: "-q, --quiet",
    description: "stderr: errors only (with --format summary: one JSON line per run, nothing else)",
  },
  { flags: "-v, --verbose", description: "stderr: more detail (stack traces on errors)" },
  { flags: "--progress", description: "progress on stderr (default: on a terminal)" },
  { flags: "--no-progress", description: "no progress on stderr" },
];

/**
 * Adds an option. A `<value...>` option is repeatable, one value per flag (`-H a -H b`), and
 * never takes the positional words that follow it.
 */
export function addOption(
  command: Command,
  flags: string,
  description: string,
  defaultValue?: string,
) {
  const repeatable = flags.includes("...>");
  const option = new Option(flags.replace("...>", ">"), description);
  if (repeatable) {
    option.argParser((
      value: string,
      previous: string[] | undefined,
    ) => [...(previous ?? []), value]);
  }
  if (defaultValue !== undefined) option.default(defaultValue);
  command.addOption(option);
}

/** The options of a pair's two adapters that apply to their roles, each once. */
export function pairOptions(source: Importer, target: Importer) {
  const seen = new Set<string>();
  return [
    ...source.options.filter((o) => optionApplies(o, "source")),
    ...target.options.filter((o) => optionApplies(o, "target")),
  ].filter((o) => !seen.has(o.flags) && !!seen.add(o.flags));
}

/** Adds the options of `importers` that `command` does not have yet, each once. */
export function addAdapterOptions(command: Command, importers: readonly Importer[]): void {
  const longFlag = (flags: string) => flags.match(/--[\w-]+/)?.[0];
  const seen = new Set(command.options.map((o) => o.long));
  for (const o of importers.flatMap((i) => i.options)) {
    if (seen.has(longFlag(o.flags))) continue;
    seen.add(longFlag(o.flags));
    addOption(command, o.flags, o.description, o.defaultValue);
  }
}
