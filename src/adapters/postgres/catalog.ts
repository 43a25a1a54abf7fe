/**
 * What dsync reads from PostgreSQL's catalog: a table's columns (domains followed to their base
 * type), its primary key, a query's result columns, and how each type maps to a dsync type
 * ({@linkcode pgType}) and is selected (natively, or as PostgreSQL's text form).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { OID, pgType } from "./catalog.ts";
 * const int4 = { baseOid: OID.int4, baseName: "int4", category: "N", typtype: "b" };
 * deepStrictEqual(pgType(int4), "integer");
 * ```
 * @module
 */
import type { Sql } from "postgres";
import { ansiQuote as quoteIdent, type SourceQuery } from "../../adapter_kit/sql.ts";
import type { FieldType } from "../../model/types.ts";

/** Built-in type OIDs (stable across PostgreSQL versions). */
export const OID = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

/** Key types {@linkcode orderByKeys} orders the way the engine's merge expects. */
const INTEGER_OIDS = new Set<number>([OID.int2, OID.int4, OID.int8]);
const TEXT_OIDS = new Set<number>([OID.text, OID.varchar]);

/** Base types postgres.js hands over exactly as dsync wants them; every other is read as text. */
const NATIVE = new Set<number>([
  OID.bool,
  OID.bytea,
  OID.name,
  OID.int8,
  OID.int2,
  OID.int4,
  OID.text,
  OID.oid,
  OID.float4,
  OID.float8,
  OID.varchar,
  OID.numeric,
  OID.uuid,
]);

/** What dsync knows of one column of an existing table. */
export interface PgColumn {
  name: string;
  /** OID of the type, or of a domain's base type. */
  baseOid: number;
  /** Base type's name (`int4`, `citext`, `_int4` for arrays). */
  baseName: string;
  /** typmod of the column (or of the domain's base type); -1 when none. */
  typmod: number;
  /** `e` enum, `b` base, `r` range, ... of the base type. */
  typtype: string;
  /** `A` for arrays, ... of the base type. */
  category: string;
  /** The declared type, shortened (`varchar(20)`, `numeric(10,2)`, `timestamptz`). */
  native: string;
  type: FieldType;
  /** True when it is a domain (read through a cast to its base type). */
  domain: boolean;
}

/** The dsync type of a PostgreSQL type (after resolving domains to their base type). */
export function pgType(
  column: Pick<PgColumn, "baseOid" | "baseName" | "category" | "typtype">,
): FieldType {
  switch (column.baseOid) {
    case OID.int2:
    case OID.int4:
    case OID.int8:
    case OID.oid:
      return "integer";
    case OID.numeric:
      return "decimal";
    case OID.float4:
    case OID.float8:
      return "float";
    case OID.bool:
      return "boolean";
    case OID.date:
      return "date";
    case OID.time:
      return "time";
    case OID.timestamp:
      return "timestamp";
    case OID.timestamptz:
      return "timestamptz";
    case OID.bytea:
      return "bytes";
    case OID.json:
    case OID.jsonb:
      return "json";
  }
  // text, varchar, char(n), uuid, citext, enums, interval, arrays, inet, ...: PG's text form.
  return "text";
}

/** format_type() output made short: `character varying(20)` → `varchar(20)`. */
export function shortType(formatted: string): string {
  return formatted
    .replace(/^character varying/, "varchar")
    .replace(/^character\b/, "char")
    .replace(/^timestamp(\(\d+\))? with time zone$/, "timestamptz$1")
    .replace(/^timestamp(\(\d+\))? without time zone$/, "timestamp$1")
    .replace(/^time(\(\d+\))? without time zone$/, "time$1")
    .replace(/^time(\(\d+\))? with time zone$/, "timetz$1");
}

/** An identifier as SQL would need it written: bare when it can be, quoted otherwise. */
export function showIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : quoteIdent(name);
}

/** The session's default schema (`public` when the search path names none that exists). */
export async function defaultSchema(sql: Sql): Promise<string> {
  const [row] = await sql`select coalesce(current_schema(), 'public') as s`;
  return row.s as string;
}

