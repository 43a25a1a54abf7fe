/**
 * The locator grammar every SQL server adapter shares: `SCHEME://USER:PASS@HOST:PORT/DB#NAME`
 * or just `NAME`, where `NAME` is `[NAMESPACE.]TABLE` quoted in the dialect's way. The password
 * never reaches a message (see {@linkcode redactUrls}).
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { splitSqlLocator } from "./sql_locator.ts";
 * const mysql = {
 *   adapter: "mysql",
 *   schemes: /^(mysql|mariadb):\/\//i,
 *   quote: "`",
 *   urlExample: "mysql://USER@HOST:PORT/DATABASE#TABLE",
 *   namespace: "DATABASE",
 *   quoteExample: "'shop.`Order Items`'",
 * } as const;
 * assertEquals(splitSqlLocator("mysql://app:pw@db/shop#users", mysql), {
 *   url: "mysql://app:pw@db/shop",
 *   table: "users",
 * });
 * assertEquals(splitSqlLocator("shop.`Order Items`", mysql), {
 *   url: undefined,
 *   namespace: "shop",
 *   table: "Order Items",
 * });
 * ```
 * @module
 */
import { UsageError } from "../model/errors.ts";
import { redactUrls } from "./redact.ts";
import { splitQualifiedName } from "./sql.ts";

/** How one adapter spells its locators, for parsing and for the messages. */
export interface SqlLocatorSpec {
  /** The adapter's name, as messages start: `mysql locator '…'`. */
  adapter: string;
  /** The URL schemes that start a URL locator. */
  schemes: RegExp;
  /** The dialect's identifier quote. */
  quote: '"' | "`";
  /** A URL to show when the user's is not one. */
  urlExample: string;
  /** What the part before the dot names: `SCHEMA` or `DATABASE`. */
  namespace: string;
  /** A quoted name to show when the user's does not parse. */
  quoteExample: string;
}

/** A locator taken apart; the password stays inside `url`. */
export interface SqlLocator {
  /** The connection URL, without `#NAME`. */
  url?: string;
  /** The schema or database before the dot. */
  namespace?: string;
  table?: string;
}

/**
 * `url` with the characters of its user info that a URL parser would take for the end of it
 * (`#`, `/`, `?`, `@`, a space, a `%` not starting an escape …) percent-encoded: a password
 * typed as it is (`mysql://app:p#ss@db/shop`) then parses, and decodes back to itself. The user
 * info ends at the last `@` (the same rule as {@linkcode redactUrls}); what is already encoded
 * stays as it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeUserInfo } from "./sql_locator.ts";
 * assert.equal(encodeUserInfo("mysql://app:p#s@w@db/shop"), "mysql://app:p%23s%40w@db/shop");
 * assert.equal(encodeUserInfo("mysql://app:p%23@db/shop"), "mysql://app:p%23@db/shop");
 * ```
 */
export function encodeUserInfo(url: string): string {
  const start = url.indexOf("://");
  const at = url.lastIndexOf("@");
  if (start < 0 || at < start) return url;
  const info = url.slice(start + 3, at).replace(
    // Everything but RFC 3986 user info characters and existing escapes; the first `:` parts
    // user from password, later ones are the password's own.
    /%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~!$&'()*+,;=:%]/gu,
    (c) => encodeURIComponent(c),
  );
  return url.slice(0, start + 3) + info + url.slice(at);
}

/**
 * Splits a locator into connection URL, namespace and table, checking the URL's syntax.
 *
 * @throws {UsageError} on a URL that does not parse or a name of more than two parts.
 */
export function splitSqlLocator(locator: string, spec: SqlLocatorSpec): SqlLocator {
  let url: string | undefined;
  let name = locator;
  if (spec.schemes.test(locator)) {
    // The name follows the first `#` after the user info: a password may hold a `#` unencoded.
    const hash = locator.indexOf("#", Math.max(0, locator.lastIndexOf("@")));
    url = encodeUserInfo(hash < 0 ? locator : locator.slice(0, hash));
    name = hash < 0 ? "" : locator.slice(hash + 1);
    try {
      new URL(url);
    } catch {
      throw new UsageError(
        `${spec.adapter} locator '${redactUrls(url)}': not a valid URL`,
        `write ${spec.urlExample} (percent-encode special characters)`,
      );
    }
  }
  if (name.trim() === "") return { url };
  const parts = splitQualifiedName(name, spec.quote);
  if (parts.length > 2 || parts.some((p) => p === "")) {
    throw new UsageError(
      `${spec.adapter} locator '${
        url ? redactUrls(url) + "#" : ""
      }${name}': expected [${spec.namespace}.]TABLE`,
      `quote names with dots or spaces as the server does: ${spec.quoteExample}`,
    );
  }
  return parts.length === 2
    ? { url, namespace: parts[0], table: parts[1] }
    : { url, table: parts[0] };
}
