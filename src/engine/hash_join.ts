/**
 * The diff engine's hash join: pairs source and target records by key and finds what differs,
 * whatever order either side comes in (src/merge.ts is the one-pass strategy for sides in key
 * order). It reads both sides through the {@linkcode Dataset} interface only and never knows
 * which datastore it talks to.
 *
 * Memory: the target is indexed as key → 53-bit hash of its compared fields, spilling to
 * partition files past the budget; only records that differ are held whole.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import type { DatasetInfo, Target } from "../adapter_kit/importer.ts";
 * import type { Row } from "../model/types.ts";
 * import { resolveFields } from "./fields.ts";
 * import { diffDatasets } from "./hash_join.ts";
 * const info: DatasetInfo = {
 *   exists: true,
 *   fields: [{ name: "id", type: "integer" }, { name: "name", type: "text" }],
 *   primaryKey: ["id"],
 *   typed: true,
 *   textual: false,
 * };
 * // An in-memory table of (id, name).
 * const table = (label: string, rows: Row[]): Target => ({
 *   label,
 *   describe: () => Promise.resolve(info),
 *   read: async function* () {
 *     yield { rows, positions: rows.map((_row, i) => i + 1) };
 *   },
 *   apply: () => Promise.resolve(),
 *   close: () => Promise.resolve(),
 * });
 * const source = table("source", [[2, "Rob"], [1, "Ann"]]);
 * const target = table("target", [[3, "Eve"], [1, "Anne"]]);
 * const layout = resolveFields({ ...info, label: "source" }, { ...info, label: "target" }, {});
 * const options = { memoryRecords: 1000, targetExists: true };
 * const diff = await diffDatasets(source, target, layout, options);
 * deepStrictEqual([...diff.creates].map((change) => change.after), [[2, "Rob"]]);
 * deepStrictEqual([...diff.updates].map((change) => [change.before, change.after]), [
 *   [[1, "Anne"], [1, "Ann"]],
 * ]);
 * deepStrictEqual([...diff.deletes].map((change) => change.key), [[3]]);
 * ```
 * @module
 */
import type { FieldLayout } from "./fields.ts";
import { StringHasher } from "./hash.ts";
import type { Dataset } from "../adapter_kit/importer.ts";
import type { Row } from "../model/types.ts";
import { SpillFile } from "./spill.ts";
import type {
  ChangeList,
  CreateChange,
  DeleteChange,
  UpdateChange,
} from "../adapter_kit/changes.ts";
import {
  changedFields,
  changeSpool,
  compareKeys,
  detach,
  duplicateSourceError,
  duplicateTargetError,
  keyString,
  rowHash,
  sourceValues,
  targetValues,
} from "./records.ts";

/** What the engine found. Each list is sorted by key. */
export interface DiffResult {
  /** Source records missing from the target (none kept when `keepCreates` is false). */
  creates: ChangeList<CreateChange>;
  /** How many creates were found, kept or not. */
  createCount: number;
  updates: ChangeList<UpdateChange>;
  deletes: ChangeList<DeleteChange>;
  /** Records in the target before the sync. */
  targetCount: number;
  /** Records read from the source. */
  sourceCount: number;
  /** Whether the engine went past its memory budget and partitioned both sides on disk. */
  spilled: boolean;
}

/** Engine options. */
export interface DiffOptions {
  /** Records per read round trip. Default 5000. */
  batchSize?: number;
  /** Keys held in memory before both sides are partitioned to disk. */
  memoryRecords: number;
  /** Whether the target exists; when false, every source record is a create. */
  targetExists: boolean;
  /** Keep the creates found (default true); false only counts them (`--no-create`). */
  keepCreates?: boolean;
  /** Sees the values of every kept create as it is found (the planner infers types here). */
  onCreate?: (values: Row) => void;
  /**
   * Takes the creates instead of the result when the target turned out empty before the first
   * one was found (the sorted merge only; see stream_creates.ts). The result's `creates` is empty.
   */
  createSink?: (change: CreateChange) => Promise<void> | undefined;
  /** Sees the values of every target record read (the planner infers types from both sides). */
  onTarget?: (values: Row) => void;
  /** Called after each batch with the side read and the number of its records read so far. */
  onProgress?: (side: "source" | "target", records: number) => void;
}

const PARTITIONS = 128;

/** Entries of a partition file: a target record, a source key already seen, a source record. */
type PartitionEntry =
  | ["t", string, number, number, unknown[]]
  | ["m", string, number]
  | ["s", string, number, Row];

/**
 * Pairs the source's records with the target's by the layout's key and returns the creates,
 * updates (with the changed fields) and deletes, each sorted by key.
 *
 * Memory: the target is indexed as key → 53-bit hash of its compared fields. Past
 * `memoryRecords` keys, the index, the keys seen and the rest
 * of the source go to partition files on disk (by key hash), which are then matched one at a
 * time — a grace hash join — and creates beyond the budget are sorted through runs on disk.
 *
 * @throws {InputError} for a source value that cannot be converted, a missing key value or a
 * duplicate key (naming both records).
 */
