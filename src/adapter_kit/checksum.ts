/**
 * The checksum capability of SQL datasets, for checksum bisection between two databases
 * (`--strategy hash`, src/engine/bisect.ts): each side counts and checksums the rows of a key
 * range inside its own database, split into segments, and reads only the segments that differ.
 *
 * Both sides must compute the same checksum for records the engine finds equal, and different
 * ones (but for an md5 collision) for records it finds different. So each value is first
 * spelled as a **token**, a text that depends only on the value as the engine converts it to
 * the field's comparison type (docs/types.md), and that both databases can compute:
 *
 * | type                                      | token                                         |
 * | ----------------------------------------- | --------------------------------------------- |
 * | NULL                                      | `N`                                           |
 * | `integer`                                 | its digits                                    |
 * | `float`                                   | the 16 hex digits of the IEEE double (`-0` → `0`), `NaN` |
 * | `decimal`, `date`, `time`, `timestamp`, `timestamptz` | the canonical text                 |
 * | `boolean`                                 | `1` / `0`                                     |
 * | `text`                                    | its length in code points, `:`, the text      |
 * | `bytes`                                   | lower-case hex                                |
 * | a value SQL cannot vouch for              | `!S` on the source, `!T` on the target        |
 *
 * A row's text is its tokens joined by `|` (the length prefix keeps text unambiguous); its hash
 * is the last 60 bits of `md5` of the UTF-8 text, read as an integer; a segment's checksum is
 * the sum of its rows' hashes (order-independent, exact: no overflow) and its row count. A
 * value that SQL cannot turn into its token exactly (SQLite text in an `INTEGER` column, a NaN
 * `numeric`) gets the side's own mark, so its segment always differs and is read and judged by
 * the engine, like everything the join diff leaves to it.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { hashToken, md5Tail } from "./checksum.ts";
 * deepStrictEqual(hashToken("né", "text"), "2:né");
 * deepStrictEqual(hashToken(-0, "float"), "0000000000000000");
 * const out = [0, 0];
 * md5Tail("", out); // md5("") = d41d8cd98f00b204e9800998ecf8427e
 * deepStrictEqual(BigInt(out[0]) * 2n ** 30n + BigInt(out[1]), 0x9800998ecf8427en); // its last 15 hex digits
 * ```
 * @module
 */
import type { Dataset } from "./importer.ts";
import { FIELD_TYPES, type FieldType } from "../model/types.ts";

/** The comparison types a checksum can follow exactly (`json`, `auto`: no). */
export const CHECKSUM_TYPES: ReadonlySet<FieldType> = new Set(
  FIELD_TYPES.filter((type) => type !== "json" && type !== "auto"),
);

/** What the engine asks one side to checksum: its columns, in the layout's order. */
export interface ChecksumRequest {
  /** This side's column and the field's comparison type. */
  fields: { column: string; type: FieldType }[];
  /** Indexes into `fields` of the key; segments are ranges of the first one. */
  keyIndexes: number[];
  /** Which side this is: its mark for values SQL cannot vouch for (`!S`, `!T`). */
  side: "source" | "target";
  /**
   * Segments are ranges of this field instead of the key (synctool's partition column): an
   * index into `fields` of an `integer`, `date`, `timestamp` or `timestamptz` field, cut in
   * whole units — the integer itself, days or seconds since 1970-01-01 (UTC).
   */
  partition?: number;
}

/** The units {@linkcode ChecksumRequest.partition} cuts a field of each type in. */
export const PARTITION_UNITS: Readonly<Record<string, "1" | "day" | "second">> = {
  integer: "1",
  date: "day",
  timestamp: "second",
  timestamptz: "second",
};

/** A value of the first key field: integers as bigint, text as string. */
export type KeyBound = bigint | string;

/**
 * The keys `from ≤ key < to` of the first key field (or the partition field); a missing end is
 * unbounded; `nulls`: the rows whose partition field is NULL (or has no value in units).
 */
