/**
 * The sorted-merge strategy: when both sides come in key order (SQL `ORDER BY` on the key, or a
 * file that happens to be sorted), pair them in one pass like a merge join. Memory no longer
 * grows with either side: no index, no keys-seen set, no second target read (both rows are in
 * hand when they pair). The engine checks the order as it reads; the first record out of order
 * throws {@linkcode NotSorted} and the planner falls back to the hash join (src/diff.ts).
 *
 * @example
 * ```ts
 * import { deepStrictEqual, rejects } from "node:assert/strict";
 * import type { DatasetInfo } from "../adapter_kit/importer.ts";
 * import type { Row } from "../model/types.ts";
 * import { resolveFields } from "./fields.ts";
 * import { mergeDiff, NotSorted } from "./sorted_merge.ts";
 * const info: DatasetInfo = {
 *   exists: true,
 *   fields: [{ name: "id", type: "integer" }, { name: "name", type: "text" }],
 *   primaryKey: ["id"],
 *   typed: true,
 *   textual: false,
 * };
 * const layout = resolveFields({ ...info, label: "source" }, { ...info, label: "target" }, {});
 * const batches = async function* (rows: Row[]) {
 *   yield { rows, positions: rows.map((_row, i) => i + 1) };
 * };
 * const sides = (source: Row[], target: Row[]) => ({
 *   source: batches(source),
 *   target: batches(target),
 *   sourceLabel: "source",
 *   targetLabel: "target",
 * });
 * const options = { memoryRecords: 1000, targetExists: true };
 *
 * const sorted = sides([[1, "Ann"], [2, "Rob"]], [[1, "Ann"], [3, "Eve"]]);
 * const diff = await mergeDiff(sorted, layout, options);
 * deepStrictEqual([...diff.creates].map((change) => change.key), [[2]]);
 * deepStrictEqual([...diff.deletes].map((change) => change.key), [[3]]);
 * // Out of order: the planner catches NotSorted and runs the hash join (diffDatasets) instead.
 * await rejects(mergeDiff(sides([[2, "Rob"], [1, "Ann"]], []), layout, options), NotSorted);
 * ```
 * @module
 */
import type { CreateChange, DeleteChange, UpdateChange } from "../adapter_kit/changes.ts";
import type { DiffOptions, DiffResult } from "./hash_join.ts";
import type { FieldLayout } from "./fields.ts";
import type { Dataset } from "../adapter_kit/importer.ts";
import {
  changedFields,
  changeSpool,
  compareKeys,
  detach,
  duplicateSourceError,
  duplicateTargetError,
  keyString,
  sourceValues,
  targetValues,
} from "./records.ts";
import type { FieldType, LineBatch, Row, RowBatch } from "../model/types.ts";
import { canonical } from "../model/values.ts";

/** A side is not in the key order the merge needs; the caller falls back to the hash join. */
export class NotSorted extends Error {
  constructor(side: "source" | "target") {
    super(`${side} is not in key order`);
    this.name = "NotSorted";
  }
}

/**
 * Key types the merge can order: integers numerically and text by code unit, exactly as SQL
 * sorts them; and untyped (`auto`) keys of files in dsync's own key order, where two keys that
 * tie but are not the same value (integers beyond 2^53) give up the merge.
 */
export function mergeableKey(layout: FieldLayout): boolean {
  return layout.keyIndexes.every((i) => MERGEABLE.has(layout.fields[i].type));
}

const MERGEABLE = new Set<FieldType>(["integer", "text", "auto"]);

/** The two sides as batches in key order; `target` is absent when the target does not exist. */
export interface SortedSides {
  source: AsyncIterable<RowBatch | LineBatch>;
  target?: AsyncIterable<RowBatch | LineBatch>;
  sourceLabel: string;
  targetLabel: string;
}

/**
 * Pairs two key-ordered streams and returns what differs, in the same shape and order as
 * {@linkcode diffDatasets}.
 *
 * @throws {NotSorted} when a side turns out not to be in key order (nothing is kept).
 * @throws {InputError} for bad source values, empty keys and duplicate keys.
 */
