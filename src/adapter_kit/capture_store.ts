/**
 * Change capture with a change store (adapter_kit/change_store.ts) in between: "provide" moves
 * the changes the triggers (or the replication slot) recorded in the source database into the
 * store — added there, acknowledged, and only then deleted from `dsync_changes`, so a crash in
 * between stores them twice, never loses them — and "execute" reads the store's entries instead
 * of the change table, removing them after the target committed.
 *
 * @example
 * ```ts ignore
 * const store = await redisImporter.openChangeStore!("redis://127.0.0.1:6379/0#dsync:users", { options: {} });
 * await forwardChanges(driver, store);              // dsync capture follow … --change-store URL --once
 * const pending = await storedChanges(driver, store); // --strategy changes --change-store URL
 * await pending.remove();                           // after the target committed
 * ```
 * @module
 */
import {
  changeRows,
  CHANGES_PER_DRAIN,
  checkInstalled,
  type PendingChanges,
  pendingOf,
  type PendingOptions,
  removeIds,
} from "./capture.ts";
import type { CaptureDriver } from "./capture.ts";
import type { ChangeStore } from "./change_store.ts";

/**
 * The changes `store` holds for the driver's table: the rows of its keys, as they are now in the
 * source. Capture need not be installed: any writer may fill the store.
 *
 * @throws {InputError} for an entry whose key is not a JSON object of the other entries' fields.
 */
export async function storedChanges(
  driver: CaptureDriver,
  store: ChangeStore,
  options: PendingOptions = {},
): Promise<PendingChanges> {
  const entries = await store.read();
  return await pendingOf(driver, entries, store.label, (ids) => store.remove(ids), options);
}

/**
 * Moves up to `limit` of the table's recorded changes (logical decoding: first out of its
 * replication slot) into `store`, oldest first; `more`: there may be more.
 *
 * @throws {UsageError} when capture is not installed on the table.
 */
export async function forwardChanges(
  driver: CaptureDriver,
  store: ChangeStore,
  limit = CHANGES_PER_DRAIN,
): Promise<{ recorded: number; more: boolean }> {
  await checkInstalled(driver);
  const drained = driver.drainSlot ? await driver.drainSlot(limit) : { more: false };
  const rows = await changeRows(driver, limit);
  if (rows.length) {
    await store.add(rows.map((r) => ({ key: String(r.k), op: String(r.op) })));
    // Only what the store acknowledged leaves the change table.
    await removeIds(driver, rows.map((r) => r.id));
  }
  return { recorded: rows.length, more: drained.more || rows.length >= limit };
}
