/**
 * The bad-input corpus of the fault suite (issue 22): sources that dsync must refuse, each run
 * against a target that already holds data. Every input must give exit 2, one error line (hints
 * indented below it) that names the file, the line or record, the field and the value where they
 * exist, no stack trace, and leave the target exactly as it was: every file of the run's folder
 * (the SQLite database, the CSV target, no journal or temporary file left) and, for PostgreSQL,
 * the table's rows, compared by checksum before and after.
 *
 * `scripts/faults.ts` runs all of it (`deno task faults`); tests/faults_test.ts runs the file
 * targets (no server) with the test suite.
 *
 * @example
 * ```ts ignore
 * const row = await runCorpus(dir, { run: dsync, pgUrl, log: console.error });
 * row.trials; // inputs run; row.failed: those that broke a rule, each named in row.notes
 * ```
 * @module
 */
import type { FaultRow } from "./faults.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Where a corpus input is synced to. */
type TargetKind = "sqlite" | "new-sqlite" | "csv" | "new-csv" | "pg";

/** One bad input. */
export interface BadInput {
  name: string;
  /** Source files: name → content, or `{ fixture }`: a file of tests/fixtures. */
  files: Record<string, string | Uint8Array | { fixture: string }>;
  /** Pair, source locator and options; the target locator is added by `target`. */
  args: string[];
  target: TargetKind;
  /** Texts the error line must hold: the file and line, the field, the value. */
  says: string[];
  /** Texts its hint (the indented lines below it) must hold. */
  hints?: string[];
  /** SQL run with sqlite3 on `src.db` first (a SQLite source). */
  sqliteSource?: string;
}

const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(
    parts.flatMap((p) => typeof p === "string" ? [...new TextEncoder().encode(p)] : p),
  );

/** A CSV source `name` with header `id,FIELD` and one record with `value` (quoted). */
function typed(field: string, value: string, target: "sqlite" | "pg", why = ""): BadInput {
  const file = `${target}_${field}_${value.replace(/[^a-z0-9]/gi, "")}.csv`;
  return {
    name: `${target} ${field} = ${JSON.stringify(value)}${why ? ` (${why})` : ""}`,
    files: { [file]: `id,${field}\n1,"${value.replaceAll('"', '""')}"\n` },
    args: [`csv:${target}`, file],
    target,
    says: [`${file}:2`, `'${field}'`, value],
  };
}