export async function mergeDiff(
  sides: SortedSides,
  layout: FieldLayout,
  options: DiffOptions,
): Promise<DiffResult> {
  const { fields, keyIndexes } = layout;
  const keepCreates = options.keepCreates !== false;
  const { memoryRecords } = options;
  const creates = changeSpool<CreateChange>(memoryRecords);
  const updates = changeSpool<UpdateChange>(memoryRecords);
  const deletes = changeSpool<DeleteChange>(memoryRecords);
  let createCount = 0;
  const order = keyOrder(layout);
  const source = new SideReader(
    sides.source,
    "source",
    (row, position) => {
      const values = sourceValues(row, fields, sides.sourceLabel, position);
      checkKey(values, position, sides.sourceLabel);
      return values;
    },
    layout,
    order,
    (values, first, position) => {
      throw duplicateSourceError(sides.sourceLabel, layout, values, first, position);
    },
  );
  const target = new SideReader(
    sides.target,
    "target",
    (row, position) => {
      const values = targetValues(row, fields);
      options.onTarget?.(values);
      checkKey(values, position, sides.targetLabel);
      return values;
    },
    layout,
    order,
    (values, _first, position) => {
      throw duplicateTargetError(
        sides.targetLabel,
        layout,
        keyIndexes.map((i) => values[i]),
        position,
      );
    },
  );
  const checkKey = (values: Row, position: number, label: string) => {
    for (const i of keyIndexes) {
      if (values[i] === null || values[i] === "") {
        keyString(values, fields, keyIndexes, label, position);
      }
    }
  };
  const keyText = (values: Row, label: string) => keyString(values, fields, keyIndexes, label, 0);

  try {
    await source.advance();
    await target.advance();
    options.onProgress?.("target", target.count);
    // Creates stream into the target only when it has nothing left to read (empty or absent).
    const sink = !target.has ? options.createSink : undefined;
    while (source.has || target.has) {
      const side = !source.has ? 1 : !target.has ? -1 : order(source.key, target.key);
      if (side < 0) {
        const values = source.values;
        createCount++;
        if (keepCreates) {
          options.onCreate?.(values);
          const change: CreateChange = {
            op: "create",
            // A streamed create gets its key again once typed: the reader's own array will do.
            key: sink ? source.key : keyIndexes.map((i) => values[i]),
            keyText: keyText(values, sides.sourceLabel),
            after: values,
            position: source.position,
          };
          if (sink) {
            // Awaited only when a batch is being written (an await of nothing costs a tick).
            const writing = sink(change);
            if (writing) await writing;
          } else creates.push((detach(values), change));
        }
        await source.advance();
      } else if (side > 0) {
        const values = detach(target.values);
        deletes.push({
          op: "delete",
          key: keyIndexes.map((i) => values[i]),
          keyText: keyText(values, sides.targetLabel),
          before: values,
        });
        await target.advance();
      } else if (source.text === undefined || source.text !== target.text) {
        // Records read as text (CSV lines) with the same text are the same: no cells needed.
        const after = source.values, before = target.values;
        const changed = changedFields(after, before, fields);
        if (changed.length > 0) {
          detach(after);
          detach(before);
          updates.push({
            op: "update",
            key: keyIndexes.map((i) => after[i]),
            keyText: keyText(after, sides.sourceLabel),
            after,
            before,
            changed,
            position: source.position,
          });
        }
        await source.advance();
        await target.advance();
      } else {
        await source.advance();
        await target.advance();
      }
      if (source.batchEnded) options.onProgress?.("source", source.count);
      if (target.batchEnded) options.onProgress?.("target", target.count);
    }
  } catch (error) {
    for (const spool of [creates, updates, deletes]) spool.close();
    throw error;
  } finally {
    await source.close();
    await target.close();
  }
  return {
    creates,
    createCount,
    updates,
    deletes,
    targetCount: target.count,
    sourceCount: source.count,
    spilled: creates.spilled || updates.spilled || deletes.spilled,
  };
}

