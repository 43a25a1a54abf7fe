/**
 * The servers and clients the idempotency matrix (matrix_test.ts) uses for its stores: MySQL
 * (mysql2), ClickHouse (clickhouse-client), Redis and NATS (store_servers.ts), each the machine's
 * own when it answers, else a throwaway one; and an exact in-memory REST server.
 * @module
 */
import { withMysql } from "../scripts/mysql_server.ts";
import { withClickHouse } from "../scripts/clickhouse_server.ts";
import { withNats, withRedis } from "./store_servers.ts";
import { serve, type TestServer } from "./http_server.ts";

// The servers of the stores, shared by both time zones; each run names its own database, prefix
// and buckets.
const mysqlServer = await withMysql();
/** The MySQL server's URL, ending in `/` (a database name goes after it). */
export const MYSQL_URL = mysqlServer.url.endsWith("/") ? mysqlServer.url : `${mysqlServer.url}/`;
/** The ClickHouse server (`url` for CLICKHOUSE_URL, `clientArgs` for clickhouse-client). */
export const chServer = await withClickHouse();
/** The Redis server. */
export const redis = await withRedis();
/** The NATS server (with JetStream). */
export const natsServer = await withNats();
/** The Redis database the matrix uses (keys under its run's prefix). */
export const REDIS_DB = 7;
globalThis.addEventListener("unload", () => {
  mysqlServer.stop();
  chServer.stop();
  redis[Symbol.asyncDispose]();
  natsServer[Symbol.asyncDispose]();
});

let mysqlConnection: Promise<import("mysql2/promise").Connection> | undefined;

/** Runs one statement on the MySQL server through the mysql2 driver (`?` bound). */
export async function mysqlQuery(sql: string, params: (string | null)[] = []): Promise<unknown[]> {
  mysqlConnection ??= import("mysql2/promise").then(async (mysql) => {
    const conn = await mysql.createConnection({ uri: MYSQL_URL, charset: "utf8mb4" });
    await conn.query("SET SESSION sql_mode = 'STRICT_ALL_TABLES', time_zone = '+00:00'");
    return conn;
  });
  const [rows] = await (await mysqlConnection).query(sql, params.map(mysqlValue));
  return Array.isArray(rows) ? rows : [];
}

/** A zoo cell as MySQL takes it: booleans as 1/0, timestamps without `T` and `Z` (in UTC). */
function mysqlValue(value: string | null): string | null {
  if (value === "true" || value === "false") return value === "true" ? "1" : "0";
  if (value !== null && /^\d{4}-\d\d-\d\dT[\d:.]+Z?$/.test(value)) {
    return value.replace("T", " ").replace("Z", "");
  }
  return value;
}

/** Runs SQL (several statements) with clickhouse-client; returns its output. */
export async function clickhouse(sql: string): Promise<string> {
  const out = await new Deno.Command("clickhouse-client", {
    args: [...chServer.clientArgs, "--multiquery", "--query", sql],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  if (!out.success) throw new Error(`clickhouse-client: ${decoder.decode(out.stderr)}`);
  return decoder.decode(out.stdout);
}

/** A zoo cell as a ClickHouse SQL expression of the column's type. */
export function clickhouseLiteral(type: string, value: string | null): string {
  if (value === null) return "NULL";
  const base = type.replace(/ COMMENT .*/, "").replace(/^Nullable\((.*)\)$/, "$1");
  if (base === "Float64") return value; // a number literal: read exactly by the SQL parser
  if (base === "UInt8") return value === "true" ? "1" : "0";
  const text = `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
  return base === "String" ? text : `CAST(${text} AS ${base})`;
}

/** A key's text as a NATS KV entry key (docs/nats.md: other bytes than `A-Za-z0-9_-` as `=XX`). */
export function natsKey(id: string): string {
  let key = "";
  for (const byte of new TextEncoder().encode(id)) {
    const c = String.fromCharCode(byte);
    key += /[A-Za-z0-9_-]/.test(c) ? c : "=" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return key;
}

/** A KV entry key back to its key text (`=XX` is one UTF-8 byte). */
export function decodeNatsKey(key: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < key.length; i++) {
    if (key[i] === "=") {
      bytes.push(parseInt(key.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(key.charCodeAt(i));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
/** An in-memory REST server that keeps every record's JSON exactly (no rounding of numbers). */
export interface ExactRest extends TestServer {
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

export function exactRest(): ExactRest {
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
