/**
 * The idempotency matrix (issue 14): the committed type zoo (tests/fixtures/type_zoo.csv, and
 * type_zoo.ndjson for numbers, booleans and nested JSON) goes from every adapter to every adapter,
 * under two time zones. For each ordered pair A → B:
 *
 * 1. `dsync A:B` loads a new B (exit 0);
 * 2. the second run plans nothing (exit 0, no output);
 * 3. the round trip back, `dsync B:A` into a copy of A's source, plans nothing: every value came
 *    back the same value under docs/types.md;
 * 4. B holds every zoo key, read with B's own tool (`0E0` and `0E8` stay two records).
 *
 * Adapters are a table of descriptors: adding one (mysql, clickhouse, redis) is one entry in
 * {@linkcode ADAPTERS}. Pairs run as subprocesses with bounded parallelism.
 */
import postgres from "postgres";
import { DatabaseSync } from "node:sqlite";
import { assertEquals } from "./assert.ts";
import { dsync, ROOT, tempDir } from "./helpers.ts";
import { serve, type TestServer } from "./http_server.ts";
import { withPostgres } from "../scripts/pg_server.ts";
import { decodeBase64 } from "../src/model/base64.ts";

const FIXTURES = `${ROOT}tests/fixtures`;
const ZOO_CSV = await Deno.readTextFile(`${FIXTURES}/type_zoo.csv`);
const ZOO_NDJSON = await Deno.readTextFile(`${FIXTURES}/type_zoo.ndjson`);
const ZOO = parseCsvCells(ZOO_CSV);
const ZOO_KEYS = ZOO.slice(1).map((row) => row[0] as string).sort();
const TIME_ZONES = ["UTC", "America/Los_Angeles"];
const PARALLEL = 4;

/** Declared types of the zoo's columns in the typed stores. */
const COLUMNS: { name: string; pg: string; sqlite: string }[] = [
  { name: "id", pg: "text primary key", sqlite: "TEXT PRIMARY KEY" },
  { name: "small_int", pg: "smallint", sqlite: "INTEGER" },
  { name: "int64", pg: "bigint", sqlite: "BIGINT" },
  { name: "float", pg: "double precision", sqlite: "REAL" },
  { name: "decimal", pg: "numeric(12,3)", sqlite: "DECIMAL(12,3)" },
  { name: "numtext", pg: "text", sqlite: "TEXT" },
  { name: "flag", pg: "boolean", sqlite: "BOOLEAN" },
  { name: "words", pg: "text", sqlite: "TEXT" },
  { name: "day", pg: "date", sqlite: "DATE" },
  { name: "ts", pg: "timestamp(6)", sqlite: "TIMESTAMP" },
  { name: "tstz", pg: "timestamptz", sqlite: "TIMESTAMPTZ" },
  { name: "clock", pg: "time", sqlite: "TIME" },
  { name: "empty", pg: "text", sqlite: "TEXT" },
  { name: "unicode", pg: "text", sqlite: "TEXT" },
  { name: "long_text", pg: "text", sqlite: "TEXT" },
  { name: "doc", pg: "jsonb", sqlite: "JSON" },
  { name: "bytes", pg: "bytea", sqlite: "BLOB" },
  { name: "uid", pg: "uuid", sqlite: "UUID" },
];

/** What a descriptor works with: a scratch directory, the PostgreSQL schema, the REST server. */
interface Context {
  dir: string;
  sql: ReturnType<typeof postgres>;
  pgUrl: string;
  schema: string;
  rest: ExactRest;
}

/** One adapter of the matrix. */
interface AdapterDescriptor {
  /** The dsync kind (`csv:…`). */
  kind: string;
  /** Creates the zoo in this store (once); returns its locator. */
  source(ctx: Context): Promise<string>;
  /** A locator for a new target called `name` (nothing there yet). */
  target(ctx: Context, name: string): string;
  /** A copy of the zoo source named `name`, as a target locator. */
  copy(ctx: Context, source: string, name: string): Promise<string>;
  /** The key values of `locator`, read with the store's own tool. */
  keys(ctx: Context, locator: string): Promise<string[]>;
}

