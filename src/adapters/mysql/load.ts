/**
 * The load-mode statements of a MySQL table that commit on their own (DDL is not transactional
 * in MySQL): a full-refresh's swap of the staging table for the table, and `--add-columns`.
 *
 * @example
 * ```ts ignore
 * await replaceTable(conn, "`db`.`t`", "`db`.`t__dsync_new`", String, "mysql:...#t");
 * ```
 * @module
 */
import type { Connection as PromiseConnection } from "mysql2/promise";
import { TargetError } from "../../model/errors.ts";
import type { Field } from "../../model/types.ts";
import { mysqlDialect, quoteIdent } from "./dialect.ts";

/**
 * Swaps `staging` (loaded and committed) for `table` in one atomic `RENAME TABLE`, then drops
 * the old table; on a failure the staging table is dropped and the table left as it was.
 */
export async function replaceTable(
  conn: PromiseConnection,
  table: string,
  staging: string,
  message: (error: unknown) => string,
  label: string,
): Promise<void> {
  const old = staging.replace(/__dsync_new`$/, "__dsync_old`");
  try {
    await conn.query(`DROP TABLE IF EXISTS ${old}`);
    await conn.query(`RENAME TABLE ${table} TO ${old}, ${staging} TO ${table}`);
  } catch (error) {
    await conn.query(`DROP TABLE IF EXISTS ${staging}`).catch(() => {});
    throw new TargetError(
      `${label}: failed while replacing the table with the staging table: ${
        message(error)
      }; the table is as it was`,
    );
  }
  await conn.query(`DROP TABLE ${old}`).catch(() => {});
}

/**
 * Drops `table` (one the failed write created: committed at once, as DDL is in MySQL). When the
 * failure took the connection with it (a statement over `max_allowed_packet`, a killed session),
 * `reconnect` gives a new one to drop it with. A failure here is left unreported: the write's is.
 */
export async function dropCreated(
  conn: PromiseConnection,
  table: string,
  reconnect: () => Promise<PromiseConnection>,
): Promise<void> {
  const sql = `DROP TABLE IF EXISTS ${table}`;
  try {
    await conn.query(sql);
  } catch {
    try {
      await (await reconnect()).query(sql);
    } catch {
      // the write's error is the one to report
    }
  }
}

/** `ALTER TABLE … ADD COLUMN` for `fields`, one statement. */
export async function addColumnsSql(
  conn: PromiseConnection,
  table: string,
  fields: Field[],
  message: (error: unknown) => string,
  label: string,
): Promise<void> {
  const columns = fields.map((f) =>
    `ADD COLUMN ${quoteIdent(f.name)} ${mysqlDialect.declaredType(f.type)}`
  );
  try {
    await conn.query(`ALTER TABLE ${table} ${columns.join(", ")}`);
  } catch (error) {
    throw new TargetError(`${label}: cannot add columns: ${message(error)}; nothing written`);
  }
}
