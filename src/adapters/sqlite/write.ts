/**
 * The write steps of one apply inside the open transaction: the table (or staging table)
 * created, emptied for a truncate or delete-insert load, then creates in multi-row INSERTs,
 * updates and deletes by key. `at.step` says what is being done, for the rollback message.
 *
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { type CreateChange, showKey, type WritePlan } from "../../adapter_kit/changes.ts";
import { pauseForSignals } from "../../adapter_kit/interrupt.ts";
import { ansiQuote as quoteIdent, createTableSql } from "../../adapter_kit/sql.ts";
import { chunked } from "../../adapter_kit/batches.ts";
import { sqliteDialect } from "./dialect.ts";
import { bindValue } from "./values.ts";

/** Largest multi-row INSERT: binding calls dominate, 200 rows per statement is the sweet spot. */
const INSERT_ROWS = 200;

/** How {@linkcode writeSteps} binds, prepares and reports. */
export interface WriteStepsOptions {
  /** How each field of the plan is bound (the table's affinities checked). */
  bind: ((value: unknown) => unknown)[];
  /** A prepared statement, kept across the applies of one session. */
  prepared: (sql: string) => StatementSync;
  /** What is being done, for the message when it fails. */
  at: { step: string };
  progress?: (written: number) => void;
}

/** Writes `plan` into `table` (quoted; the staging table of a replace load). */
export async function writeSteps(
  db: DatabaseSync,
  plan: WritePlan,
  table: string,
  { bind, prepared, at, progress }: WriteStepsOptions,
): Promise<void> {
  const replace = plan.load === "replace";
  const names = plan.fields.map((f) => quoteIdent(f.name));
  const keyNames = plan.keyIndexes.map((i) => names[i]);
  const keyMatch = keyNames.map((k) => `${k} = ?`).join(" AND ");
  if (plan.createTarget || replace) {
    at.step = replace ? "creating the staging table" : "creating the table";
    if (replace) db.exec(`DROP TABLE IF EXISTS ${table}`);
    db.exec(createTableSql(sqliteDialect, table, plan.fields, plan.keyIndexes));
  }
  if (plan.load === "truncate") {
    at.step = "emptying the table";
    db.exec(`DELETE FROM ${table}`);
  }
  if (plan.load === "delete_insert") {
    at.step = "deleting the records to insert again";
    const statement = db.prepare(`DELETE FROM ${table} WHERE ${keyMatch}`);
    for (const change of plan.deletes) statement.run(...change.key.map(bindValue) as never[]);
  }
  if (plan.creates.length) at.step = "creating records";
  const insertFor = (rows: number) =>
    prepared(
      `INSERT INTO ${table} (${names.join(", ")}) VALUES ` +
        Array(rows).fill(`(${names.map(() => "?").join(", ")})`).join(", "),
    );
  const width = names.length;
  const full = Math.max(1, Math.min(INSERT_ROWS, Math.floor(32000 / width)));
  const fullInsert = plan.creates.length >= full ? insertFor(full) : undefined;
  // One parameter array for every full statement: a million creates bind 8M values.
  const fullValues = new Array<unknown>(full * width);
  let start = 0;
  for (const chunk of chunked(plan.creates, full)) {
    const statement = chunk.length === full ? fullInsert! : insertFor(chunk.length);
    const values = chunk.length === full ? fullValues : new Array<unknown>(chunk.length * width);
    let v = 0;
    for (let r = 0; r < chunk.length; r++) {
      const after = chunk[r].after;
      for (let i = 0; i < width; i++) values[v++] = bind[i](after[i]);
    }
    try {
      statement.run(...(values as never[]));
    } catch (error) {
      at.step = `creating record ${showKey(plan, findFailing(db, insertFor(1), chunk).key)}`;
      throw error;
    }
    start += chunk.length;
    progress?.(start);
    await pauseForSignals();
  }
  let written = plan.creates.length;
  const updateStatements = new Map<string, StatementSync>();
  for (const change of plan.updates) {
    const signature = change.changed.join(",");
    let statement = updateStatements.get(signature);
    if (!statement) {
      const sets = change.changed.map((i) => `${names[i]} = ?`).join(", ");
      statement = db.prepare(`UPDATE ${table} SET ${sets} WHERE ${keyMatch}`);
      updateStatements.set(signature, statement);
    }
    at.step = `updating record ${showKey(plan, change.key)}`;
    statement.run(
      ...change.changed.map((i) => bind[i](change.after[i])) as never[],
      ...change.key.map(bindValue) as never[],
    );
    if (++written % 1000 === 0) {
      progress?.(written);
      await pauseForSignals();
    }
  }
  const deletes = plan.load === "delete_insert" ? [] : plan.deletes;
  const deleteStatement = deletes.length
    ? db.prepare(`DELETE FROM ${table} WHERE ${keyMatch}`)
    : undefined;
  for (const change of deletes) {
    at.step = `deleting record ${showKey(plan, change.key)}`;
    deleteStatement!.run(...change.key.map(bindValue) as never[]);
    if (++written % 1000 === 0) {
      progress?.(written);
      await pauseForSignals();
    }
  }
  progress?.(written);
}

/** The change of a failed multi-row INSERT that fails alone (tried in a savepoint). */
function findFailing(
  db: DatabaseSync,
  insertOne: StatementSync,
  chunk: CreateChange[],
): CreateChange {
  for (const change of chunk) {
    db.exec("SAVEPOINT dsync_probe");
    try {
      insertOne.run(...change.after.map(bindValue) as never[]);
    } catch {
      db.exec("ROLLBACK TO dsync_probe");
      return change;
    }
    db.exec("RELEASE dsync_probe");
  }
  return chunk[0];
}
