/**
 * The hash strategy: checksum bisection between two SQL databases (data-diff/reladiff style).
 * Each side counts and checksums the rows of key ranges inside its own database
 * (adapter_kit/checksum.ts: a token per value by the engine's type rules, `md5` of the row's
 * tokens, the sum of 60 bits of it per segment); ranges whose counts or checksums differ are cut
 * again, until they are small; only those rows are read, and the engine pairs them as always
 * (sorted merge, else hash join). Nothing here knows which databases they are.
 *
 * Exactness: a range is left out only when both sides give the same count and the same sum of
 * hashes, that is (but for an md5 collision) the same multiset of rows of tokens, and equal
 * tokens are equal values. Every row lies in exactly one segment of a range on each side (the
 * same SQL cuts it every time), keys are unique on both sides, so a key in a range left out on
 * one side is in it on the other too: the rows read pair exactly as the full read pairs them.
 *
 * @example
 * ```ts ignore
 * const bisected = await bisect(source, target, layout, { sourceFields, targetFields, targetExists, readBoth });
 * if (typeof bisected === "string") console.error(`no bisection: ${bisected}`);
 * ```
 * @module
 */
import type { FieldLayout } from "./fields.ts";
import type { DiffResult } from "./hash_join.ts";
import type { Dataset } from "../adapter_kit/importer.ts";
import type { RowBatch } from "../model/types.ts";
import {
  CHECKSUM_TYPES,
  type ChecksumSide,
  isChecksumDataset,
  type KeyBound,
  type KeyRange,
  type SegmentSum,
  type Split,
} from "../adapter_kit/checksum.ts";

/** How a bisection went, for `-v`. */
export interface Bisection {
  diff: DiffResult;
  /** `postgres ↔ sqlite`. */
  engines: string;
  /** Segments whose checksums were compared. */
  segments: number;
  /** Rounds of cutting. */
  levels: number;
  /** Rows of both sides read into dsync, and rows on both sides. */
  rowsRead: number;
  rows: number;
  /**
   * Bytes of the values of the rows read, as dsync holds them: text in UTF-8, bytes as they
   * are, 8 for a number, 1 for a boolean (what came over the wire, less the protocol's framing).
   */
  bytesRead: number;
  /** How the rows read were paired. */
  pairedBy: "merge" | "hash-join";
}

/** What {@linkcode bisect} needs besides the two sides. */
export interface BisectOptions {
  sourceFields: readonly { name: string }[];
  targetFields: readonly { name: string }[];
  targetExists: boolean;
  /** Pairs two datasets by reading them (the planner's sorted merge, else hash join). */
  readBoth(source: Dataset, target: Dataset): Promise<[DiffResult, "merge" | "hash-join"]>;
}

/**
 * Rows at or below which a differing segment is read rather than cut again: a 4000th of the
 * table, between 16 and 256 (one more round of checks costs more than reading 256 rows; 1M rows,
 * 100 changes over a sparse key range: 3 levels and 47 s with 64, 2 levels and 14 s with 256).
 */
export function leafRows(rows: number): number {
  return Math.min(256, Math.max(16, Math.ceil(rows / 4000)));
}
/** Segments a differing segment is cut into. */
export const FAN_OUT = 32;
/** Rows per segment of the first cut of integer keys (one scan of each side). */
const FIRST_SEGMENT_ROWS = 1000;
/** At most this many segments in the first cut. */
const MAX_FIRST_SEGMENTS = 16384;

