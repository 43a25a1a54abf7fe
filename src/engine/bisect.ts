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
  partitionBound,
  partitionInterval,
  type PartitionOptions,
  partitionSpelling,
} from "./partition.ts";
import {
  CHECKSUM_TYPES,
  type ChecksumSide,
  isChecksumDataset,
  type KeyBound,
  type KeyRange,
  PARTITION_UNITS,
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
  /** The row hash both sides computed, when not md5 of the tokens. */
  hash?: string;
  /** The partition field the segments were ranges of, if not the key. */
  partition?: string;
}

/** What {@linkcode bisect} needs besides the two sides. */
export interface BisectOptions {
  sourceFields: readonly { name: string }[];
  targetFields: readonly { name: string }[];
  targetExists: boolean;
  /** Pairs two datasets by reading them (the planner's sorted merge, else hash join). */
  readBoth(source: Dataset, target: Dataset): Promise<[DiffResult, "merge" | "hash-join"]>;
  /** Segments by ranges of a field instead of the key (synctool's partition options). */
  partition?: PartitionOptions;
}

/** The partition as the search uses it: the field's index and the options in units. */
interface Partition {
  index: number;
  start?: bigint;
  end?: bigint;
  interval?: bigint;
}

/** `options` in the units of its field, or why they do not fit the field. */
function partitionOf(layout: FieldLayout, options: PartitionOptions): Partition | string {
  const index = layout.fields.findIndex((f) => f.name === options.field);
  const field = layout.fields[index];
  if (!field) return `partition field '${options.field}' is not a compared field`;
  if (!PARTITION_UNITS[field.type]) {
    return `partition field '${field.name}' is compared as ${field.type} (not integer, date, timestamp or timestamptz)`;
  }
  const partition: Partition = { index };
  for (const key of ["start", "end"] as const) {
    const value = options[key];
    if (value === undefined) continue;
    partition[key] = partitionBound(value, field.type);
    if (partition[key] === undefined) {
      return `partition ${key} '${value}': expected ${partitionSpelling(field.type)}`;
    }
  }
  if (options.interval !== undefined) {
    partition.interval = partitionInterval(options.interval, field.type);
    if (partition.interval === undefined) {
      return `partition interval '${options.interval}': expected ${
        field.type === "integer" ? "a whole number" : "seconds, or a number with s, m, h, d or w"
      }`;
    }
  }
  if (
    partition.start !== undefined && partition.end !== undefined && partition.end <= partition.start
  ) {
    return `partition end '${options.end}' is not past its start '${options.start}'`;
  }
  return partition;
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
/**
 * Checks in flight at once (each a query on both sides): the round trips of one level overlap
 * (1M rows, 100 differences, two PostgreSQL databases: level 2 took 0.75 s one at a time).
 */
const CONCURRENT_CHECKS = 8;
/**
 * Cuts checked in one grouped query of a level: a condition and a `CASE` branch each, so that
 * a level of thousands of cuts still makes queries of a bounded size.
 */
const CUTS_PER_QUERY = 64;
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
  const partition = options.partition && partitionOf(layout, options.partition);
  if (typeof partition === "string") return partition;
  const request = (side: "source" | "target", fields: readonly { name: string }[]) => ({
    fields: layout.fields.map((f) => ({
      column: fields[side === "source" ? f.sourceIndex : f.targetIndex].name,
      type: f.type,
    })),
    keyIndexes: layout.keyIndexes,
    side,
    partition: partition?.index,
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
    // A cheaper row hash when both sides offer the same one alike, else md5 of the tokens.
    const hash = Object.entries(s.hashes ?? {}).find(([name, sign]) => t.hashes?.[name] === sign)
      ?.[0];
    const search = new Search(s, t, hash, partition);
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
      hash,
      partition: partition ? layout.fields[partition.index].name : undefined,
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
  #leaf = 16;
  /** Whether the first cut's counts are the sides' row counts still to be taken. */
  #counting = false;
  readonly #slots = new Slots(CONCURRENT_CHECKS);

  constructor(
    readonly source: ChecksumSide,
    readonly target: ChecksumSide,
    readonly hash?: string,
    readonly partition?: Partition,
  ) {}

  async run(): Promise<KeyRange[]> {
    if (!this.partition && this.source.keyType === "integer") {
      // The first cut counts every row: no count(*) scan of each side before it (10M rows:
      // 1.3 s). A range of n unique integer keys holds at most n rows, so segments of
      // FIRST_SEGMENT_ROWS keys hold at most as many rows.
      const [a, b] = await Promise.all([this.source.keyBounds(), this.target.keyBounds()]);
      if (a.min !== undefined && b.min !== undefined) {
        const from = min(a.min, b.min!) as bigint;
        const to = (max(a.max!, b.max!) as bigint) + 1n;
        const parts = (to - from + BigInt(FIRST_SEGMENT_ROWS) - 1n) / BigInt(FIRST_SEGMENT_ROWS);
        const first = integerSplit(
          from,
          to,
          parts > MAX_FIRST_SEGMENTS ? MAX_FIRST_SEGMENTS : Number(parts),
        );
        this.#counting = true;
        return mergeAdjacent(await this.#search(first.range, first.split));
      }
    }
    const [a, b] = await Promise.all([this.source.stats(), this.target.stats()]);
    this.counts = [a.count, b.count];
    if (a.count === 0 || b.count === 0) return [{}];
    const whole: KeyRange = {};
    const rows = Math.max(a.count, b.count);
    this.#leaf = leafRows(rows);
    if (this.partition) {
      const first = partitionSplit(this.partition, a, b, rows);
      return mergeAdjacent(await this.#search(first.range, first.split));
    }
    const split = this.source.keyType === "integer"
      ? integerSplit(
        min(a.min!, b.min!) as bigint,
        (max(a.max!, b.max!) as bigint) + 1n,
        Math.min(MAX_FIRST_SEGMENTS, Math.ceil(rows / FIRST_SEGMENT_ROWS)),
      )
      : await this.#textSplit(whole, a.count >= b.count ? this.source : this.target);
    return mergeAdjacent(await this.#search(split.range, split.split));
  }

  /**
   * Compares the segments of `range` cut by `split`, then those of the differing ones cut
   * again, a level at a time: each level's cuts in one grouped query a side (in chunks of
   * {@linkcode CUTS_PER_QUERY}, {@linkcode CONCURRENT_CHECKS} at once). The ranges to read, in
   * the order of the segments (key order, but for a partition's rest).
   */
  async #search(range: KeyRange, split: Split | undefined): Promise<KeyRange[]> {
    const root: Node = { range, split, found: [] };
    let level = split ? [root] : [];
    while (level.length) {
      this.levels++;
      const cuts = level as (Node & { split: Split })[];
      const chunks: (typeof cuts)[] = [];
      for (let i = 0; i < cuts.length; i += CUTS_PER_QUERY) {
        chunks.push(cuts.slice(i, i + CUTS_PER_QUERY));
      }
      const sums = (await Promise.all(chunks.map((chunk) =>
        this.#slots.run(() =>
          Promise.all([
            this.source.checksums(chunk, this.hash),
            this.target.checksums(chunk, this.hash),
          ])
        )
      ))).flatMap(([a, b]) => a.map((sums, i) => [sums, b[i]]));
      const next: { node: Node; bigger: ChecksumSide }[] = [];
      for (const [n, node] of cuts.entries()) {
        const [a, b] = sums[n];
        if (this.#counting) {
          // The first cut's segments hold every row of each side.
          this.#counting = false;
          const total = (sums: SegmentSum[]) => sums.reduce((n, sum) => n + sum.count, 0);
          this.counts = [total(a), total(b)];
          this.#leaf = leafRows(Math.max(...this.counts));
        }
        const parts = segmentRanges(node.range, node.split);
        this.segments += parts.length;
        for (let i = 0; i < parts.length; i++) {
          if (same(a[i], b[i])) continue;
          const rows = Math.max(a[i].count, b[i].count);
          const part = parts[i];
          // The rest of a partition (below its start, past its end, NULL) is read, not cut.
          const rest = part.nulls || part.from === undefined || part.to === undefined;
          if (
            rows <= this.#leaf || a[i].count === 0 || b[i].count === 0 || (this.partition && rest)
          ) {
            node.found.push(part);
          } else {
            const child: Node = { range: part, found: [] };
            node.found.push(child);
            next.push({
              node: child,
              bigger: a[i].count >= b[i].count ? this.source : this.target,
            });
          }
        }
      }
      await Promise.all(next.map(async ({ node, bigger }) => {
        if (this.source.keyType === "integer") {
          const from = node.range.from as bigint, to = node.range.to as bigint;
          node.split = to - from <= 1n ? undefined : integerSplit(from, to, FAN_OUT).split;
        } else {
          node.split = (await this.#slots.run(() => this.#textSplit(node.range, bigger))).split;
        }
      }));
      level = next.map(({ node }) => node).filter((node) => node.split);
    }
    return flatten(root);
  }

  /** Cuts of a text range at keys sampled from `side`; none when it cannot be cut. */
  async #textSplit(range: KeyRange, side: ChecksumSide) {
    const cuts = (await side.boundaries(range, FAN_OUT)).filter((cut) =>
      (range.from === undefined || cut > range.from) && (range.to === undefined || cut < range.to)
    );
    return { range, split: cuts.length ? { cuts } : undefined };
  }
}

/**
 * A range of the search: cut by `split` into segments, of which those that differ are `found`
 * in order, each read as it is or cut again; not cut, it is read whole.
 */
interface Node {
  range: KeyRange;
  split?: Split;
  found: (KeyRange | Node)[];
}

/** The ranges to read under `node`, in order. */
function flatten(node: Node): KeyRange[] {
  if (!node.split) return [node.range];
  return node.found.flatMap((part) => "found" in part ? flatten(part) : [part]);
}

/** At most `size` tasks at once; the others wait their turn. */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
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

/**
 * The first cut of a partition: segments of `interval` (else the search's own number of them)
 * from `start` (else the smallest value) to `end` (else past the largest), and the rest.
 */
function partitionSplit(
  partition: Partition,
  a: { min?: KeyBound; max?: KeyBound },
  b: { min?: KeyBound; max?: KeyBound },
  rows: number,
): { range: KeyRange; split: Split } {
  const values = [a.min, a.max, b.min, b.max].filter((v) => v !== undefined) as bigint[];
  const from = partition.start ?? (values.length ? values.reduce((x, y) => x < y ? x : y) : 0n);
  let to = partition.end ?? (values.length ? values.reduce((x, y) => x > y ? x : y) + 1n : 1n);
  if (to <= from) to = from + 1n;
  const span = to - from;
  const most = BigInt(Math.min(MAX_FIRST_SEGMENTS, Math.ceil(rows / FIRST_SEGMENT_ROWS)));
  let width = partition.interval ?? (span + most - 1n) / most;
  // Too narrow an interval for the range would make a query of millions of groups.
  const least = (span + BigInt(MAX_FIRST_SEGMENTS) - 1n) / BigInt(MAX_FIRST_SEGMENTS);
  if (width < least) width = least;
  const parts = Number((span + width - 1n) / width);
  return {
    range: { from, to: from + width * BigInt(parts) },
    split: { width, parts, rest: true },
  };
}

/** The ranges of the segments of `range` under `split`, in order. */
function segmentRanges(range: KeyRange, split: Split): KeyRange[] {
  if ("width" in split) {
    const from = range.from as bigint;
    const parts: KeyRange[] = Array.from({ length: split.parts }, (_, i) => ({
      from: from + split.width * BigInt(i),
      to: from + split.width * BigInt(i + 1),
    }));
    if (split.rest) parts.push({ to: range.from }, { from: range.to }, { nulls: true });
    return parts;
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
