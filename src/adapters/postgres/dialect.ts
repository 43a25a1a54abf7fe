/**
 * How PostgreSQL spells SQL: ANSI identifiers, `$n` placeholders, `TRUE`/`FALSE`, `'\x..'::bytea`
 * and `'Infinity'::float8`, and the column types of tables dsync creates.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { postgresDialect } from "./dialect.ts";
 * deepStrictEqual(postgresDialect.placeholder(2), "$2");
 * deepStrictEqual(postgresDialect.literal(-Infinity), "'-Infinity'::float8");
 * ```
 * @module
 */
import { ansiQuote, type Dialect, sqlLiteral } from "../../adapter_kit/sql.ts";
import type { FieldType } from "../../model/types.ts";

/** Column type of a table dsync creates, by dsync type. */
const DECLARED: Record<FieldType, string> = {
  integer: "bigint",
  float: "double precision",
  decimal: "numeric",
  boolean: "boolean",
  text: "text",
  date: "date",
  time: "time",
  timestamp: "timestamp",
  timestamptz: "timestamptz",
  bytes: "bytea",
  json: "jsonb",
  auto: "text",
};

const spelling = {
  boolean: (value: boolean) => value ? "TRUE" : "FALSE",
  nonFinite: (value: number) => `'${value}'::float8`,
  bytes: (hex: string) => `'\\x${hex}'::bytea`,
};

/** The PostgreSQL dialect. */
export const postgresDialect: Dialect = {
  name: "postgres",
  quote: '"',
  quoteIdent: ansiQuote,
  literal: (value) => sqlLiteral(value, spelling),
  placeholder: (n) => `$${n}`,
  declaredType: (type) => DECLARED[type],
};
