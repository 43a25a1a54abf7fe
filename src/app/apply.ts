/**
 * `dsync apply`: applies a saved change set (the NDJSON that `--dry-run` prints), after checking
 * every change's `before` against the target as it is now. A record that moved on since the plan
 * was made is a conflict: nothing is applied (unless forced).
 *
 * @example
 * ```ts
 * import { deepStrictEqual, rejects } from "node:assert/strict";
 * import type { WritePlan } from "../adapter_kit/changes.ts";
 * import type { Target } from "../adapter_kit/importer.ts";
 * import { ConflictError } from "../model/errors.ts";
 * import { applyPlan, readPlan } from "./apply.ts";
 * // An in-memory table holding (1, "Ann"); `applied` is what it was asked to write.
 * const applied: WritePlan[] = [];
 * const target: Target = {
 *   label: "users",
 *   describe: () =>
 *     Promise.resolve({
 *       exists: true,
 *       fields: [{ name: "id", type: "integer" }, { name: "name", type: "text" }],
 *       primaryKey: ["id"],
 *       typed: true,
 *       textual: false,
 *     }),
 *   read: async function* () {
 *     yield { rows: [[1, "Ann"]], positions: [1] };
 *   },
 *   apply: (plan) => Promise.resolve(void applied.push(plan)),
 *   close: () => Promise.resolve(),
 * };
 * async function* numbered(lines: string[]): AsyncGenerator<[string, number]> {
 *   for (const [i, line] of lines.entries()) yield [line, i + 1];
 * }
 * const plan = await readPlan(
 *   numbered(['{"op":"update","key":{"id":1},"before":{"name":"Ann"},"after":{"name":"Anne"}}']),
 *   "plan.ndjson",
 * );
 * await applyPlan(target, plan, "plan.ndjson");
 * deepStrictEqual([...applied[0].updates].map((change) => change.after), [[1, "Anne"]]);
 *
 * // A plan made when the record was "Bob": the target moved on, nothing is applied.
 * const stale = await readPlan(
 *   numbered(['{"op":"update","key":{"id":1},"before":{"name":"Bob"},"after":{"name":"Rob"}}']),
 *   "plan.ndjson",
 * );
 * await rejects(applyPlan(target, stale, "plan.ndjson"), ConflictError);
 * deepStrictEqual(applied.length, 1);
 * ```
 * @module
 */
import type {
  ChangeValues,
  CreateChange,
  DeleteChange,
  UpdateChange,
  WritePlan,
} from "../adapter_kit/changes.ts";
import { keyTextOf, sameValue, targetRowValues, where } from "../engine/records.ts";
import { ConflictError, ConversionError, InputError, showValue } from "../model/errors.ts";
import type { FieldLayout, FieldSlot } from "../engine/fields.ts";
import { inWriteSession, type Target } from "../adapter_kit/importer.ts";
import { checkLimits, deleteGuard, type Limits } from "../engine/plan.ts";
import type { FieldType, Row } from "../model/types.ts";
import { convertJsonValue, convertValue, isJsonObject, parseJsonExact } from "../model/values.ts";
import { inferType } from "../model/inference.ts";

/** One parsed line of a plan file. */
export type PlanLine =
  & {
    key: ChangeValues;
    /** Target values the change expects (checked; missing on an update or delete: a conflict). */
    before?: ChangeValues;
    /** 1-based line number in the plan file. */
    line: number;
  }
  & (
    | { op: "create" | "update"; after: ChangeValues }
    | { op: "delete"; after?: ChangeValues }
  );

/** Apply options. */
export interface ApplyOptions {
  /** Apply even when the target moved on since the plan was made. Default false. */
  force?: boolean;
  /** Safety limits, as for a sync. */
  limits?: Limits;
  /**
   * Skip changes the target shows already (a create or update whose `after` values it has, a
   * delete of a record it no longer has) instead of calling them conflicts: for a change feed
   * delivered again after a crash between the target's commit and the acknowledgement.
   */
  skipApplied?: boolean;
}

/** What was applied. */
export interface ApplyResult {
  plan: WritePlan;
  /** Conflicts found (only non-empty with `force`). */
  conflicts: string[];
  /** Changes skipped as applied already (`skipApplied`). */
  skipped: number;
}

