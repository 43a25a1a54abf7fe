/**
 * Secrets out of messages: every URL in a text loses its whole user info and the value of every
 * query parameter (names stay, so the message still says which parameter), whether or not the
 * URL is valid — a password with an unencoded `#`, `/` or `?` must not leak through the "not a
 * valid URL" message. Used for every message, with `-v` too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redactUrls } from "./redact.ts";
 * assert.equal(redactUrls("postgres://app:p#w?d@db/shop"), "postgres://***@db/shop");
 * assert.equal(redactUrls("GET http://h/x?jwt=abc&page=2: 500"), "GET http://h/x?jwt=***&page=***: 500");
 * ```
 * @module
 */

/** What a secret is replaced with. */
export const REDACTED = "***";

/**
 * A URL-like token: `scheme:/` (one slash or more: a mistyped `http:/host` too) up to white
 * space or a quote, without trailing punctuation.
 */
const URL_TOKEN = /\b([a-z][a-z0-9+.-]*:\/+)([^\s"'<>`]*[^\s"'<>`):,;.])?/gi;

/** `text` with every URL's user info and query values replaced by `***`. */
export function redactUrls(text: string): string {
  return text.replace(URL_TOKEN, (_, scheme: string, rest = "") => scheme + redactRest(rest));
}

/**
 * A locator the user typed, for a message saying it is not a URL: as {@linkcode redactUrls},
 * and without a scheme its user info and query values are hidden all the same.
 */
export function redactLocator(text: string): string {
  const redacted = redactUrls(text);
  return redacted !== text || /^[a-z][a-z0-9+.-]*:\//i.test(text) ? redacted : redactRest(text);
}

/** One URL after its `scheme://`. */
function redactRest(rest: string): string {
  // Up to the last `@`: a password may hold `@`, `/`, `?` or `#` unencoded. When a path or a
  // query holds an `@` too, more is hidden than needed, never less.
  const at = rest.lastIndexOf("@");
  let out = at >= 0 ? REDACTED + rest.slice(at) : rest;
  const q = out.indexOf("?");
  if (q < 0) return out;
  const hash = out.indexOf("#", q);
  const end = hash < 0 ? out.length : hash;
  const query = out.slice(q + 1, end).split("&").map((pair) => {
    const eq = pair.indexOf("=");
    return eq < 0 ? pair : `${pair.slice(0, eq)}=${REDACTED}`;
  }).join("&");
  out = `${out.slice(0, q + 1)}${query}${out.slice(end)}`;
  return out;
}
