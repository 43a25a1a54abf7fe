/**
 * ClickHouse column types and values: parsing a type name (`Nullable(Decimal(10, 2))`), the dsync
 * type it maps to, how a column is selected so its value comes back exactly (JSONEachRow), how a
 * value is written (JSONEachRow for inserts, a `CAST` literal for mutations), and the check that
 * refuses, before anything is written, a value the column would store differently.
 * docs/types.md ("ClickHouse") is the prose version.
 *
 * @example
 * ```ts
 * import { strictEqual as assertEquals } from "node:assert/strict";
 * import { chFieldType, parseChType, writeCheck } from "./types.ts";
 * const type = parseChType("Nullable(Decimal(10, 2))");
 * assertEquals(chFieldType(type), "decimal");
 * assertEquals(writeCheck(type)("1.234"), '"1.234" has more decimal places than Decimal(10, 2) keeps (2)');
 * ```
 * @module
 */
import type { FieldType } from "../../model/types.ts";
import { showValue } from "../../model/errors.ts";
import { bytesText, decimalFromNumber, parseDecimal, stableStringify } from "../../model/values.ts";
import { isRawJson } from "../../model/raw_json.ts";
import { clickhouseDialect } from "./dialect.ts";

/** What a ClickHouse type is made of, for the types dsync knows. */
export type ChKind =
  | "int"
  | "float"
  | "decimal"
  | "date"
  | "datetime"
  | "string"
  | "fixed"
  | "uuid"
  | "enum"
  | "array"
  | "other";

/** A parsed ClickHouse type; `Nullable(...)` and `LowCardinality(...)` unwrapped into flags. */
export interface ChType {
  /** The type as ClickHouse spells it, wrappers included (`Nullable(String)`). */
  text: string;
  kind: ChKind;
  /** The base name: `UInt64`, `Decimal`, `FixedString`, `Array`, ... */
  name: string;
  nullable: boolean;
  /** Integer range (int), digits (decimal: precision, scale), bytes (fixed). */
  min?: bigint;
  max?: bigint;
  precision?: number;
  scale?: number;
  length?: number;
  /** Float32 rather than Float64. */
  single?: boolean;
  /** The names of an Enum8/Enum16. */
  names?: string[];
  /** The element type of an Array. */
  element?: ChType;
  /** A String column written from a `json` field: every value as its JSON text (`"abc"`). */
  json?: boolean;
}

const INT_BITS: Record<string, [bigint, bigint]> = {};
for (const bits of [8, 16, 32, 64]) {
  const b = BigInt(bits);
  INT_BITS[`Int${bits}`] = [-(1n << (b - 1n)), (1n << (b - 1n)) - 1n];
  INT_BITS[`UInt${bits}`] = [0n, (1n << b) - 1n];
}

/** Splits `a, 'b,c', D(e, f)` at top-level commas. */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let depth = 0, quoted = false, start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === "'") quoted = false;
    } else if (c === "'") quoted = true;
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = text.slice(start).trim();
  if (last !== "" || out.length) out.push(last);
  return out;
}

/** A single-quoted ClickHouse string literal's value. */
function unquote(text: string): string {
  return text.slice(1, -1).replace(/\\(.)/g, (_, c: string) => {
    const escapes: Record<string, string> = { n: "\n", t: "\t", r: "\r", "0": "\0", b: "\b" };
    return escapes[c] ?? c;
  });
}

