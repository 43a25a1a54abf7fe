/**
 * The write steps of one transaction on a PostgreSQL table: creates through `COPY ... FROM
 * STDIN`; updates and deletes set-based, joined with a temporary table loaded by COPY. A failing
 * step names the record at fault through `onFailing` (the COPY line, or a bisection over the
 * temporary table's row numbers) before its error propagates.
 *
 * @example
 * ```ts ignore
 * await sql.begin(async (tx) => {
 *   await createRows(tx, '"public"."users"', plan, progress, (what) => failing = what);
 *   await updateRows(tx, '"public"."users"', plan, (what) => failing = what);
 *   await deleteRows(tx, '"public"."users"', plan, (what) => failing = what);
 * });
 * ```
 * @module
 */
import type { Sql, TransactionSql } from "postgres";
import { showKey, type WritePlan } from "../../adapter_kit/changes.ts";
import { nth } from "../../adapter_kit/batches.ts";
import { ansiQuote as quoteIdent, createTableSql } from "../../adapter_kit/sql.ts";
import { stagingName } from "../../adapter_kit/load.ts";
import { firstFailingRow } from "../../adapter_kit/failing_row.ts";
import type { FieldType } from "../../model/types.ts";
import { afterValues, copyIn, copyRows } from "./copy.ts";
import { type PgColumn, readTable } from "./catalog.ts";
import { checkValues } from "./checks.ts";
import { postgresDialect } from "./dialect.ts";

/** The table {@linkcode writeSteps} writes. */
export interface WriteTarget {
  /** The table's schema and name, unquoted. */
  schema: string;
  table: string;
  /** The dataset's label, for messages. */
  label: string;
  /**
   * The table's columns changed: read again after creating it, or unknown (`undefined`)
   * after a staging table replaced it.
   */
  columnsChanged: (columns: PgColumn[] | undefined) => void;
}

/**
 * The steps of a write, in `tx`: the table (or a full-refresh's staging table) created, emptied
 * or cleared for a delete-insert, then creates, updates and deletes; `step` tells which one runs
 * (for the message).
 */
export async function writeSteps(
  tx: TransactionSql,
  plan: WritePlan,
  target: WriteTarget,
  step: { current: string; failing?: string },
  progress?: (written: number) => void,
): Promise<void> {
  const qualified = `${quoteIdent(target.schema)}.${quoteIdent(target.table)}`;
  const replace = plan.load === "replace";
  // full-refresh loads a staging table, renamed over the table at the end.
  const table = replace
    ? `${quoteIdent(target.schema)}.${quoteIdent(stagingName(target.table))}`
    : qualified;
  const onFailing = (what: string) => step.failing = what;
  let written = 0;
  if (plan.createTarget || replace) {
    step.current = replace ? "creating the staging table" : "creating the table";
    if (replace) await tx.unsafe(`drop table if exists ${table}`);
    await tx.unsafe(
      createTableSql(postgresDialect, table, plan.fields, plan.keyIndexes, plan.sourceDialect),
    );
    // The new columns' checks (a timestamp keeps 6 fractional digits, no leap second), before
    // any record is written: a failure rolls the CREATE back with the rest.
    const created = plan.createTarget
      ? await readTable(tx as unknown as Sql, target.schema, target.table)
      : undefined;
    if (created) {
      target.columnsChanged(created.columns);
      checkValues(plan, created.columns, target.label);
    }
  }
  if (plan.load === "truncate") {
    step.current = "emptying the table (TRUNCATE)";
    await tx.unsafe(`truncate table ${table}`);
  }
  const deleteFirst = plan.load === "delete_insert" && plan.deletes.length > 0;
  if (deleteFirst) {
    step.current = "deleting the records to insert again";
    await deleteRows(tx, table, plan, onFailing);
  }
  if (plan.creates.length) {
    step.current = "creating records (COPY)";
    await createRows(tx, table, plan, (n) => {
      written = n;
      progress?.(n);
    }, onFailing);
    written = plan.creates.length;
    progress?.(written);
  }
  if (plan.updates.length) {
    step.current = "updating records";
    await updateRows(tx, table, plan, onFailing);
    written += plan.updates.length;
    progress?.(written);
  }
  if (plan.deletes.length && !deleteFirst) {
    step.current = "deleting records";
    await deleteRows(tx, table, plan, onFailing);
    written += plan.deletes.length;
    progress?.(written);
  }
  if (replace) {
    step.current = "replacing the table with the staging table";
    await tx.unsafe(`drop table ${qualified}`);
    await tx.unsafe(`alter table ${table} rename to ${quoteIdent(target.table)}`);
    target.columnsChanged(undefined);
  }
}

