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

/** What the engine found. Each list is sorted by key. */
export interface DiffResult {
  creates: RecordChange[];
  updates: RecordChange[];
  deletes: RecordChange[];
  /** Records in the target before the sync. */
  targetCount: number;
  /** Records read from the source. */
  sourceCount: number;
}

/** Engine options. */
export interface DiffOptions {
  /** Records per read round trip. Default 5000. */
  batchSize?: number;
  /** Whether the target exists; when false, every source record is a create. */
  targetExists: boolean;
  /** Called after each batch with the side read and the number of its records read so far. */
  onProgress?: (side: "source" | "target", records: number) => void;
}

/** A target value that does not convert to the comparison type: kept as is, never equal. */
class Unconvertible {
  constructor(readonly raw: unknown) {}
}

const SEP = "\u001f";

/**
 * Pairs the source's records with the target's by the layout's key and returns the creates,
 * updates (with the changed fields) and deletes, each sorted by key.
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
  const { fields, keyIndexes } = layout;
  const index = new Map<string, number>();
  let targetCount = 0;

  if (options.targetExists) {
    for await (const batch of target.read(batchSize)) {
      for (let r = 0; r < batch.rows.length; r++) {
        const values = targetValues(batch.rows[r], fields);
        const key = keyString(values, fields, keyIndexes, target.label, batch.positions[r]);
        if (index.has(key)) {
          throw new InputError(
            `${target.label}: duplicate key ${showKey(layout, values)} (second at ${
              where(target.label, batch.positions[r])
            })`,
            "the target must have one record per key; choose another --key",
          );
        }
        index.set(key, rowHash(values, fields));
        targetCount++;
      }
      options.onProgress?.("target", targetCount);
    }
  }

  const seen = new Map<string, number>();
  const creates: RecordChange[] = [];
  const updates = new Map<string, RecordChange>();
  let sourceCount = 0;
  for await (const batch of source.read(batchSize)) {
    for (let r = 0; r < batch.rows.length; r++) {
      const position = batch.positions[r];
      const values = sourceValues(batch.rows[r], fields, source.label, position);
      const key = keyString(values, fields, keyIndexes, source.label, position);
      const first = seen.get(key);
      if (first !== undefined) {
        throw new InputError(
          `${source.label}: duplicate key ${showKey(layout, values)} at ${
            where(source.label, first)
          } and ${where(source.label, position)}`,
          "each key must appear once in the source; choose another --key or remove the duplicate",
        );
      }
      seen.set(key, position);
      const targetHash = index.get(key);
      if (targetHash === undefined) {
        creates.push({
          key: keyIndexes.map((i) => values[i]),
          keyText: key,
          after: values,
          position,
        });
      } else {
        index.delete(key);
        if (targetHash !== rowHash(values, fields)) {
          updates.set(key, {
            key: keyIndexes.map((i) => values[i]),
            keyText: key,
            after: values,
            position,
          });
        }
      }
    }
    sourceCount += batch.rows.length;
    options.onProgress?.("source", sourceCount);
  }
  seen.clear();

  const deletes: RecordChange[] = [];
  if (updates.size > 0 || index.size > 0) {
    for await (const batch of target.read(batchSize)) {
      for (const row of batch.rows) {
        const values = targetValues(row, fields);
        const key = keyString(values, fields, keyIndexes, target.label, 0);
        const update = updates.get(key);
        if (update) {
          update.before = values;
          update.changed = changedFields(update.after!, values, fields);
        } else if (index.has(key)) {
          deletes.push({ key: keyIndexes.map((i) => values[i]), keyText: key, before: values });
        }
      }
    }
  }
  const byKey = (a: RecordChange, b: RecordChange) => compareKeys(a.key, b.key);
  return {
    creates: creates.sort(byKey),
    updates: [...updates.values()].sort(byKey),
    deletes: deletes.sort(byKey),
    targetCount,
    sourceCount,
  };
}

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

function showKey(layout: FieldLayout, values: Row): string {
  return layout.keyIndexes.map((i) => `${layout.fields[i].name}=${showValue(values[i])}`).join(
    ",",
  );
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
