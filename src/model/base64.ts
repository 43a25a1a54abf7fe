/**
 * Base64 for byte values, strict on input so that text is never mistaken for bytes.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * import { decodeBase64, encodeBase64 } from "./base64.ts";
 * strictEqual(encodeBase64(new Uint8Array([1, 2])), "AQI=");
 * deepStrictEqual(decodeBase64("AQI="), new Uint8Array([1, 2]));
 * strictEqual(decodeBase64("AQI"), null); // no padding: not base64
 * ```
 * @module
 */
import { Buffer } from "node:buffer";

/** Standard base64 with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Decodes standard base64 (padding required), or returns null when `text` is not base64. */
export function decodeBase64(text: string): Uint8Array | null {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  return new Uint8Array(Buffer.from(text, "base64"));
}