export interface KeyRange {
  from?: KeyBound;
  to?: KeyBound;
  nulls?: true;
}

/**
 * How a range is cut into segments: at `cuts` (ascending; `cuts.length + 1` segments), or, for
 * integer keys, into `parts` segments of `width` keys from `range.from` (which is then set, and
 * `range.to` is `from + parts × width`). With `rest`, the range is the whole table and three
 * more segments follow: the rows below `from`, those at or past `to`, and the NULLs.
 */
export type Split = { cuts: KeyBound[] } | { width: bigint; parts: number; rest?: true };

/** A range cut into segments, as {@linkcode ChecksumSide.checksums} checks it. */
export interface Cut {
  range: KeyRange;
  split: Split;
}

/** The number of segments of `split`. */
export function segmentCount(split: Split): number {
  return "width" in split ? split.parts + (split.rest ? 3 : 0) : split.cuts.length + 1;
}

/** One segment's row count and the sum of its rows' hashes. */
export interface SegmentSum {
  count: number;
  sum: bigint;
}

/** One side of a bisection, opened by {@linkcode ChecksumDataset.checksumSide}. */
export interface ChecksumSide {
  /** How `-v` names the database: `postgres`, `sqlite`. */
  readonly engine: string;
  /** Whether the first key field is compared as an integer or as text. */
  readonly keyType: "integer" | "text";
  /** The row count and the smallest and largest first key (none when empty). */
  stats(): Promise<{ count: number; min?: KeyBound; max?: KeyBound }>;
  /** The smallest and largest first key (none when empty), without counting the rows. */
  keyBounds(): Promise<{ min?: KeyBound; max?: KeyBound }>;
  /** The first key of every `count / parts`-th row of `range`, in key order (text keys). */
  boundaries(range: KeyRange, parts: number): Promise<KeyBound[]>;
  /**
   * Row hashes this side can compute besides the md5 of the tokens, by name, each with what
   * the other side's must equal for both to hash equal rows alike (the column types, a value
   * hashed by the server): a cheaper hash is used only when both sides offer it alike.
   */
  readonly hashes?: Readonly<Record<string, string>>;
  /**
   * The count and checksum of each segment of each cut (its range cut by its split), in order,
   * in one query; rows hashed by `hash` (a name of {@linkcode hashes}), else by the md5 of
   * their tokens. The cuts' ranges are disjoint.
   */
  checksums(cuts: Cut[], hash?: string): Promise<SegmentSum[][]>;
  /**
   * The rows of `ranges` (ascending, disjoint) as a dataset: described and read as the side's
   * own dataset is, sorted reads in key order.
   */
  within(ranges: KeyRange[]): Dataset;
  /** Releases what the side holds (not the dataset). */
  close(): Promise<void>;
}

/** A dataset that can checksum itself: a table of a SQL database. */
export interface ChecksumDataset extends Dataset {
  /**
   * Opens one side of a bisection; or says in a few words why this dataset cannot be
   * checksummed exactly (a query, a column type SQL cannot spell as its token, a key that is
   * not unique or not clean).
   */
  checksumSide(request: ChecksumRequest): Promise<ChecksumSide | string>;
}

/** Whether `dataset` can checksum itself. */
export function isChecksumDataset(dataset: Dataset): dataset is ChecksumDataset {
  return typeof (dataset as Partial<ChecksumDataset>).checksumSide === "function";
}

/** A SQL table's side of the key checks below. */
export interface KeyCheckTable {
  relation: string;
  /** The rows compared: the source's `--where` or the target's partition, else `TRUE`. */
  scope: string;
  primaryKey: string[];
  /** A quoted identifier. */
  quote: (name: string) => string;
  /** A key column compared byte for byte (`COLLATE "C"`, `CAST(… AS BINARY)`). */
  exact: (name: string) => string;
  /** The first value of the first row of `sql` is true (`true`, `1`, `"1"`). */
  exists: (sql: string) => Promise<boolean>;
}

