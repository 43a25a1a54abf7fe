/**
 * What `dsync --help`, `dsync SRC:TGT --help` and the man page say, from one set of definitions:
 * the commands, the environment variables, the exit codes and the examples. Grouped like git:
 * commands first, then the pairs as one line (the registry has dozens), then examples.
 *
 * @example
 * ```ts
 * console.log(topHelp());
 * ```
 * @module
 */
import type { AdapterOption, Importer } from "../adapter_kit/importer.ts";
import { listImporters } from "../app/registry.ts";

/** A command line form with what it does. */
export interface CommandHelp {
  usage: string;
  description: string;
}

/** The commands, in the order help lists them. */
export const COMMANDS: CommandHelp[] = [
  {
    usage: "<src>:<tgt> SOURCE [TARGET]",
    description: "sync SOURCE into TARGET (-n: only print the change set)",
  },
  { usage: "diff A B", description: "the changes that turn A into B; changes nothing" },
  { usage: "apply <tgt> TARGET [PLAN|-]", description: "apply a saved change set (NDJSON)" },
  { usage: "run CONFIG [PIPELINE...]", description: "run pipelines from a YAML config file" },
  { usage: "schema", description: "print the config file's JSON Schema (for editors)" },
  {
    usage: "capture install|remove|follow SOURCE",
    description: "change capture on a SQL table, for --strategy changes",
  },
  { usage: "adapters [--format json]", description: "list adapters, locators, options, pairs" },
  { usage: "completions bash|zsh|fish", description: "print a shell completion script" },
  { usage: "help [--man] [COMMAND]", description: "this help; --man: the man page (roff)" },
];

/** Environment variables dsync reads. */
export const ENVIRONMENT: [string, string][] = [
  ["DATABASE_URL", "PostgreSQL connection when a locator has no URL"],
  ["PG*", "libpq's PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD; also ~/.pgpass"],
  ["DSYNC_WEBHOOK_SECRET", "webhook signing key when --secret is not given"],
  ["NO_COLOR", "no colour on a terminal (--color always wins)"],
  ["FORCE_COLOR", "colour even in a pipe or file (--color never wins)"],
  ["COLUMNS", "table width when stdout is no terminal"],
  ["TMPDIR", "where spill files go (unlinked at once)"],
  ["DSYNC_SPILL_RECORDS", "records held in memory before spilling to disk (1000000)"],
  ["DSYNC_STRATEGY", "default --strategy; hash-join: force the hash join in dsync"],
];

/** Exit codes, as SPEC.md defines them. */
export const EXIT_CODES: [number, string][] = [
  [0, "success: changes applied, or nothing to do"],
  [1, "differences found: with --exit-code, and from diff (as diff(1))"],
  [2, "usage or input error; nothing written"],
  [3, "a safety limit refused the change set; nothing applied"],
  [4, "the target failed while applying; rolled back where transactional"],
  [5, "plan conflict in dsync apply; nothing applied"],
];

/** Examples of the top-level help. */
export const EXAMPLES: [string, string][] = [
  ["dsync csv:sqlite users.csv app.db#users", "load or re-sync a table"],
  ["dsync csv:pg users.csv public.users -n", "what would change, as a table or NDJSON"],
  ["dsync diff old.csv new.csv", "keyed diff of two files"],
  ["dsync sqlite:csv app.db#users out.csv", "export a table"],
  ["dsync csv:pg users.csv users -n -o plan.ndjson", "save a plan ..."],
  ["dsync apply pg users plan.ndjson", "... and apply it later"],
];

/** Example locators by adapter, for a pair's examples; others use their locator text. */
const SAMPLE_LOCATORS: Record<string, { source: string; target: string }> = {
  csv: { source: "users.csv", target: "users.csv" },
  ndjson: { source: "users.ndjson", target: "users.ndjson" },
  json: { source: "users.json", target: "users.json" },
  xlsx: { source: "book.xlsx#Users", target: "book.xlsx#Users" },
  sqlite: { source: "app.db#users", target: "app.db#users" },
  postgres: { source: "public.users", target: "public.users" },
  http: { source: "https://api.example.org/users", target: "https://api.example.org/users" },
  webhook: { source: "", target: "https://hooks.example.org/dsync --state hook.db" },
};

function sample(importer: Importer, role: "source" | "target"): string {
  const known = SAMPLE_LOCATORS[importer.name]?.[role];
  if (known) return known;
  return role === "source" ? "SOURCE" : "TARGET";
}

/**
 * Whether an adapter option applies when the adapter plays `role`: its declared
 * {@linkcode AdapterOption.role}, or both roles when it declares none (a target is read as well
 * as written).
 */
export function optionApplies(option: AdapterOption, role: "source" | "target"): boolean {
  return option.role === undefined || option.role === role;
}

/** Two or three examples for one pair, with its own locators. */
export function pairExamples(source: Importer, target: Importer): string {
  const pair = `dsync ${source.name}:${target.name} ${sample(source, "source")} ${
    sample(target, "target")
  }`;
  const lines: [string, string][] = [
    [`${pair} -n`, "print the change set, change nothing"],
    [`${pair} --key id`, "apply it, records paired by id"],
    [`${pair} --delete --max-delete 5%`, "also delete what the source lacks, at most 5%"],
  ];
  if (source.options.some((o) => o.flags.startsWith("--where"))) {
    lines[1] = [`${pair} --where "active"`, "only the source rows matching a condition"];
  }
  return "examples:\n" + lines.map(([command, text]) => `  # ${text}\n  ${command}\n`).join("");
}

/** `rows` as two aligned columns, indented by two. */
function columns(rows: [string, string][], indent = "  "): string {
  const width = Math.min(Math.max(...rows.map(([left]) => left.length)) + 2, 48);
  return rows.map(([left, right]) =>
    left.length + 2 > width
      ? `${indent}${left}\n${indent}${" ".repeat(width)}${right}\n`
      : `${indent}${left.padEnd(width)}${right}\n`
  ).join("");
}

/** The adapters as `csv, ndjson, ..., webhook (target only)`, for the pairs line. */
export function adapterList(): string {
  return listImporters().map((i) =>
    i.name + (!i.openSource ? " (target only)" : !i.openTarget ? " (source only)" : "")
  ).join(", ");
}

/** The whole of `dsync --help`. */
export function topHelp(): string {
  return `usage: dsync <src>:<tgt> SOURCE [TARGET] [options]
       dsync <command> [args] [options]

Keep a target in step with a source: pair records by key, then create, update and
delete on the target until they agree (or print the change set).

commands:
${columns(COMMANDS.map((c) => [c.usage, c.description]))}
pairs: any of ${adapterList()} as SRC:TGT,
  e.g. csv:sqlite, pg:csv, http:postgres (see \`dsync adapters\`;
  \`dsync SRC:TGT --help\` shows one pair's options and examples)

examples:
${columns(EXAMPLES)}
environment:
${columns(ENVIRONMENT)}
exit codes:
${columns(EXIT_CODES.map(([code, text]) => [String(code), text]), "  ")}
options: -h, --help   this help;  -V, --version   the version
`;
}
