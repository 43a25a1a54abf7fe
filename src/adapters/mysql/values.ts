/**
 * MySQL values in and out: what a column is ({@linkcode MysqlColumn}, from
 * `information_schema` or a declared type), how its raw text-protocol bytes become dsync values
 * ({@linkcode readerFor}), how dsync values are bound ({@linkcode bindValue}), and which values a
 * column would refuse or silently change ({@linkcode valueCheck}) — checked before writing,
 * because MySQL rounds decimals and fractional seconds, pads `BINARY(n)`, drops the trailing
 * spaces of `CHAR(n)` and folds `ENUM`/`SET` values without an error even in strict mode.
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { columnOf, valueCheck } from "./values.ts";
 * const column = columnOf("price", "decimal(5,2)");
 * assertEquals(valueCheck(column)!("1.234"), '"1.234" has more decimal places than decimal(5,2) keeps (2); MySQL would round it');
 * ```
 * @module
 */
import { Buffer } from "node:buffer";
import type { FieldType } from "../../model/types.ts";
import { showValue } from "../../model/errors.ts";
import { parseDecimal, parseJsonExact, stableStringify } from "../../model/values.ts";
import { codePoints } from "../../adapter_kit/value_checks.ts";
import { mysqlType } from "./dialect.ts";

/** What dsync knows of one column. */
export interface MysqlColumn {
  name: string;
  /** `int`, `varchar`, `datetime`, ... (lower case). */
  dataType: string;
  /** The full declared type: `int(10) unsigned`, `enum('a','b')`, `decimal(10,2)`. */
  columnType: string;
  type: FieldType;
  unsigned: boolean;
  /** Characters of `char(n)`/`varchar(n)`; bits of `bit(n)`; bytes of `binary(n)`. */
  length?: number;
  /** Largest value in bytes of a `*text`/`*blob`/`varbinary` column. */
  octets?: number;
  /** `decimal(p,s)`. */
  precision?: number;
  scale?: number;
  /** Fractional-second digits of `time`/`datetime`/`timestamp`. */
  fsp?: number;
  /** Members of `enum(...)`/`set(...)`. */
  members?: string[];
  /** The column's character set (`utf8mb4`, `utf8mb3`, `latin1`); undefined for non-text. */
  charset?: string;
}

const OCTETS: Record<string, number> = {
  tinytext: 255,
  text: 65535,
  mediumtext: 16777215,
  longtext: 4294967295,
  tinyblob: 255,
  blob: 65535,
  mediumblob: 16777215,
  longblob: 4294967295,
};

/** The members of `enum('a','b''c')` / `set(...)`. */
function members(columnType: string): string[] {
  const out: string[] = [];
  const re = /'((?:[^']|'')*)'/g;
  for (let m = re.exec(columnType); m; m = re.exec(columnType)) {
    out.push(m[1].replaceAll("''", "'"));
  }
  return out;
}

/**
 * A column from its declared type (`COLUMN_TYPE` of `information_schema.COLUMNS`, or a type
 * dsync declares for a new table).
 */
export function columnOf(
  name: string,
  columnType: string,
  extra: { json?: boolean; charset?: string; dataType?: string; timeAs?: TimeAs } = {},
): MysqlColumn {
  const full = columnType.trim();
  const dataType = (extra.dataType ?? /^[a-z]+/i.exec(full)?.[0] ?? full).toLowerCase();
  const args = /^\w+\s*\(([^)]*)\)/.exec(full)?.[1].split(",").map((a) => Number(a.trim()));
  const column: MysqlColumn = {
    name,
    dataType,
    columnType: full,
    type: dataType === "time" && extra.timeAs === "text"
      ? "text"
      : mysqlType({ dataType, columnType: full, json: extra.json }),
    unsigned: /\bunsigned\b/i.test(full),
    charset: extra.charset,
  };
  const textual = /char|text|enum|set/.test(dataType);
  if (textual && !extra.charset) column.charset = "utf8mb4";
  if (dataType === "enum" || dataType === "set") column.members = members(full);
  else if (/^(var)?(char|binary)$/.test(dataType)) {
    column.length = args?.[0] ?? 1;
    if (dataType === "varbinary") column.octets = column.length;
  } else if (dataType === "bit") column.length = args?.[0] ?? 1;
  else if (dataType === "decimal" || dataType === "numeric") {
    column.precision = args?.[0] ?? 10;
    column.scale = args?.[1] ?? 0;
  } else if (/^(time|datetime|timestamp)$/.test(dataType)) column.fsp = args?.[0] ?? 0;
  if (OCTETS[dataType] !== undefined) column.octets = OCTETS[dataType];
  return column;
}

