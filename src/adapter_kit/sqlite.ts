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
import { WRITE_LOCK_WAIT_MS } from "./importer.ts";

/** How long a statement waits for another connection's lock before it fails. */
export const SQLITE_BUSY_TIMEOUT_MS = WRITE_LOCK_WAIT_MS;

/** Whether `error` is SQLite's "database is locked" (SQLITE_BUSY) after the busy timeout. */
export function isSqliteBusy(error: unknown): boolean {
  const e = error as { errcode?: number; message?: string };
  return (e?.errcode !== undefined && (e.errcode & 0xff) === 5) ||
    /database is locked/.test(e?.message ?? "");
}

/**
 * Opens (or, unless read-only, creates) a SQLite database with dsync's settings; `busyMs`: how
 * long a statement waits for another connection's lock (default {@linkcode SQLITE_BUSY_TIMEOUT_MS}).
 */
export function openSqlite(
  path: string,
  options: { readOnly?: boolean; busyMs?: number } = {},
): DatabaseSync {
  const db = new DatabaseSync(path, { readOnly: options.readOnly ?? false });
  try {
    db.exec(`PRAGMA busy_timeout = ${Math.round(options.busyMs ?? SQLITE_BUSY_TIMEOUT_MS)}`);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