/** Files: the zoo file is written as is; copies are file copies. */
function fileAdapter(
  kind: string,
  ext: string,
  make: (ctx: Context, path: string) => Promise<void>,
  keys: (text: string, path: string) => Promise<string[]> | string[],
): AdapterDescriptor {
  return {
    kind,
    async source(ctx) {
      await make(ctx, `${ctx.dir}/zoo.${ext}`);
      return `${ctx.dir}/zoo.${ext}`;
    },
    target: (ctx, name) => `${ctx.dir}/${name}.${ext}`,
    async copy(ctx, source, name) {
      await Deno.copyFile(source, `${ctx.dir}/${name}.${ext}`);
      return `${ctx.dir}/${name}.${ext}`;
    },
    keys: async (_ctx, path) => await keys(await Deno.readTextFile(path).catch(() => ""), path),
  };
}

const ADAPTERS: AdapterDescriptor[] = [
  fileAdapter(
    "csv",
    "csv",
    (_ctx, path) => Deno.writeTextFile(path, ZOO_CSV),
    (text) => parseCsvCells(text).slice(1).map((row) => row[0] as string),
  ),
  fileAdapter(
    "ndjson",
    "ndjson",
    (_ctx, path) => Deno.writeTextFile(path, ZOO_NDJSON),
    (text) => text.split("\n").filter((l) => l).map((l) => JSON.parse(l).id),
  ),
  fileAdapter(
    "json",
    "json",
    (_ctx, path) =>
      Deno.writeTextFile(path, "[\n" + ZOO_NDJSON.trim().split("\n").join(",\n") + "\n]\n"),
    (text) => (JSON.parse(text) as { id: string }[]).map((o) => o.id),
  ),
  fileAdapter(
    "xlsx",
    "xlsx",
    async (ctx, path) => {
      await Deno.writeTextFile(`${ctx.dir}/zoo_for_xlsx.ndjson`, ZOO_NDJSON);
      const r = await dsync(["ndjson:xlsx", `${ctx.dir}/zoo_for_xlsx.ndjson`, path]);
      assertEquals(r.code, 0, r.stderr);
    },
    async (_text, path) => {
      const { default: ExcelJS } = await import("exceljs");
      const book = new ExcelJS.Workbook();
      await book.xlsx.readFile(path);
      const keys: string[] = [];
      book.worksheets[0].eachRow((row, n) => {
        if (n > 1) keys.push(String(row.getCell(1).value));
      });
      return keys;
    },
  ),
  {
    kind: "sqlite",
    source(ctx) {
      const path = `${ctx.dir}/zoo.db`;
      const db = new DatabaseSync(path);
      db.exec(`CREATE TABLE zoo (${COLUMNS.map((c) => `"${c.name}" ${c.sqlite}`).join(", ")})`);
      const insert = db.prepare(`INSERT INTO zoo VALUES (${COLUMNS.map(() => "?").join(", ")})`);
      for (const row of ZOO.slice(1)) {
        insert.run(...row.map((v, i) => sqliteValue(COLUMNS[i].name, v)) as never[]);
      }
      db.close();
      return Promise.resolve(`${path}#zoo`);
    },
    target: (ctx, name) => `${ctx.dir}/${name}.db#t`,
    async copy(ctx, source, name) {
      await Deno.copyFile(source.replace(/#.*/, ""), `${ctx.dir}/${name}.db`);
      return `${ctx.dir}/${name}.db#zoo`;
    },
    keys(_ctx, locator) {
      const [path, table] = locator.split("#");
      const db = new DatabaseSync(path, { readOnly: true });
      try {
        return Promise.resolve(
          db.prepare(`SELECT id FROM "${table}"`).all().map((r) => String(r.id)),
        );
      } finally {
        db.close();
      }
    },
  },
  {
    kind: "pg",
    async source(ctx) {
      const table = `"${ctx.schema}".zoo`;
      await ctx.sql.unsafe(
        `create table ${table} (${COLUMNS.map((c) => `"${c.name}" ${c.pg}`).join(", ")})`,
      );
      const values = COLUMNS.map((c, i) =>
        c.name === "bytes"
          ? `decode($${i + 1}, 'base64')`
          : `$${i + 1}::text::${c.pg.replace(" primary key", "")}`
      );
      for (const row of ZOO.slice(1)) {
        await ctx.sql.unsafe(`insert into ${table} values (${values.join(", ")})`, row as never[]);
      }
      return `${ctx.schema}.zoo`;
    },
    target: (ctx, name) => `${ctx.schema}.${name}`,
    async copy(ctx, source, name) {
      await ctx.sql.unsafe(`create table "${ctx.schema}".${name} (like ${source} including all)`);
      await ctx.sql.unsafe(`insert into "${ctx.schema}".${name} select * from ${source}`);
      return `${ctx.schema}.${name}`;
    },
    async keys(ctx, locator) {
      const rows = await ctx.sql.unsafe(`select id::text as id from ${locator}`).catch(() => []);
      return rows.map((r) => r.id as string);
    },
  },
  {
    kind: "http",
    source(ctx) {
      ctx.rest.seed("zoo", ZOO_NDJSON.trim().split("\n"));
      return Promise.resolve(`${ctx.rest.url}/zoo`);
    },
    target: (ctx, name) => `${ctx.rest.url}/${name}`,
    copy(ctx, _source, name) {
      ctx.rest.seed(name, ZOO_NDJSON.trim().split("\n"));
      return Promise.resolve(`${ctx.rest.url}/${name}`);
    },
    keys: (ctx, locator) => Promise.resolve(ctx.rest.ids(locator.split("/").pop()!)),
  },
];

/** A zoo cell as SQLite's client binds it for the column's declared type. */
function sqliteValue(column: string, value: string | null): unknown {
  if (value === null) return null;
  switch (column) {
    case "small_int":
    case "int64":
      return BigInt(value);
    case "float":
      return Number(value);
    case "flag":
      return value === "true" ? 1 : 0;
    case "bytes":
      return decodeBase64(value);
  }
  return value;
}

/** CSV rows, with NULL (an unquoted empty cell) apart from `""`, as docs/types.md reads CSV. */
function parseCsvCells(text: string): (string | null)[][] {
  const rows: (string | null)[][] = [];
  let row: (string | null)[] = [];
  let field = "";
  let quoted = false, wasQuoted = false;
  const end = () => {
    row.push(field === "" && !wasQuoted ? null : field);
    field = "";
    wasQuoted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = wasQuoted = true;
    else if (c === ",") end();
    else if (c === "\n") {
      end();
      rows.push(row);
      row = [];
    } else if (!(c === "\r" && text[i + 1] === "\n")) field += c;
  }
  return rows;
}

/** An in-memory REST server that keeps every record's JSON exactly (no rounding of numbers). */
interface ExactRest extends TestServer {
  seed(collection: string, records: string[]): void;
  ids(collection: string): string[];
}

function exactParse(text: string): Record<string, unknown> {
  const raw = (JSON as unknown as { rawJSON(t: string): unknown }).rawJSON;
  return JSON.parse(
    text,
    ((_k: string, v: unknown, c: { source?: string }) =>
      typeof v === "number" ? raw(c.source!) : v) as never,
  );
}

function exactRest(): ExactRest {
  const collections = new Map<string, Map<string, string>>();
  const server = serve((req, url) => {
    const [, name, item] = /^\/([^/]+)(?:\/(.+))?$/.exec(url.pathname) ?? [];
    const store = collections.get(name) ?? new Map<string, string>();
    collections.set(name, store);
    const json = (text: string, status = 200) =>
      new Response(text, { status, headers: { "content-type": "application/json" } });
    if (item === undefined) {
      if (req.method === "GET") return json("[" + [...store.values()].join(",") + "]");
      if (req.method === "POST") {
        store.set(String(JSON.parse(req.body).id), req.body);
        return json(req.body, 201);
      }
    } else {
      const id = decodeURIComponent(item);
      const current = store.get(id);
      if (current === undefined) return new Response("no such record", { status: 404 });
      if (req.method === "GET") return json(current);
      if (req.method === "PATCH" || req.method === "PUT") {
        const merged = req.method === "PUT"
          ? exactParse(req.body)
          : Object.assign(exactParse(current), exactParse(req.body));
        store.set(id, JSON.stringify(merged));
        return json(store.get(id)!);
      }
      if (req.method === "DELETE") {
        store.delete(id);
        return new Response(null, { status: 204 });
      }
    }
    return new Response("method not allowed", { status: 405 });
  }) as ExactRest;
  server.seed = (name, records) =>
    collections.set(name, new Map(records.map((r) => [String(JSON.parse(r).id), r])));
  server.ids = (name) => [...(collections.get(name)?.keys() ?? [])];
  return server;
}

/** Runs `tasks` with at most `limit` at a time. */
async function bounded<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]();
      }
    }),
  );
  return results;
}

