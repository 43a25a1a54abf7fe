/**
 * The join diff inside PostgreSQL: two tables of one database (same connection), compared by
 * one `FULL OUTER JOIN … IS DISTINCT FROM` in a read-only, repeatable-read transaction; only
 * the rows that may differ leave the server.
 *
 * Exactness: a pair is left out only when every compared field is equal in PostgreSQL for two
 * columns of the same type family ({@linkcode FAMILY}: equal there means the same value to the
 * engine; text compared `COLLATE "C"`) and the source's value is one the engine's rule takes
 * without an error ({@linkcode TRUSTED}: no NaN decimal, no infinite or BC date, no 24:00).
 * Every other pair goes to the engine, which judges it by its own rules. Other types (json,
 * char(n), arrays, enums, …), or two columns of different families: no join.
 *
 * @example
 * ```ts ignore
 * const scan = await pgJoinScan(connection, source, target, request);
 * if (typeof scan !== "string") for await (const batch of scan.rows()) console.log(batch);
 * ```
 * @module
 */
import type { Sql } from "postgres";
import {
  ansiQuote as quote,
  type JoinRequest,
  type JoinRow,
  type JoinScan,
} from "../../adapter_kit/sql.ts";
import { parseDecimal } from "../../model/values.ts";
import { OID, type PgColumn, selectTerm } from "./catalog.ts";
import { type Connection, openSql } from "./connection.ts";

/** One side of the join: its quoted relation, columns, primary key and source filter. */
export interface PgSide {
  relation: string;
  columns: PgColumn[];
  primaryKey: string[];
  where?: string;
}

/** Type families whose equality in PostgreSQL is equality of the values the engine reads. */
export const FAMILY: Record<number, string> = {
  [OID.int2]: "integer",
  [OID.int4]: "integer",
  [OID.int8]: "integer",
  [OID.numeric]: "numeric",
  [OID.float4]: "float4",
  [OID.float8]: "float8",
  [OID.bool]: "boolean",
  [OID.text]: "text",
  [OID.varchar]: "text",
  [OID.date]: "date",
  [OID.time]: "time",
  [OID.timestamp]: "timestamp",
  [OID.timestamptz]: "timestamptz",
  [OID.bytea]: "bytea",
  [OID.uuid]: "uuid",
};

/** SQL true when a value of the family converts in the engine without an error. */
export const TRUSTED: Record<string, (e: string) => string> = {
  // NaN sorts above every number, infinity included (PostgreSQL 14+; before, there is none).
  numeric: (e) => `(${e} IS NULL OR (${e} < 'Infinity' AND ${e} > '-Infinity'))`,
  date: (e) => `(${e} IS NULL OR ${e} BETWEEN '0001-01-01' AND '9999-12-31')`,
  timestamp: (e) => `(${e} IS NULL OR ${e} BETWEEN '0001-01-01' AND '9999-12-31 23:59:59.999999')`,
  timestamptz: (e) =>
    `(${e} IS NULL OR ${e} BETWEEN '0001-01-01 00:00:00+00' AND '9999-12-31 23:59:59.999999+00')`,
  time: (e) => `(${e} IS NULL OR ${e} < '24:00:00')`,
};

/** Families a key may have: their equality pairs records exactly as the engine does. */
const KEY_FAMILIES = new Set(["integer", "text"]);

/** Rows per round trip of the cursor. */
const BATCH = 5000;

/** Starts the join diff of `source` against `target`, or says why it cannot run exactly. */
export async function pgJoinScan(
  connection: Connection,
  source: PgSide,
  target: PgSide,
  request: JoinRequest,
  /** The error to throw for a failed query (one line, no secrets). */
  fail: (error: unknown) => Error,
): Promise<JoinScan | string> {
  const column = (side: PgSide, name: string) => side.columns.find((c) => c.name === name)!;
  const pairs = request.fields.map((f) => ({
    s: column(source, f.source),
    t: column(target, f.target),
  }));
  for (const { s, t } of pairs) {
    const family = FAMILY[s.baseOid];
    if (!family || family !== FAMILY[t.baseOid]) {
      return `'${t.name}' is ${s.native} in the source and ${t.native} in the target`;
    }
  }
  for (const k of request.keyIndexes) {
    if (!KEY_FAMILIES.has(FAMILY[pairs[k].t.baseOid])) {
      return `key field '${pairs[k].t.name}' is ${pairs[k].t.native}`;
    }
  }
  const { sql } = await openSql(connection, "source");
  try {
    await sql.unsafe("begin isolation level repeatable read read only");
    const [version] = await sql.unsafe("select current_setting('server_version_num')::int as v");
    // Before PostgreSQL 14 a numeric has no infinity (nor its literal): only NaN is left out.
    const numeric = version.v < 140000
      ? (e: string) => `(${e} IS NULL OR ${e} < 'NaN')`
      : undefined;
    const from = (side: PgSide) =>
      side.where ? `(select * from ${side.relation} where (${side.where}))` : side.relation;
    const keyTerms = request.keyIndexes.map((k) => pairs[k]);
    for (const [side, name, pick] of [[source, "source", "s"], [target, "target", "t"]] as const) {
      const keys = keyTerms.map((p) => p[pick]);
      const names = keys.map((c) => c.name);
      const primary = names.length === side.primaryKey.length &&
        names.every((n) => side.primaryKey.includes(n));
      const empty = keys.map((c) =>
        `${quote(c.name)} IS NULL` +
        (FAMILY[c.baseOid] === "text" ? ` OR ${quote(c.name)} = ''` : "")
      ).join(" OR ");
      // A primary key is never NULL: only text keys can still be empty.
      if (!primary || keys.some((c) => FAMILY[c.baseOid] === "text")) {
        const [bad] = await sql.unsafe(
          `select exists (select 1 from ${from(side)} x where ${empty}) as e`,
        );
        if (bad.e) return await end(sql, `a ${name} key is empty in some row`);
      }
      if (primary) continue;
      const list = keys.map((c) => quote(c.name)).join(", ");
      const [twice] = await sql.unsafe(
        `select exists (select 1 from ${from(side)} x group by ${list} having count(*) > 1) as e`,
      );
      if (twice.e) return await end(sql, `the ${name} holds a key twice`);
    }
    const [sizes] = await sql.unsafe(
      `select (select count(*) from ${from(source)} x)::int8 as s, ` +
        `(select count(*) from ${from(target)} x)::int8 as t`,
    );
    const counts = [Number(sizes.s), Number(sizes.t)];
    const trusted = { ...TRUSTED, ...(numeric ? { numeric } : {}) };
    return new PgJoinScan(sql, from(source), from(target), pairs, request, counts, trusted, fail);
  } catch (error) {
    await sql.end({ timeout: 1 });
    throw error;
  }
}

