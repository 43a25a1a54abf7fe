/**
 * The diff engine: pairs source and target records by key and finds what differs. It reads
 * both sides through the {@linkcode Dataset} interface only and never knows which datastore
 * it talks to.
 *
 * Memory: the target is indexed as key → 53-bit hash of its compared fields; only records that
 * differ (creates, updates, deletes) are held whole.
 *
 * @example
 * ```ts
 * const diff = await diffDatasets(source, target, layout, { batchSize: 5000 });
 * diff.creates.length; // records missing from the target
 * ```
 * @module
 */
import { ConversionError, InputError, showValue } from "./errors.ts";
import type { FieldLayout, FieldSlot } from "./fields.ts";
import { StringHasher } from "./hash.ts";
import type { Dataset } from "./importer.ts";
import type { Row } from "./types.ts";
import { SortedSpool, SpillFile, type SpillRecord, spillThreshold } from "./spill.ts";
import { canonical, convertValue, isPlainNumber } from "./values.ts";

/** One record that differs between source and target, with values in layout field order. */
export interface RecordChange {
  /** Key values (converted), in key order. */
  key: unknown[];
  /** The key as the engine matches it; see {@linkcode targetKeyOf}. */
  keyText: string;
  /** Source values (creates, updates). */
  after?: Row;
  /** Target values (updates, deletes). */
  before?: Row;
  /** Updates: indexes of the fields whose values differ. */
  changed?: number[];
  /** Where the source record came from (line or record number). */
  position?: number;
}

/** The records a diff found missing from the target, sorted by key; may live on disk. */
export type CreateList = SortedSpool<RecordChange>;

/** What the engine found. Each list is sorted by key. */
export interface DiffResult {
  /** Source records missing from the target (none kept when `keepCreates` is false). */
  creates: CreateList;
  /** How many creates were found, kept or not. */
  createCount: number;
  updates: RecordChange[];
  deletes: RecordChange[];
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
  /** Whether the target exists; when false, every source record is a create. */
  targetExists: boolean;
  /** Keep the creates found (default true); false only counts them (`--no-create`). */
  keepCreates?: boolean;
  /** Sees the values of every kept create as it is found (the planner infers types here). */
  onCreate?: (values: Row) => void;
  /**
   * Keys held in memory (target index and source keys seen) before both sides are partitioned
   * to disk; the creates spool holds a quarter of it. Default {@linkcode spillThreshold}.
   */
  memoryRecords?: number;
  /** Called after each batch with the side read and the number of its records read so far. */
  onProgress?: (side: "source" | "target", records: number) => void;
}

/** A target value that does not convert to the comparison type: kept as is, never equal. */
class Unconvertible {
  constructor(readonly raw: unknown) {}
}

