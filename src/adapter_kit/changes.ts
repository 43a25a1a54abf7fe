/**
 * The change set: what the engine hands a {@linkcode Target} to write, and what `dsync` prints.
 * It belongs to the adapter contract, so adapters never import the engine that computes it.
 *
 * A change is one of three shapes, told apart by `op`: a create carries the source values
 * (`after`), a delete the target values (`before`), an update both and the indexes of the fields
 * that differ (`changed`). Values are in the plan's `fields` order.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { changeObject, type WritePlan } from "./changes.ts";
 *
 * const plan: WritePlan = {
 *   fields: [{ name: "id", type: "integer" }, { name: "name", type: "text" }],
 *   keyIndexes: [0],
 *   createTarget: false,
 *   creates: [],
 *   updates: [],
 *   deletes: [],
 *   targetKey: (row) => String(row[0]),
 *   targetIndexes: [0, 1],
 * };
 * const change = {
 *   op: "update" as const,
 *   key: [7],
 *   keyText: "7",
 *   before: [7, "Bob"],
 *   after: [7, "Rob"],
 *   changed: [1],
 * };
 * deepStrictEqual(changeObject(change, plan), {
 *   op: "update",
 *   key: { id: 7 },
 *   before: { name: "Bob" },
 *   after: { name: "Rob" },
 * });
 * ```
 * @module
 */
import type { Field, Row } from "../model/types.ts";
import { showValue } from "../model/errors.ts";
import { exactJsonNumber, stringifyJsonExact, toJsonValue } from "../model/values.ts";

/** A write other than the keyed change set, for the load modes (see adapter_kit/load.ts). */
export type LoadWrite = "truncate" | "replace" | "delete_insert" | "collapse";

/** What a change does. */
export type ChangeOp = "create" | "update" | "delete";

/** What every change has: the key, as values and as the text the engine pairs records by. */
interface ChangeBase {
  /** Key values (converted), in key order. */
  key: unknown[];
  /** The key as the engine matches it; equal to {@linkcode WritePlan.targetKey} of its row. */
  keyText: string;
}

/** A source record the target does not have. */
export interface CreateChange extends ChangeBase {
  op: "create";
  /** Source values. */
  after: Row;
  /** Where the source record came from (line or record number). */
  position?: number;
}

/** A record both sides have, with different values. */
export interface UpdateChange extends ChangeBase {
  op: "update";
  /** Target values now. */
  before: Row;
  /** Source values. */
  after: Row;
  /** Indexes of the fields whose values differ. */
  changed: number[];
  /** Where the source record came from (line or record number). */
  position?: number;
}

/** A target record the source does not have. */
export interface DeleteChange extends ChangeBase {
  op: "delete";
  /** Target values now. */
  before: Row;
}

/** One record that differs between source and target. */
export type RecordChange = CreateChange | UpdateChange | DeleteChange;

/** Changes in key order: an array, or a list that streams from disk. Iterate it; do not index it. */
export type ChangeList<C extends RecordChange = RecordChange> = Iterable<C> & {
  readonly length: number;
};

/** The change set handed to a target's `apply`. Rows are in `fields` order. */
export interface WritePlan {
  /** Written fields with the types their values have. */
  fields: Field[];
  /** Indexes into `fields` of the key, in key order. */
  keyIndexes: number[];
  /** True when the target does not exist and must be created first. */
  createTarget: boolean;
  /** Records to create; iterate it (it may stream from disk), do not index it. */
  creates: ChangeList<CreateChange>;
  /** Records to update; `changed` names the fields to write. */
  updates: ChangeList<UpdateChange>;
  /** Records to delete, by `key`. */
  deletes: ChangeList<DeleteChange>;
  /** The key text of a target row (target field order), matching {@linkcode RecordChange.keyText}. */
  targetKey: (row: unknown[]) => string;
  /** For each of `fields`, its index in a target row, or -1 for a new target. */
  targetIndexes: number[];
  /** How the source is named in messages (`users.csv`), when the plan came from one. */
  source?: string;
  /** The source's {@linkcode DatasetInfo.dialect}: what the fields' `nativeType` is spelled in. */
  sourceDialect?: string;
  /**
   * How a load mode writes the plan, when not as a keyed change set (adapter_kit/load.ts);
   * only set for targets that list it in their `loadWrites`.
   */
  load?: LoadWrite;
}

