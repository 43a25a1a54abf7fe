/**
 * Views of a change set for the MySQL target: the rows of its creates, the same plan with every
 * value passed through a function (for `--format sql`, values spelled as MySQL parses them), the
 * columns its fields are written to, and the values those columns would refuse.
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
import { checkPlanValues } from "../../adapter_kit/value_checks.ts";
import { mysqlDialect } from "./dialect.ts";
import { columnOf, type MysqlColumn, valueCheck } from "./values.ts";

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

/** Columns of the plan's fields: the table's (`columns`), or those dsync declares for a new table. */
export function planColumns(
  plan: WritePlan,
  columns: MysqlColumn[],
): (MysqlColumn | undefined)[] {
  if (plan.createTarget) {
    return plan.fields.map((f, i) =>
      columnOf(
        f.name,
        plan.keyIndexes.includes(i)
          ? mysqlDialect.keyType!(f.type)
          : mysqlDialect.declaredType(f.type),
      )
    );
  }
  const byName = new Map(columns.map((c) => [c.name, c]));
  return plan.fields.map((f) => byName.get(f.name));
}

/**
 * Values the table would refuse or change (too long, out of range, more digits than it keeps,
 * not an ENUM/SET value, ...): an {@linkcode InputError} naming the record, before anything
 * is written.
 */
export function checkValues(
  plan: WritePlan,
  columns: (MysqlColumn | undefined)[],
  label: string,
): void {
  checkPlanValues(plan, columns.map((c) => c && valueCheck(c)), label);
}
