/**
 * The one-transaction write of a plan to a MySQL table: the table created first (CREATE TABLE
 * commits on its own, so it is dropped again on failure), then creates by LOAD DATA LOCAL
 * INFILE or multi-row INSERTs, updates and deletes by key, one COMMIT.
 *
 * @module
 */
import type { Connection as PromiseConnection } from "mysql2/promise";
import type { Readable } from "node:stream";
import { showKey, type WritePlan } from "../../adapter_kit/changes.ts";
import { TargetError } from "../../model/errors.ts";
import { createTableSql } from "../../adapter_kit/sql.ts";
import { mysqlDialect, quoteIdent } from "./dialect.ts";
import type { MysqlColumn } from "./values.ts";
import { loadDataChunks, loadDataSql } from "./load_data.ts";
import { deleteByKey, insertRows, nthChange, updateByKey } from "./writes.ts";
import { changeRows } from "./plan.ts";
import { dropCreated } from "./load.ts";

/** From this many creates on, LOAD DATA LOCAL INFILE (when the server allows it), else INSERTs. */
const LOAD_DATA_ROWS = 100;

/** The table {@linkcode writePlan} writes and what it knows of its session. */
export interface WriteTable {
  /** `` `db`.`table` `` */
  table: string;
  /** The dataset's label, for messages. */
  label: string;
  /** The table's storage engine, named when it is not transactional. */
  engine: string;
  /** Whether the engine rolls back (InnoDB), so that a failure writes nothing. */
  transactional: boolean;
  /** What CREATE TABLE ends with (engine, charset, collation). */
  tableOptions: string;
  /** Whether the server takes LOAD DATA LOCAL INFILE. */
  localInfile: boolean;
  /** Sets the stream the next LOAD DATA LOCAL INFILE reads (the connection's infile factory). */
  infile: (stream: Readable | undefined) => void;
  /** A driver error as one line, secrets removed. */
  message: (error: unknown) => string;
  /** A new connection, in place of `conn` when a failure closed it (to drop what was created). */
  reconnect: () => Promise<PromiseConnection>;
}

/**
 * Writes `plan` (its values checked against `columns`) in one transaction on `conn`; a failure
 * rolls back and is a {@linkcode TargetError} naming the step or record at fault.
 */
export async function writePlan(
  conn: PromiseConnection,
  plan: WritePlan,
  columns: (MysqlColumn | undefined)[],
  t: WriteTable,
  progress?: (written: number) => void,
): Promise<void> {
  let current = "starting the transaction";
  let failing: string | undefined;
  let created = false;
  const transactional = t.transactional;
  const onFailing = transactional ? (what: string) => failing = what : undefined;
  try {
    if (plan.createTarget) {
      // CREATE TABLE commits implicitly in MySQL: it runs before the transaction, and is
      // dropped again when the transaction fails.
      current = "creating the table";
      await conn.query(
        createTableSql(mysqlDialect, t.table, plan.fields, plan.keyIndexes) +
          t.tableOptions,
      );
      created = true;
    }
    current = "starting the transaction";
    await conn.query("START TRANSACTION");
    let written = 0;
    if (plan.load === "truncate") {
      // TRUNCATE would commit: DELETE empties the table inside the transaction.
      current = "emptying the table";
      await conn.query(`DELETE FROM ${t.table}`);
    }
    const deleteFirst = plan.load === "delete_insert" && plan.deletes.length > 0;
    if (deleteFirst) {
      current = "deleting the records to insert again";
      await deleteByKey(conn, t.table, plan, columns, onFailing);
    }
    if (plan.creates.length) {
      current = "creating records";
      // A load undone to its savepoint stays written in a non-transactional table.
      const loaded = t.localInfile && transactional &&
        plan.creates.length >= LOAD_DATA_ROWS &&
        await loadData(conn, plan, columns, t, progress);
      if (!loaded) {
        const insert = `INSERT INTO ${t.table} (${
          plan.fields.map((f) => quoteIdent(f.name)).join(", ")
        }) VALUES `;
        await insertRows(
          conn,
          insert,
          columns,
          plan.fields,
          changeRows(plan.creates),
          (n) => {
            written = n;
            progress?.(n);
          },
          transactional
            ? (index) => {
              const change = nthChange(plan.creates, index);
              failing = change ? `creating record ${showKey(plan, change.key)}` : undefined;
            }
            : undefined,
        );
      }
      written = plan.creates.length;
    }
    if (plan.updates.length) {
      current = "updating records";
      await updateByKey(conn, t.table, plan, columns, onFailing);
      written += plan.updates.length;
      progress?.(written);
    }
    if (plan.deletes.length && !deleteFirst) {
      current = "deleting records";
      await deleteByKey(conn, t.table, plan, columns, onFailing);
      written += plan.deletes.length;
      progress?.(written);
    }
    current = "committing";
    await conn.query("COMMIT");
  } catch (error) {
    await conn.query("ROLLBACK").catch(() => {});
    if (created) await dropCreated(conn, t.table, t.reconnect);
    const outcome = transactional
      ? "rolled back, nothing written"
      : `the engine ${t.engine} is not transactional: what was written before the failure stays`;
    throw new TargetError(
      `${t.label}: failed while ${failing ?? current}: ${t.message(error)}; ${outcome}`,
    );
  } finally {
    await conn.query("DROP TEMPORARY TABLE IF EXISTS dsync_update, dsync_delete").catch(() => {});
  }
}

/**
 * Creates by LOAD DATA LOCAL INFILE in a savepoint: true when every row went in without a
 * warning; else undoes it and returns false, so that the INSERTs (which strict mode stops at
 * the exact record) run instead.
 */
async function loadData(
  conn: PromiseConnection,
  plan: WritePlan,
  columns: (MysqlColumn | undefined)[],
  t: WriteTable,
  progress?: (written: number) => void,
): Promise<boolean> {
  const { Readable } = await import("node:stream");
  const types = plan.fields.map((f) => f.type);
  const sql = loadDataSql(t.table, plan.fields.map((f) => f.name), columns, types);
  await conn.query("SAVEPOINT dsync_load");
  t.infile(Readable.from(loadDataChunks(changeRows(plan.creates), types, progress)));
  try {
    const [result] = await conn.query(sql);
    const { affectedRows, warningStatus } = result as {
      affectedRows: number;
      warningStatus: number;
    };
    if (affectedRows === plan.creates.length && warningStatus === 0) return true;
  } catch (error) {
    // A server error (not a warning) stops the load: the INSERTs find the record.
    if (!(error as { sqlState?: string }).sqlState) throw error;
  } finally {
    t.infile(undefined);
  }
  await conn.query("ROLLBACK TO SAVEPOINT dsync_load");
  return false;
}
