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
 * Adapters are a table of descriptors: adding one is one entry in {@linkcode ADAPTERS}; the
 * stores' servers and clients are in matrix_stores.ts. Pairs run as subprocesses with bounded
 * parallelism. The first time zone runs all pairs, the second only those with a typed store or
 * Excel (where a zone can change a value).
 */
import postgres from "postgres";
import { DatabaseSync } from "node:sqlite";
import { assertEquals } from "./assert.ts";
import { dsync, ROOT, tempDir } from "./helpers.ts";
import { withPostgres } from "../scripts/pg_server.ts";
import { redisCli } from "./store_servers.ts";
import {
  chServer,
  clickhouse,
  clickhouseLiteral,
  decodeNatsKey,
  type ExactRest,
  exactRest,
  MYSQL_URL,
  mysqlQuery,
  natsKey,
  natsServer,
  redis,
  REDIS_DB,
} from "./matrix_stores.ts";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { decodeBase64 } from "../src/model/base64.ts";

const FIXTURES = `${ROOT}tests/fixtures`;
const ZOO_CSV = await Deno.readTextFile(`${FIXTURES}/type_zoo.csv`);
const ZOO_NDJSON = await Deno.readTextFile(`${FIXTURES}/type_zoo.ndjson`);
const ZOO = parseCsvCells(ZOO_CSV);
const ZOO_KEYS = ZOO.slice(1).map((row) => row[0] as string).sort();
const TIME_ZONES = ["UTC", "America/Los_Angeles"];
const PARALLEL = 4;
/** `MATRIX_ONLY=mysql,redis`: only the pairs with one of these adapters (while debugging). */
const ONLY = Deno.env.get("MATRIX_ONLY")?.split(",");

/** Declared types of the zoo's columns in the typed stores. */
const COLUMNS: { name: string; pg: string; sqlite: string; mysql: string; ch: string }[] = [
  {
    name: "id",
    pg: "text primary key",
    sqlite: "TEXT PRIMARY KEY",
    mysql: "VARCHAR(255) PRIMARY KEY",
    ch: "String",
  },
  {
    name: "small_int",
    pg: "smallint",
    sqlite: "INTEGER",
    mysql: "SMALLINT",
    ch: "Nullable(Int16)",
  },
  { name: "int64", pg: "bigint", sqlite: "BIGINT", mysql: "BIGINT", ch: "Nullable(Int64)" },
  {
    name: "float",
    pg: "double precision",
    sqlite: "REAL",
    mysql: "DOUBLE",
    ch: "Nullable(Float64)",
  },
  {
    name: "decimal",
    pg: "numeric(12,3)",
    sqlite: "DECIMAL(12,3)",
    mysql: "DECIMAL(12,3)",
    ch: "Nullable(Decimal(12, 3))",
  },
  { name: "numtext", pg: "text", sqlite: "TEXT", mysql: "LONGTEXT", ch: "Nullable(String)" },
  {
    name: "flag",
    pg: "boolean",
    sqlite: "BOOLEAN",
    mysql: "BOOLEAN",
    ch: "Nullable(UInt8) COMMENT 'dsync:boolean'",
  },
  { name: "words", pg: "text", sqlite: "TEXT", mysql: "LONGTEXT", ch: "Nullable(String)" },
  { name: "day", pg: "date", sqlite: "DATE", mysql: "DATE", ch: "Nullable(Date)" },
  {
    name: "ts",
    pg: "timestamp(6)",
    sqlite: "TIMESTAMP",
    mysql: "DATETIME(6)",
    ch: "Nullable(DateTime('UTC'))",
  },
  // MySQL's TIMESTAMP ends in 2038 and starts in 1970: DATETIME(6) in UTC, as dsync creates it.
  {
    name: "tstz",
    pg: "timestamptz",
    sqlite: "TIMESTAMPTZ",
    mysql: "DATETIME(6)",
    ch: "Nullable(DateTime('UTC'))",
  },
  {
    name: "clock",
    pg: "time",
    sqlite: "TIME",
    mysql: "TIME(6)",
    ch: "Nullable(String) COMMENT 'dsync:time'",
  },
  { name: "empty", pg: "text", sqlite: "TEXT", mysql: "LONGTEXT", ch: "Nullable(String)" },
  { name: "unicode", pg: "text", sqlite: "TEXT", mysql: "LONGTEXT", ch: "Nullable(String)" },
  { name: "long_text", pg: "text", sqlite: "TEXT", mysql: "LONGTEXT", ch: "Nullable(String)" },
  {
    name: "doc",
    pg: "jsonb",
    sqlite: "JSON",
    mysql: "JSON",
    ch: "Nullable(String) COMMENT 'dsync:json'",
  },
  {
    name: "bytes",
    pg: "bytea",
    sqlite: "BLOB",
    mysql: "LONGBLOB",
    ch: "Nullable(String) COMMENT 'dsync:bytes'",
  },
  { name: "uid", pg: "uuid", sqlite: "UUID", mysql: "CHAR(36)", ch: "Nullable(UUID)" },
];

