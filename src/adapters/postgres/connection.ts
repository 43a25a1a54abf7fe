/**
 * Where and as whom dsync connects to PostgreSQL: locator parsing (`URL#[SCHEMA.]TABLE` or a bare
 * table name with DATABASE_URL / PG* variables), `~/.pgpass` lookups, redaction of passwords in
 * messages, and opening postgres.js (`npm:postgres`, imported only here, on first connect).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { parseLocator, redactUrl } from "./connection.ts";
 * deepStrictEqual(parseLocator("crm.users"), { url: undefined, schema: "crm", table: "users" });
 * deepStrictEqual(redactUrl("postgres://app:pw@db/shop"), "postgres://***@db/shop");
 * ```
 * @module
 */
import type { Sql } from "postgres";
import { type DsyncError, InputError, UnreachableError, UsageError } from "../../model/errors.ts";
import {
  encodeUserInfo,
  splitSqlLocator,
  type SqlLocatorSpec,
} from "../../adapter_kit/sql_locator.ts";
import type { AdapterOption, OpenOptions } from "../../adapter_kit/importer.ts";
import { lockWaitMs, secondsOption } from "../../adapter_kit/option_values.ts";
import { redactUrls } from "../../adapter_kit/redact.ts";
import {
  CONNECT_TIMEOUT_OPTION,
  connectSecondsOf,
  DEFAULT_CONNECT_SECONDS,
} from "../../adapter_kit/server_probe.ts";
import { guardedSocket, NO_ANSWER, NOT_POSTGRES, Watchdog } from "./socket.ts";
import { importPackage } from "../../adapter_kit/packages.ts";

/** Seconds a statement (and dsync's own transaction, idle) may take; 0: unbounded. */
export const DEFAULT_STATEMENT_TIMEOUT = 600;
/** Silence past the statement timeout after which the client gives up on the server. */
const WATCHDOG_MARGIN_SECONDS = 5;

/** The adapter's time bounds, as options (also datastore keys in a config file). */
export const TIMEOUT_OPTIONS: AdapterOption[] = [CONNECT_TIMEOUT_OPTION, {
  flags: "--statement-timeout <seconds>",
  description:
    "PostgreSQL: seconds a target statement (or dsync's transaction, idle) may take on the server; dsync gives up on a server silent 5 s longer (0: no bound)",
  defaultValue: String(DEFAULT_STATEMENT_TIMEOUT),
  parse: secondsOption(true),
}];

/** How one table is opened: time bounds in seconds, and what the user acknowledged. */
export interface PgSettings {
  /** Undefined: the URL's `connect_timeout`, else PGCONNECT_TIMEOUT, else the default. */
  connect?: number;
  statement?: number;
  /** Milliseconds a write session waits for another writer's lock (`--lock-timeout`). */
  lockMs?: number;
  /** No notice on stderr (`-q`). */
  quiet?: boolean;
  /** `--create-table` given: a missing target may be created even in an implicit database. */
  createTable?: boolean;
}

/** The settings given by options (command line or config file). */
export function pgSettingsOf(options: OpenOptions): PgSettings {
  const number = (value: unknown) =>
    value === undefined ? undefined : typeof value === "number" ? value : Number(value);
  return {
    connect: connectSecondsOf(options),
    statement: number(options.statementTimeout),
    lockMs: lockWaitMs(options),
    quiet: options.quiet === true,
    createTable: options.createTable === true,
  };
}

/** The connect bound in seconds: the option, else libpq's `connect_timeout` in the URL, else the environment's. */
export function connectSeconds(given: number | undefined, url: string | undefined): number {
  if (given !== undefined) return given;
  let text: string | null = null;
  try {
    text = url ? new URL(url).searchParams.get("connect_timeout") : null;
  } catch {
    // checked by parseLocator
  }
  text ??= Deno.env.get("PGCONNECT_TIMEOUT") ?? null;
  if (text === null || text.trim() === "") return DEFAULT_CONNECT_SECONDS;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    throw new UsageError(`connect_timeout=${text}: expected a whole number of seconds`);
  }
  // libpq: 0 waits forever, and less than 2 s is taken as 2 s.
  return n === 0 ? 0 : Math.max(n, 2);
}

/** Where and as whom to connect, parsed from a locator; never holds the password in clear. */
export interface Connection {
  /** The URL to hand to postgres.js, or undefined to use DATABASE_URL / PG* variables. */
  url?: string;
  /** Schema and table named by the locator (schema may be missing: the default schema). */
  schema?: string;
  table?: string;
}

const LOCATOR: SqlLocatorSpec = {
  adapter: "postgres",
  schemes: /^postgres(?:ql)?:\/\//i,
  quote: '"',
  urlExample: "postgres://USER@HOST:PORT/DATABASE#SCHEMA.TABLE",
  namespace: "SCHEMA",
  quoteExample: `'public."Order Items"'`,
};

/** A URL with its user info and query values replaced by `***`, for messages. */
export function redactUrl(text: string): string {
  return redactUrls(text);
}

