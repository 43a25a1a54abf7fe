/**
 * Views of a change set for the MySQL target: the rows of its creates, and the same plan with
 * every value passed through a function (for `--format sql`, values spelled as MySQL parses them).
 *
 * @example
 * ```ts ignore
 * const printable = mappedPlan(plan, (value, field) => bindValue(value, plan.fields[field].type));
 * ```
 * @module
 */
import type {
  ChangeList,
  CreateChange,
  RecordChange,
  WritePlan,
} from "../../adapter_kit/changes.ts";

/** The `after` values of creates, in order. */
export function* changeRows(creates: Iterable<CreateChange>): Generator<unknown[]> {
  for (const change of creates) yield change.after;
}

/** A change list whose changes pass through `map` as they are iterated. */
function mappedList<C extends RecordChange>(list: ChangeList<C>, map: (c: C) => C): ChangeList<C> {
  return {
    get length() {
      return list.length;
    },
    *[Symbol.iterator]() {
      for (const change of list) yield map(change);
    },
  };
}

/** `plan` with every value (rows and keys) passed through `map(value, fieldIndex)`. */
export function mappedPlan(
  plan: WritePlan,
  map: (value: unknown, field: number) => unknown,
): WritePlan {
  const row = (values: unknown[]) => values.map(map);
  const key = (values: unknown[]) => values.map((v, k) => map(v, plan.keyIndexes[k]));
  return {
    ...plan,
    creates: mappedList(plan.creates, (c) => ({ ...c, key: key(c.key), after: row(c.after) })),
    updates: mappedList(
      plan.updates,
      (c) => ({ ...c, key: key(c.key), before: row(c.before), after: row(c.after) }),
    ),
    deletes: mappedList(plan.deletes, (c) => ({ ...c, key: key(c.key), before: row(c.before) })),
  };
}