/** The outcome of one ordered pair: the first step that failed, or undefined. */
async function runPair(
  ctx: Context,
  sources: Map<string, string | Error>,
  a: AdapterDescriptor,
  b: AdapterDescriptor,
  tz: string,
): Promise<string | undefined> {
  const tag = `${a.kind}_${b.kind}_${tz.replace(/\W/g, "").toLowerCase()}`;
  const env = { DATABASE_URL: ctx.pgUrl, TZ: tz };
  const run = (args: string[]) => dsync([...args, "--key", "id"], { cwd: ctx.dir, env });
  const source = sources.get(a.kind)!;
  if (source instanceof Error) return `zoo into ${a.kind}: ${source.message.slice(0, 300)}`;
  const target = b.target(ctx, `to_${tag}`);
  const first = await run([`${a.kind}:${b.kind}`, source, target]);
  if (first.code !== 0) return `load: exit ${first.code}: ${first.stderr.trim()}`;
  const again = await run([`${a.kind}:${b.kind}`, source, target]);
  if (again.code !== 0 || again.stdout !== "") {
    return `second run: exit ${again.code}: ${(again.stdout + again.stderr).slice(0, 600)}`;
  }
  const keys = (await b.keys(ctx, target)).sort();
  if (JSON.stringify(keys) !== JSON.stringify(ZOO_KEYS)) return `keys in B: ${keys.join(" ")}`;
  const copy = await a.copy(ctx, source, `back_${tag}`);
  const back = await run([`${b.kind}:${a.kind}`, target, copy]);
  if (back.code !== 0 || back.stdout !== "") {
    return `round trip: exit ${back.code}: ${(back.stdout + back.stderr).slice(0, 600)}`;
  }
  return undefined;
}

