/**
 * Base64 for byte values, strict on input so that text is never mistaken for bytes.
 *
 * @example
 * ```ts
 * encodeBase64(new Uint8Array([1, 2])); // "AQI="
 * decodeBase64("AQI=");                 // Uint8Array [1, 2]
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
