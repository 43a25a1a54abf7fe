/**
 * Temporary on-disk storage for what does not fit the engine's memory budget: append-only files
 * of records (JSON in chunks) and a spool that sorts what it is given through sorted runs on
 * disk.
 *
 * The files are unlinked as soon as they are opened, so nothing is left behind however dsync
 * ends (error, Ctrl-C, kill): the kernel frees them when the process goes.
 *
 * Why JSON and not `node:v8` serialize: under Deno 2.9.6 everything `deserialize` returns stays
 * on the heap long after it is dropped (1M records read back kept ~300 MB alive), which defeats
 * the point of spilling; `JSON.parse` output is collected normally and is nearly as fast.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, ok } from "node:assert/strict";
 * import { SortedSpool } from "./spill.ts";
 * const spool = new SortedSpool<number[]>((a, b) => a[0] - b[0], { memoryRecords: 2 });
 * for (const record of [[3], [1], [5], [2], [4]]) spool.push(record);
 * ok(spool.spilled); // two sorted runs went to disk, the last record stayed in memory
 * deepStrictEqual([...spool], [[1], [2], [3], [4], [5]]);
 * spool.close();
 * ```
 * @module
 */
import { decodeBase64, encodeBase64 } from "../model/base64.ts";

/** How many records the engine keeps in memory before it spills, unless told otherwise. */
export const DEFAULT_MEMORY_RECORDS = 1_000_000;

/**
 * A record that can be spilled: an array of strings, numbers, and rows (arrays of record values:
 * null, booleans, numbers, bigints, strings, bytes, JSON arrays and objects).
 */
export type SpillRecord = (string | number | unknown[])[];

/**
 * An unlinked temporary file of {@linkcode SpillRecord}s, written in chunks and read back in
 * order as often as needed.
 */
export class SpillFile<T extends SpillRecord> {
  #file: Deno.FsFile;
  #size = 0;
  #pending: T[] = [];

  constructor(readonly chunkRecords = 2000) {
    const path = Deno.makeTempFileSync({ prefix: "dsync-spill-" });
    this.#file = Deno.openSync(path, { read: true, write: true });
    Deno.removeSync(path);
  }

