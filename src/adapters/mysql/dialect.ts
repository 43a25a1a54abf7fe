/**
 * How MySQL and MariaDB spell SQL: backtick identifiers, `?` placeholders, `TRUE`/`FALSE`,
 * `X'..'` bytes, string literals that mean the same whether or not `NO_BACKSLASH_ESCAPES` is
 * set, and the column types of tables dsync creates (key columns get indexable types).
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { mysqlDialect } from "./dialect.ts";
 * assertEquals(mysqlDialect.quoteIdent("a`b"), "`a``b`");
 * assertEquals(mysqlDialect.literal("it's"), "'it''s'");
 * assertEquals(mysqlDialect.literal("a\\b"), "_utf8mb4 X'615c62'");
 * ```
 * @module
 */
import { type Dialect, sqlLiteral } from "../../adapter_kit/sql.ts";
import type { FieldType } from "../../model/types.ts";

/** Quotes one identifier with backticks, inner backticks doubled. */
export function quoteIdent(name: string): string {
  return "`" + name.replaceAll("`", "``") + "`";
}

/**
 * Column type of a table dsync creates, by dsync type. `decimal` gets MySQL's widest
 * `DECIMAL(65,30)` (a plain `DECIMAL` is `DECIMAL(10,0)`); timestamps keep microseconds;
 * `timestamptz` is a `DATETIME(6)` holding UTC (a `TIMESTAMP` ends in 2038).
 */
const DECLARED: Record<FieldType, string> = {
  integer: "BIGINT",
  float: "DOUBLE",
  decimal: "DECIMAL(65,30)",
  boolean: "BOOLEAN",
  text: "LONGTEXT",
  date: "DATE",
  time: "TIME(6)",
  timestamp: "DATETIME(6)",
  timestamptz: "DATETIME(6)",
  bytes: "LONGBLOB",
  json: "JSON",
  auto: "LONGTEXT",
};

/** Longest text key of a created table: 255 characters (1,020 bytes of utf8mb4) per column. */
export const KEY_TEXT_LENGTH = 255;

/** Key columns cannot be TEXT/BLOB in MySQL (no index without a prefix length). */
const KEY_DECLARED: Partial<Record<FieldType, string>> = {
  text: `VARCHAR(${KEY_TEXT_LENGTH})`,
  auto: `VARCHAR(${KEY_TEXT_LENGTH})`,
  bytes: `VARBINARY(${KEY_TEXT_LENGTH})`,
  json: `VARCHAR(${KEY_TEXT_LENGTH})`,
};

const HEX = new TextEncoder();

/** A string literal: plain when it has no backslash or NUL, else hex (same in every sql_mode). */
function stringLiteral(value: string): string {
  if (!value.includes("\\") && !value.includes("\u0000")) return `'${value.replaceAll("'", "''")}'`;
  const hex = Array.from(HEX.encode(value), (b) => b.toString(16).padStart(2, "0")).join("");
  return `_utf8mb4 X'${hex}'`;
}

const spelling = {
  boolean: (value: boolean) => value ? "TRUE" : "FALSE",
  // MySQL has no infinity or NaN; the value checks refuse them before a statement is printed.
  nonFinite: () => "NULL",
  bytes: (hex: string) => `X'${hex}'`,
  string: stringLiteral,
};

/** The MySQL / MariaDB dialect. */
export const mysqlDialect: Dialect = {
  name: "mysql",
  quote: "`",
  quoteIdent,
  literal: (value) => sqlLiteral(value, spelling),
  placeholder: () => "?",
  declaredType: (type) => DECLARED[type],
  keyType: (type) => KEY_DECLARED[type] ?? DECLARED[type],
};

/** What `information_schema.COLUMNS` (or a result's metadata) says about one column. */
export interface MysqlColumnType {
  /** `DATA_TYPE`, lower case: `int`, `varchar`, `datetime`, ... */
  dataType: string;
  /** `COLUMN_TYPE`: `int(10) unsigned`, `tinyint(1)`, `enum('a','b')`, ... */
  columnType: string;
  /** True for a MariaDB `JSON` column (a `LONGTEXT` with a `json_valid` check). */
  json?: boolean;
}

/** The dsync type of a MySQL column type. */
export function mysqlType(column: MysqlColumnType): FieldType {
  const t = column.dataType.toLowerCase();
  const full = column.columnType.toLowerCase();
  if (column.json || t === "json") return "json";
  switch (t) {
    case "tinyint":
      return /^tinyint\(1\)/.test(full) ? "boolean" : "integer";
    case "bool":
    case "boolean":
      return "boolean";
    case "smallint":
    case "mediumint":
    case "int":
    case "integer":
    case "year":
      return "integer";
    case "bigint":
      // 2^64−1 is beyond dsync's 64-bit signed integer: unsigned values stay exact as decimals.
      return full.includes("unsigned") ? "decimal" : "integer";
    case "bit":
      return /^bit\(1\)$/.test(full) ? "boolean" : "integer";
    case "decimal":
    case "numeric":
      return "decimal";
    case "float":
    case "double":
    case "real":
      return "float";
    case "date":
      return "date";
    case "time":
      return "time";
    case "datetime":
      return "timestamp";
    case "timestamp":
      return "timestamptz";
    case "binary":
    case "varbinary":
    case "tinyblob":
    case "blob":
    case "mediumblob":
    case "longblob":
      return "bytes";
  }
  // char, varchar, *text, enum, set, geometry as text, ...
  return "text";
}