/**
 * The order keys must come in: integer and text key fields as SQL sorts them (numbers and
 * bigints numerically, text by UTF-16 code unit), `auto` fields by {@linkcode compareKeys}.
 * Values of other kinds — a target value the key type could not convert, say — throw
 * {@linkcode NotSorted}: their SQL order is not one the engine can reproduce.
 */
function keyOrder(layout: FieldLayout): (a: unknown[], b: unknown[]) => number {
  const auto = layout.keyIndexes.map((i) => layout.fields[i].type === "auto");
  return (a, b) => {
    for (let k = 0; k < a.length; k++) {
      const order = auto[k] ? autoOrder(a[k], b[k]) : exactOrder(a[k], b[k]);
      if (order !== 0) return order;
    }
    return 0;
  };
}

function exactOrder(x: unknown, y: unknown): number {
  const tx = typeof x, ty = typeof y;
  const numbers = (tx === "number" || tx === "bigint") && (ty === "number" || ty === "bigint");
  if (!numbers && !(tx === "string" && ty === "string")) throw new NotSorted("target");
  if ((x as number) < (y as number)) return -1;
  if ((x as number) > (y as number)) return 1;
  return 0;
}

/** A tie must be the same value; otherwise equal keys might not be neighbours. */
function autoOrder(x: unknown, y: unknown): number {
  if (typeof x === "string" && typeof y === "string") {
    // The same text is the same key (file keys are text: no numeric reading needed for a tie).
    if (x === y) return 0;
    // Unsigned integers without leading zeros, as compareKeys orders them (numerically), without
    // reading the numbers or wrapping the keys: the merge orders two keys a record.
    if (x.length < 16 && y.length < 16 && isCount(x) && isCount(y)) {
      if (x.length !== y.length) return x.length < y.length ? -1 : 1;
      return x < y ? -1 : 1;
    }
  }
  const order = compareKeys([x], [y]);
  if (order === 0 && canonical(x, "auto") !== canonical(y, "auto")) throw new NotSorted("source");
  return order;
}

