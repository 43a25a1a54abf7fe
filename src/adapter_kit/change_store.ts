/**
 * Change stores: the ids of changed rows kept outside the source database — a Redis stream or a
 * NATS JetStream subject — between "provide" (`dsync capture follow --change-store URL` moving
 * the triggers' or the replication slot's changes there, or an application writing them itself)
 * and "execute" (`--strategy changes --change-store URL`).
 *
 * An entry is one changed key: the JSON object of the key fields' values (`{"id":"42"}`, the
 * same text `dsync_changes.key` holds) and, optionally, the op. Entries are read oldest first
 * and removed one by one by their store id, and only after the target committed: an entry
 * written while a run goes on has an id the run did not read, so it stays for the next run.
 *
 * @example
 * ```ts ignore
 * const store = await redisImporter.openChangeStore!("redis://127.0.0.1:6379/0#dsync:users", { options: {} });
 * await store.add([{ key: '{"id":"42"}', op: "update" }]);
 * const entries = await store.read();       // [{ id: "1700000000000-0", key: '{"id":"42"}', op: "update" }]
 * await store.remove(entries.map((e) => e.id));
 * await store.close();
 * ```
 * @module
 */

/** One changed key in a store. */
export interface StoredChange {
  /** The store's own id of the entry (a Redis stream id, a JetStream sequence), as text. */
  id: string;
  /** The JSON object of the key fields' values as text: `{"id":"42"}`. */
  key: string;
  /** What happened, when the writer said (execute does not need it: it fetches the row). */
  op?: string;
}

/** The ids of changed rows of one table, outside the source database. */
export interface ChangeStore {
  /** How messages name it; no secrets. */
  readonly label: string;
  /** Appends `changes` (`op`: insert, update or delete), acknowledged when this resolves. */
  add(changes: { key: string; op: string }[]): Promise<void>;
  /** Every entry there now, oldest first. */
  read(): Promise<StoredChange[]>;
  /** Removes exactly the entries with these ids (entries added since stay). */
  remove(ids: string[]): Promise<void>;
  /** Releases the connection. Safe to call twice. */
  close(): Promise<void>;
}

/** What an adapter's `openChangeStore` gets. */
export interface ChangeStoreContext {
  /** Command-line options. */
  options: Record<string, unknown>;
}
