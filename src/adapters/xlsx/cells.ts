/**
 * Cell values and dsync values: what a number format makes of a number, Excel serial dates of
 * both date systems (1900, with Lotus's phantom 29 February, and 1904), the OOXML `_xHHHH_` text
 * escape, cell references, and the cell a dsync value is written as.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { cellFor, serialToIso } from "./cells.ts";
 * deepStrictEqual(serialToIso(45292.5, false, "datetime"), "2024-01-01T12:00:00");
 * deepStrictEqual(cellFor("2024-01-01", "date"), {
 *   value: 45292,
 *   format: "yyyy-mm-dd",
 *   kind: "date",
 * });
 * ```
 * @module
 */
import type { FieldType } from "../../model/types.ts";
import { convertValue, decimalFromNumber, stringifyJsonExact } from "../../model/values.ts";

type CellValue = import("exceljs").CellValue;

/** What a number format makes of a number cell. */
export type NumberKind = "number" | "date" | "datetime" | "time" | "duration" | "boolean";

/** Classifies an Excel number format code (the part for positive numbers). */
export function numberKind(format: string | undefined): NumberKind {
  if (!format) return "number";
  if (/^"TRUE";"TRUE";"FALSE"$/i.test(format)) return "boolean";
  const section = format.split(";")[0]
    .replace(/"[^"]*"/g, "")
    .replace(/\\./g, "")
    .replace(/_.|\*./g, "");
  if (/\[(h+|m+|s+)\]/i.test(section)) return "duration";
  const bare = section.replace(/\[[^\]]*\]/g, "").replace(/AM\/PM|A\/P/gi, "")
    .replace(/General/gi, "").replace(/E[+-]/gi, "");
  const hasTime = /[hs]/i.test(bare);
  const hasDate = /[yde]/i.test(bare) || (/m/i.test(bare) && !hasTime);
  if (hasDate && hasTime) return "datetime";
  if (hasDate) return "date";
  if (hasTime) return "time";
  return "number";
}

const DAY_MS = 86_400_000;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/**
 * The ISO text of an Excel serial date: a date when it is midnight and the format shows no time,
 * else a timestamp (to the millisecond); a time of day (`HH:MM:SS`) for a time-formatted value
 * under one day. Serial 60 of the 1900 system is 1900-02-29, a day that never was (Lotus 1-2-3's
 * leap-year bug). A book LibreOffice wrote (`libreOffice`) counts every serial from 1899-12-30,
 * as LibreOffice does: its 1 is 1899-12-31 and its 60 is 1900-02-28.
 */
export function serialToIso(
  serial: number,
  date1904: boolean,
  kind: NumberKind,
  libreOffice = false,
): string {
  const ms = Math.round(serial * DAY_MS);
  const days = Math.floor(ms / DAY_MS);
  const dayMs = ms - days * DAY_MS;
  const time = `${pad(Math.floor(dayMs / 3_600_000))}:${pad(Math.floor(dayMs / 60_000) % 60)}:${
    pad(Math.floor(dayMs / 1000) % 60)
  }${dayMs % 1000 ? "." + pad(dayMs % 1000, 3).replace(/0+$/, "") : ""}`;
  if (kind === "time" && days === 0) return time;
  const lotus = !date1904 && !libreOffice;
  if (lotus && days === 60) throw new RangeError("1900-02-29 does not exist");
  // 1900 system: serials 1-59 count from 1899-12-31; from 61 on, Lotus's phantom 29 February
  // shifts them by one (so 25569 is 1970-01-01). Serials below 0 follow the later rule.
  const unixDays = date1904
    ? days - 24107
    : lotus && days > 0 && days < 60
    ? days - 25568
    : days - 25569;
  const d = new Date(unixDays * DAY_MS);
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  // A date-and-time format says it is a timestamp, also at midnight (dsync writes midnight
  // timestamps so): reading it as a date made every later run update it.
  return dayMs === 0 && kind !== "datetime" ? date : `${date}T${time}`;
}

/**
 * The serial of a date in the book's date system, or null when Excel cannot show it, or Excel and
 * LibreOffice would read it as different days: in the 1900 system, dates before 1900-03-01
 * (Excel's serials 1-59 are one more than LibreOffice's, which has no phantom 29 February).
 */
export function dateToSerial(y: number, m: number, d: number, date1904: boolean): number | null {
  if (y < 1900 || y > 9999) return null;
  const unixDays = Date.UTC(y, m - 1, d) / DAY_MS;
  if (date1904) return unixDays + 24107 >= 0 ? unixDays + 24107 : null;
  const serial = unixDays + 25569;
  return serial >= 61 ? serial : null;
}

/** OOXML escapes characters XML cannot hold as `_xHHHH_`; `_x005F_` is a literal `_`. */
export function decodeText(text: string): string {
  return text.includes("_x")
    ? text.replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)))
    : text;
}

