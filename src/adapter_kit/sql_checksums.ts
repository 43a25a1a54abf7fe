/**
 * The side of a checksum bisection that a SQL server computes (PostgreSQL, MySQL): the queries
 * for row counts, sampled boundaries, segment checksums and the rows of some ranges are the
 * same shape in every dialect; what differs — the cut expression, how a bound is spelt, the
 * integer division, the row hash — comes in a {@linkcode SqlChecksumTable}. (SQLite hashes in
 * JavaScript, src/adapters/sqlite/checksum.ts.)
 *
 * @example
 * ```ts ignore
 * const side = new SqlChecksums({ engine: "postgres", relation: '"t"', scope: "TRUE", ... });
 * const [[whole]] = await side.checksums([{ range: {}, split: { cuts: [] } }]);
 * ```
 * @module
 */
import {
  type ChecksumSide,
  type Cut,
  cutsSql,
  type KeyBound,
  type KeyRange,
  rangeChunks,
  rangesSql,
  segmentCount,
  segmentSql,
  type SegmentSum,
} from "./checksum.ts";
import type { Dataset } from "./importer.ts";

/** A condition over the table's columns and the values of its placeholders. */
export interface SqlPart {
  condition: string;
  params: unknown[];
}

/**
 * A row hash computed once per row in a derived table that `fence` keeps from being merged
 * into the query (PostgreSQL: `OFFSET 0`), then `finish`ed outside it: `finish("h")` names the
 * inner hash twice without computing it twice. The fence also hides the segment's expression
 * from the planner, which otherwise estimates one group per key for `GROUP BY (k - $1) / $2`
 * and sorts every row (10M rows: a 900 MB external sort) instead of hashing a few thousand
 * groups.
 */
export interface FencedHash {
  row: string;
  finish(h: string): string;
  fence: string;
}

/** What a SQL dialect hands the shared queries. */
export interface SqlChecksumTable {
  /** How `-v` names the database. */
  engine: string;
  /** The quoted relation. */
  relation: string;
  /** The rows compared: `(--where)` or the target's partition, else `TRUE`. */
  scope: string;
  /** The cut is an integer (key, or a partition column in units) or a text key. */
  keyType: "integer" | "text";
  /** The expression ranges are cut on, collated as the side sorts. */
  key: string;
  /**
   * When the cut is a partition column: `key` is its value in whole units (days, seconds) and
   * `bound(placeholder)` the column's value at that many units, so that `column >= bound(n)`
   * holds exactly when `key >= n` and the range conditions can use the column's index.
   */
  partition?: { column: string; bound: (units: string) => string };
  /** Adds a bound to `params`; its placeholder. */
  param(params: unknown[], value: KeyBound): string;
  /** The integer division operator (`/`, MySQL `DIV`). */
  divide: string;
  /**
   * The SQL of a row's hash, a 64-bit integer: by default the md5 of its tokens. Or computed in
   * a derived table (see {@linkcode FencedHash}).
   */
  rowHash(hash: string | undefined): string | FencedHash;
  /** Row hashes besides md5 of the tokens (see {@linkcode ChecksumSide.hashes}). */
  hashes?: Record<string, string>;
  /** Runs a query; rows as arrays (numbers may come as text). */
  query(text: string, params: unknown[]): Promise<unknown[][]>;
  /** The rows matching any of `parts`, one part after the other, as a dataset. */
  within(parts: SqlPart[]): Dataset;
  /** Undoes what opening the side changed in the session. */
  close?(): Promise<void>;
}

/** The shared queries of a SQL server's side. */
export class SqlChecksums implements ChecksumSide {
  readonly engine: string;
  readonly keyType: "integer" | "text";
  readonly hashes?: Record<string, string>;

  constructor(readonly table: SqlChecksumTable) {
    this.engine = table.engine;
    this.keyType = table.keyType;
    this.hashes = table.hashes;
  }

  /** The WHERE condition of `range`, with its params. */
  #sql(range: KeyRange) {
    const params: unknown[] = [];
    const param = (value: KeyBound) => this.table.param(params, value);
    const { where } = segmentSql(this.table.key, range, undefined, param);
    return { where: this.#indexed(range, where, param), params };
  }

