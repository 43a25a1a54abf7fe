/**
 * Where a ClickHouse locator points and how to talk to it: the locator grammar
 * (`clickhouse://USER:PASS@HOST:PORT/DB#TABLE`, `http(s)://...`, or `[DB.]TABLE` with
 * `CLICKHOUSE_URL`), the client of `npm:@clickhouse/client` (loaded only here, on first use),
 * and error messages without passwords.
 *
 * @example
 * ```ts
 * import { strictEqual as assertEquals } from "node:assert/strict";
 * import { parseLocator, redactUrl } from "./connection.ts";
 * assertEquals(parseLocator("clickhouse://app:pw@db:8123/shop#events").table, "events");
 * assertEquals(redactUrl("clickhouse://app:pw@db/shop"), "clickhouse://***@db/shop");
 * ```
 * @module
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { redactUrls } from "../../adapter_kit/redact.ts";
import {
  encodeUserInfo,
  splitSqlLocator,
  type SqlLocatorSpec,
} from "../../adapter_kit/sql_locator.ts";
import { InputError, UnreachableError, UsageError } from "../../model/errors.ts";
import { DEFAULT_CONNECT_SECONDS, WRONG_SERVER_HINT } from "../../adapter_kit/server_probe.ts";
import { fetchFailure } from "../../adapter_kit/http_client.ts";
import { importPackage } from "../../adapter_kit/packages.ts";

/** A locator taken apart; the password stays inside `url`. */
export interface ChLocator {
  /** The URL of the locator, else undefined (CLICKHOUSE_URL, else http://localhost:8123). */
  url?: string;
  /** Database named by the locator (`DB.TABLE`, or the URL's path). */
  database?: string;
  table?: string;
  /** `--connect-timeout` in seconds (0: none); undefined: the default. */
  connectSeconds?: number;
}

const LOCATOR: SqlLocatorSpec = {
  adapter: "clickhouse",
  schemes: /^(clickhouses?|https?):\/\//i,
  quote: "`",
  urlExample: "clickhouse://USER:PASSWORD@HOST:8123/DATABASE#TABLE",
  namespace: "DATABASE",
  quoteExample: "'shop.`order items`'",
};

/** A URL (or any text) with the user info and query values of every URL in it hidden. */
export const redactUrl: (text: string) => string = redactUrls;

/** Splits a locator into URL, database and table. */
export function parseLocator(locator: string): ChLocator {
  const { url, namespace, table } = splitSqlLocator(locator, LOCATOR);
  return namespace === undefined ? (table === undefined ? { url } : { url, table }) : {
    url,
    database: namespace,
    table,
  };
}

/** How to reach the server, resolved from the locator and the environment. */
export interface ChEndpoint {
  /** `http(s)://host:port`, without credentials. */
  origin: string;
  username: string;
  password: string;
  /** The database of the URL path, else `default`. */
  database: string;
  /** `user@host:port`, for labels. */
  label: string;
  /** `--connect-timeout` in seconds (0: none); undefined: the default. */
  connectSeconds?: number;
}

/** The endpoint of `locator`: its URL, else CLICKHOUSE_URL, else http://localhost:8123. */
export function endpointOf(locator: ChLocator): ChEndpoint {
  const text = locator.url ?? (Deno.env.get("CLICKHOUSE_URL") || "http://localhost:8123");
  let url: URL;
  try {
    url = new URL(encodeUserInfo(text));
  } catch {
    throw new UsageError(`CLICKHOUSE_URL '${redactUrl(text)}': not a valid URL`);
  }
  const secure = /^(clickhouses|https):$/i.test(url.protocol);
  const port = url.port || (secure ? "8443" : "8123");
  const username = decodeURIComponent(url.username) || Deno.env.get("CLICKHOUSE_USER") ||
    "default";
  const password = url.password
    ? decodeURIComponent(url.password)
    : Deno.env.get("CLICKHOUSE_PASSWORD") ?? "";
  const database = decodeURIComponent(url.pathname.replace(/^\/+|\/+$/g, "")) || "default";
  return {
    origin: `${secure ? "https" : "http"}://${url.hostname}:${port}`,
    username,
    password,
    database,
    label: `${username}@${url.hostname}:${port}`,
    connectSeconds: locator.connectSeconds,
  };
}

