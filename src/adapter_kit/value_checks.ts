/**
 * Values a typed target would refuse or silently change (too long, out of range, more digits
 * than the column keeps) are input errors before anything is written. Each adapter knows its
 * column types and writes the checks; walking the change set and naming the record lives here.
 *
 * @example
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { checkPlanValues, codePoints } from "./value_checks.ts";
 * const plan = {
 *   fields: [{ name: "id", type: "integer" }, { name: "code", type: "text" }],
 *   keyIndexes: [0],
 *   creates: [{ op: "create", key: [1], after: [1, "toolong"] }],
 *   updates: [],
 *   deletes: [],
 * } as const;
 * const tooLong = (v: unknown) =>
 *   typeof v === "string" && codePoints(v) > 3 ? "longer than 3 characters" : undefined;
 * // deno-lint-ignore no-explicit-any
 * throws(() => checkPlanValues(plan as any, [undefined, tooLong], "t"), /field 'code': longer/);
 * ```
 * @module
 */
import { InputError } from "../model/errors.ts";
import { showKey, sourceWhere, type WritePlan } from "./changes.ts";

/** Why a value does not fit its column, or undefined when it does. */
export type ValueCheck = (value: unknown) => string | undefined;

/**
 * Throws an {@linkcode InputError} naming the first record of `plan` with a value its field's
 * check refuses: every field of a create, the changed fields of an update. `checks` follow
 * `plan.fields`; `label` names the target; `hint` is the error's second line.
 */
export function checkPlanValues(
  plan: WritePlan,
  checks: (ValueCheck | undefined)[],
  label: string,
  hint = "nothing was written; fix the value or widen the column",
): void {
  if (checks.every((c) => c === undefined)) return;
  const fail = (change: { key: unknown[]; position?: number }, i: number, why: string) =>
    new InputError(
      `${label}: record ${showKey(plan, change.key)}${sourceWhere(plan, change)}: field '${
        plan.fields[i].name
      }': ${why}`,
      hint,
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

/** Code points of a string: SQL servers count characters, not UTF-16 units. */
export function codePoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}