/** Parses plan lines; a line that is not a change is an {@linkcode InputError} naming it. */
export async function readPlan(
  lines: AsyncIterable<[string, number]>,
  label: string,
): Promise<PlanLine[]> {
  const changes: PlanLine[] = [];
  for await (const [text, line] of lines) {
    if (text.trim() === "") continue;
    const fail = (why: string) =>
      new InputError(
        `${label}:${line}: ${why}`,
        "a plan line is what `dsync ... -n --format ndjson` prints",
      );
    let value: Record<string, unknown>;
    try {
      value = parseJsonExact(text) as Record<string, unknown>;
    } catch (error) {
      throw fail(`not valid JSON (${(error as Error).message})`);
    }
    if (!isJsonObject(value)) throw fail("not a JSON object");
    const op = value.op;
    if (op !== "create" && op !== "update" && op !== "delete") {
      throw fail(`"op" must be create, update or delete, not ${showValue(op)}`);
    }
    if (!isJsonObject(value.key) || Object.keys(value.key).length === 0) {
      throw fail('missing "key" object');
    }
    if (op !== "delete" && !isJsonObject(value.after)) {
      throw fail(`a ${op} needs an "after" object`);
    }
    // A missing "before" is accepted here and is a conflict in applyPlan (unless --force).
    if (op !== "create" && value.before !== undefined && !isJsonObject(value.before)) {
      throw fail(`"before" must be an object`);
    }
    const before = value.before as ChangeValues | undefined;
    changes.push(
      op === "delete"
        ? { op, key: value.key, before, after: value.after as ChangeValues | undefined, line }
        : { op, key: value.key, before, after: value.after as ChangeValues, line },
    );
  }
  return changes;
}

/**
 * Checks the plan against the target and applies it in one go: the check and the writes run in
 * one write session of the target (one transaction, under its writer lock), so no other writer
 * can change a record between its check and its write.
 *
 * @throws {ConflictError} when records moved on (unless `force`), listing every conflict.
 */
export function applyPlan(
  target: Target,
  lines: PlanLine[],
  label: string,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  return inWriteSession(target, () => checkAndApply(target, lines, label, options));
}