for (const tz of TIME_ZONES) {
  Deno.test(`matrix: every ordered pair of adapters, TZ=${tz}`, async () => {
    await using dir = await tempDir();
    const server = await withPostgres();
    const schema = `dsync_m_${crypto.randomUUID().slice(0, 8)}`;
    const sql = postgres(server.url, { max: 2, onnotice: () => {} });
    await using rest = exactRest();
    const ctx: Context = { dir: dir.path, sql, pgUrl: server.url, schema, rest };
    try {
      await sql.unsafe(`create schema "${schema}"`);
      // A zoo the store cannot take fails that adapter's pairs, not the whole matrix.
      const sources = new Map<string, string | Error>();
      for (const adapter of ADAPTERS) {
        sources.set(adapter.kind, await adapter.source(ctx).catch((error) => error as Error));
      }
      const pairs = ADAPTERS.flatMap((a) => ADAPTERS.map((b) => [a, b] as const));
      const started = performance.now();
      const results = await bounded(
        pairs.map(([a, b]) => () => runPair(ctx, sources, a, b, tz)),
        PARALLEL,
      );
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const kinds = ADAPTERS.map((a) => a.kind);
      const table = [
        `source \\ target (TZ=${tz}, ${pairs.length} pairs in ${seconds} s)`,
        ["", ...kinds].map((k) => k.padEnd(7)).join(""),
        ...kinds.map((a, i) =>
          [a, ...kinds.map((_, j) => results[i * kinds.length + j] ? "FAIL" : "ok")]
            .map((k) => k.padEnd(7)).join("")
        ),
      ].join("\n");
      console.log(table);
      const failures = pairs.flatMap(([a, b], i) =>
        results[i] ? [`${a.kind} → ${b.kind}: ${results[i]}`] : []
      );
      assertEquals(failures, [], failures.join("\n\n"));
    } finally {
      await sql.unsafe(`drop schema if exists "${schema}" cascade`);
      await sql.end();
      await server.stop();
    }
  });
}
