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

/**
 * Built-in PostgreSQL types as `format_type` prints them (shortened, see `shortType`), and
 * arrays of them: a new table copies them from a PostgreSQL source. Enums, domains and extension
 * types may not exist in the other database; `money` depends on the server's locale; `json`
 * cannot be a key (no equality), so a `json` key becomes `jsonb`.
 */
const BUILT_IN =
  /^(smallint|integer|bigint|real|double precision|boolean|text|bytea|date|uuid|jsonb?|inet|cidr|macaddr8?|numeric(\(\d+(,-?\d+)?\))?|(varchar|char|bit|bit varying)(\(\d+\))?|(time|timetz|timestamp|timestamptz)(\(\d\))?|interval( [a-z ]+)?(\(\d\))?)(\[\])*$/;

/**
 * MySQL column types (`COLUMN_TYPE`, lower case) that a PostgreSQL type holds exactly, as that
 * type; the others get the dsync type's column (`tinyint(1)` is `boolean`, `bigint` is `bigint`).
 */
function fromMysql(native: string): string | undefined {
  const t = native.toLowerCase().replace(/ zerofill$/, "");
  const unsigned = t.endsWith(" unsigned");
  const m = /^([a-z]+)(?:\((\d+)(?:,(\d+))?\))?(?: unsigned)?$/.exec(t);
  if (!m) return undefined;
  const [, name, p, s] = m;
  switch (name) {
    case "tinyint":
      return p === "1" ? undefined : "smallint";
    case "smallint":
      return unsigned ? "integer" : "smallint";
    case "mediumint":
      return "integer";
    case "int":
    case "integer":
      return unsigned ? "bigint" : "integer";
    case "year":
      return "smallint";
    case "decimal":
      return p ? `numeric(${p},${s ?? 0})` : undefined;
    case "float":
      return p ? undefined : "real";
    case "varchar":
      return p ? `varchar(${p})` : undefined;
    case "datetime":
      return `timestamp(${p ?? 0})`;
    case "timestamp":
      return `timestamptz(${p ?? 0})`;
    case "time":
      return `time(${p ?? 0})`;
  }
  return undefined;
}

/** See {@linkcode Dialect.copiedType}: PostgreSQL's own built-in types, and exact MySQL ones. */
function copiedType(native: string, from: string, key: boolean): string | undefined {
  if (from === "postgres") {
    if (!BUILT_IN.test(native)) return undefined;
    return key && native === "json" ? "jsonb" : native;
  }
  if (from === "mysql") return fromMysql(native);
  return undefined;
}

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
  copiedType,
};