async function end(sql: Sql, reason: string): Promise<string> {
  await sql.end({ timeout: 1 });
  return reason;
}

class PgJoinScan implements JoinScan {
  readonly description = "a join inside postgres (FULL JOIN)";
  readonly sourceCount: number;
  readonly targetCount: number;
  #createCount = 0;
  #sql: Sql | undefined;

  constructor(
    sql: Sql,
    readonly source: string,
    readonly target: string,
    readonly pairs: { s: PgColumn; t: PgColumn }[],
    readonly request: JoinRequest,
    counts: number[],
    readonly trusted: Record<string, (e: string) => string>,
    readonly fail: (error: unknown) => Error,
  ) {
    this.#sql = sql;
    [this.sourceCount, this.targetCount] = counts;
  }

  get createCount(): number {
    return this.#createCount;
  }

  async *rows(): AsyncGenerator<JoinRow[]> {
    const { pairs, request } = this;
    const text = (c: PgColumn) => FAMILY[c.baseOid] === "text";
    const keys = request.keyIndexes.map((k) => pairs[k]);
    const on = keys.map(({ s, t }) =>
      `s.${quote(s.name)} = t.${quote(t.name)}${text(t) ? ' COLLATE "C"' : ""}`
    ).join(" AND ");
    const same = pairs.map(({ s, t }) => {
      const a = `s.${quote(s.name)}`, b = `t.${quote(t.name)}`;
      const equal = `${a} IS NOT DISTINCT FROM ${b}${text(t) ? ' COLLATE "C"' : ""}`;
      const trusted = this.trusted[FAMILY[s.baseOid]];
      return trusted ? `(${equal} AND ${trusted(a)})` : equal;
    }).join(" AND ");
    const sKey = `s.${quote(keys[0].s.name)}`, tKey = `t.${quote(keys[0].t.name)}`;
    const width = pairs.length;
    const query = `select ${sKey} IS NULL, ${tKey} IS NULL, ` +
      `${pairs.map((p) => selectTerm(p.s, "s")).join(", ")}, ` +
      `${pairs.map((p) => selectTerm(p.t, "t")).join(", ")} ` +
      `from ${this.source} s full join ${this.target} t on ${on} ` +
      `where ${sKey} IS NULL OR ${tKey} IS NULL OR NOT (${same})`;
    // numeric comes as PostgreSQL prints it (`9.90`): the adapter's read hands over `9.9`.
    const decimals = pairs.flatMap((p, i) => p.s.baseOid === OID.numeric ? [i] : []);
    const cursor = this.#sql!.unsafe(query).values().cursor(BATCH);
    try {
      yield* this.#found(cursor, decimals, width);
    } catch (error) {
      throw this.fail(error);
    }
  }

  async *#found(
    cursor: AsyncIterable<unknown[]>,
    decimals: number[],
    width: number,
  ): AsyncGenerator<JoinRow[]> {
    const { request } = this;
    for await (const batch of cursor) {
      const found: JoinRow[] = [];
      for (const row of batch as unknown as unknown[][]) {
        for (const d of decimals) {
          for (const at of [2 + d, 2 + width + d]) {
            const v = row[at];
            if (typeof v === "string") row[at] = parseDecimal(v) ?? v;
          }
        }
        const sourceRow = row.slice(2, 2 + width), targetRow = row.slice(2 + width);
        if (row[1]) {
          this.#createCount++;
          if (request.keepCreates) found.push({ op: "create", source: sourceRow, position: 0 });
        } else if (row[0]) found.push({ op: "delete", target: targetRow });
        else found.push({ op: "update", source: sourceRow, target: targetRow, position: 0 });
      }
      yield found;
    }
  }

  async close(): Promise<void> {
    const sql = this.#sql;
    this.#sql = undefined;
    if (!sql) return;
    try {
      await sql.unsafe("commit");
    } finally {
      await sql.end({ timeout: 1 });
    }
  }
}
