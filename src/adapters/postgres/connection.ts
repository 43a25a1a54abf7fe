/**
 * Where and as whom dsync connects to PostgreSQL: locator parsing (`URL#[SCHEMA.]TABLE` or a bare
 * table name with DATABASE_URL / PG* variables), `~/.pgpass` lookups, redaction of passwords in
 * messages, and opening postgres.js (`npm:postgres`, imported only here, on first connect).
 *
 * @example
 * ```ts
 * import { assertEquals } from "node:assert/strict";
 * import { parseLocator, redactUrl } from "./connection.ts";
 * assertEquals(parseLocator("crm.users"), { url: undefined, schema: "crm", table: "users" });
 * assertEquals(redactUrl("postgres://app:pw@db/shop"), "postgres://***@db/shop");
 * ```
 * @module
 */
import type { Sql } from "postgres";
import { UsageError } from "../../model/errors.ts";
import { splitQualifiedName } from "../../adapter_kit/sql.ts";
import { redactUrls } from "../../adapter_kit/redact.ts";

/** Where and as whom to connect, parsed from a locator; never holds the password in clear. */
export interface Connection {
  /** The URL to hand to postgres.js, or undefined to use DATABASE_URL / PG* variables. */
  url?: string;
  /** Schema and table named by the locator (schema may be missing: the default schema). */
  schema?: string;
  table?: string;
}

const URL_RE = /^postgres(?:ql)?:\/\//i;

/** A URL with its user info and query values replaced by `***`, for messages. */
export function redactUrl(text: string): string {
  return redactUrls(text);
}

/** Splits a locator into connection URL and table. */
export function parseLocator(locator: string): Connection {
  let url: string | undefined;
  let name: string;
  if (URL_RE.test(locator)) {
    // The table follows the first `#` after the user info: a password may hold a `#` unencoded.
    const hash = locator.indexOf("#", Math.max(0, locator.lastIndexOf("@")));
    url = hash < 0 ? locator : locator.slice(0, hash);
    name = hash < 0 ? "" : locator.slice(hash + 1);
    try {
      new URL(url);
    } catch {
      throw new UsageError(
        `postgres locator '${redactUrl(url)}': not a valid URL`,
        "write postgres://USER@HOST:PORT/DATABASE#SCHEMA.TABLE (percent-encode special characters)",
      );
    }
  } else {
    name = locator;
  }
  if (name.trim() === "") return { url };
  const parts = splitQualifiedName(name);
  if (parts.length > 2 || parts.some((p) => p === "")) {
    throw new UsageError(
      `postgres locator '${url ? redactUrl(url) + "#" : ""}${name}': expected [SCHEMA.]TABLE`,
      `quote names with dots or spaces as in SQL: 'public."Order Items"'`,
    );
  }
  return parts.length === 2 ? { url, schema: parts[0], table: parts[1] } : { url, table: parts[0] };
}

/** The table of a locator, or the default table name for a target. */
export function tableOf(locator: string, fallback: string | undefined, role: string): Connection {
  const connection = parseLocator(locator);
  if (!connection.table) {
    if (!fallback) {
      throw new UsageError(
        `postgres ${role} '${
          redactUrl(locator)
        }': which table? write URL#[SCHEMA.]TABLE, or just [SCHEMA.]TABLE`,
      );
    }
    connection.table = fallback;
  }
  return connection;
}

/** The password for host/port/db/user from ~/.pgpass (or PGPASSFILE), as libpq finds it. */
export function pgpassPassword(
  host: string,
  port: string,
  database: string,
  user: string,
  file = Deno.env.get("PGPASSFILE") ??
    (Deno.env.get("HOME") ? `${Deno.env.get("HOME")}/.pgpass` : undefined),
): string | undefined {
  if (!file) return undefined;
  let text: string;
  try {
    const info = Deno.statSync(file);
    // libpq ignores a password file that group or others can read.
    if (Deno.build.os !== "windows" && info.mode !== null && (info.mode & 0o077) !== 0) {
      return undefined;
    }
    text = Deno.readTextFileSync(file);
  } catch {
    return undefined;
  }
  const wanted = [host.startsWith("/") ? "localhost" : host, port, database, user];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const fields: string[] = [];
    let field = "";
    for (let i = 0; i < line.length; i++) {
      if (line[i] === "\\" && i + 1 < line.length) field += line[++i];
      else if (line[i] === ":" && fields.length < 4) {
        fields.push(field);
        field = "";
      } else field += line[i];
    }
    fields.push(field);
    if (fields.length < 5) continue;
    if (wanted.every((w, i) => fields[i] === "*" || fields[i] === w)) return fields[4];
  }
  return undefined;
}