/** Up to this many distinct changed-field sets, one UPDATE each; beyond, one UPDATE with CASEs. */
const MAX_UPDATE_STATEMENTS = 16;

/** Copies the creates of `plan` into `table` (`schema.table`, quoted). */
export async function createRows(
  tx: TransactionSql,
  table: string,
  plan: WritePlan,
  progress: (rows: number) => void,
  onFailing: (what: string) => void,
): Promise<void> {
  const names = plan.fields.map((f) => quoteIdent(f.name));
  try {
    await copyIn(
      tx,
      `copy ${table} (${names.join(", ")}) from stdin`,
      copyRows(plan.fields, afterValues(plan.creates), progress),
    );
  } catch (error) {
    const line = /\bline (\d+)\b/.exec((error as { where?: string }).where ?? "");
    const change = line ? nth(plan.creates, Number(line[1]) - 1) : undefined;
    if (change) onFailing(`creating record ${showKey(plan, change.key)}`);
    throw error;
  }
}

/** Loads keys (and values) of `changes` into a temporary table, numbered from 1. */
async function loadTemp(
  tx: TransactionSql,
  table: string,
  name: string,
  plan: WritePlan,
  fieldIndexes: number[],
  rows: unknown[][],
  extra: { name: string; type: string }[],
): Promise<void> {
  const select = fieldIndexes.map((f, i) => `t.${quoteIdent(plan.fields[f].name)} as f${i}`)
    .concat(extra.map((e) => `null::${e.type} as ${e.name}`));
  await tx.unsafe(
    `create temp table ${name} on commit drop as select ${
      select.join(", ")
    } from ${table} t with no data`,
  );
  const columns = fieldIndexes.map((_, i) => `f${i}`).concat(extra.map((e) => e.name));
  const fields = fieldIndexes.map((f) => plan.fields[f]).concat(
    extra.map((e) => ({ name: e.name, type: "auto" as FieldType })),
  );
  await copyIn(tx, `copy ${name} (${columns.join(", ")}) from stdin`, copyRows(fields, rows));
  await tx.unsafe(`analyze ${name}`);
}

/**
 * Applies the updates of `plan` to `table`: one UPDATE per distinct set of changed fields, or
 * one UPDATE with a CASE per field when there are more than {@linkcode MAX_UPDATE_STATEMENTS}.
 */