/** Splits a locator into connection URL and table. */
export function parseLocator(locator: string): Connection {
  const { url, namespace, table } = splitSqlLocator(locator, LOCATOR);
  return namespace === undefined ? (table === undefined ? { url } : { url, table }) : {
    url,
    schema: namespace,
    table,
  };
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

/** Error codes of a server that cannot be reached or stopped answering. */
const UNREACHABLE =
  /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOENT|EPIPE|ECONNECT|CONNECT_TIMEOUT|CONNECTION_CLOSED|CONNECTION_DESTROYED|CONNECTION_ENDED|08...|57014|57P0.|53300)$/;

/**
 * A failure of `label` while reading or opening it: {@linkcode UnreachableError} (exit 4) when
 * the server cannot be reached, stopped answering or cancelled the statement on a time-out;
 * {@linkcode InputError} (exit 2) otherwise (no such table, bad login, bad SQL).
 */
export function failureOf(label: string, error: unknown, opened?: OpenedSql): DsyncError {
  const code = String((error as { code?: string })?.code ?? "");
  let message = messageOf(error, opened?.secrets ?? []);
  if (code === "CONNECT_TIMEOUT" && opened) {
    message = `cannot connect to ${opened.where}: no answer within ${opened.connectSeconds} s`;
  } else if (
    UNREACHABLE.test(code) && opened && ![NOT_POSTGRES, NO_ANSWER].includes(code) &&
    !message.includes(opened.where)
  ) {
    message = `${opened.where}: ${message}`;
  }
  if ([NOT_POSTGRES, NO_ANSWER].includes(code) || UNREACHABLE.test(code)) {
    const hint = code === NOT_POSTGRES
      ? "check the host and port: another service answers there"
      : code === NO_ANSWER || code === "57014"
      ? "raise --connect-timeout / --statement-timeout if the server is just slow"
      : connectionHint(code);
    return new UnreachableError(`${label}: ${message}`, hint);
  }
  return new InputError(`${label}: ${message}`, connectionHint(code));
}

/** An opened postgres.js client, the secrets to keep out of messages, and `user@host:port/db`. */
export interface OpenedSql {
  sql: Sql;
  secrets: string[];
  label: string;
  /** `host:port` (or the socket path), for messages. */
  where: string;
  connectSeconds: number;
  /** Guards every wait on the server (see socket.ts). */
  watchdog: Watchdog;
  /** True when nothing named the server: libpq's defaults (PGHOST unset, ...) were used. */
  implicit: boolean;
}

/**
 * Opens a postgres.js client (one connection, lazily connected) for `connection`: the locator URL,
 * else DATABASE_URL, else the PG* variables; the password from there or from ~/.pgpass. A source's
 * session is read-only.
 */
export async function openSql(
  connection: Connection,
  role: "source" | "target",
  settings: PgSettings = {},
  /** More postgres.js options (`publications`, for logical decoding). */
  extra: Record<string, unknown> = {},
): Promise<OpenedSql> {
  const { default: postgres } = await importPackage<{ default: typeof import("postgres") }>(
    "postgres",
  );
  const env = Deno.env.get("DATABASE_URL");
  const url = connection.url ?? (env ? encodeUserInfo(env) : undefined);
  const sslmode = Deno.env.get("PGSSLMODE");
  const connect = connectSeconds(settings.connect, url);
  const statement = settings.statement ?? DEFAULT_STATEMENT_TIMEOUT;
  const watchdog = new Watchdog(statement > 0 ? (statement + WATCHDOG_MARGIN_SECONDS) * 1000 : 0);
  // Server-side bounds on the target's writes only: a source's cursor read is one statement
  // that lasts as long as the sync, and is bounded by the watchdog instead.
  const bounds = role === "target" && statement > 0
    ? {
      statement_timeout: `${statement}s`,
      idle_in_transaction_session_timeout: `${statement}s`,
    }
    : {};
  const options: Record<string, unknown> = {
    max: 1,
    onnotice: () => {},
    fetch_types: false,
    idle_timeout: 0,
    // One long sync keeps its connection: no recycling after postgres.js's 30-60 minutes.
    max_lifetime: 0,
    connect_timeout: connect,
    connection: {
      ...bounds,
      application_name: Deno.env.get("PGAPPNAME") ?? "dsync",
      TimeZone: "UTC",
      DateStyle: "ISO, YMD",
      IntervalStyle: "postgres",
      extra_float_digits: "1",
      // A source is only ever read.
      ...(role === "source" ? { default_transaction_read_only: "on" } : {}),
    },
  };
  Object.assign(options, extra);
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
  const where = o.host[0]?.startsWith("/")
    ? `${o.host[0]}/.s.PGSQL.${o.port[0]}`
    : `${o.host[0]}:${o.port[0]}`;
  if (o.host.length === 1) {
    (o as unknown as { socket: unknown }).socket = guardedSocket(connect * 1000, watchdog);
  }
  const implicit = !url &&
    !["PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE"].some((name) => Deno.env.get(name));
  return { sql, secrets, label, where, connectSeconds: connect, watchdog, implicit };
}
