/**
 * How `--mode incremental` and `--mode backfill` compare values of the update key: numbers as
 * numbers (also untyped CSV text that reads as a number), everything else as the database orders
 * text (code unit order, which is time order for ISO 8601 dates and timestamps, whose fractions of
 * a second are compared by value).
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * import { compareValues, parseRange } from "./watermark.ts";
 * strictEqual(compareValues("10", "9", "auto") > 0, true); // CSV text that is a number
 * strictEqual(compareValues("10", "9", "text") < 0, true); // a text column: as SQL orders text
 * strictEqual(compareValues("2024-05-10", "2024-05-09", "auto") > 0, true);
 * strictEqual(compareValues(10n, 9, "integer") > 0, true);
 * strictEqual(compareValues("2024-05-01T10:00:00.5Z", "2024-05-01T10:00:00Z", "timestamptz") > 0, true);
 * deepStrictEqual(parseRange("2024-01-01..2024-02-01"), { from: "2024-01-01", to: "2024-02-01" });
 * deepStrictEqual(parseRange("100.."), { from: "100", to: undefined });
 * ```
 * @module
 */
import { UsageError } from "../model/errors.ts";
import type { FieldType } from "../model/types.ts";
import { convertValue } from "../model/values.ts";

const NUMBER = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/;

/** Negative, zero or positive as `a` sorts before, with or after `b` (values of `type`). */
export function compareValues(a: unknown, b: unknown, type: FieldType): number {
  // Untyped text (CSV) that reads as numbers compares as numbers; a text column as the database
  // orders text.
  const numeric = type === "integer" || type === "float" || type === "decimal" ||
    (type === "auto" && isNumber(a) && isNumber(b));
  if (numeric) {
    if (typeof a === "bigint" || typeof b === "bigint") {
      const x = toBigInt(a), y = toBigInt(b);
      if (x !== undefined && y !== undefined) return x < y ? -1 : x > y ? 1 : 0;
    }
    const x = Number(a), y = Number(b);
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x < y ? -1 : x > y ? 1 : 0;
  }
  const x = timeText(String(a)), y = timeText(String(b));
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Seconds with their fraction padded to 9 digits, so that `10:00:00Z` sorts before `10:00:00.5Z`. */
function timeText(text: string): string {
  return text.replace(
    /(\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(?!\d)/,
    (_, s, f = "") => `${s}.${f.padEnd(9, "0")}`,
  );
}

function isNumber(value: unknown): boolean {
  return typeof value === "number" || typeof value === "bigint" ||
    (typeof value === "string" && NUMBER.test(value));
}

function toBigInt(value: unknown): bigint | undefined {
  try {
    return typeof value === "bigint" ? value : BigInt(value as number | string);
  } catch {
    return undefined;
  }
}

/** A backfill range: inclusive bounds, either one open. */
export interface Range {
  from?: string;
  to?: string;
}

/**
 * Parses `--range A..B` (`A..` and `..B` leave one end open).
 *
 * @throws {UsageError} for text without `..` or with both ends empty.
 */
export function parseRange(text: string): Range {
  const at = text.indexOf("..");
  const from = at < 0 ? "" : text.slice(0, at).trim();
  const to = at < 0 ? "" : text.slice(at + 2).trim();
  if (at < 0 || (from === "" && to === "")) {
    throw new UsageError(
      `--range ${text}: expected FROM..TO over the update key`,
      "e.g. --range 2024-01-01..2024-01-31 or --range 1000..2000 (inclusive; A.. or ..B for an open end)",
    );
  }
  return { from: from || undefined, to: to || undefined };
}

/** A bound as a value of `type` (its canonical form), or the text as it is for untyped fields. */
export function boundValue(text: string, type: FieldType, option: string): unknown {
  if (type === "auto" || type === "text") return text;
  try {
    return convertValue(text, type);
  } catch {
    throw new UsageError(`${option}: '${text}' is not a ${type} value (the update key's type)`);
  }
}
