/**
 * How SQLite spells SQL: ANSI identifiers, `?` placeholders, 0/1 booleans, `X'..'` blobs, and
 * the declared types dsync gives new columns (read back by {@linkcode sqliteType}).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { sqliteDialect } from "./dialect.ts";
 * deepStrictEqual(sqliteDialect.literal(true), "1");
 * deepStrictEqual(sqliteDialect.literal(new Uint8Array([0, 255])), "X'00ff'");
 * ```
 * @module
 */
import { ansiQuote, type Dialect, sqlLiteral } from "../../adapter_kit/sql.ts";
import type { FieldType } from "../../model/types.ts";

/** Declared types of new columns: SQLite keeps any name, and dsync reads these back exactly. */
const DECLARED: Record<FieldType, string> = {
  integer: "INTEGER",
  float: "REAL",
  // TEXT affinity (the name holds TEXT), so every digit is kept; read back as `decimal`.
  decimal: "DECIMAL_TEXT",
  boolean: "BOOLEAN",
  text: "TEXT",
  date: "DATE",
  time: "TIME",
  timestamp: "TIMESTAMP",
  timestamptz: "TIMESTAMPTZ",
  bytes: "BLOB",
  json: "JSON",
  auto: "",
};

const spelling = {
  boolean: (value: boolean) => value ? "1" : "0",
  // SQLite has no infinity literal; 9e999 overflows to it. It would store NaN as NULL: dsync
  // writes the text 'NaN' (a REAL column keeps text that is no number), which it reads as NaN.
  nonFinite: (value: number) => Number.isNaN(value) ? "'NaN'" : value > 0 ? "9e999" : "-9e999",
  bytes: (hex: string) => `X'${hex}'`,
};

/** The SQLite dialect. */
export const sqliteDialect: Dialect = {
  name: "sqlite",
  quote: '"',
  quoteIdent: ansiQuote,
  literal: (value) => sqlLiteral(value, spelling),
  placeholder: () => "?",
  declaredType: (type) => DECLARED[type],
};

/** The dsync type of a declared SQLite column type, after SQLite's own affinity rules. */
export function sqliteType(declared: string): FieldType {
  const t = declared.toUpperCase();
  if (t === "") return "auto";
  if (t.includes("BOOL")) return "boolean";
  if (t.includes("INT")) return "integer";
  if (/^TIME\b/.test(t)) return "time";
  if (/TIMESTAMPTZ|WITH TIME ZONE/.test(t)) return "timestamptz";
  if (/DATETIME|TIMESTAMP/.test(t)) return "timestamp";
  if (/^DATE\b/.test(t)) return "date";
  if (t.includes("JSON")) return "json";
  if (/DECIMAL|NUMERIC/.test(t) && /CHAR|CLOB|TEXT/.test(t)) return "decimal";
  if (/CHAR|CLOB|TEXT|UUID/.test(t)) return "text";
  if (t.includes("BLOB")) return "bytes";
  if (/REAL|FLOA|DOUB/.test(t)) return "float";
  if (/DECIMAL|NUMERIC/.test(t)) return "decimal";
  return "auto";
}