/**
 * Where a change's source record is, for messages: ` (users.csv:5)`, or ` (source record 5)`
 * when the plan does not name its source; empty when the change has no position.
 */
export function sourceWhere(plan: WritePlan, change: { position?: number }): string {
  if (!change.position) return "";
  return plan.source
    ? ` (${plan.source}:${change.position})`
    : ` (source record ${change.position})`;
}

/** Every change of the plan in the order they are applied and printed: creates, updates, deletes. */
export function* planChanges(plan: WritePlan): Generator<RecordChange> {
  yield* plan.creates;
  yield* plan.updates;
  yield* plan.deletes;
}

/** The plan's changes as one array, for targets that work through them by index. */
export function planChangeList(plan: WritePlan): RecordChange[] {
  return [...planChanges(plan)];
}

/**
 * A target value that does not convert to the comparison type: kept as it is, never equal to a
 * source value, and shown and written back as its raw form.
 */
export class Unconvertible {
  constructor(readonly raw: unknown) {}
}

/** Restores a value the engine could not convert to what the target holds, for output. */
export function rawValue(value: unknown): unknown {
  return value instanceof Unconvertible ? value.raw : value;
}

/** Field values by name, JSON-ready. */
export type ChangeValues = Record<string, unknown>;

/**
 * One change as the change set prints it (SPEC.md): a create has `after`, a delete `before`, an
 * update both, holding only the fields it changes.
 */
export type ChangeObject =
  | { op: "create"; key: ChangeValues; after: ChangeValues }
  | { op: "update"; key: ChangeValues; before: ChangeValues; after: ChangeValues }
  | { op: "delete"; key: ChangeValues; before: ChangeValues };

/** One change as a JSON-ready object, in SPEC.md's shape (`{op, key, before?, after?}`). */
export function changeObject(change: RecordChange, plan: WritePlan): ChangeObject {
  const { fields } = plan;
  const pick = (row: unknown[], indexes: Iterable<number>) => {
    const out: Record<string, unknown> = {};
    for (const i of indexes) {
      const value = rawValue(row[i]);
      // A JSON value's integer beyond 2^53 stays a JSON number, as it does nested.
      out[fields[i].name] = fields[i].type === "json" && typeof value === "bigint"
        ? exactJsonNumber(value)
        : toJsonValue(value);
    }
    return out;
  };
  const key = keyObject(plan, change.key);
  const all = fields.keys();
  switch (change.op) {
    case "create":
      return { op: change.op, key, after: pick(change.after, all) };
    case "delete":
      return { op: change.op, key, before: pick(change.before, all) };
    case "update":
      return {
        op: change.op,
        key,
        before: pick(change.before, change.changed),
        after: pick(change.after, change.changed),
      };
  }
}

/** A change's key as the JSON object the change set prints: `{"id": 42}`. */
export function keyObject(plan: WritePlan, key: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  plan.keyIndexes.forEach((f, k) => out[plan.fields[f].name] = toJsonValue(rawValue(key[k])));
  return out;
}

/** A key for messages: `id=42` or `region="EU",id=7`, by a plan's (or layout's) key fields. */
export function showKey(
  layout: { fields: readonly { name: string }[]; keyIndexes: readonly number[] },
  key: unknown[],
): string {
  return layout.keyIndexes.map((f, k) => `${layout.fields[f].name}=${showValue(rawValue(key[k]))}`)
    .join(",");
}

/**
 * Lists every change of a write that stopped part way, one NDJSON line each on stderr
 * (`{"op","key","result"}`, plus `error` on the one that failed), for targets that cannot roll
 * back (HTTP APIs, webhooks): the user sees exactly what was and was not written.
 */
export function reportChanges(
  changes: RecordChange[],
  plan: WritePlan,
  result: (index: number) => "applied" | "failed" | "not applied",
  failure: { index: number; message: string },
): void {
  const lines = changes.map((change, i) => {
    const entry: Record<string, unknown> = {
      op: change.op,
      key: keyObject(plan, change.key),
      result: result(i),
    };
    if (i === failure.index) entry.error = failure.message;
    return stringifyJsonExact(entry);
  });
  console.error(lines.join("\n"));
}