  /** Appends one record. */
  push(record: T): void {
    this.#pending.push(record);
    if (this.#pending.length >= this.chunkRecords) this.#flush();
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    const body = encoder.encode(JSON.stringify(this.#pending.map(encodeRecord)));
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, body.length);
    this.#file.seekSync(this.#size, Deno.SeekMode.Start);
    writeAll(this.#file, head);
    writeAll(this.#file, body);
    this.#size += 4 + body.length;
    this.#pending = [];
  }

  /** Every record in the order written, chunk by chunk; each call reads from the start. */
  *chunks(): Generator<T[]> {
    this.#flush();
    let offset = 0;
    const head = new Uint8Array(4);
    while (offset < this.#size) {
      this.#file.seekSync(offset, Deno.SeekMode.Start);
      readAll(this.#file, head);
      const length = new DataView(head.buffer).getUint32(0);
      const body = new Uint8Array(length);
      readAll(this.#file, body);
      offset += 4 + length;
      yield (JSON.parse(decoder.decode(body)) as SpillRecord[]).map(decodeRecord) as T[];
    }
  }

  /** Releases the file. */
  close(): void {
    try {
      this.#file.close();
    } catch {
      // already closed
    }
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Record values JSON cannot carry as they are, wrapped in one-key objects. */
function encodeValue(value: unknown): unknown {
  switch (typeof value) {
    case "bigint":
      return { $b: value.toString() };
    case "number":
      return Number.isFinite(value) ? value : { $f: String(value) };
    case "object":
      if (value === null) return null;
      if (value instanceof Uint8Array) return { $u: encodeBase64(value) };
      return { $j: value };
    default:
      return value;
  }
}

function decodeValue(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  const o = value as { $b?: string; $f?: string; $u?: string; $j?: unknown };
  if (o.$b !== undefined) return BigInt(o.$b);
  if (o.$f !== undefined) return Number(o.$f);
  if (o.$u !== undefined) return decodeBase64(o.$u);
  return o.$j;
}

function needsEncoding(row: unknown[]): boolean {
  for (const value of row) {
    const type = typeof value;
    if (type === "bigint" || (type === "object" && value !== null)) return true;
    if (type === "number" && !Number.isFinite(value as number)) return true;
  }
  return false;
}

function encodeRecord(record: SpillRecord): SpillRecord {
  let out = record;
  for (let i = 0; i < record.length; i++) {
    const part = record[i];
    if (Array.isArray(part) && needsEncoding(part)) {
      if (out === record) out = [...record];
      out[i] = part.map(encodeValue);
    }
  }
  return out;
}

function decodeRecord(record: SpillRecord): SpillRecord {
  for (const part of record) {
    if (!Array.isArray(part)) continue;
    for (let i = 0; i < part.length; i++) {
      if (typeof part[i] === "object" && part[i] !== null) part[i] = decodeValue(part[i]);
    }
  }
  return record;
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
}

function readAll(file: Deno.FsFile, into: Uint8Array): void {
  let done = 0;
  while (done < into.length) {
    const n = file.readSync(into.subarray(done));
    if (n === null) throw new Error("spill file ended early");
    done += n;
  }
}

/** Options of {@linkcode SortedSpool}. */
export interface SpoolOptions<T> {
  /** Records held in memory before a sorted run goes to disk. Default {@linkcode DEFAULT_MEMORY_RECORDS}. */
  memoryRecords?: number;
  /** How records are written to disk and read back (default: as they are). */
  codec?: { encode(record: T): SpillRecord; decode(stored: SpillRecord): T };
}

/**
 * Collects records and gives them back sorted by `compare`, holding at most `memoryRecords` of
 * them in memory: beyond that, sorted runs go to {@linkcode SpillFile}s and iteration merges
 * them. Records pushed already in order cost no sorting. Iterable any number of times.
 */
export class SortedSpool<T> implements Iterable<T> {
  #buffer: T[] = [];
  #runs: SpillFile<SpillRecord>[] = [];
  #count = 0;
  #sorted = true;
  #lastSpilled: T | undefined;
  readonly #limit: number;
  readonly #codec: { encode(record: T): SpillRecord; decode(stored: SpillRecord): T };

  constructor(readonly compare: (a: T, b: T) => number, options: SpoolOptions<T> = {}) {
    this.#limit = options.memoryRecords ?? DEFAULT_MEMORY_RECORDS;
    this.#codec = options.codec ??
      { encode: (r) => r as SpillRecord, decode: (s) => s as T };
  }

  /** Records pushed. */
  get length(): number {
    return this.#count;
  }

  /** Whether any run went to disk. */
  get spilled(): boolean {
    return this.#runs.length > 0;
  }

  /** Adds one record. */
  push(record: T): void {
    const buffer = this.#buffer;
    if (this.#sorted && buffer.length > 0 && this.compare(buffer[buffer.length - 1], record) > 0) {
      this.#sorted = false;
    }
    buffer.push(record);
    this.#count++;
    if (buffer.length >= this.#limit) this.#spill();
  }

  #sortBuffer(): void {
    if (!this.#sorted) this.#buffer.sort(this.compare);
    this.#sorted = true;
  }

  #spill(): void {
    this.#sortBuffer();
    const buffer = this.#buffer;
    // Records that keep arriving in order (a merge's output) extend the last run: reading back
    // then streams one file instead of merging many.
    const last = this.#lastSpilled;
    const extend = last !== undefined && this.compare(last, buffer[0]) <= 0;
    const run = extend ? this.#runs[this.#runs.length - 1] : new SpillFile<SpillRecord>();
    for (const record of buffer) run.push(this.#codec.encode(record));
    if (!extend) this.#runs.push(run);
    this.#lastSpilled = buffer[buffer.length - 1];
    this.#buffer = [];
  }

  *[Symbol.iterator](): Generator<T> {
    this.#sortBuffer();
    if (this.#runs.length === 0) {
      yield* this.#buffer;
      return;
    }
    const sources: Iterator<T>[] = [
      ...this.#runs.map((run) => decoded(run.chunks(), this.#codec.decode)),
      this.#buffer[Symbol.iterator](),
    ];
    yield* mergeSorted(sources, this.compare);
  }

  /** Releases the runs on disk. */
  close(): void {
    for (const run of this.#runs) run.close();
    this.#runs = [];
    this.#buffer = [];
  }
}

function* decoded<T>(
  chunks: Iterable<SpillRecord[]>,
  decode: (stored: SpillRecord) => T,
): Generator<T> {
  for (const chunk of chunks) for (const stored of chunk) yield decode(stored);
}

/** A k-way merge of sorted iterators through a binary heap of their heads. */
function* mergeSorted<T>(sources: Iterator<T>[], compare: (a: T, b: T) => number): Generator<T> {
  const heap: { value: T; source: Iterator<T> }[] = [];
  const less = (i: number, j: number) => compare(heap[i].value, heap[j].value) < 0;
  const swap = (i: number, j: number) => ([heap[i], heap[j]] = [heap[j], heap[i]]);
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heap.length && less(l, m)) m = l;
      if (r < heap.length && less(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  for (const source of sources) {
    const first = source.next();
    if (!first.done) heap.push({ value: first.value, source });
  }
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) down(i);
  while (heap.length > 0) {
    const top = heap[0];
    yield top.value;
    const next = top.source.next();
    if (next.done) {
      heap[0] = heap[heap.length - 1];
      heap.pop();
    } else top.value = next.value;
    if (heap.length > 0) down(0);
  }
}