/**
 * The OOXML escape of a text (the reverse of `decodeText`): the characters XML cannot hold, CR
 * (XML reads `\r\n` as `\n`) and DEL (exceljs drops it) as `_xHHHH_`.
 */
export function encodeText(text: string): string {
  return text.replace(
    // deno-lint-ignore no-control-regex
    /_(?=x[0-9A-Fa-f]{4}_)|[\0-\x08\x0B\x0C\r\x0E-\x1F\x7F\uFFFE\uFFFF]/g,
    (c) => `_x${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}_`,
  );
}

/** A cell that cannot be read (an error value, a formula without a result), kept until used. */
export class BadCell {
  constructor(readonly ref: string, readonly problem: string, readonly isError: boolean) {}
}

/** Column number (1-based) of a cell reference such as `AB12`. */
export function columnOf(ref: string): number {
  let n = 0;
  for (let i = 0; i < ref.length; i++) {
    const c = ref.charCodeAt(i);
    if (c < 65 || c > 90) break;
    n = n * 26 + c - 64;
  }
  return n;
}

/** Letters of a 1-based column number. */
export function columnName(n: number): string {
  let s = "";
  for (; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

/** A value as exceljs writes it into a cell, with the number format it needs. */
export interface CellOut {
  value: CellValue;
  /** Number format the value needs (dates, times), or undefined for General. */
  format?: string;
  /** Kind of the format, for keeping a cell's own date format. */
  kind?: NumberKind;
}

const DATE_FORMAT = "yyyy-mm-dd";
const DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss";
const TIME_FORMAT = "hh:mm:ss";
const CANONICAL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const CANONICAL_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?$/;
const CANONICAL_TIME = /^(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?$/;

function textCell(text: string): CellOut {
  return { value: encodeText(text) };
}

function dateCell(text: string, date1904: boolean, strict: boolean): CellOut | null {
  let m = CANONICAL_DATE.exec(text);
  if (m) {
    if (strict && !sameAfter(text, "date")) return null;
    const serial = dateToSerial(Number(m[1]), Number(m[2]), Number(m[3]), date1904);
    return serial === null ? null : { value: serial, format: DATE_FORMAT, kind: "date" };
  }
  m = CANONICAL_TIMESTAMP.exec(text);
  if (m) {
    if (strict && !sameAfter(text, "timestamp")) return null;
    if (Number(m[6]) > 59) return null;
    const serial = dateToSerial(Number(m[1]), Number(m[2]), Number(m[3]), date1904);
    if (serial === null) return null;
    const ms = ((Number(m[4]) * 60 + Number(m[5])) * 60 + Number(m[6])) * 1000 +
      Math.round(Number(m[7] ?? 0) * 1000);
    return {
      value: serial + ms / DAY_MS,
      format: m[7] ? DATETIME_FORMAT + ".000" : DATETIME_FORMAT,
      kind: "datetime",
    };
  }
  return null;
}

function sameAfter(text: string, type: FieldType): boolean {
  try {
    return convertValue(text, type) === text;
  } catch {
    return false;
  }
}

/**
 * The cell for a value of a field type: numbers as numbers, booleans as booleans, dates, times
 * and timestamps as Excel dates; what Excel cannot hold exactly (64-bit integers, long decimals,
 * sub-millisecond times, dates before 1900, times with a zone) as text that reads back equal.
 */
export function cellFor(value: unknown, type: FieldType, date1904 = false): CellOut | null {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case "boolean":
      return { value };
    case "number":
      return Number.isFinite(value) ? { value } : textCell(String(value));
    case "bigint":
      return value >= -(2n ** 53n) + 1n && value <= 2n ** 53n - 1n
        ? { value: Number(value) }
        : textCell(value.toString());
    case "string":
      break;
    default:
      return textCell(
        type === "json" ? stringifyJsonExact(value) : convertValue(value, "text") as string,
      );
  }
  const text = value as string;
  switch (type) {
    case "date":
    case "timestamp":
      return dateCell(text, date1904, false) ?? textCell(text);
    case "auto":
      return dateCell(text, date1904, true) ?? textCell(text);
    case "time": {
      const m = CANONICAL_TIME.exec(text);
      // A leap second and 24:00:00 (a whole day: it would read back as a timestamp) stay text.
      if (!m || Number(m[3]) > 59 || Number(m[1]) > 23) return textCell(text);
      const ms = ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 +
        Math.round(Number(m[4] ?? 0) * 1000);
      return {
        value: ms / DAY_MS,
        format: m[4] ? TIME_FORMAT + ".000" : TIME_FORMAT,
        kind: "time",
      };
    }
    case "decimal": {
      const n = Number(text);
      return Number.isFinite(n) && decimalFromNumber(n) === text ? { value: n } : textCell(text);
    }
    case "json":
      return textCell(JSON.stringify(text));
    default:
      return textCell(text);
  }
}
