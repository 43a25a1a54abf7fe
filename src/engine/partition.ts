/**
 * The partition options of checksum bisection (synctool's `md5sum_hash` reconciliation: a
 * partition column, start, end and initial interval), read into the whole units the databases
 * cut the field in (adapter_kit/checksum.ts `PARTITION_UNITS`): an integer field in itself, a
 * `date` in days and a `timestamp` or `timestamptz` in seconds since 1970-01-01 (UTC).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { partitionBound, partitionInterval } from "./partition.ts";
 * deepStrictEqual(partitionBound("1970-01-02", "date"), 1n);
 * deepStrictEqual(partitionBound("2024-01-01T00:00:01+01:00", "timestamptz"), 1704063601n);
 * deepStrictEqual(partitionInterval("1d", "timestamp"), 86400n);
 * deepStrictEqual(partitionInterval("31536000", "date"), 365n); // synctool's seconds
 * ```
 * @module
 */
import type { FieldType } from "../model/types.ts";

/** The partition options as given (config file or command line). */
export interface PartitionOptions {
  /** The field whose ranges are the segments. */
  field: string;
  /** The first value of the first segment (default: the smallest value of either side). */
  start?: string;
  /** Where the segments end (default: past the largest value of either side). */
  end?: string;
  /** The width of the first segments: `3600`, `15m`, `6h`, `1d`, `1w` (default: the search's). */
  interval?: string;
}

const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** What a partition value of `type` looks like, for messages. */
export function partitionSpelling(type: FieldType): string {
  return type === "integer"
    ? "an integer"
    : type === "date"
    ? "a date (2024-01-31)"
    : "a date or time (2024-01-31, 2024-01-31T10:00:00Z)";
}

/** `value` of a field of `type` in units, or undefined when it is not one. */
export function partitionBound(value: string, type: FieldType): bigint | undefined {
  const text = value.trim();
  if (type === "integer") return /^[-+]?\d+$/.test(text) ? BigInt(text) : undefined;
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i
      .exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = "0", mi = "0", s = "0", zone] = m;
  if (type === "date" && (m[4] !== undefined || zone)) return undefined;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(ms);
  if (Number.isNaN(ms) || check.getUTCDate() !== Number(d) || Number(h) > 23) return undefined;
  if (zone && zone.toUpperCase() !== "Z") {
    if (type !== "timestamptz") return undefined;
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60000;
  }
  const seconds = BigInt(Math.floor(ms / 1000));
  return type === "date" ? seconds / 86400n : seconds;
}

/**
 * The interval `value` (a number of units — seconds for dates and times, as synctool's
 * `initial_partition_interval` — or a number with `s`, `m`, `h`, `d`, `w`) in the field's
 * units, at least 1; undefined when it is not one.
 */
export function partitionInterval(value: string, type: FieldType): bigint | undefined {
  const m = /^(\d+)\s*([smhdw])?$/i.exec(value.trim());
  if (!m || BigInt(m[1]) === 0n) return undefined;
  if (type === "integer") return m[2] ? undefined : BigInt(m[1]);
  const seconds = BigInt(m[1]) * BigInt(SECONDS[(m[2] ?? "s").toLowerCase()]);
  if (type !== "date") return seconds;
  const days = (seconds + 86399n) / 86400n;
  return days;
}