const SEP = "\u001f";
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
 * `memoryRecords` keys, the index, the keys seen and the rest of the source go to partition
 * files on disk (by key hash), which are then matched one at a time — a grace hash join — and
 * creates beyond the budget are sorted through runs on disk.
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
  const memoryRecords = options.memoryRecords ?? spillThreshold();
  const { fields, keyIndexes } = layout;
  const keepCreates = options.keepCreates !== false;
  const creates = new SortedSpool<RecordChange>(
    (a, b) => compareKeys(a.key, b.key),
    { memoryRecords: Math.max(1, memoryRecords >> 2), codec: changeCodec },
  );
  let createCount = 0;
  const updates = new Map<string, RecordChange>();
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
    new InputError(
      `${target.label}: duplicate key ${showKeyValues(layout, keyValues)} (second at ${
        where(target.label, position)
      })`,
      "the target must have one record per key; choose another --key",
    );
  const duplicateSource = (values: Row, first: number, position: number) =>
    new InputError(
      `${source.label}: duplicate key ${
        showKeyValues(layout, keyIndexes.map((i) => values[i]))
      } at ${where(source.label, first)} and ${where(source.label, position)}`,
      "each key must appear once in the source; choose another --key or remove the duplicate",
    );
  const match = (key: string, values: Row, position: number, targetHash: number | undefined) => {
    if (targetHash === undefined) {
      createCount++;
      if (!keepCreates) return;
      options.onCreate?.(values);
      creates.push({
        key: keyIndexes.map((i) => values[i]),
        keyText: key,
        after: values,
        position,
      });
    } else if (targetHash !== rowHash(values, fields)) {
      updates.set(key, {
        key: keyIndexes.map((i) => values[i]),
        keyText: key,
        after: values,
        position,
      });
    }
  };

  let targetCount = 0;
  if (options.targetExists) {
    for await (const batch of target.read(batchSize)) {
      for (let r = 0; r < batch.rows.length; r++) {
        const values = targetValues(batch.rows[r], fields);
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
      const first = seen.get(key);
      if (first !== undefined) throw duplicateSource(values, first, position);
      seen.set(key, position);
      const targetHash = index.get(key);
      if (targetHash !== undefined) index.delete(key);
      match(key, values, position, targetHash);
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
            const [, key, position, values] = entry;
            const first = firstSeen.get(key);
            if (first !== undefined) throw duplicateSource(values, first, position);
            firstSeen.set(key, position);
            const targetHash = targetHashes.get(key);
            if (targetHash !== undefined) targetHashes.delete(key);
            match(key, values, position, targetHash);
          }
        }
      }
      partition.close();
      for (const key of targetHashes.keys()) gone.add(key);
    }
    unmatched = gone;
  }

  const deletes: RecordChange[] = [];
  if (updates.size > 0 || unmatched.size > 0) {
    for await (const batch of target.read(batchSize)) {
      for (const row of batch.rows) {
        const values = targetValues(row, fields);
        const key = keyString(values, fields, keyIndexes, target.label, 0);
        const update = updates.get(key);
        if (update) {
          update.before = values;
          update.changed = changedFields(update.after!, values, fields);
        } else if (unmatched.has(key)) {
          deletes.push({ key: keyIndexes.map((i) => values[i]), keyText: key, before: values });
        }
      }
    }
  }
  const byKey = (a: RecordChange, b: RecordChange) => compareKeys(a.key, b.key);
  return {
    creates,
    createCount,
    updates: [...updates.values()].sort(byKey),
    deletes: deletes.sort(byKey),
    targetCount,
    sourceCount,
    spilled: partitions !== undefined || creates.spilled,
  };
}

const partitionHasher = new StringHasher(0x5eed);

/** Creates on disk as flat arrays: v8 serializes arrays several times faster than objects. */
const changeCodec = {
  encode: (c: RecordChange): SpillRecord => [c.keyText, c.position ?? 0, c.key, c.after!],
  decode: (a: SpillRecord): RecordChange => {
    return {
      keyText: a[0] as string,
      position: a[1] as number,
      key: a[2] as unknown[],
      after: a[3] as Row,
    };
  },
};

/**
 * The engine's key text of a record as the target stores it (values in target field order),
 * so that a file target can find the records a change set names while it rewrites itself.
 */
export function targetKeyOf(layout: FieldLayout, label: string): (row: Row) => string {
  return (row) =>
    keyString(targetValues(row, layout.fields), layout.fields, layout.keyIndexes, label, 0);
}

/** The engine's key text of converted values in layout order. */
export function keyTextOf(values: Row, layout: FieldLayout, label: string, position = 0): string {
  return keyString(values, layout.fields, layout.keyIndexes, label, position);
}

/** A target row (target field order) as converted values in layout order. */
export function targetRowValues(row: Row, layout: FieldLayout): Row {
  return targetValues(row, layout.fields);
}

/** Whether two converted values are the same value of the field's type. */
export function sameValue(a: unknown, b: unknown, field: FieldSlot): boolean {
  return valueKey(a, field) === valueKey(b, field);
}

