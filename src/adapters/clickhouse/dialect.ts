/**
 * How ClickHouse spells SQL: backtick identifiers (backslash and backtick escaped), string
 * literals with backslash escapes, `1`/`0` booleans, `inf`/`nan`, and the column types of tables
 * dsync creates. ClickHouse 18.16 has no server-side query parameters, so a placeholder is a
 * token the adapter replaces with the escaped literal of its value before sending the query.
 *
 * @example
 * ```ts
 * import { strictEqual as assertEquals } from "node:assert/strict";
 * import { clickhouseDialect } from "./dialect.ts";
 * assertEquals(clickhouseDialect.quoteIdent("we`ird"), "`we\\`ird`");
 * assertEquals(clickhouseDialect.literal("it's a \\ path"), "'it\\'s a \\\\ path'");
 * assertEquals(clickhouseDialect.literal(-Infinity), "-inf");
 * ```
 * @module
 */
import { type Dialect, sqlLiteral } from "../../adapter_kit/sql.ts";
import type { FieldType } from "../../model/types.ts";
import { bytesText } from "../../model/values.ts";

/**
 * Column type of a table dsync creates, by dsync type. Decimals of any precision, times, JSON
 * and bytes (as base64) are kept exactly as text; timestamps are instants in UTC.
 */
const DECLARED: Record<FieldType, string> = {
  integer: "Int64",
  float: "Float64",
  decimal: "String",
  boolean: "UInt8",
  text: "String",
  date: "Date",
  time: "String",
  timestamp: "DateTime('UTC')",
  timestamptz: "DateTime('UTC')",
  bytes: "String",
  json: "String",
  auto: "String",
};

/** A ClickHouse string literal: quotes and backslashes escaped. */
function stringLiteral(value: string): string {
  return `'${value.replace(/[\\']/g, (c) => "\\" + c)}'`;
}

const spelling = {
  boolean: (value: boolean) => value ? "1" : "0",
  nonFinite: (value: number) => Number.isNaN(value) ? "nan" : value > 0 ? "inf" : "-inf",
  // Bytes live in String columns as base64 text (see DECLARED).
  bytes: (hex: string) =>
    stringLiteral(
      bytesText(Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16))),
    ),
  string: stringLiteral,
};

/** The token {@linkcode clickhouseDialect.placeholder} stands for parameter `n` with. */
function placeholderToken(n: number): string {
  return `{dsync_param_${n}}`;
}

/** The ClickHouse dialect. */
export const clickhouseDialect: Dialect = {
  name: "clickhouse",
  quote: "`",
  quoteIdent: (name) => "`" + name.replace(/[\\`]/g, (c) => "\\" + c) + "`",
  literal: (value) => sqlLiteral(value, spelling),
  placeholder: placeholderToken,
  declaredType: (type) => DECLARED[type],
};

/** dsync's form of a DateTime value as read from ClickHouse (see types.ts). */
const INSTANT = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})Z$/;

/**
 * `sql` with each placeholder token replaced by the literal of its parameter. A parameter in
 * the form dsync reads DateTime values in (`2024-05-01T10:00:00Z`, an incremental watermark)
 * becomes a DateTime in UTC: 18.16 compares a DateTime only with `YYYY-MM-DD hh:mm:ss` text.
 */
export function bindParams(sql: string, params: readonly unknown[]): string {
  return sql.replace(/\{dsync_param_(\d+)\}/g, (token, n: string) => {
    const i = Number(n) - 1;
    if (i >= params.length) return token;
    const instant = typeof params[i] === "string" ? INSTANT.exec(params[i] as string) : null;
    return instant
      ? `toDateTime(${stringLiteral(`${instant[1]} ${instant[2]}`)}, 'UTC')`
      : clickhouseDialect.literal(params[i]);
  });
}
