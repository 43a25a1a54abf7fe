/**
 * Records as the engine sees them: values converted to the layout's types, the key text that
 * pairs a source record with a target record, the hash of the compared fields, and the change
 * found for a record. Both diff strategies (hash join in diff.ts, sorted merge in merge.ts) and
 * the apply checks build on these.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
 * import type { DatasetInfo } from "../adapter_kit/importer.ts";
 * import { resolveFields } from "./fields.ts";
 * import { keyString, sourceValues } from "./records.ts";
 * const csv: DatasetInfo & { label: string } = {
 *   label: "users.csv",
 *   exists: true,
 *   fields: [{ name: "id", type: "auto" }, { name: "name", type: "auto" }],
 *   primaryKey: [],
 *   typed: false,
 *   textual: true,
 * };
 * const table: DatasetInfo & { label: string } = {
 *   label: "sqlite:app.db#users",
 *   exists: true,
 *   fields: [{ name: "id", type: "integer" }, { name: "name", type: "text" }],
 *   primaryKey: ["id"],
 *   typed: true,
 *   textual: false,
 * };
 * const layout = resolveFields(csv, table, {});
 * const values = sourceValues(["7", "Ann"], layout.fields, "users.csv", 2);
 * deepStrictEqual(values, [7, "Ann"]);
 * strictEqual(keyString(values, layout.fields, layout.keyIndexes, "users.csv", 2), "7");
 * throws(() => sourceValues(["x", "Ann"], layout.fields, "users.csv", 3), {
 *   message: `users.csv:3: field 'id': cannot convert "x" to integer`,
 * });
 * ```
 * @module
 */
import { ConversionError, InputError } from "../model/errors.ts";
import type { FieldLayout, FieldSlot } from "./fields.ts";
import { StringHasher } from "./hash.ts";
import { SortedSpool, type SpillRecord } from "./spill.ts";
import type { Row } from "../model/types.ts";
import {
  type ChangeList,
  type RecordChange,
  showKey,
  Unconvertible,
} from "../adapter_kit/changes.ts";
import {
  canonical,
  convertJsonValue,
  convertValue,
  isPlainNumber,
  toJsonValue,
} from "../model/values.ts";

const SEP = "\u001f";
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

