/**
 * Values between JavaScript and `node:sqlite`: how a value is bound, and rows read as arrays
 * with exact 64-bit integers and NUL-safe text.
 *
 * @module
 */
import type { StatementSync } from "node:sqlite";
import type { RowBatch } from "../../model/types.ts";
import { stableStringify } from "../../model/values.ts";
import { batchRows } from "../../adapter_kit/batches.ts";
import { decodeNulText } from "./nul_text.ts";

/** Rows as arrays (no per-row key objects), 64-bit integers exact as bigint. */
export function arrays(statement: StatementSync): void {
  // setReturnArrays is missing from @types/node's typings.
  (statement as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(true);
  statement.setReadBigInts(true);
}

/** A JSON field's value as SQLite binds it: always JSON text. */
export function bindJson(value: unknown): unknown {
  return value !== null && value !== undefined ? stableStringify(value) : null;
}

/** The rows of `statement` (its columns NUL-safe selected), bound to `params`, decoded. */
export function decodedRows(
  statement: StatementSync,
  params: unknown[],
  batchSize: number,
): AsyncGenerator<RowBatch> {
  arrays(statement);
  return batchRows(statement.iterate(...params.map(bindValue) as never[]), batchSize, (item) => {
    const row = item as unknown as unknown[];
    decodeNulText(row);
    return row;
  });
}

/** A value as SQLite binds it: booleans as 0/1, NaN as text, objects as JSON text. */
export function bindValue(value: unknown): unknown {
  switch (typeof value) {
    case "boolean":
      return value ? 1 : 0;
    case "number":
      // SQLite would store NaN as NULL; a REAL column keeps the text, read back as NaN.
      return Number.isNaN(value) ? "NaN" : value;
    case "object":
      if (value === null || value instanceof Uint8Array) return value;
      return stableStringify(value);
  }
  return value;
}