/** The SELECT expression that reads `quoted` exactly: a `FLOAT` widened to `DOUBLE`. */
export function selectExpression(column: MysqlColumn, quoted: string): string {
  return column.dataType === "float" ? `(${quoted} + 0E0)` : quoted;
}

/** The placeholder that writes into `column`: a `BIT` takes a number, not a string. */
export function placeholderFor(column: MysqlColumn | undefined): string {
  return column?.dataType === "bit" ? "CAST(? AS UNSIGNED)" : "?";
}

/** The shortest decimal text MySQL 8 prints for a FLOAT, as the double it reads back as. */
export function floatReadBack(value: number): number {
  const single = Math.fround(value);
  for (let p = 1; p <= 9; p++) {
    const text = single.toPrecision(p);
    if (Math.fround(Number(text)) === single) return Number(text);
  }
  return single;
}

function integer(text: string): number | bigint {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

function unsignedOf(bytes: Uint8Array): number | bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return Number.isSafeInteger(Number(n)) ? Number(n) : n;
}

/** `.500000` → `.5`; `.000` → nothing. */
function fraction(text: string): string {
  const dot = text.indexOf(".");
  if (dot < 0) return text;
  const trimmed = text.slice(0, dot + 1) + text.slice(dot + 1).replace(/0+$/, "");
  return trimmed.endsWith(".") ? trimmed.slice(0, -1) : trimmed;
}

/** A value the column holds that dsync cannot represent: the reader names record and field. */
export class UnreadableValue extends Error {}

/** What a zero date (`0000-00-00`, `2024-00-10`) reads as: an error naming it, or NULL. */
export type ZeroDates = "error" | "null";

/**
 * What a `TIME` column is (`--time-as`): a `time` of day (a value outside one day is an error),
 * or `text`, MySQL's own form, durations included (`-01:30:00`, `838:59:59`).
 */
export type TimeAs = "time" | "text";

/** A `TIME` as MySQL prints it (fraction without trailing zeros): `-HH:MM:SS[.ffffff]`. */
const TIME_TEXT = /^(-?)(\d{2}|[1-8]\d{2}):([0-5]\d):([0-5]\d)(?:\.(\d*[1-9]))?$/;

/** Why `value` cannot go into TIME column `column` as the text it reads back as, or undefined. */
function timeTextProblem(value: string, column: MysqlColumn): string | undefined {
  const m = TIME_TEXT.exec(value);
  const fraction = m?.[5] ?? "";
  const zero = m && /^0+$/.test(m[2] + m[3] + m[4]) && !fraction;
  const over = m && (Number(m[2]) > 838 || (m[2] === "838" && (m[3] + m[4] > "5959" || fraction)));
  if (!m || over || (m[1] && zero)) {
    return `${
      showValue(value)
    } is not a TIME as MySQL prints it (-838:59:59 to 838:59:59, HH:MM:SS with two hour digits or three, no trailing zeros in the fraction)`;
  }
  if (fraction.length > (column.fsp ?? 0)) {
    return `${
      showValue(value)
    } has more fractional seconds than ${column.columnType} keeps (${column.fsp} digits); MySQL would round it`;
  }
}

/** True when `text` is a zero date and `zeroDates` makes it NULL; throws when it is an error. */
function zeroDate(text: string, zeroDates: ZeroDates): boolean {
  if (!/^0000-|-00[- ]|-00$/.test(text)) return false;
  if (zeroDates === "null") return true;
  throw new UnreadableValue(
    `zero date ${
      showValue(text)
    }: MySQL's "no date" is not a date; read it as NULL with --zero-dates null, make it NULL in the table, or filter it with --where`,
  );
}

/** Whether `column` is read as bytes (`BINARY`, `BLOB`, `BIT`); every other column as text. */
export function readsBytes(column: MysqlColumn): boolean {
  return column.type === "bytes" || column.dataType === "bit";
}

/**
 * How raw values of `column` — its bytes when {@linkcode readsBytes}, else its text as the
 * server sent it — become dsync values; NULL stays null.
 * @throws {UnreadableValue} for zero dates (unless `zeroDates` is `null`) and `TIME` values
 * outside one day.
 */