/** Message of any error, with secrets removed. */
export function messageOf(error: unknown, secrets: string[]): string {
  const e = error as { message?: string; detail?: string; code?: string };
  let text = e?.message ?? String(error);
  if (e?.code && /^E[A-Z]+$/.test(e.code) && !text.includes(e.code)) text += ` (${e.code})`;
  if (e?.detail) text += ` (${e.detail})`;
  return redact(text, secrets);
}

/** `text` with URL passwords and every one of `secrets` replaced by `***`. */
export function redact(text: string, secrets: string[]): string {
  let out = redactUrls(text);
  for (const secret of secrets) if (secret) out = out.replaceAll(secret, "***");
  return out;
}

/** The hint for a failure to reach or log in to the server, by error code; undefined otherwise. */
export function connectionHint(code: string): string | undefined {
  return /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|CONNECT_TIMEOUT|ETIMEDOUT|EHOSTUNREACH)$/.test(code)
    ? "is the server running? the connection comes from the locator URL, else DATABASE_URL, else PGHOST/PGPORT/PGUSER/PGDATABASE"
    : code === "28P01" || code === "28000"
    ? "check the user and password (URL, PGPASSWORD or ~/.pgpass)"
    : undefined;
}

/** An opened postgres.js client, the secrets to keep out of messages, and `user@host:port/db`. */
export interface OpenedSql {
  sql: Sql;
  secrets: string[];
  label: string;
}

/**
 * Opens a postgres.js client (one connection, lazily connected) for `connection`: the locator URL,
 * else DATABASE_URL, else the PG* variables; the password from there or from ~/.pgpass. A source's
 * session is read-only.
 */
export async function openSql(
  connection: Connection,
  role: "source" | "target",
): Promise<OpenedSql> {
  const { default: postgres } = await import("postgres");
  const url = connection.url ?? (Deno.env.get("DATABASE_URL") || undefined);
  const sslmode = Deno.env.get("PGSSLMODE");
  const options: Record<string, unknown> = {
    max: 1,
    onnotice: () => {},
    fetch_types: false,
    idle_timeout: 0,
    // One long sync keeps its connection: no recycling after postgres.js's 30-60 minutes.
    max_lifetime: 0,
    connect_timeout: Number(Deno.env.get("PGCONNECT_TIMEOUT")) || 10,
    connection: {
      application_name: Deno.env.get("PGAPPNAME") ?? "dsync",
      TimeZone: "UTC",
      DateStyle: "ISO, YMD",
      IntervalStyle: "postgres",
      extra_float_digits: "1",
      // A source is only ever read.
      ...(role === "source" ? { default_transaction_read_only: "on" } : {}),
    },
  };
  if (sslmode && !/[?&]sslmode=/.test(url ?? "")) {
    options.ssl = sslmode === "disable" ? false : sslmode;
  }
  let sql: Sql;
  try {
    sql = url ? postgres(url, options) : postgres(options);
  } catch (error) {
    throw new UsageError(
      `cannot use the PostgreSQL connection settings: ${messageOf(error, [])}`,
    );
  }
  const secrets: string[] = [];
  const o = sql.options as unknown as {
    host: string[];
    port: number[];
    database: string;
    user: string;
    pass: string | (() => string);
  };
  if (typeof o.pass === "string" && o.pass) secrets.push(o.pass);
  if (url) {
    try {
      const password = decodeURIComponent(new URL(url).password);
      if (password) secrets.push(password, new URL(url).password);
    } catch {
      // already checked by parseLocator
    }
  }
  if (!o.pass) {
    const found = pgpassPassword(o.host[0], String(o.port[0]), o.database, o.user);
    if (found) {
      secrets.push(found);
      o.pass = found;
    }
  }
  const label = `${o.user}@${o.host.join(",")}:${o.port[0]}/${o.database}`;
  return { sql, secrets, label };
}
