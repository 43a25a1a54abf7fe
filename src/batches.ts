/**
 * Turning a stream of records into the {@linkcode RowBatch}es that `Dataset.read` yields, so
 * that no adapter writes its own batching loop.
 *
 * @example
 * ```ts
 * yield* batchRows(statement.iterate(), 5000, (row) => row as Row);
 * ```
 * @module
 */
import type { Row, RowBatch } from "./types.ts";

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
    }
  }
  if (rows.length) yield { rows, positions };
}

/** An object's values in the order of `names`; a missing key is NULL. */
export function objectRow(object: Record<string, unknown>, names: string[]): Row {
  return names.map((name) => object[name] ?? null);
}