/** What a descriptor works with: a scratch directory, the PostgreSQL schema, the REST server. */
interface Context {
  dir: string;
  sql: ReturnType<typeof postgres>;
  pgUrl: string;
  schema: string;
  rest: ExactRest;
  /** This run's name: the MySQL and ClickHouse database, the Redis prefix, the NATS buckets' start. */
  run: string;
  nats: NatsConnection;
  /** Environment for every dsync run (server URLs). */
  env: Record<string, string>;
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
  /** Zoo columns this store cannot hold, left out (`--exclude`) of every pair with it. */
  exclude?: string[];
  /** Time zones can matter (typed columns, Excel dates): the pair runs in every zone. */
  zoned?: boolean;
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
  {
    ...fileAdapter(
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
    zoned: true,
  },
  {
    kind: "sqlite",
    zoned: true,
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
    zoned: true,
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
  {
    kind: "mysql",
    zoned: true,
    async source(ctx) {
      await mysqlQuery(`CREATE DATABASE ${ctx.run}`);
      const columns = COLUMNS.map((c) => `\`${c.name}\` ${c.mysql}`).join(", ");
      await mysqlQuery(
        `CREATE TABLE ${ctx.run}.zoo (${columns}) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin`,
      );
      const values = COLUMNS.map((c) => c.name === "bytes" ? "FROM_BASE64(?)" : "?").join(", ");
      for (const row of ZOO.slice(1)) {
        await mysqlQuery(`INSERT INTO ${ctx.run}.zoo VALUES (${values})`, row);
      }
      return `${MYSQL_URL}${ctx.run}#zoo`;
    },
    target: (ctx, name) => `${MYSQL_URL}${ctx.run}#${name}`,
    async copy(ctx, _source, name) {
      await mysqlQuery(`CREATE TABLE ${ctx.run}.${name} LIKE ${ctx.run}.zoo`);
      await mysqlQuery(`INSERT INTO ${ctx.run}.${name} SELECT * FROM ${ctx.run}.zoo`);
      return `${MYSQL_URL}${ctx.run}#${name}`;
    },
    async keys(ctx, locator) {
      const table = locator.split("#")[1];
      const rows = await mysqlQuery(`SELECT id FROM ${ctx.run}.${table}`).catch(() => []);
      return (rows as { id: string }[]).map((r) => r.id);
    },
  },
  {
    kind: "clickhouse",
    zoned: true,
    // docs/types.md, ClickHouse: 18.16 has no DateTime64 and its Date ends in 2105, so dates
    // outside 1970-01-01 … 2105-12-31 (the zoo's 1900-03-01, 9999-12-31) and timestamps with
    // fractional seconds or before 1970 (the zoo's .5, .123456, 1969-07-20) are refused, exit 2.
    exclude: ["day", "ts", "tstz"],
    async source(ctx) {
      await clickhouse(`CREATE DATABASE ${ctx.run}`);
      const kept = COLUMNS.filter((c) => !["day", "ts", "tstz"].includes(c.name));
      const columns = kept.map((c) => `\`${c.name}\` ${c.ch}`).join(", ");
      // Literals through the SQL parser: 18.16 parses float text in INSERT data inexactly.
      const inserts = ZOO.slice(1).map((row) => {
        const cells = kept.map((c) => clickhouseLiteral(c.ch, row[COLUMNS.indexOf(c)]));
        return `INSERT INTO ${ctx.run}.zoo SELECT ${cells.join(", ")};`;
      });
      await clickhouse(
        `CREATE TABLE ${ctx.run}.zoo (${columns}) ENGINE = MergeTree ORDER BY id;\n` +
          inserts.join("\n"),
      );
      return `${ctx.run}.zoo`;
    },
    target: (ctx, name) => `${ctx.run}.${name}`,
    async copy(ctx, source, name) {
      await clickhouse(
        `CREATE TABLE ${ctx.run}.${name} AS ${source}; INSERT INTO ${ctx.run}.${name} SELECT * FROM ${source}`,
      );
      return `${ctx.run}.${name}`;
    },
    async keys(_ctx, locator) {
      const out = await clickhouse(`SELECT id FROM ${locator} FORMAT TabSeparatedRaw`)
        .catch(() => "");
      return out.split("\n").filter((l) => l !== "");
    },
  },
  {
    kind: "redis",
    async source(ctx) {
      await redisSeed(ctx, "zoo");
      return redisLocator(ctx, "zoo");
    },
    target: (ctx, name) => redisLocator(ctx, name),
    async copy(ctx, _source, name) {
      await redisSeed(ctx, name);
      return redisLocator(ctx, name);
    },
    async keys(_ctx, locator) {
      const prefix = `${locator.split("#")[1]}:`;
      const names = await redisCli(redis, REDIS_DB, "--scan", "--pattern", `${prefix}*`);
      return names.map((k) => k.slice(prefix.length).replace(/\\(.)/g, "$1"));
    },
  },
  {
    kind: "nats",
    async source(ctx) {
      await natsSeed(ctx, "zoo");
      return natsLocator(ctx, "zoo");
    },
    target: (ctx, name) => natsLocator(ctx, name),
    async copy(ctx, _source, name) {
      await natsSeed(ctx, name);
      return natsLocator(ctx, name);
    },
    async keys(ctx, locator) {
      const bucket = locator.split("/").pop()!;
      const kv = await new Kvm(ctx.nats).open(bucket);
      const keys: string[] = [];
      for await (const key of await kv.keys()) {
        const entry = await kv.get(key);
        if (entry?.operation === "PUT") keys.push(decodeNatsKey(key));
      }
      return keys;
    },
  },
];

function redisLocator(ctx: Context, name: string): string {
  return `redis://${redis.host}:${redis.port}/${REDIS_DB}#${ctx.run}_${name}`;
}

/** The zoo as hashes `PREFIX:id` (NULL cells left out), written with redis-cli. */
async function redisSeed(ctx: Context, name: string): Promise<void> {
  const [header, ...rows] = ZOO;
  for (const row of rows) {
    const key = (row[0] as string).replaceAll("\\", "\\\\").replaceAll(":", "\\:");
    const fields = row.flatMap((v, i) => v === null ? [] : [header[i] as string, v]);
    await redisCli(redis, REDIS_DB, "HSET", `${ctx.run}_${name}:${key}`, ...fields);
  }
}

function natsLocator(ctx: Context, name: string): string {
  return `nats://${natsServer.host}:${natsServer.port}/kv/${ctx.run}_${name}`;
}

/** The zoo's NDJSON records as entries of a new KV bucket, keys encoded as docs/nats.md says. */
async function natsSeed(ctx: Context, name: string): Promise<void> {
  const kv = await new Kvm(ctx.nats).create(`${ctx.run}_${name}`);
  for (const line of ZOO_NDJSON.trim().split("\n")) {
    const id = String(JSON.parse(line).id);
    await kv.put(natsKey(id), line);
  }
}

/** Drops what a run left in MySQL, ClickHouse, Redis and NATS. */
async function dropStores(ctx: Context): Promise<void> {
  await mysqlQuery(`DROP DATABASE IF EXISTS ${ctx.run}`).catch(() => {});
  await clickhouse(`DROP DATABASE IF EXISTS ${ctx.run}`).catch(() => {});
  const keys = await redisCli(redis, REDIS_DB, "--scan", "--pattern", `${ctx.run}_*`);
  for (let i = 0; i < keys.length; i += 500) {
    await redisCli(redis, REDIS_DB, "DEL", ...keys.slice(i, i + 500));
  }
  const kvm = new Kvm(ctx.nats);
  for await (const status of kvm.list()) {
    if (status.bucket.startsWith(ctx.run)) await (await kvm.open(status.bucket)).destroy();
  }
}

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
  const env = { ...ctx.env, TZ: tz };
  // Columns B cannot hold stay out of A → B (A's own zoo lacks the columns A cannot hold); the
  // round trip then leaves them alone in A's copy.
  const exclude = (b.exclude ?? []).filter((c) => !a.exclude?.includes(c));
  const run = (args: string[], more: string[] = []) =>
    dsync([...args, "--key", "id", ...more], { cwd: ctx.dir, env });
  const forward = exclude.length ? ["--exclude", exclude.join(",")] : [];
  const source = sources.get(a.kind)!;
  if (source instanceof Error) return `zoo into ${a.kind}: ${source.message.slice(0, 300)}`;
  const target = b.target(ctx, `to_${tag}`);
  const first = await run([`${a.kind}:${b.kind}`, source, target], forward);
  if (first.code !== 0) return `load: exit ${first.code}: ${first.stderr.trim()}`;
  const again = await run([`${a.kind}:${b.kind}`, source, target], forward);
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
    const nats = await connect({ servers: `${natsServer.host}:${natsServer.port}` });
    const ctx: Context = {
      dir: dir.path,
      sql,
      pgUrl: server.url,
      schema,
      rest,
      run: schema,
      nats,
      env: { DATABASE_URL: server.url, CLICKHOUSE_URL: chServer.url },
    };
    try {
      await sql.unsafe(`create schema "${schema}"`);
      // A zoo the store cannot take fails that adapter's pairs, not the whole matrix.
      const sources = new Map<string, string | Error>();
      for (const adapter of ADAPTERS) {
        sources.set(adapter.kind, await adapter.source(ctx).catch((error) => error as Error));
      }
      // The first zone runs every pair; the others only pairs where a zone can matter.
      const pairs = ADAPTERS.flatMap((a) => ADAPTERS.map((b) => [a, b] as const))
        .filter(([a, b]) => tz === TIME_ZONES[0] || a.zoned || b.zoned)
        .filter(([a, b]) => !ONLY || ONLY.includes(a.kind) || ONLY.includes(b.kind));
      const started = performance.now();
      const results = await bounded(
        pairs.map(([a, b]) => () => runPair(ctx, sources, a, b, tz)),
        PARALLEL,
      );
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const kinds = ADAPTERS.map((a) => a.kind);
      const cell = new Map(pairs.map(([a, b], i) => [`${a.kind}:${b.kind}`, results[i]]));
      const mark = (a: string, b: string) =>
        !cell.has(`${a}:${b}`) ? "-" : cell.get(`${a}:${b}`) ? "FAIL" : "ok";
      const table = [
        `source \\ target (TZ=${tz}, ${pairs.length} pairs in ${seconds} s)`,
        ["", ...kinds].map((k) => k.padEnd(11)).join(""),
        ...kinds.map((a) => [a, ...kinds.map((b) => mark(a, b))].map((k) => k.padEnd(11)).join("")),
      ].join("\n");
      console.log(table);
      const failures = pairs.flatMap(([a, b], i) =>
        results[i] ? [`${a.kind} → ${b.kind}: ${results[i]}`] : []
      );
      assertEquals(failures, [], failures.join("\n\n"));
    } finally {
      await dropStores(ctx);
      await nats.close();
      await sql.unsafe(`drop schema if exists "${schema}" cascade`);
      await sql.end();
      await server.stop();
    }
  });
}