export function readerFor(
  column: MysqlColumn,
  zeroDates: ZeroDates = "error",
): (raw: string | Uint8Array) => unknown {
  const text = (raw: string | Uint8Array) => raw as string;
  if (column.dataType === "time" && column.type === "text") return (raw) => fraction(text(raw));
  switch (column.dataType) {
    case "bit":
      return column.type === "boolean"
        ? (raw) => unsignedOf(raw as Uint8Array) !== 0
        : (raw) => unsignedOf(raw as Uint8Array);
    case "tinyint":
      if (column.type === "boolean") {
        // TINYINT(1) may hold any TINYINT: other values are handed over as the numbers they are.
        return (raw) => {
          const n = Number(text(raw));
          return n === 1 ? true : n === 0 ? false : n;
        };
      }
  }
  switch (column.type) {
    case "integer":
      return (raw) => integer(text(raw));
    case "decimal":
      return (raw) => {
        const t = text(raw);
        return parseDecimal(t) ?? t;
      };
    case "float":
      return column.dataType === "float"
        ? (raw) => floatReadBack(Number(text(raw)))
        : (raw) => Number(text(raw));
    case "date":
      return (raw) => {
        const t = text(raw);
        return zeroDate(t, zeroDates) ? null : t;
      };
    case "time":
      return (raw) => {
        const t = text(raw);
        if (!/^\d\d:/.test(t) || (Number(t.slice(0, 2)) > 23 && !/^24:00:00(\.0*)?$/.test(t))) {
          throw new UnreadableValue(
            `TIME ${
              showValue(t)
            } is outside 00:00:00–24:00:00, which dsync's time type holds (MySQL TIME also measures durations); read TIME columns as text with --time-as text`,
          );
        }
        return fraction(t);
      };
    case "timestamp":
    case "timestamptz": {
      const zone = column.type === "timestamptz" ? "Z" : "";
      return (raw) => {
        const t = text(raw);
        return zeroDate(t, zeroDates) ? null : fraction(t).replace(" ", "T") + zone;
      };
    }
    case "bytes":
      return (raw) => {
        const bytes = raw as Uint8Array;
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      };
    case "json":
      return (raw) => parseJsonExact(text(raw));
  }
  return text;
}

/**
 * A dsync value as bound to a prepared statement (or printed as a literal): text MySQL parses
 * exactly for every type (`DATETIME` without `T` and `Z`: the session runs in UTC), bytes as a
 * Buffer, JSON as its text.
 */
export function bindValue(value: unknown, type: FieldType): string | Buffer | null {
  if (value === null || value === undefined) return null;
  // A JSON string or number goes in as JSON text too (`"abc"`), never bare.
  if (type === "json") return stableStringify(value);
  switch (typeof value) {
    case "string":
      if (type === "timestamp" || type === "timestamptz") {
        return value.replace("T", " ").replace(/Z$/, "");
      }
      return value;
    case "boolean":
      return value ? "1" : "0";
    case "number":
    case "bigint":
      return String(value);
  }
  if (value instanceof Uint8Array) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  return stableStringify(value);
}

const encoder = new TextEncoder();

/** Digits before and after the point of a canonical decimal string. */
function digits(decimal: string): [number, number] {
  const [int, frac = ""] = decimal.replace(/^-/, "").split(".");
  return [int === "0" ? 0 : int.length, frac.length];
}

const INT_BITS: Record<string, number> = {
  tinyint: 8,
  smallint: 16,
  mediumint: 24,
  int: 32,
  integer: 32,
  bigint: 64,
};

/** The range of an integer column. */
function integerRange(column: MysqlColumn): [bigint, bigint] | undefined {
  if (column.dataType === "bit") return [0n, (1n << BigInt(column.length ?? 1)) - 1n];
  if (column.dataType === "year") return [0n, 2155n];
  const bits = INT_BITS[column.dataType];
  if (!bits) return undefined;
  return column.unsigned
    ? [0n, (1n << BigInt(bits)) - 1n]
    : [-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n];
}

/** The numeric value of an integer or integral decimal string, else undefined. */
function integralOf(value: unknown): bigint | undefined {
  if (typeof value === "bigint") return value;
  if (typeof value === "number") return Number.isInteger(value) ? BigInt(value) : undefined;
  if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
  return undefined;
}

/**
 * A check for values written to `column`: why a value cannot be stored as it is, or undefined.
 * Undefined when the column takes every value of its type.
 */
