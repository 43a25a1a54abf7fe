/**
 * `COPY ... FROM STDIN` in text format: values encoded as COPY text fields, rows chunked, and the
 * chunks streamed into the server through postgres.js.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { copyValue } from "./copy.ts";
 * deepStrictEqual(copyValue(null, "text"), "\\N");
 * deepStrictEqual(copyValue("a\tb", "text"), "a\\tb");
 * ```
 * @module
 */
import type { TransactionSql } from "postgres";
import type { CreateChange } from "../../adapter_kit/changes.ts";
import type { FieldType } from "../../model/types.ts";
import { stableStringify } from "../../model/values.ts";
import { encodeBase64 } from "../../model/base64.ts";

/** Rows of COPY text data per chunk written to the server. */
const COPY_CHUNK_BYTES = 1 << 20;

/**
 * Streams COPY text data into `statement` (`copy ... from stdin`).
 *
 * postgres.js 3.4.9 never settles the writable when the server rejects the data after the last
 * chunk was sent (porsager/postgres#1173): the server's error only reaches the query's `reject`.
 * So that is watched too, and whichever settles first decides.
 */
export async function copyIn(
  tx: TransactionSql,
  statement: string,
  chunks: Iterable<string>,
): Promise<void> {
  const { Readable } = await import("node:stream");
  const { pipeline } = await import("node:stream/promises");
  const query = tx.unsafe(statement) as unknown as {
    reject: (error: unknown) => void;
    writable(): Promise<NodeJS.WritableStream>;
  };
  const failed = new Promise<never>((_, reject) => {
    const original = query.reject;
    query.reject = (error) => {
      reject(error);
      original(error);
    };
  });
  failed.catch(() => {});
  const writable = await Promise.race([query.writable(), failed]);
  await Promise.race([pipeline(Readable.from(chunks), writable), failed]);
}

const ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  "\t": "\\t",
  "\n": "\\n",
  "\r": "\\r",
};
const NEEDS_ESCAPE = /[\\\t\n\r]/;

/** A string as a COPY text-format field. */
function copyText(text: string): string {
  return NEEDS_ESCAPE.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]) : text;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]];
  return out;
}

/** One value as a COPY text-format field of a column of dsync type `type`. */
export function copyValue(value: unknown, type: FieldType): string {
  if (value === null || value === undefined) return "\\N";
  // A JSON value is always written as JSON text: the string `abc` as `"abc"`, `true` as `true`.
  if (type === "json") return copyText(stableStringify(value));
  switch (typeof value) {
    case "string":
      return copyText(value);
    case "boolean":
      return value ? "t" : "f";
    case "bigint":
      return value.toString();
    case "number":
      if (Number.isFinite(value)) return String(value);
      return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  }
  if (value instanceof Uint8Array) {
    // bytea input `\x0102`, with COPY's backslash doubled; base64 text for a text column.
    return type === "bytes" ? "\\\\x" + hex(value) : encodeBase64(value);
  }
  return copyText(stableStringify(value));
}

/** The values of each create, in the plan's field order. */
export function* afterValues(changes: Iterable<CreateChange>): Generator<unknown[]> {
  for (const change of changes) yield change.after;
}

/**
 * COPY text data for `rows` (values in `fields` order), in chunks of about 1 MiB; `progress`
 * hears the number of rows sent after each full chunk.
 */
export function* copyRows(
  fields: { type: FieldType }[],
  rows: Iterable<unknown[]>,
  progress?: (rows: number) => void,
): Generator<string> {
  let chunk = "";
  const types = fields.map((f) => f.type);
  let r = 0;
  for (const row of rows) {
    r++;
    let line = "";
    for (let i = 0; i < types.length; i++) {
      line += (i ? "\t" : "") + copyValue(row[i], types[i]);
    }
    chunk += line + "\n";
    if (chunk.length >= COPY_CHUNK_BYTES) {
      yield chunk;
      chunk = "";
      progress?.(r);
    }
  }
  if (chunk) yield chunk;
}
