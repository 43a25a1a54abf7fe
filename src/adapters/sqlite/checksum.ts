/**
 * SQLite's side of checksum bisection (adapter_kit/checksum.ts). SQLite has no `md5`, and keeps
 * any value in any column, so the row hash is an aggregate function written in JavaScript
 * (`dsync_checksum`, registered on the connection): it converts each stored value to the
 * field's comparison type by the engine's own rule (`convertValue`), spells its token, and sums
 * md5 tails. A value the rule refuses gets the side's mark. SQLite still does the scanning,
 * the range conditions and the grouping; only the hashing runs in JavaScript.
 *
 * @example
 * ```ts ignore
 * const side = sqliteChecksumSide(db, "t", info, request, (ranges) => table.within(ranges));
 * ```
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import {
  type ChecksumRequest,
  type ChecksumSide,
  type Cut,
  cutsSql,
  HashSum,
  hashToken,
  type KeyBound,
  type KeyRange,
  md5Tail,
  rangeChunks,
  rangesSql,
  ROW_SEPARATOR,
  segmentCount,
  segmentSql,
  type SegmentSum,
  untrustedToken,
} from "../../adapter_kit/checksum.ts";
import { ansiQuote as quote } from "../../adapter_kit/sql.ts";
import type { Dataset } from "../../adapter_kit/importer.ts";
import { convertValue } from "../../model/values.ts";
import { KEY_CLASS, keyProblem } from "./join.ts";

/** Opens SQLite's side of a bisection of `table` (quoted), or says why it cannot. */
export function sqliteChecksumSide(
  db: DatabaseSync,
  table: string,
  primaryKey: string[],
  request: ChecksumRequest,
  within: (parts: { where: string; params: unknown[] }[]) => Dataset,
): ChecksumSide | string {
  const keys = request.keyIndexes.map((k) => request.fields[k]);
  for (const key of keys) {
    if (!KEY_CLASS[key.type]) return `key field '${key.column}' is compared as ${key.type}`;
  }
  const problem = keyProblem(db, table, keys, primaryKey, request.side);
  if (problem) return problem;
  if (request.partition !== undefined) {
    const f = request.fields[request.partition];
    if (!PARTITION[f.type]) return `partition field '${f.column}' is compared as ${f.type}`;
  }
  return new SqliteChecksums(db, table, request, within);
}

/**
 * The partition field in whole units, from whatever the column holds: an integer, or a date or
 * time SQLite's date functions read (days, seconds since 1970); NULL for anything else. Only
 * this side's segments depend on it: a row the other side places elsewhere makes both segments
 * differ, and both are read.
 */
const PARTITION: Record<string, (e: string) => string> = {
  integer: (e) => `CASE WHEN typeof(${e}) = 'integer' THEN ${e} END`,
  date: (e) => `(CAST(strftime('%s', ${e}) AS INTEGER) / 86400)`,
  timestamp: (e) => `CAST(strftime('%s', ${e}) AS INTEGER)`,
  timestamptz: (e) => `CAST(strftime('%s', ${e}) AS INTEGER)`,
};

/** Accumulators of the running aggregate calls, by the index SQLite keeps for each. */
const sums: HashSum[] = [];

class SqliteChecksums implements ChecksumSide {
  readonly engine = "sqlite";
  readonly keyType: "integer" | "text";
  readonly #key: string;
  readonly #columns: string;

  constructor(
    readonly db: DatabaseSync,
    readonly table: string,
    readonly request: ChecksumRequest,
    readonly readParts: (parts: { where: string; params: unknown[] }[]) => Dataset,
  ) {
    const first = request.fields[request.keyIndexes[0]];
    const partition = request.partition === undefined
      ? undefined
      : request.fields[request.partition];
    this.keyType = first.type === "integer" || partition ? "integer" : "text";
    this.#key = partition
      ? PARTITION[partition.type](quote(partition.column))
      : `${quote(first.column)}${this.keyType === "text" ? " COLLATE BINARY" : ""}`;
    this.#columns = request.fields.map((f) => quote(f.column)).join(", ");
    const types = request.fields.map((f) => f.type);
    const mark = untrustedToken(request.side);
    const tokens = new Array<string>(types.length);
    const tail = [0, 0];
    db.aggregate("dsync_checksum", {
      start: null,
      varargs: true,
      useBigIntArguments: true,
      step: (index: unknown, ...values: unknown[]) => {
        const at = index === null ? sums.push(new HashSum()) - 1 : index as number;
        for (let i = 0; i < types.length; i++) {
          let token: string;
          try {
            const value = convertValue(values[i], types[i]);
            token = typeof value === "string" && !value.isWellFormed()
              ? mark
              : hashToken(value, types[i]);
          } catch {
            token = mark;
          }
          tokens[i] = token;
        }
        md5Tail(tokens.join(ROW_SEPARATOR), tail);
        sums[at].add(tail[0], tail[1]);
        return at;
      },
      result: (index: unknown) => {
        if (index === null) return "0:0";
        const sum = sums[index as number];
        return `${sum.count}:${sum.sum}`;
      },
    } as never);
  }

