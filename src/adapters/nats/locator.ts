/**
 * NATS locators, subjects and KV keys.
 *
 * - `nats://[user:pass@|token@]host:port/kv/BUCKET`: a JetStream key-value bucket, one entry per
 *   record.
 * - `nats://[user:pass@|token@]host:port/SUBJECT`: change events. As a target SUBJECT is a
 *   template: `{table}` is the source's base name and `{op}` the change's op
 *   (default `dsync.{table}.{op}`); as a source it is a subject filter (`dsync.users.>`).
 *
 * A KV key is made of the record's key values, each encoded so that any text fits the KV key
 * alphabet: `A-Z a-z 0-9 _ -` stay, every other UTF-8 byte becomes `=XX` (hex); the values of a
 * composite key are joined with `.`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { kvKey, kvKeyParts, parseNatsLocator } from "./locator.ts";
 * assertEquals(kvKey(["EU west", "7"]), "EU=20west.7");
 * assertEquals(kvKeyParts("EU=20west.7"), ["EU west", "7"]);
 * assertEquals(parseNatsLocator("nats://127.0.0.1:4222/kv/users").bucket, "users");
 * ```
 * @module
 */
import { UsageError } from "../../model/errors.ts";
import { redactUrl } from "../../adapter_kit/http_client.ts";

/** The default subject template of change events. */
export const DEFAULT_SUBJECT = "dsync.{table}.{op}";

/** Where a NATS locator points. */
export interface NatsLocation {
  /** `host:port` for the client. */
  server: string;
  user?: string;
  pass?: string;
  token?: string;
  /** The KV bucket, for `/kv/BUCKET`. */
  bucket?: string;
  /** The subject (template or filter) otherwise; undefined when the path is empty. */
  subject?: string;
  /** `nats://host:port` without credentials, for messages. */
  origin: string;
  /** The secrets to keep out of messages. */
  secrets: string[];
  /** `--connect-timeout` in seconds (0: none); undefined: the default. */
  connectSeconds?: number;
}

const USAGE = "expected nats://host:port/SUBJECT or nats://host:port/kv/BUCKET";

/** Parses a `nats://` (or `tls://`) locator. @throws {UsageError} for other forms. */
export function parseNatsLocator(locator: string): NatsLocation {
  let url: URL;
  try {
    url = new URL(locator);
  } catch {
    throw new UsageError(`${redactUrl(locator)}: ${USAGE}`);
  }
  if (url.protocol !== "nats:" && url.protocol !== "tls:") {
    throw new UsageError(`${redactUrl(locator)}: ${USAGE}`);
  }
  const path = decodeURIComponent(url.pathname.replace(/^\//, ""));
  const user = url.username ? decodeURIComponent(url.username) : undefined;
  const pass = url.password ? decodeURIComponent(url.password) : undefined;
  const origin = `${url.protocol}//${url.host || "127.0.0.1:4222"}`;
  const location: NatsLocation = {
    server: url.host || "127.0.0.1:4222",
    origin,
    secrets: [pass, pass === undefined ? user : undefined].filter((s): s is string => !!s),
  };
  if (pass !== undefined) Object.assign(location, { user, pass });
  else if (user !== undefined) location.token = user;
  const kv = /^kv\/(.*)$/.exec(path);
  if (kv) {
    if (!/^[-\w]+$/.test(kv[1])) {
      throw new UsageError(
        `${origin}/${path}: bucket '${kv[1]}': use letters, digits, '-' and '_'`,
      );
    }
    location.bucket = kv[1];
  } else if (path !== "") {
    if (/\s/.test(path) || /(^|\.)(\.|$)/.test(path)) {
      throw new UsageError(`${origin}/${path}: '${path}' is not a NATS subject`);
    }
    location.subject = path;
  }
  return location;
}

/** A subject template with `{table}` and `{op}` filled in (`*` for any op). */
export function renderSubject(template: string, table: string, op: string): string {
  return template.replaceAll("{table}", table).replaceAll("{op}", op);
}

/** One key value in the KV key alphabet (see the module doc). */
function encodePart(text: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(text)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) ? c : "=" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** The KV key of a record from its key values' text. */
export function kvKey(parts: string[]): string {
  return parts.map(encodePart).join(".");
}

/** The key values of a KV key (the inverse of {@linkcode kvKey}). */
export function kvKeyParts(key: string): string[] {
  return key.split(".").map((part) => {
    const bytes: number[] = [];
    for (let i = 0; i < part.length; i++) {
      if (part[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(part.slice(i + 1, i + 3))) {
        bytes.push(parseInt(part.slice(i + 1, i + 3), 16));
        i += 2;
      } else bytes.push(part.charCodeAt(i));
    }
    return new TextDecoder().decode(new Uint8Array(bytes));
  });
}

/** `text` with every secret replaced by `***`. */
export function redactSecrets(text: string, secrets: string[]): string {
  return secrets.reduce((out, secret) => out.replaceAll(secret, "***"), text);
}