export function valueCheck(
  column: MysqlColumn,
): ((value: unknown) => string | undefined) | undefined {
  const { dataType, columnType } = column;
  const range = integerRange(column);
  if (range && column.type !== "boolean") {
    return (value) => {
      if (value === null || value === undefined) return;
      const n = integralOf(value);
      if (n === undefined) {
        return `${showValue(value)} is not an integer, which ${columnType} holds`;
      }
      if (n < range[0] || n > range[1]) {
        return `${showValue(value)} is out of range for ${columnType} (${range[0]} to ${range[1]})`;
      }
    };
  }
  if (dataType === "decimal" || dataType === "numeric") {
    const precision = column.precision ?? 10, scale = column.scale ?? 0;
    return (value) => {
      if (typeof value !== "string") return;
      const [int, frac] = digits(value);
      if (frac > scale) {
        return `${
          showValue(value)
        } has more decimal places than ${columnType} keeps (${scale}); MySQL would round it`;
      }
      if (int > precision - scale || (column.unsigned && value.startsWith("-"))) {
        return `${showValue(value)} is out of range for ${columnType}`;
      }
    };
  }
  if (dataType === "float" || dataType === "double" || dataType === "real") {
    return (value) => {
      if (typeof value !== "number") return;
      if (!Number.isFinite(value)) return `${showValue(value)}: MySQL cannot store NaN or infinity`;
      if (dataType === "float" && floatReadBack(value) !== value) {
        return `${showValue(value)} does not fit a FLOAT (it would read back as ${
          floatReadBack(value)
        }); use DOUBLE`;
      }
    };
  }
  if (dataType === "enum" || dataType === "set") {
    const allowed = column.members ?? [];
    return (value) => {
      if (typeof value !== "string") return;
      const parts = dataType === "set" ? (value === "" ? [] : value.split(",")) : [value];
      const places = parts.map((p) => allowed.indexOf(p));
      if (places.some((p) => p < 0) || places.some((p, i) => i > 0 && p <= places[i - 1])) {
        return `${showValue(value)} is not a value of ${columnType}${
          dataType === "set" ? " (members as declared, in declared order, each once)" : ""
        } (MySQL would change or refuse it)`;
      }
    };
  }
  if (dataType === "time" && column.type === "text") {
    return (value) => typeof value === "string" ? timeTextProblem(value, column) : undefined;
  }
  if (column.type === "text") {
    const astral = column.charset === "utf8mb3" || column.charset === "utf8";
    return (value) => {
      if (typeof value !== "string") return;
      if (astral && /[\ud800-\udfff]/.test(value)) {
        return `${
          showValue(value)
        } has characters outside the BMP (emoji), which ${column.charset} cannot hold; use utf8mb4`;
      }
      if (column.length !== undefined && codePoints(value) > column.length) {
        return `${showValue(value)} is too long for ${columnType} (${
          codePoints(value)
        } characters)`;
      }
      if (dataType === "char" && / $/.test(value)) {
        return `${showValue(value)} ends in spaces, which ${columnType} drops; use VARCHAR`;
      }
      if (column.octets !== undefined && value.length > column.octets / 4) {
        const bytes = encoder.encode(value).length;
        if (bytes > column.octets) {
          return `${showValue(value)} is too long for ${columnType} (${bytes} bytes)`;
        }
      }
    };
  }
  if (column.type === "bytes") {
    return (value) => {
      if (!(value instanceof Uint8Array)) return;
      if (dataType === "binary" && value.length !== column.length) {
        return `${
          showValue(value)
        } is not ${column.length} bytes long; ${columnType} would pad it with zero bytes`;
      }
      if (column.octets !== undefined && value.length > column.octets) {
        return `${showValue(value)} is too long for ${columnType}`;
      }
    };
  }
  if (column.fsp !== undefined) {
    const fsp = column.fsp;
    return (value) => {
      if (typeof value !== "string") return;
      const m = /\.(\d+)/.exec(value);
      if (m && m[1].length > fsp) {
        return `${
          showValue(value)
        } has more fractional seconds than ${columnType} keeps (${fsp} digits); MySQL would round it`;
      }
      if (dataType === "timestamp") {
        const t = value.replace("T", " ").replace(/Z$/, "");
        if (t < "1970-01-01 00:00:01" || t >= "2038-01-19 03:14:08") {
          return `${
            showValue(value)
          } is outside the TIMESTAMP range (1970-01-01 00:00:01 to 2038-01-19 03:14:07 UTC); use DATETIME`;
        }
      }
    };
  }
  return undefined;
}
