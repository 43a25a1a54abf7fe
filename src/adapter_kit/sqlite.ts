/**
 * The one way dsync opens a SQLite file (the `sqlite` adapter, the webhook's delivery state, the
 * pipelines' watermark state): `node:sqlite` with a busy timeout, so a second writer waits for
 * the first instead of failing at once with "database is locked".
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { openSqlite } from "./sqlite.ts";
 * const db = openSqlite(":memory:");
 * deepStrictEqual({ ...db.prepare("PRAGMA busy_timeout").get() }, { timeout: 5000 });
 * db.close();
 * ```
 * @module
 */
import { DatabaseSync } from "node:sqlite";

/** How long a statement waits for another connection's lock before it fails. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/** Opens (or, unless read-only, creates) a SQLite database with dsync's settings. */
export function openSqlite(path: string, options: { readOnly?: boolean } = {}): DatabaseSync {
  const db = new DatabaseSync(path, { readOnly: options.readOnly ?? false });
  try {
    db.exec(`PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