/** Computes the diff by checksum bisection, or says why it cannot. */
export async function bisect(
  source: Dataset,
  target: Dataset,
  layout: FieldLayout,
  options: BisectOptions,
): Promise<Bisection | string> {
  if (!options.targetExists) return `${target.label} does not exist yet`;
  for (const dataset of [source, target]) {
    if (!isChecksumDataset(dataset)) return `${dataset.label} is not a table of a SQL database`;
  }
  for (const f of layout.fields) {
    if (!CHECKSUM_TYPES.has(f.type)) return `field '${f.name}' is compared as ${f.type}`;
  }
  const first = layout.fields[layout.keyIndexes[0]];
  if (first.type !== "integer" && first.type !== "text") {
    return `key field '${first.name}' is compared as ${first.type}`;
  }
  const request = (side: "source" | "target", fields: readonly { name: string }[]) => ({
    fields: layout.fields.map((f) => ({
      column: fields[side === "source" ? f.sourceIndex : f.targetIndex].name,
      type: f.type,
    })),
    keyIndexes: layout.keyIndexes,
    side,
  });
  const opened: ChecksumSide[] = [];
  try {
    for (
      const [dataset, side, fields] of [
        [source, "source", options.sourceFields],
        [target, "target", options.targetFields],
      ] as const
    ) {
      if (!isChecksumDataset(dataset)) continue;
      const checksums = await dataset.checksumSide(request(side, fields));
      if (typeof checksums === "string") return `${dataset.label}: ${checksums}`;
      opened.push(checksums);
    }
    const [s, t] = opened;
    if (s.keyType !== t.keyType) {
      return `the first key field is ${s.keyType} in the source and ${t.keyType} in the target`;
    }
    const search = new Search(s, t);
    const ranges = await search.run();
    const tally = { bytes: 0 };
    const [diff, pairedBy] = await options.readBoth(
      counted(s.within(ranges), tally),
      counted(t.within(ranges), tally),
    );
    const rowsRead = diff.sourceCount + diff.targetCount;
    return {
      diff: { ...diff, sourceCount: search.counts[0], targetCount: search.counts[1] },
      engines: s.engine === t.engine ? `${s.engine}, two databases` : `${s.engine} ↔ ${t.engine}`,
      segments: search.segments,
      levels: search.levels,
      rowsRead,
      rows: search.counts[0] + search.counts[1],
      bytesRead: tally.bytes,
      pairedBy,
    };
  } finally {
    for (const side of opened) await side.close();
  }
}

const encoder = new TextEncoder();

/**
 * The bytes of one value as {@linkcode Bisection.bytesRead} counts them.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { valueBytes } from "./bisect.ts";
 * deepStrictEqual([valueBytes("né✓😀"), valueBytes(5n), valueBytes(null)], [10, 8, 0]);
 * ```
 */
export function valueBytes(value: unknown): number {
  if (value === null || value === undefined) return 0;
  switch (typeof value) {
    case "string": {
      // UTF-8 length without encoding: 1, 2 or 3 bytes a code unit, 2 each of a surrogate pair.
      let bytes = 0;
      for (let i = 0; i < value.length; i++) {
        const unit = value.charCodeAt(i);
        bytes += unit < 0x80 ? 1 : unit < 0x800 || (unit & 0xf800) === 0xd800 ? 2 : 3;
      }
      return bytes;
    }
    case "number":
    case "bigint":
      return 8;
    case "boolean":
      return 1;
  }
  if (value instanceof Uint8Array) return value.byteLength;
  return encoder.encode(JSON.stringify(value) ?? "").length;
}

/** `dataset`, adding the bytes of every value it reads to `tally`. */
function counted(dataset: Dataset, tally: { bytes: number }): Dataset {
  async function* count(batches: AsyncIterable<RowBatch>): AsyncIterable<RowBatch> {
    for await (const batch of batches) {
      for (const row of batch.rows) for (const value of row) tally.bytes += valueBytes(value);
      yield batch;
    }
  }
  return {
    label: dataset.label,
    describe: () => dataset.describe(),
    read: (size) => count(dataset.read(size)),
    readSorted: dataset.readSorted && ((keys, size) => {
      const sorted = dataset.readSorted!(keys, size);
      return sorted && count(sorted);
    }),
    close: () => dataset.close(),
  };
}

/** The search for differing ranges, depth first so that they come out in key order. */
class Search {
  segments = 0;
  levels = 0;
  counts: [number, number] = [0, 0];
  readonly #found: KeyRange[] = [];
  #leaf = 16;

  constructor(readonly source: ChecksumSide, readonly target: ChecksumSide) {}