  /** `where` with the partition column's own bounds in front, so its index can serve them. */
  #indexed(range: KeyRange, where: string, param: (value: KeyBound) => string): string {
    const p = this.table.partition;
    if (!p) return where;
    if (range.nulls) return where;
    const own = segmentSql(p.column, range, undefined, (v) => p.bound(param(v))).where;
    return `${own} AND ${where}`;
  }

  #from(where: string): string {
    return `${this.table.relation} WHERE ${this.table.scope} AND ${where}`;
  }

  #bound(v: unknown): KeyBound | undefined {
    if (v === null || v === undefined) return undefined;
    return this.keyType === "integer" ? BigInt(v as string) : String(v);
  }

  async stats(): Promise<{ count: number; min?: KeyBound; max?: KeyBound }> {
    const k = this.table.key;
    const [[count, min, max]] = await this.table.query(
      `SELECT count(*), min(${k}), max(${k}) FROM ${this.#from("1 = 1")}`,
      [],
    );
    return { count: Number(count), min: this.#bound(min), max: this.#bound(max) };
  }

  async keyBounds(): Promise<{ min?: KeyBound; max?: KeyBound }> {
    const k = this.table.key;
    // Without count(*), PostgreSQL and MySQL read both ends off the key's index.
    const [[min, max]] = await this.table.query(
      `SELECT min(${k}), max(${k}) FROM ${this.#from("1 = 1")}`,
      [],
    );
    return { min: this.#bound(min), max: this.#bound(max) };
  }

  async boundaries(range: KeyRange, parts: number): Promise<KeyBound[]> {
    const { where, params } = this.#sql(range);
    const k = this.table.key;
    const [[count]] = await this.table.query(`SELECT count(*) FROM ${this.#from(where)}`, params);
    const step = Math.max(1, Math.ceil(Number(count) / parts));
    const rows = await this.table.query(
      `SELECT k FROM (SELECT ${k} AS k, row_number() OVER (ORDER BY ${k}) AS n FROM ${
        this.#from(where)
      }) q WHERE n % ${step} = 0 ORDER BY k`,
      params,
    );
    return rows.map(([k]) => this.#bound(k)!);
  }

  async checksums(cuts: Cut[], hash?: string): Promise<SegmentSum[][]> {
    const params: unknown[] = [];
    const t = this.table;
    const param = (value: KeyBound) => t.param(params, value);
    const { where, segment } = cutsSql(
      t.key,
      cuts,
      param,
      t.divide,
      (range, where) => this.#indexed(range, where, param),
    );
    const found = cuts.map((cut) =>
      Array.from({ length: segmentCount(cut.split) }, () => ({ count: 0, sum: 0n }))
    );
    const row = t.rowHash(hash);
    const from = this.#from(where);
    const rows = await t.query(
      typeof row === "string"
        ? `SELECT ${segment} AS segment, count(*), sum(${row}) FROM ${from} GROUP BY 1`
        : `SELECT segment, count(*), sum(${
          row.finish("h")
        }) FROM (SELECT ${segment} AS segment, ${row.row} AS h FROM ${from} ${row.fence}) q GROUP BY 1`,
      params,
    );
    const sums = found.flat();
    for (const [at, count, sum] of rows) {
      sums[Number(at)].count = Number(count);
      sums[Number(at)].sum = BigInt(String(sum ?? "0"));
    }
    return found;
  }

  within(ranges: KeyRange[]): Dataset {
    // Partition ranges are not in key order: one query, so that a sorted read stays sorted.
    const chunks = this.table.partition && ranges.length ? [ranges] : rangeChunks(ranges);
    return this.table.within(chunks.map((chunk) => {
      const params: unknown[] = [];
      const param = (value: KeyBound) => this.table.param(params, value);
      const condition = chunk.map((r) =>
        `(${this.#indexed(r, rangesSql(this.table.key, [r], param), param)})`
      ).join(" OR ");
      return { condition, params };
    }));
  }

  close(): Promise<void> {
    return this.table.close?.() ?? Promise.resolve();
  }
}