function sourceValues(row: Row, fields: FieldSlot[], label: string, position: number): Row {
  const values = new Array(fields.length);
  for (let i = 0; i < fields.length; i++) {
    const raw = row[fields[i].sourceIndex];
    try {
      values[i] = convertValue(raw, fields[i].type);
    } catch (error) {
      if (!(error instanceof ConversionError)) throw error;
      throw new InputError(
        `${where(label, position)}: field '${fields[i].name}': ${error.message}`,
        `the target type of '${fields[i].name}' is ${fields[i].nativeType ?? fields[i].type}`,
      );
    }
  }
  return values;
}

function targetValues(row: Row, fields: FieldSlot[]): Row {
  const values = new Array(fields.length);
  for (let i = 0; i < fields.length; i++) {
    const raw = row[fields[i].targetIndex];
    try {
      values[i] = convertValue(raw, fields[i].type);
    } catch {
      values[i] = new Unconvertible(raw);
    }
  }
  return values;
}

function valueKey(value: unknown, field: FieldSlot): string {
  return value instanceof Unconvertible
    ? "\u0002" + canonical(value.raw, "auto")
    : canonical(value, field.type);
}

function keyString(
  values: Row,
  fields: FieldSlot[],
  keyIndexes: number[],
  label: string,
  position: number,
): string {
  let key = "";
  for (let k = 0; k < keyIndexes.length; k++) {
    const i = keyIndexes[k];
    const value = values[i];
    if (value === null || value === "") {
      throw new InputError(
        `${where(label, position)}: key field '${fields[i].name}' is empty`,
        "every record needs a value in each key field",
      );
    }
    key = k === 0 ? valueKey(value, fields[i]) : key + SEP + valueKey(value, fields[i]);
  }
  return key;
}

const hasher = new StringHasher();

function rowHash(values: Row, fields: FieldSlot[]): number {
  hasher.reset();
  for (let i = 0; i < values.length; i++) hasher.add(valueKey(values[i], fields[i]));
  return hasher.digest();
}

function changedFields(after: Row, before: Row, fields: FieldSlot[]): number[] {
  const changed: number[] = [];
  for (let i = 0; i < fields.length; i++) {
    if (valueKey(after[i], fields[i]) !== valueKey(before[i], fields[i])) changed.push(i);
  }
  return changed;
}

/** Where a record is: `users.csv:12`. */
export function where(label: string, position: number): string {
  return position > 0 ? `${label}:${position}` : label;
}

function showKeyValues(layout: FieldLayout, keyValues: unknown[]): string {
  return layout.keyIndexes.map((i, k) => `${layout.fields[i].name}=${showValue(keyValues[k])}`)
    .join(",");
}

/**
 * Key order, element by element: numbers, bigints and numeric text (`"10"` after `"9"`)
 * numerically and first, everything else by its text.
 */
export function compareKeys(a: unknown[], b: unknown[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = numericKey(a[i]), y = numericKey(b[i]);
    if (x === y) continue;
    const xn = typeof x === "number" || typeof x === "bigint";
    const yn = typeof y === "number" || typeof y === "bigint";
    if (xn && yn) {
      if (x < y) return -1;
      if (x > y) return 1;
      continue;
    }
    if (xn !== yn) return xn ? -1 : 1;
    const xs = keyText(x), ys = keyText(y);
    if (xs !== ys) return xs < ys ? -1 : 1;
  }
  return 0;
}

function numericKey(value: unknown): unknown {
  return typeof value === "string" && isPlainNumber(value) ? Number(value) : value;
}

function keyText(value: unknown): string {
  return value instanceof Unconvertible ? String(value.raw) : canonical(value, "auto");
}

/** Restores a value the engine could not convert to what the target holds, for output. */
export function rawValue(value: unknown): unknown {
  return value instanceof Unconvertible ? value.raw : value;
}
