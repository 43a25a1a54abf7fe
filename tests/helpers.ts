/**
 * Test helpers: run the dsync CLI as a user would (a subprocess), and look at what it wrote
 * with the datastore itself.
 *
 * @example
 * ```ts
 * const r = await dsync(["csv:sqlite", "a.csv", "t.db#a"], { cwd: dir });
 * assertEquals(r.code, 0);
 * ```
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MAIN = ROOT + "main.ts";

/** What a CLI run left behind. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `dsync ARGS` in `cwd`, with optional standard input; `script` replaces main.ts. */
export async function dsync(
  args: string[],
  options: { cwd?: string; stdin?: string; script?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", options.script ?? MAIN, ...args],
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  });
  const child = command.spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** A fresh temporary directory, removed when the returned disposable is disposed. */
export async function tempDir(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix: "dsync-test-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/** A CSV cell: NULL is an empty cell, the empty string is `""` (docs/types.md). */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = String(v);
  return s === "" || /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** CSV text of a header and rows, cells as {@linkcode csvCell} writes them. */
export function csv(header: string[], rows: unknown[][]): string {
  return [header, ...rows].map((r) => r.map(csvCell).join(",")).join("\n") + "\n";
}

/** Parses NDJSON text into objects (throws on a malformed line). */
export function parseNdjson(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
}

/** All rows of a SQLite table, ordered by `orderBy`, with 64-bit integers as bigint. */
export function sqliteRows(path: string, table: string, orderBy = "1"): Record<string, unknown>[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const statement = db.prepare(`SELECT * FROM "${table}" ORDER BY ${orderBy}`);
    statement.setReadBigInts(true);
    return statement.all().map((row) =>
      Object.fromEntries(
        Object.entries(row).map((
          [k, v],
        ) => [k, typeof v === "bigint" && Number.isSafeInteger(Number(v)) ? Number(v) : v]),
      )
    );
  } finally {
    db.close();
  }
}

/** Runs SQL on a SQLite file (to set up or alter a target behind dsync's back). */
export function sqliteExec(path: string, sql: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

/** SHA-256 of a file, to show it was not touched. */
export async function checksum(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Parses a small CSV (RFC 4180) independently of dsync's parser: rows of strings. */
export function parseCsvSimple(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else if (c !== "\r") field += c;
  }
  if (field !== "" || row.length) rows.push([...row, field]);
  return rows;
}

/** A seeded shuffle, so key order in the files is scrambled but the same every run. */
export function shuffled<T>(items: T[], seed = 7): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Runs `psql` on `url` with `sql` on stdin (session time zone UTC); its unaligned output. */
export async function psqlAt(url: string, sql: string): Promise<string> {
  const child = new Deno.Command("psql", {
    args: ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { PGTZ: "UTC" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(sql));
  await writer.close();
  const out = await child.output();
  const decoder = new TextDecoder();
  if (!out.success) throw new Error(`psql failed: ${decoder.decode(out.stderr)}`);
  return decoder.decode(out.stdout);
}

/** Runs a command-line client (sqlite3, psql, mariadb…) with `input` on stdin; its stdout lines. */
export async function client(command: string, args: string[], input = ""): Promise<string[]> {
  const child = new Deno.Command(command, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const out = await child.output();
  if (!out.success) throw new Error(`${command}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "");
}

/**
 * A new database `PREFIX_xxxxxxxx` on the MySQL/MariaDB server at `serverUrl`, with the `mariadb`
 * client on it (batch mode: tab-separated lines), dropped on dispose.
 */
export async function mariadbDatabase(serverUrl: string, prefix: string): Promise<
  { name: string; url: URL; mariadb(sql: string): Promise<string[]> } & AsyncDisposable
> {
  const base = new URL(serverUrl);
  const name = `${prefix}_${crypto.randomUUID().slice(0, 8)}`;
  const login = [
    "--no-defaults",
    "-h",
    base.hostname,
    "-P",
    base.port || "3306",
    "-u",
    decodeURIComponent(base.username || "root"),
  ];
  await client("mariadb", login, `CREATE DATABASE ${name}`);
  const url = new URL(base.href);
  url.pathname = `/${name}`;
  return {
    name,
    url,
    mariadb: (sql) => client("mariadb", [...login, "-B", "-N", name], sql),
    [Symbol.asyncDispose]: () =>
      client("mariadb", login, `DROP DATABASE IF EXISTS ${name}`).then(() => {}, () => {}),
  };
}