/**
 * Why a table's keys cannot be bisected, or undefined: an empty (NULL, or `''` for text) key, or
 * — when the key is not the primary key — a key held twice byte for byte.
 */
export async function keyProblem(
  table: KeyCheckTable,
  keys: { column: string; type: FieldType }[],
  side: "source" | "target",
): Promise<string | undefined> {
  const { relation, scope, quote } = table;
  const bad = keys.map((k) =>
    `${quote(k.column)} IS NULL${k.type === "text" ? ` OR ${quote(k.column)} = ''` : ""}`
  ).join(" OR ");
  if (await table.exists(`SELECT EXISTS (SELECT 1 FROM ${relation} WHERE ${scope} AND (${bad}))`)) {
    return `a ${side} key is empty`;
  }
  const names = keys.map((k) => k.column);
  const primary = names.length === table.primaryKey.length &&
    names.every((n) => table.primaryKey.includes(n));
  // A primary key unique under a collation that folds case or pads is unique byte for byte.
  if (primary) return undefined;
  const twice = await table.exists(
    `SELECT EXISTS (SELECT 1 FROM ${relation} WHERE ${scope} GROUP BY ${
      names.map(table.exact).join(", ")
    } HAVING count(*) > 1)`,
  );
  return twice ? `the ${side} holds a key twice` : undefined;
}

/** The mark of a value SQL cannot vouch for, different on each side. */
export function untrustedToken(side: "source" | "target"): string {
  return side === "source" ? "!S" : "!T";
}

const floatBits = new DataView(new ArrayBuffer(8));

/**
 * The token of a value already converted to `type` by the engine's rules (`convertValue`), as
 * the table above spells it. JavaScript computes it where the database cannot (SQLite), so it
 * is the reference the SQL of the other databases must match.
 */
export function hashToken(value: unknown, type: FieldType): string {
  if (value === null || value === undefined) return "N";
  switch (type) {
    case "float": {
      const n = value as number;
      if (Number.isNaN(n)) return "NaN";
      floatBits.setFloat64(0, n === 0 ? 0 : n);
      return floatBits.getBigUint64(0).toString(16).padStart(16, "0");
    }
    case "boolean":
      return value ? "1" : "0";
    case "text": {
      const text = value as string;
      let length = text.length;
      for (let i = 0; i < text.length; i++) {
        if ((text.charCodeAt(i) & 0xfc00) === 0xdc00) length--;
      }
      return `${length}:${text}`;
    }
    case "bytes":
      return Array.from(value as Uint8Array, (b) => b.toString(16).padStart(2, "0")).join("");
    default:
      return String(value);
  }
}

/** Joins tokens into a row's hashed text. */
export const ROW_SEPARATOR = "|";

/**
 * The sums of 60-bit hashes, exact: two 30-bit halves summed as numbers (exact far beyond any
 * segment's row count), carried into a bigint now and then.
 */
export class HashSum {
  #high = 0;
  #low = 0;
  #carried = 0n;
  count = 0;

  add(high: number, low: number): void {
    this.#high += high;
    this.#low += low;
    if (++this.count % 4_000_000 === 0) this.#carry();
  }

  #carry(): void {
    this.#carried += BigInt(this.#high) * 2n ** 30n + BigInt(this.#low);
    this.#high = 0;
    this.#low = 0;
  }

  get sum(): bigint {
    this.#carry();
    return this.#carried;
  }
}

