/**
 * The pre-write value check SQL targets share: the first record of a plan holding a value its
 * column would refuse or change, as one {@linkcode InputError} naming table, record, source line,
 * field and why — before anything is written.
 *
 * @example
 * ```ts
 * import { throws } from "node:assert/strict";
 * import type { WritePlan } from "./changes.ts";
 * import { checkPlanValues } from "./value_checks.ts";
 * const plan: WritePlan = {
 *   fields: [{ name: "id", type: "integer" }, { name: "code", type: "text" }],
 *   keyIndexes: [0],
 *   createTarget: false,
 *   creates: [{ op: "create", key: [1], keyText: "1", after: [1, "toolong"] }],
 *   updates: [],
 *   deletes: [],
 *   targetKey: (row) => String(row[0]),
 *   targetIndexes: [0, 1],
 * };
 * const short = (v: unknown) => String(v).length > 3 ? "longer than 3 characters" : undefined;
 * throws(() => checkPlanValues(plan, [undefined, short], "t"), /record id=1: field 'code'/);
 * ```
 * @module
 */
import { showKey, sourceWhere, type WritePlan } from "./changes.ts";
import { InputError } from "../model/errors.ts";

/** Why a value cannot be stored as it is, or undefined when it can. */
export type ValueCheck = (value: unknown) => string | undefined;

/**
 * Throws for the first value `checks` (one per plan field, undefined: no check) refuses: created
 * records, every field; updated ones, the changed fields.
 *
 * @throws {InputError} `label: record KEY (FILE:LINE): field 'NAME': WHY`.
 */
export function checkPlanValues(
  plan: WritePlan,
  checks: (ValueCheck | undefined)[],
  label: string,
): void {
  if (checks.every((c) => c === undefined)) return;
  const fail = (change: { key: unknown[]; position?: number }, i: number, why: string) =>
    new InputError(
      `${label}: record ${showKey(plan, change.key)}${sourceWhere(plan, change)}: field '${
        plan.fields[i].name
      }': ${why}`,
      "nothing was written; fix the value or widen the column",
    );
  for (const change of plan.creates) {
    for (let i = 0; i < checks.length; i++) {
      const why = checks[i]?.(change.after[i]);
      if (why) throw fail(change, i, why);
    }
  }
  for (const change of plan.updates) {
    for (const i of change.changed) {
      const why = checks[i]?.(change.after[i]);
      if (why) throw fail(change, i, why);
    }
  }
}