/** Every input, by target: files, types of a SQLite table, types of a PostgreSQL table. */
export const CORPUS: BadInput[] = [
  // CSV structure (target: SQLite).
  ...([
    ["duplicate key", "id,name,n\n1,a,1\n1,b,2\n", ["dup.csv:2", "dup.csv:3", "id=1"]],
    ["duplicate key, leading zero", "id,name,n\n1,a,1\n01,b,2\n", ["dup.csv:3", "id=1"]],
    ["empty key", "id,name,n\n,a,1\n", ["dup.csv:2", "'id'", "empty"]],
    ["more fields than the header", "id,name,n\n1,a,1,9\n", ["dup.csv:2", "4 fields"]],
    ["fewer fields than the header", "id,name,n\n1,a\n", ["dup.csv:2", "2 fields"]],
    ["unclosed quote", 'id,name,n\n1,"a,1\n', ["dup.csv:2", "never closed"]],
    ["quote inside an unquoted field", 'id,name,n\n1,a"b,1\n', ["dup.csv:2", "field 2"]],
    ["empty file", "", ["dup.csv", "empty file"]],
    ["header names a field twice", "id,id,n\n1,2,3\n", ["dup.csv:1", "'id'", "twice"]],
    ["header column without a name", "id,,n\n1,2,3\n", ["dup.csv:1", "column 2"]],
    ["no key field", "x,name\n1,a\n", ["dup.csv", "'id'"]],
    ["semicolon-delimited", "id;name;n\n1;a;1\n", ["'id'", "dup.csv"], ["--delimiter ';'"]],
    ["tab-delimited", "id\tname\tn\n1\ta\t1\n", ["'id'", "dup.csv"], ["tab-delimited"]],
    ["empty key field in a later record", "id,name,n\n1,a,1\n2,b,2\n,c,3\n", ["dup.csv:4", "'id'"]],
  ] as [string, string, string[], string[]?][]).map(([name, text, says, hints]): BadInput => ({
    name: `csv: ${name}`,
    files: { "dup.csv": text },
    args: ["csv:sqlite", "dup.csv"],
    target: "sqlite",
    says,
    hints,
  })),
  {
    name: "csv: invalid UTF-8",
    files: { "u.csv": bytes("id,name,n\n1,", [0xff, 0xfe], ",1\n") },
    args: ["csv:sqlite", "u.csv"],
    target: "sqlite",
    says: ["u.csv", "line 2", "utf-8"],
  },
  {
    name: "csv: invalid UTF-8 after a BOM",
    files: { "u.csv": bytes([0xef, 0xbb, 0xbf], "id,name,n\n1,a,", [0xc3], "\n") },
    args: ["csv:sqlite", "u.csv"],
    target: "sqlite",
    says: ["u.csv", "line 2"],
  },
  {
    name: "csv: a folder as the source",
    files: { "folder/keep.csv": "id\n1\n" },
    args: ["csv:sqlite", "folder"],
    target: "sqlite",
    says: ["folder", "is a folder"],
  },
  {
    name: "csv: no such file",
    files: {},
    args: ["csv:sqlite", "missing.csv"],
    target: "sqlite",
    says: ["missing.csv", "No such file"],
  },
  // Into a database file that does not exist yet: none may be left behind (not even 0 bytes).
  {
    name: "csv → new SQLite file: duplicate key",
    files: { "s.csv": "id,name\n1,a\n1,b\n" },
    args: ["csv:sqlite", "s.csv"],
    target: "new-sqlite",
    says: ["s.csv:2", "s.csv:3", 'id="1"'],
  },
  {
    name: "ndjson → new SQLite file: malformed line",
    files: { "s.ndjson": '{"id":1}\n{"id":\n' },
    args: ["ndjson:sqlite", "s.ndjson"],
    target: "new-sqlite",
    says: ["s.ndjson:2", "not valid JSON"],
  },
  // CSV into CSV: the target file is rewritten only after the whole source is read.
  ...([
    ["duplicate key", "id,name,n\n1,a,1\n2,b,2\n2,c,3\n", ["s.csv:3", "s.csv:4", 'id="2"']],
    ["ragged row", "id,name,n\n1,a,1\n2,b\n", ["s.csv:3", "2 fields"]],
    ["unclosed quote", 'id,name,n\n1,a,1\n2,"b,2\n', ["s.csv:3", "never closed"]],
    ["empty key", "id,name,n\n1,a,1\n,b,2\n", ["s.csv:3", "'id'"]],
  ] as [string, string, string[]][]).map(([name, text, says]): BadInput => ({
    name: `csv → csv: ${name}`,
    files: { "s.csv": text },
    args: ["csv:csv", "s.csv"],
    target: "csv",
    says,
  })),
  // Values a SQLite table's declared types refuse.
  typed("n", "abc", "sqlite"),
  typed("n", "1.5", "sqlite", "fractional"),
  typed("n", "99999999999999999999", "sqlite", "beyond 64 bits"),
  typed("b", "maybe", "sqlite"),
  typed("d", "2024-13-01", "sqlite", "no such month"),
  typed("d", "yesterday", "sqlite"),
  typed("ts", "2024-01-01T25:00", "sqlite", "no such hour"),
  typed("r", "1e400", "sqlite", "beyond a double"),
  typed("r", "NaNx", "sqlite"),
  typed("j", "{bad", "sqlite", "not JSON"),
  typed("x", "@@notbase64", "sqlite", "not base64"),
  typed("b", "2", "sqlite"),
  typed("d", "2024-02-30", "sqlite", "no such day"),
  typed("ts", "2024-01-01 12:61", "sqlite", "no such minute"),
  typed("r", "1,5", "sqlite", "decimal comma"),
  {
    name: "sqlite id = 1.5 (the key)",
    files: { "k.csv": "id,name\n1.5,a\n" },
    args: ["csv:sqlite", "k.csv"],
    target: "sqlite",
    says: ["k.csv:2", "'id'", "1.5"],
  },
  // NDJSON and JSON.
  ...([
    ["malformed line", '{"id":2}\n{"id":3,\n', ["s.ndjson:2", "not valid JSON"]],
    ["truncated last line", '{"id":2}\n{"id":3', ["s.ndjson:2"]],
    ["a line that is no object", '{"id":2}\n[1,2]\n', ["s.ndjson:2", "[1,2]"]],
    ["duplicate key", '{"id":2}\n{"id":2}\n', ["s.ndjson:1", "s.ndjson:2", "id=2"]],
    ["null key", '{"id":null}\n', ["s.ndjson:1", "'id'"]],
    ["object as the key", '{"id":{"a":1}}\n', ["s.ndjson:1", "'id'", '{"a":1}']],
    ["text in an integer field", '{"id":3,"n":"x"}\n', ["s.ndjson:1", "'n'", '"x"']],
    ["1e999 in an integer field", '{"id":3,"n":1e999}\n', ["s.ndjson:1", "'n'", "1000000"]],
    ["no key field", '{"name":"x"}\n', ["s.ndjson", "'id'"]],
    ["a number line", '{"id":2}\n5\n', ["s.ndjson:2", "5"]],
    ["a string line", '{"id":2}\n"x"\n', ["s.ndjson:2", '"x"']],
  ] as [string, string, string[]][]).map(([name, text, says]): BadInput => ({
    name: `ndjson: ${name}`,
    files: { "s.ndjson": text },
    args: ["ndjson:sqlite", "s.ndjson"],
    target: "sqlite",
    says,
  })),
  {
    name: "ndjson: invalid UTF-8",
    files: { "s.ndjson": bytes('{"id":3,"name":"', [0xff], '"}\n') },
    args: ["ndjson:sqlite", "s.ndjson"],
    target: "sqlite",
    says: ["s.ndjson", "line 1", "utf-8"],
  },
  ...([
    ["an object, not an array", '{"id":1}', ["s.json", "array"]],
    ["truncated", '[{"id":1},', ["s.json", "not valid JSON"]],
    ["an array of numbers", "[1,2]", ["s.json", "record 1", "1"]],
    ["duplicate key", '[{"id":4},{"id":4}]', ["s.json", "id=4"]],
    ["a number among the records", '[{"id":1},5]', ["s.json", "record 2", "5"]],
    ["null", "null", ["s.json", "array"]],
  ] as [string, string, string[]][]).map(([name, text, says]): BadInput => ({
    name: `json: ${name}`,
    files: { "s.json": text },
    args: ["json:sqlite", "s.json"],
    target: "sqlite",
    says,
  })),
  // Excel books (made by LibreOffice, tests/fixtures).
  ...([
    ["lo_dup_header.xlsx", ["Dup!C1", "'name'", "twice"]],
    ["lo_gap_header.xlsx", ["Gap!B1", "empty"]],
    ["lo_errors.xlsx", ["Errors!B3", "#DIV/0!"]],
    ["lo_password.xlsx", ["lo_password.xlsx", "password"]],
  ] as [string, string[]][]).map(([file, says]): BadInput => ({
    name: `xlsx: ${file}`,
    files: { [file]: { fixture: file } },
    args: ["xlsx:csv", file],
    target: "new-csv",
    says,
  })),
  // A SQLite source.
  {
    name: "sqlite source: text in the target's integer column",
    files: {},
    sqliteSource: "create table s (id integer primary key, n text); insert into s values (1,'x');",
    args: ["sqlite:sqlite", "src.db#s"],
    target: "sqlite",
    says: ["src.db#s", "'n'", '"x"'],
  },
  {
    name: "sqlite source: no such table",
    files: {},
    sqliteSource: "create table s (id integer primary key);",
    args: ["sqlite:sqlite", "src.db#nosuch"],
    target: "sqlite",
    says: ["src.db#nosuch", "no such table"],
  },
  {
    name: "sqlite source: not a database",
    files: { "junk.db": "this is no database\n" },
    args: ["sqlite:sqlite", "junk.db#s"],
    target: "sqlite",
    says: ["junk.db", "not a SQLite database"],
  },
  // Values a PostgreSQL table's types refuse or would change, checked before writing.
  typed("i2", "40000", "pg", "smallint"),
  typed("n", "3000000000", "pg", "integer"),
  typed("num", "12345.6", "pg", "numeric(5,2) precision"),
  typed("num", "1.234", "pg", "numeric(5,2) scale"),
  typed("v", "abcd", "pg", "varchar(3)"),
  typed("u", "not-a-uuid", "pg"),
  typed("b", "maybe", "pg"),
  typed("d", "2024-02-30", "pg", "no such day"),
  typed("ts", "nope", "pg"),
  typed("j", "{bad", "pg", "jsonb"),
  typed("x", "@@", "pg", "bytea"),
  typed("n", "1.5", "pg", "fractional"),
  typed("i2", "-32769", "pg", "smallint"),
  typed("ts", "2024-01-01T24:01", "pg", "no such hour"),
  typed("d", "0000-00-00", "pg", "zero date"),
  typed("ia", "{1,x}", "pg", "integer[] element"),
  {
    name: "pg name with a NUL character",
    files: { "nul.csv": bytes("id,name\n1,a", [0], "b\n") },
    args: ["csv:pg", "nul.csv"],
    target: "pg",
    says: ["nul.csv:2", "'name'", "NUL"],
  },
  {
    name: "pg id = 1.5 (the key)",
    files: { "k.csv": "id\n1.5\n" },
    args: ["csv:pg", "k.csv"],
    target: "pg",
    says: ["k.csv:2", "'id'", "1.5"],
  },
];