export async function diffDatasets(
  source: Dataset,
  target: Dataset,
  layout: FieldLayout,
  options: DiffOptions,
): Promise<DiffResult> {
  const batchSize = options.batchSize ?? 5000;
  const { memoryRecords } = options;
  const { fields, keyIndexes } = layout;
  const keepCreates = options.keepCreates !== false;
  const creates = changeSpool<CreateChange>(memoryRecords);
  let createCount = 0;
  // Updates found by hash; their target values come from a second pass over the target.
  const updates = new Map<string, { key: unknown[]; after: Row; position: number }>();
  const index = new Map<string, number>();
  const seen = new Map<string, number>();
  let partitions: SpillFile<PartitionEntry>[] | undefined;
  const partitionOf = (key: string) => {
    partitionHasher.reset();
    partitionHasher.add(key);
    return partitions![partitionHasher.digest() % PARTITIONS];
  };
  // The records indexed so far hold no duplicate, so none of them can be the second of a
  // pair found later: they go to disk without position or key values.
  const spill = () => {
    partitions = Array.from({ length: PARTITIONS }, () => new SpillFile<PartitionEntry>(256));
    for (const [key, hash] of index) partitionOf(key).push(["t", key, hash, 0, []]);
    for (const [key, position] of seen) partitionOf(key).push(["m", key, position]);
    index.clear();
    seen.clear();
  };
  const duplicateTarget = (keyValues: unknown[], position: number) =>
    duplicateTargetError(target.label, layout, keyValues, position);
  const duplicateSource = (values: Row, first: number, position: number) =>
    duplicateSourceError(source.label, layout, values, first, position);
  const match = (key: string, values: Row, position: number, targetHash: number | undefined) => {
    if (targetHash === undefined) {
      createCount++;
      if (!keepCreates) return;
      detach(values);
      options.onCreate?.(values);
      creates.push({
        op: "create",
        key: keyIndexes.map((i) => values[i]),
        keyText: key,
        after: values,
        position,
      });
    } else if (targetHash !== rowHash(values, fields)) {
      detach(values);
      updates.set(key, { key: keyIndexes.map((i) => values[i]), after: values, position });
    }
  };

  // One source record against the keys seen and the target records not yet claimed.
  const pair = (
    key: string,
    values: Row,
    position: number,
    seenKeys: Map<string, number>,
    targetHashes: Map<string, number>,
  ) => {
    const first = seenKeys.get(key);
    if (first !== undefined) throw duplicateSource(values, first, position);
    seenKeys.set(key, position);
    const targetHash = targetHashes.get(key);
    if (targetHash !== undefined) targetHashes.delete(key);
    match(key, values, position, targetHash);
  };

  let targetCount = 0;
  if (options.targetExists) {
    for await (const batch of target.read(batchSize)) {
      for (let r = 0; r < batch.rows.length; r++) {
        const values = targetValues(batch.rows[r], fields);
        options.onTarget?.(values);
        const position = batch.positions[r];
        const key = keyString(values, fields, keyIndexes, target.label, position);
        const hash = rowHash(values, fields);
        targetCount++;
        if (partitions) {
          partitionOf(key).push(["t", key, hash, position, keyIndexes.map((i) => values[i])]);
          continue;
        }
        if (index.has(key)) throw duplicateTarget(keyIndexes.map((i) => values[i]), position);
        index.set(key, hash);
        if (index.size > memoryRecords) spill();
      }
      options.onProgress?.("target", targetCount);
    }
  }

  let sourceCount = 0;
  for await (const batch of source.read(batchSize)) {
    for (let r = 0; r < batch.rows.length; r++) {
      const position = batch.positions[r];
      const values = sourceValues(batch.rows[r], fields, source.label, position);
      const key = keyString(values, fields, keyIndexes, source.label, position);
      if (partitions) {
        partitionOf(key).push(["s", key, position, values]);
        continue;
      }
      pair(key, values, position, seen, index);
      if (index.size + seen.size > memoryRecords) spill();
    }
    sourceCount += batch.rows.length;
    options.onProgress?.("source", sourceCount);
  }
  seen.clear();

  // Target keys no source record claimed: the deletes.
  let unmatched: { has(key: string): boolean; readonly size: number } = index;
  if (partitions) {
    const gone = new Set<string>();
    for (const partition of partitions) {
      const targetHashes = new Map<string, number>();
      const firstSeen = new Map<string, number>();
      for (const chunk of partition.chunks()) {
        for (const entry of chunk) {
          if (entry[0] === "t") {
            if (targetHashes.has(entry[1])) throw duplicateTarget(entry[4], entry[3]);
            targetHashes.set(entry[1], entry[2]);
          } else if (entry[0] === "m") firstSeen.set(entry[1], entry[2]);
          else {
            pair(entry[1], entry[3], entry[2], firstSeen, targetHashes);
          }
        }
      }
      partition.close();
      for (const key of targetHashes.keys()) gone.add(key);
    }
    unmatched = gone;
  }

  const updated: UpdateChange[] = [];
  const deletes: DeleteChange[] = [];
  if (updates.size > 0 || unmatched.size > 0) {
    for await (const batch of target.read(batchSize)) {
      for (const row of batch.rows) {
        const values = targetValues(row, fields);
        const key = keyString(values, fields, keyIndexes, target.label, 0);
        const update = updates.get(key);
        if (update) {
          updated.push({
            op: "update",
            key: update.key,
            keyText: key,
            before: detach(values),
            after: update.after,
            changed: changedFields(update.after, values, fields),
            position: update.position,
          });
        } else if (unmatched.has(key)) {
          detach(values);
          deletes.push({
            op: "delete",
            key: keyIndexes.map((i) => values[i]),
            keyText: key,
            before: values,
          });
        }
      }
    }
  }
  const byKey = (a: { key: unknown[] }, b: { key: unknown[] }) => compareKeys(a.key, b.key);
  return {
    creates,
    createCount,
    updates: updated.sort(byKey),
    deletes: deletes.sort(byKey),
    targetCount,
    sourceCount,
    spilled: partitions !== undefined || creates.spilled,
  };
}

const partitionHasher = new StringHasher(0x5eed);
