/**
 * Where a `mysql` locator points: `mysql://USER:PASS@HOST:PORT/DB#TABLE` (or `mariadb://`), or
 * `[DB.]TABLE` with the connection from `MYSQL_URL`, else the MySQL client's own conventions
 * (`MYSQL_HOST`, `MYSQL_TCP_PORT`, `MYSQL_UNIX_PORT`, `MYSQL_PWD`, `USER`, and the `[client]`
 * group of `~/.my.cnf`). Passwords never leave this module in clear: see {@linkcode redactUrl}.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { parseLocator, redactUrl } from "./locator.ts";
 * assertEquals(parseLocator("mysql://app:pw@db:3307/shop#users").table, "users");
 * assertEquals(redactUrl("mysql://app:pw@db/shop"), "mysql://***@db/shop");
 * ```
 * @module
 */
import { redactUrls } from "../../adapter_kit/redact.ts";
import {
  encodeUserInfo,
  splitSqlLocator,
  type SqlLocatorSpec,
} from "../../adapter_kit/sql_locator.ts";
import { UsageError } from "../../model/errors.ts";

/** A locator, split: the URL (if any) and the `[DB.]TABLE` part. */
export interface MysqlLocator {
  /** The connection URL of the locator, without `#...`. */
  url?: string;
  /** Database named by `DB.TABLE` (wins over the URL's). */
  database?: string;
  table?: string;
}

/** Everything needed to connect; `password` is a secret. */
export interface ConnectionSettings {
  host: string;
  port: number;
  /** A Unix socket path, used instead of host and port. */
  socketPath?: string;
  user: string;
  password?: string;
  database?: string;
  /** `?ssl=true` / `?ssl-mode=REQUIRED`: TLS (server certificate checked unless `VERIFY_CA=false`). */
  ssl: boolean;
  /** `--connect-timeout` in seconds (0: none); undefined: the default. */
  connectSeconds?: number;
}

const LOCATOR: SqlLocatorSpec = {
  adapter: "mysql",
  schemes: /^(mysql|mariadb):\/\//i,
  quote: "`",
  urlExample: "mysql://USER@HOST:PORT/DATABASE#TABLE",
  namespace: "DATABASE",
  quoteExample: "'shop.`Order Items`'",
};

/** A URL (or any text) with the user info and query values of every URL in it hidden. */
export const redactUrl: (text: string) => string = redactUrls;

/** Splits a locator into connection URL, database and table; checks the URL's syntax. */
export function parseLocator(locator: string): MysqlLocator {
  const { url, namespace, table } = splitSqlLocator(locator, LOCATOR);
  return namespace === undefined ? (table === undefined ? { url } : { url, table }) : {
    url,
    database: namespace,
    table,
  };
}

/** The `[client]` (and `[mysql]`, `[mariadb-client]`) settings of a `my.cnf` text. */
export function parseMyCnf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let inClient = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const group = /^\[([^\]]+)\]$/.exec(line);
    if (group) {
      inClient = ["client", "mysql", "mariadb-client", "client-mariadb"].includes(
        group[1].trim().toLowerCase(),
      );
      continue;
    }
    if (!inClient) continue;
    const m = /^([A-Za-z0-9_-]+)\s*(?:=\s*(.*))?$/.exec(line);
    if (!m) continue;
    let value = (m[2] ?? "").trim();
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    out[m[1].replaceAll("_", "-").toLowerCase()] = value;
  }
  return out;
}

/** The client settings of `~/.my.cnf` (ignored when group or others may read it). */
function myCnf(): Record<string, string> {
  const home = Deno.env.get("HOME");
  if (!home) return {};
  const file = `${home}/.my.cnf`;
  try {
    const info = Deno.statSync(file);
    if (Deno.build.os !== "windows" && info.mode !== null && (info.mode & 0o077) !== 0) return {};
    return parseMyCnf(Deno.readTextFileSync(file));
  } catch {
    return {};
  }
}

/**
 * The connection settings of a locator: its URL, else `MYSQL_URL`; parts the URL leaves out
 * come from `MYSQL_HOST`, `MYSQL_TCP_PORT`, `MYSQL_UNIX_PORT`, `MYSQL_PWD`, `USER`, then
 * `~/.my.cnf`, then `127.0.0.1:3306`.
 */
export function connectionSettings(
  locator: MysqlLocator,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name) || undefined,
  cnf: () => Record<string, string> = myCnf,
): ConnectionSettings {
  const text = locator.url ?? env("MYSQL_URL");
  let url: URL | undefined;
  if (text) {
    try {
      url = new URL(encodeUserInfo(text));
    } catch {
      throw new UsageError(`MYSQL_URL '${redactUrl(text)}': not a valid URL`);
    }
  }
  const file = cnf();
  const decoded = (part: string | undefined) => part ? decodeURIComponent(part) : undefined;
  const query = url?.searchParams;
  const host = decoded(url?.hostname) ?? env("MYSQL_HOST") ?? file.host ?? "127.0.0.1";
  const port = url?.port || env("MYSQL_TCP_PORT") || file.port || "3306";
  if (!/^\d+$/.test(port)) throw new UsageError(`mysql: port '${port}' is not a number`);
  const socketPath = query?.get("socket") ??
    (url?.hostname ? undefined : env("MYSQL_UNIX_PORT") ?? file.socket);
  const sslMode = (query?.get("ssl-mode") ?? query?.get("sslmode") ?? "").toUpperCase();
  return {
    host: host === "localhost" && !socketPath ? "127.0.0.1" : host,
    port: Number(port),
    socketPath: socketPath || undefined,
    user: decoded(url?.username) ?? file.user ?? env("USER") ?? "root",
    password: decoded(url?.password) ?? env("MYSQL_PWD") ?? file.password,
    database: locator.database ?? decoded(url?.pathname.slice(1)) ?? file.database,
    ssl: query?.get("ssl") === "true" ||
      ["REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"].includes(sslMode),
  };
}