  async run(): Promise<KeyRange[]> {
    const [a, b] = await Promise.all([this.source.stats(), this.target.stats()]);
    this.counts = [a.count, b.count];
    if (a.count === 0 || b.count === 0) return [{}];
    const whole: KeyRange = {};
    const rows = Math.max(a.count, b.count);
    this.#leaf = leafRows(rows);
    const split = this.source.keyType === "integer"
      ? integerSplit(
        min(a.min!, b.min!) as bigint,
        (max(a.max!, b.max!) as bigint) + 1n,
        Math.min(MAX_FIRST_SEGMENTS, Math.ceil(rows / FIRST_SEGMENT_ROWS)),
      )
      : await this.#textSplit(whole, a.count >= b.count ? this.source : this.target);
    await this.#check(split.range, split.split, 1);
    return mergeAdjacent(this.#found);
  }

  /** Compares the segments of `range` cut by `split`; goes into those that differ. */
  async #check(range: KeyRange, split: Split | undefined, level: number): Promise<void> {
    if (!split) {
      this.#found.push(range);
      return;
    }
    this.levels = Math.max(this.levels, level);
    const [a, b] = await Promise.all([
      this.source.checksums(range, split),
      this.target.checksums(range, split),
    ]);
    const parts = segmentRanges(range, split);
    this.segments += parts.length;
    for (let i = 0; i < parts.length; i++) {
      if (same(a[i], b[i])) continue;
      const rows = Math.max(a[i].count, b[i].count);
      const part = parts[i];
      if (rows <= this.#leaf || a[i].count === 0 || b[i].count === 0) {
        this.#found.push(part);
        continue;
      }
      if (this.source.keyType === "integer") {
        const from = part.from as bigint, to = part.to as bigint;
        const next = to - from <= 1n ? undefined : integerSplit(from, to, FAN_OUT);
        await this.#check(part, next?.split, level + 1);
      } else {
        const next = await this.#textSplit(
          part,
          a[i].count >= b[i].count ? this.source : this.target,
        );
        await this.#check(part, next.split, level + 1);
      }
    }
  }

  /** Cuts of a text range at keys sampled from `side`; none when it cannot be cut. */
  async #textSplit(range: KeyRange, side: ChecksumSide) {
    const cuts = (await side.boundaries(range, FAN_OUT)).filter((cut) =>
      (range.from === undefined || cut > range.from) && (range.to === undefined || cut < range.to)
    );
    return { range, split: cuts.length ? { cuts } : undefined };
  }
}

function same(a: SegmentSum | undefined, b: SegmentSum | undefined): boolean {
  return (a?.count ?? 0) === (b?.count ?? 0) && (a?.sum ?? 0n) === (b?.sum ?? 0n);
}

/**
 * `parts` segments of equal width over `[from, to)` (fewer when the range is narrower); as cuts
 * when `key - from` might not fit a 64-bit integer in SQL.
 */
function integerSplit(from: bigint, to: bigint, parts: number): { range: KeyRange; split: Split } {
  const span = to - from;
  if (span >= 2n ** 62n) {
    const width = span / BigInt(FAN_OUT);
    const cuts = Array.from({ length: FAN_OUT - 1 }, (_, i) => from + width * BigInt(i + 1));
    return { range: { from, to }, split: { cuts } };
  }
  const count = BigInt(Math.max(1, parts)) > span ? span : BigInt(Math.max(1, parts));
  const width = (span + count - 1n) / count;
  const n = Number((span + width - 1n) / width);
  return { range: { from, to: from + width * BigInt(n) }, split: { width, parts: n } };
}

/** The ranges of the segments of `range` under `split`, in order. */
function segmentRanges(range: KeyRange, split: Split): KeyRange[] {
  if ("width" in split) {
    const from = range.from as bigint;
    return Array.from({ length: split.parts }, (_, i) => ({
      from: from + split.width * BigInt(i),
      to: from + split.width * BigInt(i + 1),
    }));
  }
  const bounds: (KeyBound | undefined)[] = [range.from, ...split.cuts, range.to];
  return bounds.slice(0, -1).map((from, i) => ({ from, to: bounds[i + 1] }));
}

/** Joins ranges that touch (`[a, b)` and `[b, c)`), so fewer conditions are read. */
function mergeAdjacent(ranges: KeyRange[]): KeyRange[] {
  const merged: KeyRange[] = [];
  for (const range of ranges) {
    const last = merged[merged.length - 1];
    if (last && last.to !== undefined && last.to === range.from) last.to = range.to;
    else merged.push({ ...range });
  }
  return merged;
}

const min = (a: KeyBound, b: KeyBound) => a < b ? a : b;
const max = (a: KeyBound, b: KeyBound) => a > b ? a : b;