const S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const K = new Int32Array(64).map((_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0);
const encoder = new TextEncoder();
let bytes = new Uint8Array(1024);
let words = new Int32Array(256);

/**
 * The last 60 bits of `md5` of the UTF-8 of `text` — what SQL reads as
 * `substr(md5(text), 18)` in hexadecimal — into `out` as [high 30 bits, low 30 bits]. A plain
 * md5 over a reused buffer: node:crypto costs 5 µs a row here, this one about 1 µs.
 */
export function md5Tail(text: string, out: number[]): void {
  if (bytes.length < text.length * 3 + 72) bytes = new Uint8Array(text.length * 6 + 144);
  const length = encoder.encodeInto(text, bytes).written;
  const total = (((length + 8) >>> 6) + 1) << 6;
  bytes[length] = 0x80;
  bytes.fill(0, length + 1, total);
  const bits = length * 8;
  bytes[total - 8] = bits & 0xff;
  bytes[total - 7] = (bits >>> 8) & 0xff;
  bytes[total - 6] = (bits >>> 16) & 0xff;
  bytes[total - 5] = (bits >>> 24) & 0xff;
  bytes[total - 4] = Math.floor(length / 0x20000000) & 0xff;
  if (words.length < total / 4) words = new Int32Array(total / 2);
  for (let i = 0, j = 0; j < total; i++, j += 4) {
    words[i] = bytes[j] | (bytes[j + 1] << 8) | (bytes[j + 2] << 16) | (bytes[j + 3] << 24);
  }
  let a0 = 0x67452301, b0 = 0xefcdab89 | 0, c0 = 0x98badcfe | 0, d0 = 0x10325476;
  for (let offset = 0; offset < total / 4; offset += 16) {
    let a = a0, b = b0, c = c0, d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number, g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) & 15;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) & 15;
      }
      const s = S[(i >> 4) * 4 + (i & 3)];
      const x = (a + f + K[i] + words[offset + g]) | 0;
      a = d;
      d = c;
      c = b;
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    a0 = (a0 + a) | 0;
    b0 = (b0 + b) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  }
  // Digest bytes 8…15 are c0 and d0, little-endian; the 60 bits start at byte 8's low nibble.
  const byte = (w: number, k: number) => (w >>> (8 * k)) & 0xff;
  out[0] = (byte(c0, 0) & 0xf) * 2 ** 26 + byte(c0, 1) * 2 ** 18 + byte(c0, 2) * 2 ** 10 +
    byte(c0, 3) * 4 + (byte(d0, 0) >>> 6);
  out[1] = (byte(d0, 0) & 0x3f) * 2 ** 24 + byte(d0, 1) * 2 ** 16 + byte(d0, 2) * 2 ** 8 +
    byte(d0, 3);
}

/**
 * The WHERE condition of `range` and the segment number of a row under `split`, over the key
 * expression `key` (already collated as the side sorts: `"k" COLLATE "C"`), with `param(value)`
 * adding a bound parameter and returning its placeholder, and `divide` the integer division
 * operator (MySQL's `/` is exact: `DIV`). Shared by every SQL side, so each row falls into the
 * same segment of a range in every query of one side.
 */
export function segmentSql(
  key: string,
  range: KeyRange,
  split: Split | undefined,
  param: (value: KeyBound) => string,
  divide = "/",
): { where: string; segment: string } {
  if (range.nulls) return { where: `${key} IS NULL`, segment: "0" };
  const cell = (width: bigint) => `((${key} - ${param(range.from!)}) ${divide} ${param(width)})`;
  if (split && "width" in split && split.rest) {
    const n = split.parts;
    return {
      where: "1 = 1",
      segment: `CASE WHEN ${key} IS NULL THEN ${n + 2} WHEN ${key} < ${
        param(range.from!)
      } THEN ${n} WHEN ${key} >= ${param(range.to!)} THEN ${n + 1} ELSE ${cell(split.width)} END`,
    };
  }
  const terms: string[] = [];
  if (range.from !== undefined) terms.push(`${key} >= ${param(range.from)}`);
  // Past the largest 64-bit integer, no bound is needed (nor can SQL spell it as one).
  if (range.to !== undefined && !(typeof range.to === "bigint" && range.to > INT64_MAX)) {
    terms.push(`${key} < ${param(range.to)}`);
  }
  const where = terms.length ? terms.join(" AND ") : "1 = 1";
  if (!split) return { where, segment: "0" };
  if ("width" in split) return { where, segment: cell(split.width) };
  if (split.cuts.length === 0) return { where, segment: "0" };
  const whens = split.cuts.map((cut, i) => `WHEN ${key} < ${param(cut)} THEN ${i}`);
  return { where, segment: `CASE ${whens.join(" ")} ELSE ${split.cuts.length} END` };
}

