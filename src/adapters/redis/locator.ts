/**
 * Redis locators and key names: `redis://[user:pass@]host:port/db#PREFIX` opens database `db`
 * and holds one record per key `PREFIX:{key}`. A composite key's values are joined with `:`;
 * inside a value, `\` is written `\\` and `:` is written `\:`, so every key name splits back
 * into exactly the values it was made of.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { keyName, keyParts, parseRedisLocator } from "./locator.ts";
 * assertEquals(keyName("users", ["EU", "a:b"]), "users:EU:a\\:b");
 * assertEquals(keyParts("users", "users:EU:a\\:b"), ["EU", "a:b"]);
 * assertEquals(parseRedisLocator("redis://127.0.0.1:6379/3#users").db, 3);
 * ```
 * @module
 */
import { UsageError } from "../../model/errors.ts";
import { redactUrl } from "../../adapter_kit/http_client.ts";

/** Where the records of one locator live. */
export interface RedisLocation {
  host: string;
  port: number;
  /** Database number (`SELECT db`); 0 when the path is empty. */
  db: number;
  username?: string;
  password?: string;
  /** True for `rediss://` (TLS). */
  tls: boolean;
  /** Key prefix without the `:` that follows it. */
  prefix: string;
  /** The locator for messages: no user name or password. */
  label: string;
  /** `--connect-timeout` in seconds (0: none); undefined: the default. */
  connectSeconds?: number;
}

/**
 * Parses a `redis://` or `rediss://` locator. `defaultPrefix` is used when the locator has no
 * `#PREFIX` (a target named after its source; `""` for lookups, whose keys are given whole).
 *
 * @throws {UsageError} for another scheme, a bad database number or a missing prefix.
 */
export function parseRedisLocator(locator: string, defaultPrefix?: string): RedisLocation {
  let url: URL;
  try {
    url = new URL(locator);
  } catch {
    throw new UsageError(
      `${redactUrl(locator)}: expected redis://[user:pass@]host:port/db#PREFIX`,
    );
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new UsageError(
      `${redactUrl(locator)}: expected redis://[user:pass@]host:port/db#PREFIX`,
    );
  }
  const path = url.pathname.replace(/^\//, "");
  if (!/^\d*$/.test(path)) {
    throw new UsageError(`${redactUrl(locator)}: database '${path}' is not a number (0-15)`);
  }
  const prefix = decodeURIComponent(url.hash.replace(/^#/, "")) || defaultPrefix;
  if (prefix === undefined || (prefix === "" && defaultPrefix !== "")) {
    throw new UsageError(
      `${redactUrl(locator)}: which keys? add #PREFIX (records are the keys PREFIX:{key})`,
    );
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1";
  const port = url.port ? Number(url.port) : 6379;
  const db = path === "" ? 0 : Number(path);
  return {
    host,
    port,
    db,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    tls: url.protocol === "rediss:",
    prefix,
    label: `${url.protocol}//${url.host}/${db}#${prefix}`,
  };
}

/** One key value as it appears in a key name: `\` → `\\`, `:` → `\:`. */
function escapePart(text: string): string {
  return text.replace(/[\\:]/g, (c) => "\\" + c);
}

/** The key name of a record: `PREFIX:part1:part2`, each part escaped. */
export function keyName(prefix: string, parts: string[]): string {
  return prefix + ":" + parts.map(escapePart).join(":");
}

/**
 * The key values in a key name (the inverse of {@linkcode keyName}), or undefined when the name
 * does not start with `PREFIX:`.
 */
export function keyParts(prefix: string, name: string): string[] | undefined {
  if (!name.startsWith(prefix + ":")) return undefined;
  const parts: string[] = [];
  let part = "";
  for (let i = prefix.length + 1; i < name.length; i++) {
    const c = name[i];
    if (c === "\\" && i + 1 < name.length) part += name[++i];
    else if (c === ":") {
      parts.push(part);
      part = "";
    } else part += c;
  }
  parts.push(part);
  return parts;
}

/** A `SCAN MATCH` pattern for every key under the prefix, glob characters of the prefix escaped. */
export function matchPattern(prefix: string): string {
  return prefix.replace(/[\\*?[\]]/g, (c) => "\\" + c) + ":*";
}