/** Parses a type name as `system.columns` or `DESCRIBE` spell it. */
export function parseChType(text: string, nullable = false): ChType {
  const trimmed = text.trim();
  const m = /^(\w+)\s*(?:\((.*)\))?$/s.exec(trimmed);
  const name = m?.[1] ?? trimmed;
  const args = m?.[2] !== undefined ? splitArgs(m[2]) : [];
  if (name === "Nullable" || name === "LowCardinality") {
    const inner = parseChType(args[0] ?? "", nullable || name === "Nullable");
    return { ...inner, text: trimmed };
  }
  const base: ChType = { text: trimmed, kind: "other", name, nullable };
  if (INT_BITS[name]) {
    return { ...base, kind: "int", min: INT_BITS[name][0], max: INT_BITS[name][1] };
  }
  switch (name) {
    case "Float32":
    case "Float64":
      return { ...base, kind: "float", single: name === "Float32" };
    case "Decimal":
      return { ...base, kind: "decimal", precision: Number(args[0]), scale: Number(args[1]) };
    case "Decimal32":
    case "Decimal64":
    case "Decimal128": {
      const precision = { Decimal32: 9, Decimal64: 18, Decimal128: 38 }[name];
      return { ...base, kind: "decimal", precision, scale: Number(args[0]) };
    }
    case "Date":
      return { ...base, kind: "date" };
    case "DateTime":
      return { ...base, kind: "datetime" };
    case "String":
      return { ...base, kind: "string" };
    case "FixedString":
      return { ...base, kind: "fixed", length: Number(args[0]) };
    case "UUID":
      return { ...base, kind: "uuid" };
    case "Enum8":
    case "Enum16":
      return {
        ...base,
        kind: "enum",
        names: args.map((a) => unquote(/^('(?:[^'\\]|\\.)*')/.exec(a)?.[1] ?? "''")),
      };
    case "Array":
      return { ...base, kind: "array", element: parseChType(args[0] ?? "") };
  }
  return base;
}

/** The dsync type of a column of `type`. */
export function chFieldType(type: ChType): FieldType {
  switch (type.kind) {
    case "int":
      // dsync integers are signed 64-bit: UInt64 values past 2^63 - 1 stay exact as decimal text.
      return type.name === "UInt64" ? "decimal" : "integer";
    case "float":
      return "float";
    case "decimal":
      return "decimal";
    case "date":
      return "date";
    case "datetime":
      return "timestamptz";
    case "array":
      return supported(type) ? "json" : "text";
    default:
      // String, FixedString, UUID, Enum, and anything else (read as its text form).
      return "text";
  }
}

/**
 * dsync types a column of a table dsync created holds in another type, marked by the column
 * comment `dsync:TYPE`: exact text in a String (decimal, time, bytes as base64, JSON), booleans
 * as UInt8 0/1.
 */
const COMMENT_TYPES: Partial<Record<FieldType, ChKind>> = {
  decimal: "string",
  time: "string",
  bytes: "string",
  json: "string",
  boolean: "int",
};

/** The column comment of a new column holding values of `type`, if it needs one. */
export function typeComment(type: FieldType): string | undefined {
  return COMMENT_TYPES[type] ? `dsync:${type}` : undefined;
}

/**
 * The dsync type a column's comment (`dsync:json`) gives it, so that a table dsync created
 * compares as what it holds: JSON as JSON, bytes as bytes, booleans as booleans.
 */
export function commentType(type: ChType, comment: string): FieldType | undefined {
  const m = /^dsync:(\w+)$/.exec(comment);
  const as = m?.[1] as FieldType | undefined;
  return as && COMMENT_TYPES[as] === type.kind ? as : undefined;
}

/**
 * Whether dsync reads and writes values of `type` exactly (else it is read as text only): the
 * scalar types, and arrays of them.
 */
function supported(type: ChType): boolean {
  if (type.kind === "array") {
    const element = type.element!;
    return element.kind !== "array" && element.kind !== "other";
  }
  return type.kind !== "other";
}

/**
 * The SELECT expression of column `quoted` of `type`: what JSONEachRow prints exactly (DateTime
 * as Unix seconds, whatever the server's time zone). Decimals are read as the bare JSON numbers
 * ClickHouse prints, with every digit ({@linkcode needsExactJson}): 18.16's `toString` of a
 * Decimal128 beyond 2^64 prints NUL bytes in place of digits.
 */
export function readExpression(quoted: string, type: ChType): string {
  switch (type.kind) {
    case "other":
      return `toString(${quoted})`;
    case "datetime":
      return `toUnixTimestamp(${quoted})`;
    case "array": {
      const element = type.element!;
      if (element.kind === "array" || element.kind === "other") return `toString(${quoted})`;
      if (element.kind === "datetime") return `arrayMap(x -> toUnixTimestamp(x), ${quoted})`;
      return quoted;
    }
  }
  return quoted;
}

/** Whether JSON rows with a column of `type` must be parsed keeping every digit of numbers. */
export function needsExactJson(type: ChType): boolean {
  return type.kind === "decimal" || (type.kind === "array" && type.element!.kind === "decimal");
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** Unix seconds as dsync's timestamptz text: `2024-01-02T03:04:05Z`. */
function isoFromUnix(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${
    pad(d.getUTCHours())
  }:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}Z`;
}

/**
 * dsync's timestamptz text (or timestamp text, taken as UTC) as Unix seconds; undefined with
 * fractional seconds or other text.
 */
function unixFromIso(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z?$/.exec(text);
  if (!m) return undefined;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000;
}

/** A 64-bit integer as JSONEachRow quotes it, as dsync holds it: number when safe, else bigint. */
function integerOf(raw: unknown): unknown {
  if (typeof raw !== "string") return raw;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : BigInt(raw);
}

/** Decimal text as a JSON number when a double holds it exactly, else as text. */
function jsonNumber(text: string): unknown {
  const exact = parseDecimal(text) ?? text;
  return decimalFromNumber(Number(exact)) === exact ? Number(exact) : exact;
}

/** A value as {@linkcode readExpression} printed it (parsed JSON), as dsync holds it. */
export function readValue(value: unknown, type: ChType, inArray = false): unknown {
  if (value === null || value === undefined) return null;
  // parseJsonExact keeps numbers a double cannot hold as raw JSON: their exact digits as text.
  const raw = isRawJson(value) ? value.rawJSON : value;
  switch (type.kind) {
    case "int":
      if (type.name === "UInt64" && !inArray) return String(raw);
      // In a JSON array, integers past 2^53 stay exact as strings (JSON numbers are doubles).
      return inArray && typeof raw === "string" && !Number.isSafeInteger(Number(raw))
        ? raw
        : integerOf(raw);
    case "float":
      if (raw === "inf" || raw === "+inf") return Infinity;
      if (raw === "-inf") return -Infinity;
      if (raw === "nan" || raw === "-nan") return NaN;
      // Digits a double does not hold exactly came as text (exact JSON parsing): a float anyway.
      return typeof raw === "string" ? Number(raw) : raw;
    case "decimal":
      // A number here is one whose shortest form is its exact decimal (see parseJsonExact).
      if (typeof raw === "number") return inArray ? raw : decimalFromNumber(raw);
      return inArray ? jsonNumber(String(raw)) : parseDecimal(String(raw)) ?? raw;
    case "date":
      // Day 0 (1970-01-01) prints as the "zero date".
      return raw === "0000-00-00" ? "1970-01-01" : raw;
    case "datetime":
      return isoFromUnix(Number(raw));
    case "fixed":
      return typeof raw === "string" ? raw.replace(/\0+$/, "") : raw;
    case "array":
      if (!Array.isArray(raw)) return raw;
      return raw.map((v) => readValue(v, type.element!, true));
  }
  return raw;
}

/** The JSON text of `value` (dsync's form) for a JSONEachRow INSERT into a column of `type`. */
export function insertJson(value: unknown, type: ChType): string {
  if (value === null || value === undefined) return "null";
  switch (type.kind) {
    case "int":
      return typeof value === "boolean" ? (value ? "1" : "0") : String(value);
    case "float": {
      const n = Number(value);
      if (Number.isFinite(n)) return String(n);
      return Number.isNaN(n) ? '"nan"' : n > 0 ? '"inf"' : '"-inf"';
    }
    case "decimal":
      // 18.16 reads a JSON Decimal only from a bare number; the canonical text is one.
      return parseDecimal(String(value)) ?? String(value);
    case "datetime":
      return String(unixFromIso(String(value)));
    case "array":
      return "[" + (value as unknown[]).map((v) => insertJson(v, type.element!)).join(",") + "]";
  }
  return JSON.stringify(asText(value, type));
}

/** A value for a String column: text as it is, bytes as base64, JSON as its text. */
function asText(value: unknown, type: ChType): string {
  if (type.json) return stableStringify(value);
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return bytesText(value);
  return stableStringify(value);
}

/** A value as a literal for a `CAST(... AS T)`: text, a number for floats, arrays of these. */
function castText(value: unknown, type: ChType): string {
  if (value === null || value === undefined) return "NULL";
  if (type.kind === "array") {
    return "[" + (value as unknown[]).map((v) => castText(v, type.element!)).join(", ") + "]";
  }
  if (type.kind === "float") {
    // A number literal: the SQL parser reads it exactly, 18.16's text-to-float conversion
    // (CAST('5.81' AS Float64) = 5.8100000000000005) does not. Always with a point or an
    // exponent, so that an array of them is Float64, never a mix with UInt64 or Int64.
    const n = Number(value);
    if (!Number.isFinite(n)) return Number.isNaN(n) ? "nan" : n > 0 ? "inf" : "-inf";
    const text = String(n);
    return /^-?\d+$/.test(text) ? text + ".0" : text;
  }
  let text: string;
  switch (type.kind) {
    case "datetime":
      text = String(unixFromIso(String(value)));
      break;
    case "int":
      text = typeof value === "boolean" ? (value ? "1" : "0") : String(value);
      break;
    default:
      text = asText(value, type);
  }
  return clickhouseDialect.literal(text);
}

/** `value` as a SQL expression of exactly `type`, for `ALTER TABLE ... UPDATE`. */
export function castLiteral(value: unknown, type: ChType): string {
  return `CAST(${castText(value, type)} AS ${type.text})`;
}

/** `values` as one array expression of element type `type`. */
export function castArray(values: unknown[], type: ChType): string {
  return `CAST([${values.map((v) => castText(v, type)).join(", ")}] AS Array(${type.text}))`;
}

/** UTF-8 length of a string. */
function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** Shortest decimal text of a Float32, as the double it reads back as. */
function singleReadBack(value: number): number {
  const single = Math.fround(value);
  for (let p = 1; p <= 9; p++) {
    const text = single.toPrecision(p);
    if (Math.fround(Number(text)) === single) return Number(text);
  }
  return single;
}

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Dates ClickHouse 18.16 stores (later ones silently become the zero date). */
const DATE_MAX = "2105-12-31";
const DATETIME_MAX = 4294967295;

/**
 * A check for values written to a column of `type`: why a value cannot be stored exactly as it
 * is, or undefined. ClickHouse would otherwise store a default, wrap, round or reject part way.
 */
export function writeCheck(type: ChType): (value: unknown) => string | undefined {
  return (value) => check(value, type);
}

function check(value: unknown, type: ChType): string | undefined {
  if (value === null || value === undefined) {
    return type.nullable
      ? undefined
      : `NULL, but ${type.text} is not Nullable (ClickHouse would store its default)`;
  }
  const shown = showValue(value);
  if (!supported(type)) {
    return `${type.text} columns are read as text only; dsync does not write them`;
  }
  switch (type.kind) {
    case "int": {
      const integer = typeof value === "number"
        ? Number.isInteger(value)
        : typeof value === "string"
        ? /^-?\d+$/.test(value)
        : typeof value === "bigint" || typeof value === "boolean";
      if (!integer) return `${shown} is not an integer`;
      const n = typeof value === "boolean" ? (value ? 1n : 0n) : BigInt(value as string);
      if (n < type.min! || n > type.max!) {
        return `${shown} is out of range for ${type.name} (${type.min} to ${type.max})`;
      }
      return;
    }
    case "float":
      if (typeof value !== "number") return `${shown} is not a number`;
      if (value !== 0 && Math.abs(value) < 2.2250738585072014e-308) {
        return `${shown} is subnormal, which ClickHouse 18.16 neither reads exactly nor parses in SQL`;
      }
      if (type.single && Number.isFinite(value) && singleReadBack(value) !== value) {
        return `${shown} does not fit a Float32 (it would read back as ${singleReadBack(value)})`;
      }
      return;
    case "decimal": {
      const text = typeof value === "string" ? parseDecimal(value) : null;
      if (text === null) return `${shown} is not a decimal number`;
      const [int, frac = ""] = text.replace(/^-/, "").split(".");
      const intDigits = int === "0" ? 0 : int.length;
      if (frac.length > type.scale!) {
        return `${shown} has more decimal places than ${type.name}(${type.precision}, ${type.scale}) keeps (${type.scale})`;
      }
      if (intDigits > type.precision! - type.scale!) {
        return `${shown} is out of range for ${type.name}(${type.precision}, ${type.scale})`;
      }
      return;
    }
    case "date":
      if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(value)) {
        return `${shown} is not a date`;
      }
      if (value < "1970-01-01" || value > DATE_MAX) {
        return `${shown} is outside the range of Date (1970-01-01 to ${DATE_MAX})`;
      }
      return;
    case "datetime": {
      const seconds = typeof value === "string" ? unixFromIso(value) : undefined;
      if (seconds === undefined) {
        return typeof value === "string" && /\.\d/.test(value)
          ? `${shown} has fractional seconds, which DateTime does not keep`
          : `${shown} is not a timestamp`;
      }
      if (seconds < 0 || seconds > DATETIME_MAX) {
        return `${shown} is outside the range of DateTime (1970-01-01T00:00:00Z to 2106-02-07T06:28:15Z)`;
      }
      return;
    }
    case "fixed":
      if (typeof value !== "string") return `${shown} is not text`;
      if (utf8Length(value) > type.length!) {
        return `${shown} is too long for ${type.text} (${utf8Length(value)} bytes)`;
      }
      if (value.endsWith("\0")) return `${shown} ends with NUL, which FixedString uses as padding`;
      return;
    case "uuid":
      if (typeof value !== "string" || !UUID_TEXT.test(value)) {
        return `${shown} is not a UUID in lowercase 8-4-4-4-12 hex form`;
      }
      return;
    case "enum":
      if (typeof value !== "string" || !type.names!.includes(value)) {
        return `${shown} is not one of ${type.text}'s values (${type.names!.join(", ")})`;
      }
      return;
    case "string":
      return;
    case "array": {
      if (!Array.isArray(value)) return `${shown} is not a JSON array, as ${type.text} needs`;
      for (const element of value) {
        const why = check(element, type.element!);
        if (why) return `element ${why}`;
      }
      return;
    }
  }
}