const INT64_MAX = 2n ** 63n - 1n;

/**
 * The WHERE condition of several disjoint `cuts` and the number of a row's segment among all
 * their segments, one cut's after the other's: a row of a cut's range gets the number
 * {@linkcode segmentSql} gives it in that cut, plus the segments of the cuts before (so one
 * grouped query checks a whole level of the search). `indexed(range, where)` may add to a
 * cut's condition (the partition column's own bounds). One cut is {@linkcode segmentSql}'s.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { cutsSql } from "./checksum.ts";
 * const params: unknown[] = [];
 * const { where, segment } = cutsSql("k", [
 *   { range: { from: 0n, to: 4n }, split: { width: 2n, parts: 2 } },
 *   { range: { from: 10n, to: 12n }, split: { cuts: [11n] } },
 * ], (v) => `$${params.push(v)}`);
 * deepStrictEqual(where, "(k >= $1 AND k < $2) OR (k >= $5 AND k < $6)");
 * deepStrictEqual(
 *   segment,
 *   "CASE WHEN k >= $1 AND k < $2 THEN ((k - $3) / $4) WHEN k >= $5 AND k < $6 THEN 2 + CASE WHEN k < $7 THEN 0 ELSE 1 END END",
 * );
 * ```
 */
export function cutsSql(
  key: string,
  cuts: Cut[],
  param: (value: KeyBound) => string,
  divide = "/",
  indexed: (range: KeyRange, where: string) => string = (_, where) => where,
): { where: string; segment: string } {
  if (cuts.length === 1) {
    const { where, segment } = segmentSql(key, cuts[0].range, cuts[0].split, param, divide);
    // A split with its rest covers the whole table.
    const rest = "width" in cuts[0].split && cuts[0].split.rest;
    return { where: rest ? where : indexed(cuts[0].range, where), segment };
  }
  const wheres: string[] = [];
  const whens: string[] = [];
  let before = 0;
  for (const cut of cuts) {
    if ("width" in cut.split && cut.split.rest) {
      throw new Error("a split with its rest, among others");
    }
    const { where, segment } = segmentSql(key, cut.range, cut.split, param, divide);
    wheres.push(`(${indexed(cut.range, where)})`);
    whens.push(`WHEN ${where} THEN ${before ? `${before} + ` : ""}${segment}`);
    before += segmentCount(cut.split);
  }
  return { where: wheres.join(" OR "), segment: `CASE ${whens.join(" ")} END` };
}

/** The condition "the key is in one of `ranges`", for {@linkcode ChecksumSide.within}. */
export function rangesSql(
  key: string,
  ranges: KeyRange[],
  param: (value: KeyBound) => string,
): string {
  return ranges.map((r) => `(${segmentSql(key, r, undefined, param).where})`).join(" OR ");
}

/** Ranges per query of {@linkcode ChecksumSide.within}. */
const RANGES_PER_QUERY = 200;

/**
 * `ranges` in chunks of {@linkcode RANGES_PER_QUERY}, one query each: ascending ranges read
 * one chunk after the other, each in key order, give the whole in key order.
 */
export function rangeChunks(ranges: KeyRange[]): KeyRange[][] {
  const chunks: KeyRange[][] = [];
  for (let i = 0; i < ranges.length; i += RANGES_PER_QUERY) {
    chunks.push(ranges.slice(i, i + RANGES_PER_QUERY));
  }
  return chunks;
}