export async function updateRows(
  tx: TransactionSql,
  table: string,
  plan: WritePlan,
  onFailing: (what: string) => void,
): Promise<void> {
  const keySet = new Set(plan.keyIndexes);
  const updates = [...plan.updates];
  const changedSet = new Set<number>();
  for (const u of updates) for (const i of u.changed) changedSet.add(i);
  const setFields = [...changedSet].filter((i) => !keySet.has(i)).sort((a, b) => a - b);
  if (setFields.length === 0) return;
  const tempFields = [...plan.keyIndexes, ...setFields];
  const signatures = new Map<string, number>();
  const sigOf = updates.map((u) => {
    const s = u.changed.filter((i) => !keySet.has(i)).join(",");
    if (!signatures.has(s)) signatures.set(s, signatures.size);
    return signatures.get(s)!;
  });
  const useCase = signatures.size > MAX_UPDATE_STATEMENTS;
  const rows = updates.map((u, r) => {
    const row: unknown[] = tempFields.map((f) => u.after[f]);
    row.push(r + 1, sigOf[r]);
    if (useCase) {
      const changed = new Set(u.changed);
      row.push(`{${setFields.map((f) => changed.has(f) ? "t" : "f").join(",")}}`);
    }
    return row;
  });
  await loadTemp(
    tx,
    table,
    "dsync_update",
    plan,
    tempFields,
    rows,
    [{ name: "n", type: "bigint" }, { name: "s", type: "int4" }].concat(
      useCase ? [{ name: "c", type: "boolean[]" }] : [],
    ),
  );
  const keyMatch = plan.keyIndexes.map((f, i) => `t.${quoteIdent(plan.fields[f].name)} = u.f${i}`)
    .join(" and ");
  const tempIndex = (f: number) => plan.keyIndexes.length + setFields.indexOf(f);
  const statements: string[] = [];
  if (useCase) {
    const sets = setFields.map((f, j) => {
      const col = quoteIdent(plan.fields[f].name);
      return `${col} = case when u.c[${j + 1}] then u.f${tempIndex(f)} else t.${col} end`;
    });
    statements.push(
      `update ${table} t set ${sets.join(", ")} from dsync_update u where ${keyMatch}`,
    );
  } else {
    for (const [signature, id] of signatures) {
      const fields = signature.split(",").map(Number);
      const sets = fields.map((f) => `${quoteIdent(plan.fields[f].name)} = u.f${tempIndex(f)}`);
      statements.push(
        `update ${table} t set ${
          sets.join(", ")
        } from dsync_update u where ${keyMatch} and u.s = ${id}`,
      );
    }
  }
  for (const statement of statements) {
    await runFindingRow(tx, statement, updates.length, (n) => {
      onFailing(`updating record ${showKey(plan, updates[n - 1].key)}`);
    });
  }
}

/** Applies the deletes of `plan` to `table`, in one DELETE joined with a temporary table. */
export async function deleteRows(
  tx: TransactionSql,
  table: string,
  plan: WritePlan,
  onFailing: (what: string) => void,
): Promise<void> {
  const deletes = [...plan.deletes];
  const rows = deletes.map((d, r) => [...d.key, r + 1]);
  await loadTemp(tx, table, "dsync_delete", plan, plan.keyIndexes, rows, [{
    name: "n",
    type: "bigint",
  }]);
  const keyMatch = plan.keyIndexes.map((f, i) => `t.${quoteIdent(plan.fields[f].name)} = u.f${i}`)
    .join(" and ");
  await runFindingRow(
    tx,
    `delete from ${table} t using dsync_delete u where ${keyMatch}`,
    deletes.length,
    (n) => onFailing(`deleting record ${showKey(plan, deletes[n - 1].key)}`),
  );
}

/**
 * Runs `statement` (an UPDATE/DELETE joined with a temp table aliased `u` with a row number `n`)
 * in a savepoint. When it fails, finds the first row that fails alone by bisection over `n`
 * (each probe in a savepoint, undone), reports it, and rethrows the original error.
 */
async function runFindingRow(
  tx: TransactionSql,
  statement: string,
  count: number,
  report: (n: number) => void,
): Promise<void> {
  await tx.unsafe("savepoint dsync_step");
  try {
    await tx.unsafe(statement);
    await tx.unsafe("release savepoint dsync_step");
    return;
  } catch (error) {
    await tx.unsafe("rollback to savepoint dsync_step");
    const fails = async (lo: number, hi: number) => {
      try {
        await tx.unsafe(`${statement} and u.n between ${lo} and ${hi}`);
        return false;
      } catch {
        return true;
      } finally {
        await tx.unsafe("rollback to savepoint dsync_step");
      }
    };
    const row = await firstFailingRow(count, fails);
    if (row !== undefined) report(row);
    throw error;
  }
}