/** Settings on every request: exact 64-bit integers and non-finite floats in JSON output. */
const SETTINGS = {
  output_format_json_quote_64bit_integers: 1,
  output_format_json_quote_denormals: 1,
} as const;

/** The hint for a server that cannot be reached. */
const UNREACHABLE_HINT =
  "is the server running? the connection comes from the locator URL, else CLICKHOUSE_URL (default http://localhost:8123)";

/**
 * Asks the server's `/ping` within `--connect-timeout`: the client would wait an hour on a
 * silent server (its request bound is for long queries), and any HTTP server answering 200
 * would pass for ClickHouse. Throws an {@linkcode UnreachableError} (exit 4) naming `host:port`.
 */
export async function probeClickhouse(endpoint: ChEndpoint, label: string): Promise<void> {
  const seconds = endpoint.connectSeconds ?? DEFAULT_CONNECT_SECONDS;
  const where = endpoint.origin.replace(/^https?:\/\//, "");
  let status: number, body: string;
  try {
    const response = await fetch(`${endpoint.origin}/ping`, {
      signal: seconds > 0 ? AbortSignal.timeout(seconds * 1000) : undefined,
    });
    status = response.status;
    body = await response.text();
  } catch (error) {
    const cause = (error as Error).name === "TimeoutError"
      ? `no answer within ${seconds} s`
      : fetchFailure(error as Error).cause;
    throw new UnreachableError(`${label}: cannot connect to ${where}: ${cause}`, UNREACHABLE_HINT);
  }
  if (status !== 200 || body.trim() !== "Ok.") {
    throw new UnreachableError(
      `${label}: ${where} is not a ClickHouse server: /ping answered ${status} ${
        JSON.stringify(body.slice(0, 60).split(/\r?\n/)[0])
      }`,
      WRONG_SERVER_HINT,
    );
  }
}

/** Opens the client (importing `@clickhouse/client` now, not before), after a probe. */
export async function openClient(endpoint: ChEndpoint, label: string): Promise<ClickHouseClient> {
  await probeClickhouse(endpoint, label);
  const { createClient, ClickHouseLogLevel } = await importPackage<
    typeof import("@clickhouse/client")
  >(
    "@clickhouse/client",
  );
  return createClient({
    url: endpoint.origin,
    username: endpoint.username,
    password: endpoint.password,
    database: endpoint.database,
    application: "dsync",
    // A long sorted read or mutation may be silent for minutes.
    request_timeout: 3_600_000,
    clickhouse_settings: SETTINGS,
    // Failures reach the user as one line each (messageOf); the client's own log would repeat
    // them, and progress headers (its advice for long queries) overflow on hour-long ones.
    log: { level: ClickHouseLogLevel.OFF },
  });
}

/**
 * One line for a failure: ClickHouse's own message without its `e.what()` tail and stack, and
 * without the password.
 */
export function messageOf(error: unknown, secrets: string[]): string {
  const e = error as { message?: string; code?: string };
  let text = e?.message ?? String(error);
  const display = /e\.displayText\(\) = (?:DB::Exception: )?(.*?)(?:, e\.what\(\) = .*)?$/s
    .exec(text);
  if (display) text = display[1];
  text = text.replace(/\s*\(version [\d.]+[^)]*\)\s*$/, "").replace(/\s+/g, " ").trim();
  if (e?.code && /^E[A-Z]+$/.test(e.code) && !text.includes(e.code)) text += ` (${e.code})`;
  let out = redactUrl(text);
  for (const secret of secrets) if (secret) out = out.replaceAll(secret, "***");
  return out;
}

/** Whether `error` says the server could not be reached at all. */
function connectionFailed(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? "";
  return /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ECONNRESET)$/.test(code) ||
    /connect|Timeout error/i.test((error as Error)?.message ?? "");
}

/** An {@linkcode InputError} for a failure while reading or describing `label`. */
export function readError(label: string, error: unknown, secrets: string[]): InputError {
  const hint = connectionFailed(error)
    ? UNREACHABLE_HINT
    : /Authentication failed|password is incorrect|Unknown user/i.test(String(error))
    ? "check the user and password (URL, or CLICKHOUSE_USER / CLICKHOUSE_PASSWORD)"
    : undefined;
  return new InputError(`${label}: ${messageOf(error, secrets)}`, hint);
}
