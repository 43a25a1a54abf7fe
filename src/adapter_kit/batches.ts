/**
 * Turning a stream of records into the {@linkcode RowBatch}es that `Dataset.read` yields, so
 * that no adapter writes its own batching loop.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { batchRows } from "./batches.ts";
 * const batches = await Array.fromAsync(batchRows([[1], [2], [3]], 2, (row) => row));
 * deepStrictEqual(batches, [
 *   { rows: [[1], [2]], positions: [1, 2] },
 *   { rows: [[3]], positions: [3] },
 * ]);
 * ```
 * @module
 */
import type { Row, RowBatch } from "../model/types.ts";

/**
 * The most rows a batch read from a file or an in-process database holds, whatever the batch size
 * asked for: there is no round trip to save, and larger batches outlive V8's young-generation
 * collections, which then copy and promote every row of them (a 1M-row CSV → SQLite re-sync took
 * 3.4 s of CPU with batches of 5,000 rows, 2.4 s with 500).
 */
export const LOCAL_BATCH_ROWS = 500;

import { pauseForSignals } from "./interrupt.ts";

/**
 * Groups `items` into batches of at most `batchSize` rows. `positionOf` gives an item's line or
 * record number; by default its 1-based place in the stream.
 */
export async function* batchRows<T>(
  items: Iterable<T> | AsyncIterable<T>,
  batchSize: number,
  toRow: (item: T) => Row,
  positionOf: (item: T, index: number) => number = (_item, index) => index + 1,
): AsyncGenerator<RowBatch> {
  let rows: Row[] = [];
  let positions: number[] = [];
  let index = 0;
  for await (const item of items) {
    rows.push(toRow(item));
    positions.push(positionOf(item, index++));
    if (rows.length >= batchSize) {
      yield { rows, positions };
      rows = [];
      positions = [];
      // A synchronous source (node:sqlite) would otherwise keep SIGINT/SIGTERM out.
      await pauseForSignals();
    }
  }
  if (rows.length) yield { rows, positions };
}

/** An object's values in the order of `names`; a missing key is NULL. */
export function objectRow(object: Record<string, unknown>, names: string[]): Row {
  return names.map((name) => object[name] ?? null);
}

/**
 * Groups any iterable into arrays of at most `size` items, without holding more than one group.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { chunked } from "./batches.ts";
 * deepStrictEqual([...chunked([1, 2, 3, 4, 5], 2)], [[1, 2], [3, 4], [5]]);
 * ```
 */
export function* chunked<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let chunk: T[] = [];
  for (const item of items) {
    chunk.push(item);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length) yield chunk;
}

/** The `n`th item (0-based) of an iterable, reading no further. */
export function nth<T>(items: Iterable<T>, n: number): T | undefined {
  let i = 0;
  for (const item of items) if (i++ === n) return item;
  return undefined;
}

/** The first `n` items of an iterable, reading no further. */
export function* take<T>(items: Iterable<T>, n: number): Generator<T> {
  if (n <= 0) return;
  let i = 0;
  for (const item of items) {
    yield item;
    if (++i >= n) return;
  }
}
