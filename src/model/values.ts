/**
 * The type rules: converting any value to a field type, and the canonical form that makes two
 * values equal exactly when the target type says they are. docs/types.md is the prose version
 * of this file; keep them in step.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { canonical, convertValue } from "./values.ts";
 * strictEqual(convertValue("1.50", "decimal"), "1.5");
 * strictEqual(convertValue("t", "boolean"), true);
 * strictEqual(canonical(convertValue("1", "float"), "float"), canonical(1.0, "float"));
 * ```
 * @module
 */
import { ConversionError } from "./errors.ts";
import type { FieldType, Value } from "./types.ts";
import { decodeBase64, encodeBase64 } from "./base64.ts";
import { isRawJson, rawJsonNumber } from "./raw_json.ts";

/** The range of dsync's `integer` type: signed 64 bits. */
export const INT_MAX = 9223372036854775807n;
/** See {@linkcode INT_MAX}. */
export const INT_MIN = -9223372036854775808n;
const NUMERIC = /^[+-]?(\d+)?(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
const TIME = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;
const TRUE_WORDS = new Set(["true", "t", "yes", "y", "on", "1"]);
const FALSE_WORDS = new Set(["false", "f", "no", "n", "off", "0"]);

/**
 * Converts `value` (from any adapter) to the canonical value of `type`. An empty string is
 * NULL for every type but `text` and `auto`.
 *
 * @throws {ConversionError} when the value cannot be represented in `type` without loss.
 */
export function convertValue(value: unknown, type: FieldType): Value {
  if (value === null || value === undefined) return null;
  // A JSON number with more digits than a double holds is converted from its exact text.
  if (type !== "json" && type !== "auto" && isRawJson(value)) value = value.rawJSON;
  switch (type) {
    case "text":
      return toText(value);
    case "auto":
      return typeof value === "bigint" && Number.isSafeInteger(Number(value))
        ? Number(value)
        : value as Value;
    case "integer":
      return toInteger(value);
    case "float":
      return toFloat(value);
    case "decimal":
      return toDecimal(value);
    case "boolean":
      return toBoolean(value);
    case "date":
      return toDate(value);
    case "time":
      return toTime(value);
    case "timestamp":
      return toTimestamp(value, false);
    case "timestamptz":
      return toTimestamp(value, true);
    case "bytes":
      return toBytes(value);
    case "json":
      return toJson(value);
  }
}

/**
 * The string that equals another value's canonical string exactly when the two are the same
 * value of `type`. `value` must already be converted to `type` (see {@linkcode convertValue}).
 */
export function canonical(value: unknown, type: FieldType): string {
  if (value === null || value === undefined) return "\u0000";
  if (type === "auto") return autoCanonical(value);
  // JSON text: the string "123" (`"123"`) is not the number 123 (`123`).
  if (type === "json") return stableStringify(value);
  switch (typeof value) {
    case "string":
      return value;
    case "number":
      return Object.is(value, -0) ? "0" : String(value);
    case "bigint":
      return value.toString();
    case "boolean":
      return value ? "\u0001t" : "\u0001f";
  }
  if (value instanceof Uint8Array) return encodeBase64(value);
  return stableStringify(value);
}

/**
 * Canonical form for `auto` fields, whose values keep the source's own shape. Text is compared
 * exactly, so two different texts are never equal (`"0E0"` ≠ `"0E8"`, `"1.0"` ≠ `"1"`); a number,
 * boolean, bytes or JSON value equals the one text that is its canonical spelling, the text dsync
 * writes for it into a text-only target (`1` = `"1"`, `true` = `"true"`, `1.5` ≠ `"1.50"`).
 */
function autoCanonical(value: unknown): string {
  switch (typeof value) {
    case "string":
      return "s" + value;
    case "number":
      return "s" + (Object.is(value, -0) ? "0" : String(value));
    case "bigint":
      return "s" + value.toString();
    case "boolean":
      return value ? "strue" : "sfalse";
  }
  if (value instanceof Uint8Array) return "s" + bytesText(value);
  return "s" + stableStringify(value);
}

/**
 * The text of bytes in a text-only target: standard base64, and `\x` (PostgreSQL's hex form of
 * no bytes) for an empty value, since an empty text is NULL for `bytes`.
 */
export function bytesText(value: Uint8Array): string {
  return value.length ? encodeBase64(value) : "\\x";
}

/**
 * Text that reads as a number without changing meaning: no leading zeros, sign `+` or spaces;
 * `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`.
 */
export function isPlainNumber(text: string): boolean {
  // Scanned by hand: it runs for every numeric key and value, several times faster than a regex.
  const end = text.length;
  let i = text.charCodeAt(0) === 45 ? 1 : 0;
  const start = i;
  while (i < end && isDigit(text.charCodeAt(i))) i++;
  if (i === start || (i > start + 1 && text.charCodeAt(start) === 48)) return false;
  if (i < end && text.charCodeAt(i) === 46) {
    const fraction = ++i;
    while (i < end && isDigit(text.charCodeAt(i))) i++;
    if (i === fraction) return false;
  }
  if (i < end && (text.charCodeAt(i) | 32) === 101) {
    i++;
    if (i < end && (text.charCodeAt(i) === 43 || text.charCodeAt(i) === 45)) i++;
    const exponent = i;
    while (i < end && isDigit(text.charCodeAt(i))) i++;
    if (i === exponent) return false;
  }
  return i === end;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/**
 * How many digits `text` has when it is a plain number without exponent, `-?(0|[1-9]\d*)(\.\d+)?`,
 * else -1.
 */
function plainDecimalDigits(text: string): number {
  const end = text.length;
  let i = text.charCodeAt(0) === 45 ? 1 : 0;
  const start = i;
  while (i < end && isDigit(text.charCodeAt(i))) i++;
  let digits = i - start;
  if (digits === 0 || (digits > 1 && text.charCodeAt(start) === 48)) return -1;
  if (i < end && text.charCodeAt(i) === 46) {
    const fraction = ++i;
    while (i < end && isDigit(text.charCodeAt(i))) i++;
    if (i === fraction) return -1;
    digits += i - fraction;
  }
  return i === end ? digits : -1;
}

/** Whether `text` is `[+-]?\d{1,15}` (an integer that converts exactly by `Number`). */
function isShortInteger(text: string): boolean {
  const end = text.length;
  const first = text.charCodeAt(0);
  const start = first === 45 || first === 43 ? 1 : 0;
  if (end === start || end - start > 15) return false;
  for (let i = start; i < end; i++) if (!isDigit(text.charCodeAt(i))) return false;
  return true;
}

/** Whether `text` is exactly `YYYY-MM-DD` in ASCII digits, the canonical spelling of a date. */
/** Whether text has the shape of a date (`YYYY-MM-DD…`); cheap, for the inference's fast path. */
export function isDateText(text: string): boolean {
  if (text.length !== 10 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return false;
  for (let i = 0; i < 10; i++) {
    if (i !== 4 && i !== 7 && !isDigit(text.charCodeAt(i))) return false;
  }
  return true;
}

/** The number written by the ASCII digits `text[start, start + length)`. */
/** Whether `text` holds `count` ASCII digits from `at`. */
export function digitsAt(text: string, start: number, length: number): number {
  let n = 0;
  for (let i = start; i < start + length; i++) n = n * 10 + text.charCodeAt(i) - 48;
  return n;
}

/** JSON with object keys sorted, so that key order never makes two values differ. */
export function stableStringify(value: unknown): string {
  if (isRawJson(value)) return value.rawJSON;
  if (value === null || typeof value !== "object") {
    return typeof value === "bigint" ? value.toString() : JSON.stringify(value) ?? "null";
  }
  if (Array.isArray(value)) return "[" + value.map(stableStringify).join(",") + "]";
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  return "{" + keys.map((k) => JSON.stringify(k) + ":" + stableStringify(obj[k])).join(",") +
    "}";
}

function toText(value: unknown): string {
  switch (typeof value) {
    case "string":
      return value;
    case "number":
      return Object.is(value, -0) ? "0" : String(value);
    case "bigint":
      return value.toString();
    case "boolean":
      return value ? "true" : "false";
  }
  if (value instanceof Uint8Array) return bytesText(value);
  if (value instanceof Date) return value.toISOString();
  return stableStringify(value);
}

function toInteger(value: unknown): number | bigint | null {
  switch (typeof value) {
    case "number":
      if (Number.isSafeInteger(value)) return value === 0 ? 0 : value;
      if (!Number.isInteger(value)) {
        throw new ConversionError(value, "integer", "has a fractional part");
      }
      return toInteger(BigInt(value));
    case "bigint": {
      // A safe number is exact and within the 64-bit range: no bigint comparisons needed.
      const number = Number(value);
      if (Number.isSafeInteger(number)) return number;
      if (value < INT_MIN || value > INT_MAX) {
        throw new ConversionError(value, "integer", "outside the 64-bit range");
      }
      return value;
    }
    case "boolean":
      return value ? 1 : 0;
    case "string": {
      if (isShortInteger(value)) return Number(value) || 0;
      const text = value.trim();
      if (text === "") return null;
      if (isShortInteger(text)) return Number(text) || 0;
      const decimal = parseDecimal(text);
      if (decimal === null) throw new ConversionError(value, "integer");
      if (decimal.includes(".")) {
        throw new ConversionError(value, "integer", "has a fractional part");
      }
      return toInteger(BigInt(decimal));
    }
  }
  throw new ConversionError(value, "integer");
}

function toFloat(value: unknown): number | null {
  switch (typeof value) {
    case "number":
      return value;
    case "bigint":
      return Number(value);
    case "boolean":
      return value ? 1 : 0;
    case "string": {
      if (plainDecimalDigits(value) > 0 && value.length < 300) return Number(value);
      const text = value.trim();
      if (text === "") return null;
      const m = NUMERIC.exec(text);
      if (m && (m[1] !== undefined || m[2])) {
        const number = Number(text);
        // `1e309` is not infinity: a number beyond the double range cannot be stored.
        if (!Number.isFinite(number)) {
          throw new ConversionError(value, "float", "beyond the range of a double");
        }
        return number;
      }
      if (text === "NaN") return NaN;
      if (/^[+-]?(Infinity|inf)$/i.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
      throw new ConversionError(value, "float");
    }
  }
  throw new ConversionError(value, "float");
}

function toDecimal(value: unknown): string | null {
  switch (typeof value) {
    case "number":
      if (!Number.isFinite(value)) throw new ConversionError(value, "decimal");
      return decimalFromNumber(value);
    case "bigint":
      return value.toString();
    case "boolean":
      return value ? "1" : "0";
    case "string": {
      const text = value.trim();
      if (text === "") return null;
      const decimal = parseDecimal(text);
      if (decimal === null) throw new ConversionError(value, "decimal");
      return decimal;
    }
  }
  throw new ConversionError(value, "decimal");
}

/** Canonical decimal text of a finite number: shortest round-trip digits, no exponent. */
export function decimalFromNumber(value: number): string {
  const text = String(value);
  return /e/i.test(text) ? parseDecimal(text)! : Object.is(value, -0) ? "0" : text;
}

/**
 * Canonical decimal text of a numeric string (`"-001.500e2"` → `"-150"`), or null when the
 * text is not a number. No precision is lost: the digits are shifted, never rounded.
 */
export function parseDecimal(text: string): string | null {
  const m = NUMERIC.exec(text);
  if (!m || (m[1] === undefined && !m[2])) return null;
  const negative = text.startsWith("-");
  let intPart = m[1] ?? "";
  let fracPart = m[2] ?? "";
  const exponent = m[3] ? Number(m[3]) : 0;
  if (Math.abs(exponent) > 1000) return null;
  if (exponent > 0) {
    const shift = fracPart.padEnd(exponent, "0");
    intPart += shift.slice(0, exponent);
    fracPart = shift.slice(exponent);
  } else if (exponent < 0) {
    const shift = intPart.padStart(-exponent, "0");
    fracPart = shift.slice(shift.length + exponent) + fracPart;
    intPart = shift.slice(0, shift.length + exponent);
  }
  intPart = intPart.replace(/^0+/, "") || "0";
  fracPart = fracPart.replace(/0+$/, "");
  const digits = fracPart ? `${intPart}.${fracPart}` : intPart;
  return negative && digits !== "0" ? "-" + digits : digits;
}

function toBoolean(value: unknown): boolean | null {
  switch (typeof value) {
    case "boolean":
      return value;
    case "number":
    case "bigint":
      if (value == 1) return true;
      if (value == 0) return false;
      break;
    case "string": {
      if (value === "true") return true;
      if (value === "false") return false;
      const word = value.trim().toLowerCase();
      if (word === "") return null;
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
    }
  }
  throw new ConversionError(value, "boolean");
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Whether year, month and day make a real calendar date. */
export function realDate(y: number, mo: number, d: number): boolean {
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = mo === 2 && leap ? 29 : MONTH_DAYS[mo - 1];
  return mo >= 1 && mo <= 12 && d >= 1 && d <= days;
}

function checkDate(raw: unknown, type: string, y: number, mo: number, d: number): void {
  if (!realDate(y, mo, d)) throw new ConversionError(raw, type, "no such date");
}

function checkTime(raw: unknown, type: string, h: number, mi: number, s: number): void {
  if (h > 23 || mi > 59 || s > 60) throw new ConversionError(raw, type, "no such time");
}

function fraction(digits: string | undefined): string {
  const trimmed = (digits ?? "").replace(/0+$/, "");
  return trimmed ? "." + trimmed : "";
}

function textOf(value: unknown, type: string): string | null {
  if (value instanceof Date) return value.toISOString();
  if (typeof value !== "string") throw new ConversionError(value, type);
  const text = value.trim();
  return text === "" ? null : text;
}

function toDate(value: unknown): string | null {
  if (typeof value === "string" && isDateText(value)) {
    // Already canonical: only the calendar is left to check.
    checkDate(value, "date", digitsAt(value, 0, 4), digitsAt(value, 5, 2), digitsAt(value, 8, 2));
    return value;
  }
  const text = textOf(value, "date");
  if (text === null) return null;
  const m = DATE_TIME.exec(text);
  if (!m) throw new ConversionError(value, "date");
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  checkDate(value, "date", y, mo, d);
  if (m[8]) {
    const utc = toTimestamp(text, true)!;
    if (!utc.endsWith("T00:00:00Z")) {
      throw new ConversionError(value, "date", "not midnight in UTC");
    }
    return utc.slice(0, 10);
  }
  if (
    m[4] !== undefined && (Number(m[4]) || Number(m[5]) || Number(m[6] ?? 0) || Number(m[7] ?? 0))
  ) {
    throw new ConversionError(value, "date", "has a time of day");
  }
  return `${m[1]}-${m[2]}-${m[3]}`;
}

function toTime(value: unknown): string | null {
  const text = textOf(value, "time");
  if (text === null) return null;
  const m = TIME.exec(text);
  if (!m) throw new ConversionError(value, "time");
  const frac = fraction(m[4]);
  // `24:00:00` is the end of the day, a time PostgreSQL (and MySQL) store and print.
  if (m[1] === "24" && m[2] === "00" && (m[3] ?? "00") === "00" && !frac) return "24:00:00";
  checkTime(value, "time", Number(m[1]), Number(m[2]), Number(m[3] ?? 0));
  return `${m[1]}:${m[2]}:${m[3] ?? "00"}${frac}`;
}

function toTimestamp(value: unknown, withZone: boolean): string | null {
  const type = withZone ? "timestamptz" : "timestamp";
  const text = textOf(value, type);
  if (text === null) return null;
  const m = DATE_TIME.exec(text);
  if (!m) throw new ConversionError(value, type);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [h, mi, s] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  checkDate(value, type, y, mo, d);
  checkTime(value, type, h, mi, s);
  const frac = fraction(m[7]);
  const zone = m[8];
  if (!zone || zone === "Z" || zone === "z" || /^[+-]00:?(00)?$/.test(zone)) {
    const base = `${m[1]}-${m[2]}-${m[3]}T${pad(h)}:${pad(mi)}:${pad(s)}${frac}`;
    return withZone ? base + "Z" : base;
  }
  const [, sign, hours, minutes] = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
  const offset = (sign === "-" ? -1 : 1) * (Number(hours) * 60 + Number(minutes ?? 0));
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi - offset, s, 0);
  const utc = `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${
    pad(date.getUTCDate())
  }T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}${frac}`;
  return withZone ? utc + "Z" : utc;
}

function toBytes(value: unknown): Uint8Array | null {
  if (value instanceof Uint8Array) return value;
  if (typeof value !== "string") throw new ConversionError(value, "bytes");
  if (value === "") return null;
  if (/^\\x([0-9a-fA-F]{2})*$/.test(value)) {
    const out = new Uint8Array((value.length - 2) / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(value.substr(2 + i * 2, 2), 16);
    return out;
  }
  const bytes = decodeBase64(value);
  if (bytes === null) throw new ConversionError(value, "bytes", "not base64 or \\x hex");
  return bytes;
}

function toJson(value: unknown): Value {
  if (typeof value === "string") {
    if (value.trim() === "") return null;
    try {
      return parseJsonExact(value) as Value;
    } catch {
      throw new ConversionError(value, "json", "not valid JSON");
    }
  }
  // An integer (SQLite keeps `123` in a JSON column as one) is a JSON number, exact beyond 2^53.
  if (typeof value === "bigint") return Number.isSafeInteger(Number(value)) ? Number(value) : value;
  if (value instanceof Uint8Array) throw new ConversionError(value, "json");
  return value as Value;
}

/**
 * A value of a `json` field from a side whose values are JSON values already (JSON files, HTTP
 * bodies; `DatasetInfo.jsonValues`): a string is the JSON string itself, `""` included, not JSON
 * text to parse again, so `"123"` stays a string and `"abc"` is no error.
 */
export function convertJsonValue(value: unknown): Value {
  return typeof value === "string" ? value : convertValue(value, "json");
}

/**
 * The JSON form of a value in a change set: 64-bit integers beyond 2^53, decimals and
 * non-finite floats as strings, bytes as base64, dates and timestamps as ISO 8601 strings.
 */
export function toJsonValue(value: unknown): unknown {
  switch (typeof value) {
    case "bigint":
      return value.toString();
    case "number":
      return Number.isFinite(value) ? value : String(value);
  }
  if (value instanceof Uint8Array) return bytesText(value);
  if (typeof value === "object" && value !== null) return withRawIntegers(value);
  return value ?? null;
}

/** A plain JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is { [key: string]: unknown } {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof Uint8Array) && !isRawJson(value);
}

/** A bigint as an exact JSON number for `JSON.stringify` (`JSON.rawJSON`), not a string. */
export function exactJsonNumber(value: bigint): unknown {
  return rawJsonNumber(value.toString());
}

/** `JSON.stringify` that writes bigints, at any depth, as exact JSON numbers. */
export function stringifyJsonExact(value: unknown): string {
  // Without a replacer V8 keeps its fast path (200k change lines: 330–780 → 210–460 ms); a
  // bigint anywhere makes it throw, and the replacer writes that value instead.
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return JSON.stringify(value, (_key, v) => typeof v === "bigint" ? exactJsonNumber(v) : v);
  }
}

/**
 * A JSON value with its nested bigints (exact integers from {@linkcode parseJsonExact}) as raw
 * JSON numbers, so that JSON.stringify writes them digit for digit instead of throwing; the
 * value itself when it has none.
 */
function withRawIntegers(value: object): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) =>
      typeof v === "bigint"
        ? exactJsonNumber(v)
        : v !== null && typeof v === "object"
        ? withRawIntegers(v)
        : v
    );
    return items.some((v, i) => v !== value[i]) ? items : value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const out = typeof v === "bigint"
      ? exactJsonNumber(v)
      : v !== null && typeof v === "object"
      ? withRawIntegers(v)
      : v;
    if (out !== v) (copy ??= { ...value as Record<string, unknown> })[k] = out;
  }
  return copy ?? value;
}

/**
 * `JSON.parse` that keeps numbers exact: integers beyond 2^53 as bigint, decimals with more digits
 * than a double holds as {@linkcode RawJson} numbers holding their canonical decimal text, which
 * `JSON.stringify` writes back as that number.
 *
 * @example
 * ```ts
 * import { parseJsonExact, stringifyJsonExact } from "./values.ts";
 * const value = parseJsonExact('{"a":[9223372036854775807,0.1000000000000000001]}');
 * stringifyJsonExact(value); // '{"a":[9223372036854775807,0.1000000000000000001]}'
 * ```
 */
export function parseJsonExact(text: string): unknown {
  return JSON.parse(text, exactNumbers as never);
}

function exactNumbers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== "number" || !context?.source) return value;
  const source = context.source;
  if (/^-?\d+$/.test(source)) return Number.isSafeInteger(value) ? value : BigInt(source);
  const exact = parseDecimal(source);
  return exact !== null && exact !== decimalFromNumber(value) ? rawJsonNumber(exact) : value;
}