  #rows(sql: string, params: unknown[]): unknown[][] {
    const statement = this.db.prepare(sql);
    (statement as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(true);
    statement.setReadBigInts(true);
    return statement.all(...params as never[]) as unknown as unknown[][];
  }

  #sql(range: KeyRange) {
    const params: unknown[] = [];
    const { where } = segmentSql(this.#key, range, undefined, (value) => `?${params.push(value)}`);
    return { where, params };
  }

  stats(): Promise<{ count: number; min?: KeyBound; max?: KeyBound }> {
    const [[count, min, max]] = this.#rows(
      `SELECT count(*), min(${this.#key}), max(${this.#key}) FROM ${this.table}`,
      [],
    );
    return Promise.resolve({
      count: Number(count),
      min: (min ?? undefined) as KeyBound | undefined,
      max: (max ?? undefined) as KeyBound | undefined,
    });
  }

  keyBounds(): Promise<{ min?: KeyBound; max?: KeyBound }> {
    const [[min, max]] = this.#rows(
      `SELECT min(${this.#key}), max(${this.#key}) FROM ${this.table}`,
      [],
    );
    return Promise.resolve({
      min: (min ?? undefined) as KeyBound | undefined,
      max: (max ?? undefined) as KeyBound | undefined,
    });
  }

  boundaries(range: KeyRange, parts: number): Promise<KeyBound[]> {
    const { where, params } = this.#sql(range);
    const [[count]] = this.#rows(`SELECT count(*) FROM ${this.table} WHERE ${where}`, params);
    const step = Math.max(1, Math.ceil(Number(count) / parts));
    const rows = this.#rows(
      `SELECT k FROM (SELECT ${this.#key} AS k, row_number() OVER (ORDER BY ${this.#key}) AS n ` +
        `FROM ${this.table} WHERE ${where}) WHERE n % ${step} = 0 ORDER BY k`,
      params,
    );
    return Promise.resolve(rows.map((row) => row[0] as KeyBound));
  }

  async checksums(cuts: Cut[]): Promise<SegmentSum[][]> {
    // Lets the other side's query go out first: this one holds the thread until it is done.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const params: unknown[] = [];
    // Numbered: the segment's parameters come before the range's in the statement.
    const { where, segment } = cutsSql(this.#key, cuts, (value) => `?${params.push(value)}`);
    const found = cuts.map((cut) =>
      Array.from({ length: segmentCount(cut.split) }, () => ({ count: 0, sum: 0n }))
    );
    const segments = found.flat();
    const first = sums.length;
    try {
      const rows = this.#rows(
        `SELECT ${segment} AS segment, dsync_checksum(${this.#columns}) FROM ${this.table} ` +
          `WHERE ${where} GROUP BY segment`,
        params,
      );
      for (const [at, text] of rows) {
        const [count, sum] = (text as string).split(":");
        segments[Number(at)].count = Number(count);
        segments[Number(at)].sum = BigInt(sum);
      }
    } finally {
      sums.length = first;
    }
    return found;
  }

  within(ranges: KeyRange[]): Dataset {
    // Partition ranges are not in key order: one query, so that a sorted read stays sorted.
    const chunks = this.request.partition === undefined || !ranges.length
      ? rangeChunks(ranges)
      : [ranges];
    return this.readParts(chunks.map((chunk) => {
      const params: unknown[] = [];
      return { where: rangesSql(this.#key, chunk, (value) => `?${params.push(value)}`), params };
    }));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