const SQLITE_TARGET = `create table t (id integer primary key, name text, n integer, b boolean,
  d date, ts timestamp, r real, j json, x blob);
  insert into t values (1, 'a', 1, 1, '2024-01-01', '2024-01-01 00:00:00', 1.5, '{}', x'00');`;
const CSV_TARGET = "id,name,n\n1,a,1\n";
const PG_TARGET = (table: string) =>
  `create table ${table} (id int primary key, name text, n int, i2 smallint, b bool, d date,
    ts timestamptz, num numeric(5,2), v varchar(3), u uuid, j jsonb, x bytea, ia int[]);
  insert into ${table} values (1, 'a', 1, 1, true, '2024-01-01', '2024-01-01T00:00:00Z', 1.5,
    'abc', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{}', '\\x00', '{1,2}');`;

const encodeHex = (data: Uint8Array) =>
  Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");

async function command(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdin: "null" }).output();
  if (!out.success) throw new Error(`${cmd}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim();
}

/** Every file under `dir` (path and SHA-256), sorted: the folder's state. */
async function folderSum(dir: string, prefix = ""): Promise<string> {
  const parts: string[] = [];
  for await (const entry of Deno.readDir(`${dir}/${prefix}`)) {
    const path = `${prefix}${entry.name}`;
    if (entry.isDirectory) parts.push(await folderSum(dir, `${path}/`));
    else {
      const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(`${dir}/${path}`));
      parts.push(`${path} ${encodeHex(new Uint8Array(digest))}`);
    }
  }
  return parts.sort().join("\n");
}

/** How the corpus runs dsync: args in cwd → exit code and stderr. */
export type CorpusRunner = (
  args: string[],
  cwd: string,
) => Promise<{ code: number; stderr: string }>;

/**
 * Runs every input of {@linkcode CORPUS} (the PostgreSQL ones when `pgUrl` is given, in a
 * schema of their own, dropped afterwards) and counts those that held every rule.
 */
export async function runCorpus(
  dir: string,
  options: { run: CorpusRunner; pgUrl?: string; log?: (line: string) => void },
): Promise<FaultRow> {
  const inputs = CORPUS.filter((c) => c.target !== "pg" || options.pgUrl);
  const row: FaultRow = {
    experiment: `bad-input corpus (${inputs.length} inputs${
      options.pgUrl ? "" : ", no PostgreSQL"
    }): exit 2, one line naming file, line, field and value, target unchanged`,
    trials: 0,
    held: 0,
    failed: 0,
    notes: [],
  };
  const schema = `dsync_corpus_${crypto.randomUUID().slice(0, 8)}`;
  const psql = (sql: string) => command("psql", [options.pgUrl!, "-XAtqc", sql]);
  if (options.pgUrl) await psql(`create schema ${schema}; ${PG_TARGET(`${schema}.t`)}`);
  const pgSum = () =>
    psql(`select count(*) || ' ' || (select md5(coalesce(string_agg(t::text, '|' order by id), ''))
      from ${schema}.t t) from pg_tables where schemaname = '${schema}'`);
  try {
    for (const [n, input] of inputs.entries()) {
      const cwd = `${dir}/c${n}`;
      await Deno.mkdir(cwd, { recursive: true });
      for (const [name, content] of Object.entries(input.files)) {
        if (name.includes("/")) await Deno.mkdir(`${cwd}/${name.replace(/\/[^/]*$/, "")}`);
        if (typeof content === "string") await Deno.writeTextFile(`${cwd}/${name}`, content);
        else if (content instanceof Uint8Array) await Deno.writeFile(`${cwd}/${name}`, content);
        else await Deno.copyFile(`${ROOT}tests/fixtures/${content.fixture}`, `${cwd}/${name}`);
      }
      if (input.sqliteSource) await command("sqlite3", [`${cwd}/src.db`, input.sqliteSource]);
      if (input.target === "sqlite") await command("sqlite3", [`${cwd}/t.db`, SQLITE_TARGET]);
      if (input.target === "csv") await Deno.writeTextFile(`${cwd}/target.csv`, CSV_TARGET);
      const target = {
        sqlite: "t.db#t",
        csv: "target.csv",
        "new-csv": "new.csv",
        "new-sqlite": "new.db#t",
        pg: `${options.pgUrl}#${schema}.t`,
      }[input.target];
      const before = [await folderSum(cwd), input.target === "pg" ? await pgSum() : ""];
      const r = await options.run([...input.args, target], cwd);
      const after = [await folderSum(cwd), input.target === "pg" ? await pgSum() : ""];
      const lines = r.stderr.split("\n").filter((l) => l && !l.startsWith(" "));
      const problems = [
        r.code === 2 ? "" : `exit ${r.code}`,
        lines.length === 1 ? "" : `${lines.length} error lines`,
        /Uncaught| {4}at /.test(r.stderr) ? "a stack trace" : "",
        ...input.says.filter((s) => !(lines[0] ?? "").includes(s)).map((s) => `no '${s}'`),
        ...(input.hints ?? []).filter((s) =>
          !r.stderr.split("\n").some((l) => l.startsWith("  ") && l.includes(s))
        ).map((s) => `no hint '${s}'`),
        before[0] === after[0] ? "" : "the folder changed",
        before[1] === after[1] ? "" : "the table changed",
      ].filter((p) => p);
      row.trials++;
      if (problems.length === 0) row.held++;
      else {
        row.failed++;
        row.notes.push(`${input.name}: ${problems.join(", ")}: ${lines[0] ?? ""}`);
      }
      options.log?.(`corpus: ${problems.length ? "FAILED" : "held"}: ${input.name}`);
    }
  } finally {
    if (options.pgUrl) await psql(`drop schema ${schema} cascade`);
  }
  return row;
}
