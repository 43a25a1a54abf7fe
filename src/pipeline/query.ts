/**
 * The SELECT a pipeline's SQL source reads: its table, joins, filter and field list, and the
 * incremental watermark, pushed down to the database. Identifiers are quoted; `where`, `on` and
 * `query` are the user's own SQL and are used as written; the watermark is a bound parameter.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * import { postgresDialect } from "../adapters/postgres/dialect.ts";
 * import { sqliteDialect } from "../adapters/sqlite/dialect.ts";
 * import { sourceQuery } from "./query.ts";
 * const query = sourceQuery({
 *   table: "public.customers",
 *   joins: [{ table: "public.addresses", on: "addresses.customer_id = customers.id", type: "left" }],
 *   fields: ["customers.id", "name", "addresses.city"],
 * }, postgresDialect);
 * strictEqual(
 *   query.sql,
 *   'SELECT "customers"."id" AS "id", "name" AS "name", "addresses"."city" AS "city" ' +
 *     'FROM "public"."customers" LEFT JOIN "public"."addresses" ' +
 *     "ON (addresses.customer_id = customers.id)",
 * );
 * // The watermark is a bound parameter, never text in the SQL.
 * const watermark = { column: "updated_at", after: "2024-05-01" };
 * deepStrictEqual(sourceQuery({ table: "orders" }, sqliteDialect, watermark), {
 *   sql: 'SELECT * FROM (SELECT "orders".* FROM "orders") w WHERE w."updated_at" > ?',
 *   params: ["2024-05-01"],
 *   name: "orders",
 * });
 * ```
 * @module
 */
import { UsageError } from "../model/errors.ts";
import { type Dialect, type SourceQuery, splitQualifiedName } from "../adapter_kit/sql.ts";

/** What a source reads: a table (with joins, filter, fields) or a query of its own. */
export interface QuerySpec {
  table?: string;
  query?: string;
  joins?: { table: string; on: string; as?: string; type?: "inner" | "left" | "right" | "full" }[];
  where?: string;
  /** `name`, `table.name` or `table.name as alias`; default: every column of `table`. */
  fields?: string[];
}

/** Incremental reads: only rows whose `column` (a field of the result) is past `after`. */
export interface WatermarkFilter {
  column: string;
  /** The last run's highest value; undefined reads everything. */
  after?: unknown;
}

/** Whether `spec` needs a query at all, or is a plain table the adapter reads as usual. */
export function needsQuery(spec: QuerySpec, watermark?: WatermarkFilter): boolean {
  return spec.query !== undefined || !!spec.joins?.length || spec.where !== undefined ||
    spec.fields !== undefined || watermark?.after !== undefined;
}

/**
 * Builds the SELECT of `spec` in `dialect`.
 *
 * @throws {UsageError} for a field that is not a (qualified) name.
 */
export function sourceQuery(
  spec: QuerySpec,
  dialect: Dialect,
  watermark?: WatermarkFilter,
): SourceQuery {
  let sql: string;
  let name: string;
  if (spec.query !== undefined) {
    sql = spec.query.trim().replace(/;\s*$/, "");
    name = "query";
  } else {
    const table = qualified(spec.table!, dialect);
    const fields = spec.fields?.map((f) => selectItem(f, dialect)).join(", ") ?? `${table}.*`;
    const joins = (spec.joins ?? []).map((j) =>
      ` ${(j.type ?? "inner").toUpperCase()} JOIN ${qualified(j.table, dialect)}${
        j.as ? ` AS ${dialect.quoteIdent(j.as)}` : ""
      } ON (${j.on})`
    ).join("");
    sql = `SELECT ${fields} FROM ${table}${joins}${
      spec.where !== undefined ? ` WHERE (${spec.where})` : ""
    }`;
    name = [spec.table!, ...(spec.joins ?? []).map((j) => j.table)].join("+");
  }
  if (watermark?.after === undefined) return { sql, params: [], name };
  return {
    sql: `SELECT * FROM (${sql}) w WHERE w.${dialect.quoteIdent(watermark.column)} > ${
      dialect.placeholder(1)
    }`,
    params: [watermark.after],
    name,
  };
}

/** `schema.table` with each part quoted. */
function qualified(name: string, dialect: Dialect): string {
  return splitQualifiedName(name, dialect.quote).map(dialect.quoteIdent).join(".");
}

/** `a.b as c` → `"a"."b" AS "c"`; the output name is the alias, else the last part. */
function selectItem(field: string, dialect: Dialect): string {
  const m = /^(.*?)(?:\s+as\s+(.+))?$/is.exec(field.trim())!;
  const parts = splitQualifiedName(m[1].trim(), dialect.quote);
  if (parts.length === 0 || parts.some((p) => p === "" || p === "*")) {
    throw new UsageError(
      `source field '${field}': expected a column name, table.column or 'table.column as alias'`,
      "for expressions, write the SELECT yourself with query:",
    );
  }
  const alias = m[2]
    ? splitQualifiedName(m[2].trim(), dialect.quote).join(".")
    : parts[parts.length - 1];
  return `${parts.map(dialect.quoteIdent).join(".")} AS ${dialect.quoteIdent(alias)}`;
}