async function checkAndApply(
  target: Target,
  lines: PlanLine[],
  label: string,
  options: ApplyOptions,
): Promise<ApplyResult> {
  const info = await target.describe();
  const names: string[] = [];
  const keyNames = lines.length ? Object.keys(lines[0].key) : [];
  const add = (record: Record<string, unknown> | undefined) => {
    for (const name of Object.keys(record ?? {})) if (!names.includes(name)) names.push(name);
  };
  for (const change of lines) {
    if (Object.keys(change.key).join(",") !== keyNames.join(",")) {
      throw new InputError(
        `${label}:${change.line}: key fields differ from the first line's (${keyNames.join(",")})`,
      );
    }
    add(change.key);
    add(change.after);
    add(change.before);
  }
  const targetIndex = new Map(info.fields.map((f, i) => [f.name, i]));
  const fields: FieldSlot[] = names.map((name, i) => {
    const index = info.exists ? targetIndex.get(name) : -1;
    if (index === undefined) {
      throw new InputError(`${label}: field '${name}' is not in ${target.label}`);
    }
    const type: FieldType = info.exists && info.typed ? info.fields[index].type : "auto";
    return {
      name,
      type,
      nativeType: info.fields[index]?.nativeType,
      respell: info.exists && info.typed ? info.fields[index]?.respell : undefined,
      sourceIndex: i,
      targetIndex: index,
      sourceType: "auto",
    };
  });
  if (!info.exists && info.typed) {
    for (const field of fields) {
      field.type = inferType(lines.flatMap((c) => [c.after?.[field.name], c.key[field.name]]));
    }
  }
  const layout: FieldLayout = {
    fields,
    key: keyNames,
    keyIndexes: keyNames.map((k) => names.indexOf(k)),
  };

  const toRow = (record: Record<string, unknown> | undefined, line: number): Row =>
    fields.map((f) => {
      if (!record || !(f.name in record)) return null;
      try {
        // A change set is JSON: in a `json` field a string is a JSON string, not JSON text.
        if (f.type === "json") return convertJsonValue(record[f.name]);
        const value = convertValue(record[f.name], f.type);
        return f.respell ? f.respell(value) : value;
      } catch (error) {
        if (!(error instanceof ConversionError)) throw error;
        throw new InputError(`${label}:${line}: field '${f.name}': ${error.message}`);
      }
    });
  const planned = new Map<string, { line: PlanLine; key: Row; before: Row; after: Row }>();
  for (const line of lines) {
    const key = toRow(line.key, line.line);
    const text = keyTextOf(key, layout, label, line.line);
    if (planned.has(text)) {
      throw new InputError(
        `${label}:${line.line}: a second change for the key of line ${
          planned.get(text)!.line.line
        }`,
      );
    }
    planned.set(text, {
      line,
      key,
      before: toRow({ ...line.before, ...line.key }, line.line),
      after: toRow({ ...line.after, ...line.key }, line.line),
    });
  }

  const conflicts: string[] = [];
  const found = new Map<string, Row>();
  let targetCount = 0;
  if (info.exists) {
    for await (const batch of target.read(5000)) {
      for (const row of batch.rows) {
        targetCount++;
        const current = targetRowValues(row, layout);
        const text = keyTextOf(current, layout, target.label);
        if (planned.has(text)) found.set(text, current);
      }
    }
  }
  const creates: CreateChange[] = [];
  const updates: UpdateChange[] = [];
  const deletes: DeleteChange[] = [];
  let skipped = 0;
  /** Whether the target already has every `after` value of the change. */
  const shows = (p: { line: PlanLine; after: Row }, current: Row) =>
    Object.keys(p.line.after ?? {}).every((name) => {
      const i = names.indexOf(name);
      return sameValue(p.after[i], current[i], fields[i]);
    });
  for (const [text, p] of planned) {
    const current = found.get(text);
    const keyOnly = layout.keyIndexes.map((i) => p.key[i]);
    const at = `${where(label, p.line.line)}: ${p.line.op} ${JSON.stringify(p.line.key)}`;
    if (
      options.skipApplied &&
      (p.line.op === "delete" ? !current : current !== undefined && shows(p, current))
    ) {
      skipped++;
      continue;
    }
    if (p.line.op === "create") {
      if (current) {
        conflicts.push(`${at}: the record exists already`);
        if (options.force) {
          updates.push({
            op: "update",
            key: keyOnly,
            keyText: text,
            after: p.after,
            before: current,
            changed: changedIn(p.line.after),
          });
        }
        continue;
      }
      creates.push({ op: "create", key: keyOnly, keyText: text, after: p.after });
      continue;
    }
    if (!current) {
      conflicts.push(`${at}: the record no longer exists`);
      continue;
    }
    const unchecked = uncheckedFields(p.line);
    if (unchecked) {
      conflicts.push(`${at}: ${unchecked}`);
      if (!options.force) continue;
    }
    const moved = Object.keys(p.line.before ?? {}).filter((name) => {
      const i = names.indexOf(name);
      return !sameValue(p.before[i], current[i], fields[i]);
    });
    if (moved.length) {
      conflicts.push(
        `${at}: ${
          moved.map((n) => `'${n}' is now ${showValue(current[names.indexOf(n)])}`).join(", ")
        }`,
      );
      if (!options.force) continue;
    }
    if (p.line.op === "update") {
      updates.push({
        op: "update",
        key: keyOnly,
        keyText: text,
        after: p.after,
        before: current,
        changed: changedIn(p.line.after),
      });
    } else deletes.push({ op: "delete", key: keyOnly, keyText: text, before: current });
  }
  if (conflicts.length && !options.force) {
    throw new ConflictError(
      `${conflicts.length} conflict${
        conflicts.length > 1 ? "s" : ""
      }: the target moved on since the plan was made; nothing applied\n  ${conflicts.join("\n  ")}`,
      "make a new plan, or apply this one anyway with --force",
    );
  }

  function changedIn(after: Record<string, unknown>): number[] {
    return Object.keys(after).map((name) => names.indexOf(name)).filter((i) =>
      !layout.keyIndexes.includes(i)
    );
  }

  const plan: WritePlan = {
    fields: fields.map((f) => ({ name: f.name, type: f.type, nativeType: f.nativeType })),
    keyIndexes: layout.keyIndexes,
    createTarget: !info.exists,
    creates,
    updates,
    deletes,
    targetKey: (row) => keyTextOf(targetRowValues(row, layout), layout, target.label),
    targetIndexes: fields.map((f) => f.targetIndex),
  };
  checkLimits(options.limits ?? {}, plan, targetCount);
  const refusal = deleteGuard(options.limits ?? {}, deletes.length, targetCount);
  if (refusal) throw refusal;
  await target.apply(plan);
  return { plan, conflicts, skipped };
}

/**
 * Why an update or delete cannot be checked against the target — no `before`, or an update's
 * `before` without a field it changes — or undefined when it can. Such a change is a conflict:
 * applying it would overwrite whatever is there unseen.
 */
function uncheckedFields(line: PlanLine): string | undefined {
  const before = Object.keys(line.before ?? {});
  if (before.length === 0) return `no "before" values to check the record against`;
  if (line.op !== "update") return undefined;
  const missing = Object.keys(line.after ?? {}).filter((name) =>
    !before.includes(name) && !(name in line.key)
  );
  return missing.length
    ? `"before" has no value for ${missing.map((n) => `'${n}'`).join(", ")} to check`
    : undefined;
}