/** Digits only, no leading zero (`0` itself is one). */
function isCount(text: string): boolean {
  const n = text.length;
  if (n === 0 || (text.charCodeAt(0) === 48 && n > 1)) return false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * One side, record by record, checking that keys strictly increase. A record read as text
 * ({@linkcode LineBatch}) is split into values only when they are asked for.
 */
class SideReader {
  /** Whether a record is in hand (false at the end). */
  has = false;
  /** The record's text when its side is read as text, else undefined. */
  text: string | undefined;
  key: unknown[] = [];
  position = 0;
  count = 0;
  batchEnded = false;
  #values: Row | undefined;
  #iterator: AsyncIterator<RowBatch | LineBatch> | undefined;
  #batch: RowBatch | LineBatch | undefined;
  #size = 0;
  #index = 0;

  constructor(
    batches: AsyncIterable<RowBatch | LineBatch> | undefined,
    readonly side: "source" | "target",
    readonly convert: (row: Row, position: number) => Row,
    readonly layout: FieldLayout,
    readonly order: (a: unknown[], b: unknown[]) => number,
    readonly duplicate: (values: Row, first: number, position: number) => never,
  ) {
    this.#iterator = batches?.[Symbol.asyncIterator]();
  }

  /** The record's values in layout order (converted now when it was read as text). */
  get values(): Row {
    return this.#values ??= this.convert(
      (this.#batch as LineBatch).row(this.#index - 1),
      this.position,
    );
  }

  /** Moves to the next record; `has` is false at the end. */
  async advance(): Promise<void> {
    this.batchEnded = false;
    while (!this.#batch || this.#index >= this.#size) {
      if (this.#batch) this.batchEnded = true;
      const next = this.#iterator ? await this.#iterator.next() : { done: true as const };
      if (next.done) {
        this.#iterator = undefined;
        this.has = false;
        this.#values = undefined;
        return;
      }
      this.#batch = next.value;
      this.#size = next.value.positions.length;
      this.#index = 0;
    }
    const batch = this.#batch;
    const index = this.#index++;
    const position = batch.positions[index];
    const keyIndexes = this.layout.keyIndexes;
    let values: Row | undefined;
    let key: unknown[];
    let text: string | undefined;
    if ("texts" in batch) {
      // The key cells as read: what `convert` gives for `auto` fields, the only ones read so.
      const n = keyIndexes.length;
      key = n === 1 ? [batch.keys[index]] : batch.keys.slice(index * n, index * n + n);
      text = batch.texts[index];
      // An empty key: the conversion says so, as for any record.
      for (const cell of key) if (cell === null || cell === "") values = this.#convertLine(index);
    } else {
      values = this.convert(batch.rows[index], position);
      key = keyIndexes.map((i) => values![i]);
    }
    if (this.has) {
      let order: number;
      try {
        order = this.order(this.key, key);
      } catch {
        throw new NotSorted(this.side);
      }
      if (order > 0) throw new NotSorted(this.side);
      if (order === 0) {
        this.duplicate(values ?? this.#convertLine(index, position), this.position, position);
      }
    }
    this.has = true;
    this.#values = values;
    this.text = text;
    this.key = key;
    this.position = position;
    this.count++;
  }

  #convertLine(index: number, position = (this.#batch as LineBatch).positions[index]): Row {
    return this.convert((this.#batch as LineBatch).row(index), position);
  }

  /** Ends the read early (a fallback or an error) so that cursors and files are released. */
  async close(): Promise<void> {
    await this.#iterator?.return?.();
    this.#iterator = undefined;
  }
}

/**
 * Whether paired records can be compared by their text (both sides CSV files): every field
 * `auto` (its value is its cell as read, and converting it cannot fail) at the same column on
 * both sides, so that the same text is the same values. Records whose texts differ are split
 * and compared cell by cell, under the usual rules.
 */
function comparableByText(layout: FieldLayout): boolean {
  return layout.fields.every((f) =>
    f.type === "auto" && f.sourceIndex === f.targetIndex && !f.sourceJsonValues &&
    !f.targetJsonValues && !f.respell
  );
}

/** What {@linkcode tryMergeDiff} needs besides the datasets. */
export interface MergeAttempt {
  /** Key field names as the source and the target call them. */
  keys: { source: string[]; target: string[] };
  /** Whether the target exists (an absent target is trivially in order). */
  targetExists: boolean;
  /** Records per read round trip. */
  batchSize: number;
}

/**
 * The merge when both sides can come in key order — SQL `ORDER BY`, or a file read as it is and
 * checked — else undefined. A side found out of order also gives undefined, after releasing
 * what was read: the caller then runs the hash join.
 */
export async function tryMergeDiff(
  source: Dataset,
  target: Dataset,
  layout: FieldLayout,
  attempt: MergeAttempt,
  options: DiffOptions,
): Promise<DiffResult | undefined> {
  if (!mergeableKey(layout)) return undefined;
  const { keys, batchSize } = attempt;
  // Two CSV files: records as text, split only when the other side's text differs.
  const asText = attempt.targetExists && !options.onTarget && source.rereadable &&
    target.rereadable && source.readLines && target.readLines && comparableByText(layout);
  const keyFields = layout.keyIndexes.map((i) => layout.fields[i].sourceIndex);
  const sourceBatches: AsyncIterable<RowBatch | LineBatch> | undefined = asText
    ? source.readLines!(keyFields, batchSize)
    : source.readSorted?.(keys.source, batchSize) ??
      (source.rereadable ? source.read(batchSize) : undefined);
  if (!sourceBatches) return undefined;
  // A file target is read as it is and checked, like a file source.
  const targetBatches = asText
    ? target.readLines!(keyFields, batchSize)
    : attempt.targetExists
    ? target.readSorted?.(keys.target, batchSize) ??
      (target.rereadable ? target.read(batchSize) : undefined)
    : undefined;
  if (attempt.targetExists && !targetBatches) {
    await sourceBatches[Symbol.asyncIterator]().return?.();
    return undefined;
  }
  try {
    return await mergeDiff(
      {
        source: sourceBatches,
        target: targetBatches,
        sourceLabel: source.label,
        targetLabel: target.label,
      },
      layout,
      options,
    );
  } catch (error) {
    if (error instanceof NotSorted) return undefined;
    throw error;
  }
}