export function sourceValues(row: Row, fields: FieldSlot[], label: string, position: number): Row {
  const values = new Array(fields.length);
  for (let i = 0; i < fields.length; i++) {
    const raw = row[fields[i].sourceIndex];
    try {
      const respell = fields[i].respell;
      values[i] = fields[i].sourceJsonValues
        ? convertJsonValue(raw)
        : respell
        ? respell(convertValue(raw, fields[i].type))
        : convertValue(raw, fields[i].type);
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

export function targetValues(row: Row, fields: FieldSlot[]): Row {
  const values = new Array(fields.length);
  for (let i = 0; i < fields.length; i++) {
    const raw = row[fields[i].targetIndex];
    try {
      values[i] = fields[i].targetJsonValues
        ? convertJsonValue(raw)
        : convertValue(raw, fields[i].type);
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

export function keyString(
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

export function rowHash(values: Row, fields: FieldSlot[]): number {
  hasher.reset();
  for (let i = 0; i < values.length; i++) hasher.add(valueKey(values[i], fields[i]));
  return hasher.digest();
}

export function changedFields(after: Row, before: Row, fields: FieldSlot[]): number[] {
  const changed: number[] = [];
  for (let i = 0; i < fields.length; i++) {
    // The same primitive is the same value of any type; only differing ones need canonical forms.
    if (after[i] === before[i] && typeof after[i] !== "object") continue;
    if (valueKey(after[i], fields[i]) !== valueKey(before[i], fields[i])) changed.push(i);
  }
  return changed;
}

/**
 * Makes the strings of a record that is kept (a change) stand alone. Readers hand out values
 * that V8 keeps as slices of the text they were parsed from; one kept slice pins its whole read
 * chunk, so 1 % of a 10M-row file's records kept as changes pinned nearly all of it (2 GB).
 * Concatenating and slicing forces a flat copy of just the value (about 0.1 µs a string).
 */
export function detach(values: Row): Row {
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    // V8 copies substrings shorter than 13 characters; only longer ones can be slices.
    if (typeof value === "string" && value.length >= 13) values[i] = (value + " ").slice(0, -1);
  }
  return values;
}

/** Where a record is: `users.csv:12`. */
export function where(label: string, position: number): string {
  return position > 0 ? `${label}:${position}` : label;
}

/** A target holding a key twice: the run stops, naming the second record. */
export function duplicateTargetError(
  label: string,
  layout: FieldLayout,
  keyValues: unknown[],
  position: number,
): InputError {
  return new InputError(
    `${label}: duplicate key ${showKey(layout, keyValues)} (second at ${where(label, position)})`,
    "the target must have one record per key; choose another --key",
  );
}

/** A source holding a key twice: the run stops, naming both records. */
export function duplicateSourceError(
  label: string,
  layout: FieldLayout,
  values: Row,
  first: number,
  position: number,
): InputError {
  return new InputError(
    `${label}: duplicate key ${showKey(layout, layout.keyIndexes.map((i) => values[i]))} at ${
      where(label, first)
    } and ${where(label, position)}`,
    "each key must appear once in the source; choose another --key or remove the duplicate",
  );
}

/**
 * Key order, element by element: numbers, bigints and numeric text (`"10"` after `"9"`)
 * numerically and first, everything else by its text. Two keys compare 0 only when they are the
 * same key: numeric ties that are different keys (`"0E0"`, `"0E8"`, `"1"`, `"1.0"`) are ordered
 * by their text.
 */
export function compareKeys(a: unknown[], b: unknown[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = numericKey(a[i]), y = numericKey(b[i]);
    const xn = typeof x === "number" || typeof x === "bigint";
    const yn = typeof y === "number" || typeof y === "bigint";
    if (xn && yn && x !== y) {
      if (x < y) return -1;
      if (x > y) return 1;
    } else if (xn !== yn) return xn ? -1 : 1;
    const xs = keyText(a[i]), ys = keyText(b[i]);
    if (xs !== ys) return xs < ys ? -1 : 1;
  }
  return 0;
}

function numericKey(value: unknown): unknown {
  if (typeof value !== "string" || !isPlainNumber(value)) return value;
  const number = Number(value);
  // Integers beyond 2^53 in order by every digit, not by the double they round to.
  return Number.isSafeInteger(number) || !/^-?\d+$/.test(value) ? number : BigInt(value);
}

function keyText(value: unknown): string {
  return value instanceof Unconvertible ? String(value.raw) : canonical(value, "auto");
}

/** Whether a list of changes lives (partly) on disk, so that changing its records does not last. */
export function onDisk(list: ChangeList): boolean {
  return list instanceof SortedSpool && list.spilled;
}

/**
 * Changes of one kind, in key order: held in memory up to a sixteenth of the engine's budget
 * (`memoryRecords`), beyond that sorted through runs on disk.
 */
export function changeSpool<C extends RecordChange>(memoryRecords: number): SortedSpool<C> {
  // A small buffer: held creates outlive young-generation collections, and V8 grows its heap far
  // past them (10M first load: 894 MB RSS with a quarter of the budget, 415 MB and 25 % faster
  // with a sixteenth).
  return new SortedSpool<C>(
    (a, b) => compareKeys(a.key, b.key),
    { memoryRecords: Math.max(1, memoryRecords >> 4), codec: changeCodec as ChangeCodec<C> },
  );
}

// A target value the comparison type could not take is kept on disk as its JSON form, which is
// all that is ever shown of it (changes are applied from `after` and matched by key).
const UNCONVERTIBLE = "\u0000dsync:unconvertible";

function storedValue(value: unknown): unknown {
  return value instanceof Unconvertible ? { [UNCONVERTIBLE]: toJsonValue(value.raw) } : value;
}

function loadedValue(value: unknown): unknown {
  return typeof value === "object" && value !== null && UNCONVERTIBLE in value
    ? new Unconvertible((value as Record<string, unknown>)[UNCONVERTIBLE])
    : value;
}

interface ChangeCodec<C> {
  encode(change: C): SpillRecord;
  decode(record: SpillRecord): C;
}

const OPS = ["create", "update", "delete"] as const;

/** Changes on disk as flat arrays (smaller and faster than objects); absent parts are `[]`. */
const changeCodec: ChangeCodec<RecordChange> = {
  encode: (c) => [
    c.keyText,
    c.op === "delete" ? 0 : c.position ?? 0,
    c.key,
    c.op === "delete" ? [] : c.after,
    c.op === "create" ? [] : c.before.map(storedValue),
    c.op === "update" ? c.changed : [],
    OPS.indexOf(c.op),
  ],
  decode: (a) => {
    const keyText = a[0] as string, key = a[2] as unknown[];
    switch (OPS[a[6] as number]) {
      case "create":
        return { op: "create", keyText, key, after: a[3] as Row, position: a[1] as number };
      case "update":
        return {
          op: "update",
          keyText,
          key,
          after: a[3] as Row,
          before: (a[4] as Row).map(loadedValue),
          changed: a[5] as number[],
          position: a[1] as number,
        };
      default:
        return { op: "delete", keyText, key, before: (a[4] as Row).map(loadedValue) };
    }
  },
};