/** A table's (or view's) OID and columns, or undefined when there is no such relation. */
export async function readTable(
  sql: Sql,
  schema: string,
  table: string,
): Promise<{ oid: number; columns: PgColumn[] } | undefined> {
  const rel = await sql`
    select c.oid::int8 as oid from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relname = ${table}
      and c.relkind in ('r', 'p', 'v', 'm', 'f')`;
  if (rel.length === 0) return undefined;
  const relOid = rel[0].oid as number;
  const rows = await sql`
    select a.attname as name, a.atttypid::int4 as oid, a.atttypmod as typmod,
      format_type(a.atttypid, a.atttypmod) as native,
      t.typtype, t.typcategory, t.typname, t.typbasetype::int4 as basetype,
      t.typtypmod as basetypmod
    from pg_catalog.pg_attribute a
    join pg_catalog.pg_type t on t.oid = a.atttypid
    where a.attrelid = ${relOid}::oid and a.attnum > 0 and not a.attisdropped
    order by a.attnum`;
  const columns: PgColumn[] = [];
  for (const r of rows) {
    let oid = r.oid as number, typmod = r.typmod as number;
    let { typtype, typcategory: category, typname: baseName } = r as unknown as {
      typtype: string;
      typcategory: string;
      typname: string;
    };
    const domain = typtype === "d";
    if (domain) {
      // Follow domains (maybe of domains) to the base type.
      let base = r.basetype as number, baseMod = r.basetypmod as number;
      for (let depth = 0; depth < 10; depth++) {
        const [b] = await sql`
          select typtype, typcategory, typname, typbasetype::int4 as basetype, typtypmod
          from pg_catalog.pg_type where oid = ${base}`;
        if (!b) break;
        oid = base;
        typmod = baseMod;
        ({ typtype, typcategory: category, typname: baseName } = b as unknown as {
          typtype: string;
          typcategory: string;
          typname: string;
        });
        if (b.typtype !== "d") break;
        base = b.basetype as number;
        baseMod = b.typtypmod as number;
      }
    }
    const column: PgColumn = {
      name: r.name as string,
      baseOid: oid,
      baseName,
      typmod,
      typtype,
      category,
      native: shortType(r.native as string),
      type: "text",
      domain,
    };
    column.type = pgType(column);
    columns.push(column);
  }
  return { oid: relOid, columns };
}

/** Names of up to 50 tables and views of `schema`, for a "no such table" hint. */
export async function tableNames(sql: Sql, schema: string): Promise<string[]> {
  const tables = await sql`select c.relname from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ${schema} and c.relkind in ('r','p','v','m','f')
      order by 1 limit 50`;
  return tables.map((t) => t.relname as string);
}

/** Column names of the primary key of the relation `oid`, in key order (empty when none). */
export async function primaryKeyOf(sql: Sql, oid: number): Promise<string[]> {
  const rows = await sql`select a.attname from pg_catalog.pg_index i
      join lateral unnest(i.indkey) with ordinality k(attnum, pos) on true
      join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
      where i.indrelid = ${oid}::oid and i.indisprimary order by k.pos`;
  return rows.map((r) => r.attname as string);
}

/** A query's columns, typed as PostgreSQL describes the prepared statement. */
export async function queryColumns(sql: Sql, query: SourceQuery): Promise<PgColumn[]> {
  const { columns } = await sql.unsafe(query.sql, (query.params ?? []) as never[]).describe();
  const oids = [...new Set(columns.map((c) => c.type))].join(",");
  const types = new Map(
    (await sql`select oid::int4 as oid, typname, typtype, typcategory,
          format_type(oid, null) as native
        from pg_catalog.pg_type where oid = any(string_to_array(${oids}, ',')::oid[])`)
      .map((t) => [t.oid as number, t]),
  );
  // A row description names a domain's base type, so there are no domains to follow.
  return columns.map((c): PgColumn => {
    const t = types.get(c.type);
    const column: PgColumn = {
      name: c.name,
      baseOid: c.type,
      baseName: t?.typname ?? "",
      typmod: -1,
      typtype: t?.typtype ?? "b",
      category: t?.typcategory ?? "",
      native: shortType(t?.native ?? "text"),
      type: "text",
      domain: false,
    };
    column.type = pgType(column);
    return column;
  });
}

/** The SELECT list: native types as they are, the rest as PostgreSQL's text form. */
export function selectList(columns: PgColumn[]): string {
  return columns.map((c) => selectTerm(c)).join(", ");
}

/** How a column is read (see {@linkcode selectList}), `qualifier.` in front when given. */
export function selectTerm(c: PgColumn, qualifier?: string): string {
  const name = (qualifier ? `${qualifier}.` : "") + quoteIdent(c.name);
  if (!NATIVE.has(c.baseOid)) return `${name}::text`;
  return c.domain ? `${name}::pg_catalog.${quoteIdent(c.baseName)}` : name;
}

/**
 * The `ORDER BY` terms giving the engine's key order: integer columns as they are, text columns
 * `COLLATE "C"` (code point order, whatever the database's collation); undefined when a key is
 * of another type (or not a column).
 */
export function orderByKeys(columns: PgColumn[], keys: string[]): string[] | undefined {
  const terms: string[] = [];
  for (const key of keys) {
    const column = columns.find((c) => c.name === key);
    if (column && INTEGER_OIDS.has(column.baseOid)) terms.push(quoteIdent(key));
    else if (column && TEXT_OIDS.has(column.baseOid)) {
      terms.push(`${quoteIdent(key)} collate "C"`);
    } else return undefined;
  }
  return terms;
}
