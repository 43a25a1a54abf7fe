/**
 * Change capture ("provide") and the changes it recorded ("execute"): a SQL adapter that can
 * record the keys of changed rows of a table in a change table `dsync_changes` (id, table_name,
 * key, op, time) offers a {@linkcode CaptureDriver}: its own connection and its own spelling of
 * the change table and the triggers. Everything else — installing, removing, reading the pending
 * changes, fetching exactly the rows of their keys, removing the processed changes — is written
 * once here, for every dialect.
 *
 * A change row's `key` is a JSON object of the key columns' values as text
 * (`{"id":"42"}`), written by the triggers; `op` is `insert`, `update` or `delete` (an update
 * that changes the key records a delete of the old key and an update of the new one).
 *
 * @example
 * ```ts ignore
 * const driver = await sqliteImporter.openCapture("app.db#users", { options: {} });
 * await installCapture(driver);                  // dsync capture install app.db#users
 * const pending = await pendingChanges(driver);  // the keys changed since
 * for await (const batch of pending.rows.read(500)) {} // exactly those rows (deleted ones are gone)
 * await pending.remove();                        // after the target committed
 * await driver.close();
 * ```
 * @module
 */
import type { Dataset, DatasetInfo, Importer, OpenContext } from "./importer.ts";
import {
  type Dialect,
  keyCondition,
  type SourceQuery,
  type SqlImporter,
  whereClause,
} from "./sql.ts";
import type { RowBatch } from "../model/types.ts";
import { InputError, UsageError } from "../model/errors.ts";

/** The change table's name, in the source table's database (or schema). */
export const CHANGE_TABLE = "dsync_changes";

/** What a change row's `op` says happened to the row at the source. */
export const CAPTURE_OPS = ["insert", "update", "delete"] as const;

/** One of {@linkcode CAPTURE_OPS}. */
export type CaptureOp = typeof CAPTURE_OPS[number];

/** One SQL statement with its bound parameters. */
export interface Statement {
  sql: string;
  params?: unknown[];
}

/**
 * A SQL adapter's side of change capture on one table: its connection (read-write: the change
 * table is written) and the statements only it knows how to spell.
 */
export interface CaptureDriver {
  /** The table, as messages name it (`sqlite:app.db#users`). */
  readonly label: string;
  /** The table's name as the change table's `table_name` holds it (unqualified). */
  readonly tableName: string;
  /** The table, quoted and qualified for this database. */
  readonly quotedTable: string;
  /** The change table, quoted and qualified for this database. */
  readonly changeTable: string;
  /** How the database spells SQL (quotes, placeholders). */
  readonly dialect: Dialect;
  /** The captured table: its fields and primary key (an {@linkcode InputError} when missing). */
  describe(): Promise<DatasetInfo>;
  /**
   * The statements that create the change table when it is missing and (re)create this table's
   * triggers, which record the text of the `keyFields` of each inserted, updated and deleted row.
   */
  installStatements(keyFields: string[]): Statement[];
  /**
   * Logical decoding instead of triggers (optional; PostgreSQL with `wal_level=logical`): creates
   * the change table when it is missing, a publication of the table and a permanent logical
   * replication slot (kept when there already is one: the changes it holds stay).
   */
  installLogical?(): Promise<void>;
  /**
   * Logical decoding: moves the changes the table's replication slot holds (about `limit` of
   * them, whole transactions) into the change table — committed there before the slot advances
   * past them, so a crash in between records them twice, never loses them. `more`: the slot may
   * hold more.
   */
  drainSlot?(limit: number): Promise<{ recorded: number; more: boolean }>;
  /** The statements that drop this table's triggers (and their functions, its publication). */
  removeStatements(): Statement[];
  /**
   * The query of the names (column `t`) of the tables of this database (schema) whose capture
   * triggers are installed.
   */
  capturedQuery(): Statement;
  /** Runs `statements` in one transaction; the rows the last one returned. */
  run(statements: Statement[]): Promise<Record<string, unknown>[]>;
  /** A source reading the result of `query`, a SELECT in this database. */
  openQuery(query: SourceQuery): Promise<Dataset>;
  /** Releases the connection. Safe to call twice. */
  close(): Promise<void>;
}

/** A SQL adapter that can capture changes. */
export interface CaptureImporter extends SqlImporter {
  /** Opens the table `locator` names for change capture. */
  openCapture(locator: string, ctx: OpenContext): Promise<CaptureDriver>;
}

/** Whether `importer` can capture changes. */
export function isCaptureImporter(importer: Importer): importer is CaptureImporter {
  return typeof (importer as Partial<CaptureImporter>).openCapture === "function";
}

/** What `dsync capture install` did. */
export interface InstallResult {
  /** The key fields the triggers record. */
  keyFields: string[];
  /** Whether it replaced triggers already there. */
  replaced: boolean;
}

/**
 * Creates the change table (when missing) and the table's triggers, in one transaction.
 * `keyFields`: the fields to record (default: the table's primary key).
 *
 * @throws {UsageError} when the table has no primary key and no key is given, or a key field
 * is not one of its fields.
 */
export async function installCapture(
  driver: CaptureDriver,
  keyFields?: string[],
  logical = false,
): Promise<InstallResult> {
  const info = await driver.describe();
  const keys = keyFields?.length ? keyFields : info.primaryKey;
  if (logical) {
    if (!driver.installLogical) {
      throw new UsageError(`--logical: ${driver.label} has no logical decoding`);
    }
    if (!info.primaryKey.length || keys.join("\u0000") !== info.primaryKey.join("\u0000")) {
      throw new UsageError(
        `--logical: ${driver.label} needs a primary key, and records only it`,
        "drop --key, or use triggers (without --logical)",
      );
    }
  }
  if (!keys.length) {
    throw new UsageError(
      `${driver.label} has no primary key: which fields identify a row?`,
      "name them with --key COLS",
    );
  }
  const names = info.fields.map((f) => f.name);
  const unknown = keys.find((k) => !names.includes(k));
  if (unknown !== undefined) {
    throw new UsageError(
      `--key ${unknown}: ${driver.label} has no such field`,
      `fields: ${names.join(", ")}`,
    );
  }
  const replaced = (await capturedTables(driver)).includes(driver.tableName);
  if (logical) await driver.installLogical!();
  else await driver.run(driver.installStatements(keys));
  return { keyFields: keys, replaced };
}

/** What `dsync capture remove` did. */
export interface RemoveResult {
  /** Whether the triggers were there. */
  installed: boolean;
  /** Pending changes of the table dropped with them. */
  dropped: number;
  /** Whether the change table went too (no other table is captured). */
  changeTableDropped: boolean;
}

/**
 * Drops the table's triggers and its pending changes; the change table too when no other
 * table of the database is captured any more. One transaction.
 */
export async function removeCapture(driver: CaptureDriver): Promise<RemoveResult> {
  const captured = await capturedTables(driver);
  const installed = captured.includes(driver.tableName);
  const others = captured.filter((t) => t !== driver.tableName);
  const exists = await changeTableExists(driver);
  const ph = (n: number) => driver.dialect.placeholder(n);
  const statements = [...driver.removeStatements()];
  let dropped = 0;
  if (exists) {
    const [row] = await driver.run([{
      sql: `SELECT COUNT(*) AS n FROM ${driver.changeTable} WHERE table_name = ${ph(1)}`,
      params: [driver.tableName],
    }]);
    dropped = Number(row?.n ?? 0);
    statements.push(
      others.length
        ? {
          sql: `DELETE FROM ${driver.changeTable} WHERE table_name = ${ph(1)}`,
          params: [driver.tableName],
        }
        : { sql: `DROP TABLE IF EXISTS ${driver.changeTable}` },
    );
  }
  await driver.run(statements);
  return { installed, dropped, changeTableDropped: exists && !others.length };
}

/** Changes per {@linkcode CaptureDriver.drainSlot} (whole transactions: a batch may hold more). */
export const CHANGES_PER_DRAIN = 5000;
/** How often `dsync capture follow` looks for new changes again after finding none. */
const FOLLOW_POLL_MS = 500;

/** One round of following: changes moved, and whether more may be waiting. */
export type FollowRound = () => Promise<{ recorded: number; more: boolean }>;

/**
 * Moves the table's changes, a batch at a time, until `stop` resolves (the batch being moved is
 * finished first) — or, `once`, until none is left; returns the number moved. By default (logical decoding) from its
 * replication slot into the change table; `round` moves them elsewhere (a change store:
 * adapter_kit/capture_store.ts). Changes made while nothing follows wait where they are.
 *
 * @throws {UsageError} when the driver has no logical decoding (and no `round` is given), or
 * capture is not installed.
 */
export async function followCapture(
  driver: CaptureDriver,
  stop: Promise<unknown>,
  { ready = () => {}, round, once = false }: {
    /** Called once following has begun. */
    ready?: () => void;
    /** How a batch is moved (default: out of the replication slot). */
    round?: FollowRound;
    /** Move what is recorded now, then return: no waiting for more. */
    once?: boolean;
  } = {},
): Promise<number> {
  if (!round && !driver.drainSlot) {
    throw new UsageError(
      `${driver.label}: no logical decoding`,
      "triggers record into dsync_changes as they happen; follow moves them only with --change-store URL",
    );
  }
  const next = round ?? (() => driver.drainSlot!(CHANGES_PER_DRAIN));
  if (!(await capturedTables(driver)).includes(driver.tableName)) {
    throw new UsageError(
      `${driver.label}: no change capture installed`,
      `install it first: dsync capture install${round ? "" : " --logical"} ${
        driver.label.replace(/^[a-z]+:/, "")
      }`,
    );
  }
  let stopped = false;
  let wake = () => {};
  stop.then(() => {
    stopped = true;
    wake();
  });
  let recorded = 0;
  ready();
  while (!stopped) {
    const batch = await next();
    recorded += batch.recorded;
    if (batch.more || stopped) continue;
    if (once) break;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, FOLLOW_POLL_MS);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  return recorded;
}

/** The statements that record `changes` of the driver's table in the change table. */
export function recordStatements(
  driver: CaptureDriver,
  changes: { key: Record<string, string | null>; op: CaptureOp }[],
): Statement[] {
  const ph = (n: number) => driver.dialect.placeholder(n);
  return changes.map(({ key, op }) => ({
    sql: `INSERT INTO ${driver.changeTable} (table_name, ${
      driver.dialect.quoteIdent("key")
    }, op) VALUES (${ph(1)}, ${ph(2)}, ${ph(3)})`,
    params: [driver.tableName, JSON.stringify(key), op],
  }));
}

/** The tables of the driver's database (schema) whose capture triggers are installed. */
export async function capturedTables(driver: CaptureDriver): Promise<string[]> {
  return (await driver.run([driver.capturedQuery()])).map((r) => String(r.t));
}

/** `DROP TRIGGER IF EXISTS` of the three triggers, each named by `name(op)`. */
export function dropTriggers(name: (op: CaptureOp) => string): Statement[] {
  return CAPTURE_OPS.map((op) => ({ sql: `DROP TRIGGER IF EXISTS ${name(op)}` }));
}

async function changeTableExists(driver: CaptureDriver): Promise<boolean> {
  try {
    await driver.run([{ sql: `SELECT 1 FROM ${driver.changeTable} WHERE 1 = 0` }]);
    return true;
  } catch {
    return false;
  }
}

/** The changes recorded for a table and not yet processed. */
export interface PendingChanges {
  /** Change rows read (one key may have several). */
  readonly count: number;
  /** The key fields the changes name, in the order the triggers record them. */
  readonly keyFields: string[];
  /** The distinct keys changed, each the key fields' values as text (null for NULL). */
  readonly keys: (string | null)[][];
  /** The source rows with those keys, as they are now (a key deleted since has none). */
  readonly rows: Dataset;
  /** Removes exactly the change rows read (newer ones stay), in one transaction. */
  remove(): Promise<void>;
}

/** Keys per SELECT: far below every database's bound-parameter limit. */
export const KEYS_PER_QUERY = 500;
/** Change ids per DELETE. */
const IDS_PER_DELETE = 1000;

/** What {@linkcode pendingChanges} reads besides the keys. */
export interface PendingOptions {
  /**
   * A condition on the source table (`--where`): only the changed rows matching it are fetched;
   * a changed key whose row does not match it is read as gone from the source.
   */
  where?: string;
}

/**
 * Reads the table's pending changes: every change row there now, in id order (logical
 * decoding: after moving the changes its replication slot holds there).
 *
 * @throws {UsageError} when capture is not installed on the table.
 * @throws {InputError} for a change row whose key is not what the triggers write.
 */
export async function pendingChanges(
  driver: CaptureDriver,
  options: PendingOptions = {},
): Promise<PendingChanges> {
  await checkInstalled(driver);
  // Logical decoding: what the slot holds joins the change table first.
  if (driver.drainSlot) { while ((await driver.drainSlot(CHANGES_PER_DRAIN)).more); }
  const rows = await changeRows(driver);
  return await pendingOf(
    driver,
    rows.map((r) => ({ id: r.id, key: String(r.k) })),
    CHANGE_TABLE,
    (ids) => removeIds(driver, ids),
    options,
  );
}

/** @throws {UsageError} when capture is not installed on the driver's table. */
export async function checkInstalled(driver: CaptureDriver): Promise<void> {
  if (!(await capturedTables(driver)).includes(driver.tableName)) {
    throw new UsageError(
      `${driver.label}: no change capture installed`,
      `install it first: dsync capture install ${driver.label.replace(/^[a-z]+:/, "")}`,
    );
  }
}

/** The table's change rows (`id`, key text `k`, `op`) in id order; `limit`: the first ones. */
export function changeRows(driver: CaptureDriver, limit?: number) {
  const { dialect } = driver;
  return driver.run([{
    sql: `SELECT id, ${
      dialect.quoteIdent("key")
    } AS k, op FROM ${driver.changeTable} WHERE table_name = ${dialect.placeholder(1)} ORDER BY id${
      limit === undefined ? "" : ` LIMIT ${limit}`
    }`,
    params: [driver.tableName],
  }]);
}

/**
 * The pending changes of `entries` (change rows, or entries of a change store named `where`):
 * their distinct keys and the source rows of those keys; `remove` gets every entry's id.
 *
 * @throws {InputError} for an entry whose key is not a JSON object of the other entries' fields.
 */
export async function pendingOf<Id>(
  driver: CaptureDriver,
  entries: { id: Id; key: string }[],
  where: string,
  remove: (ids: Id[]) => Promise<void>,
  options: PendingOptions = {},
): Promise<PendingChanges> {
  const info = await driver.describe();
  const keys = new Map<string, (string | null)[]>();
  let keyFields: string[] | undefined;
  for (const entry of entries) {
    const fail = (why: string) =>
      new InputError(
        `${driver.label}: change ${entry.id} in ${where}: ${why}: ${entry.key}`,
        "the key is a JSON object of the key fields' values as text, as the triggers write it",
      );
    let key: unknown;
    try {
      key = JSON.parse(entry.key);
    } catch {
      throw fail("the key is not JSON");
    }
    if (key === null || typeof key !== "object" || Array.isArray(key)) {
      throw fail("the key is not a JSON object");
    }
    const names = Object.keys(key);
    keyFields ??= names;
    if (names.join("\u0000") !== keyFields.join("\u0000")) {
      throw fail(`its fields are not those of the other changes (${keyFields.join(", ")})`);
    }
    const values = Object.values(key).map((v) => v === null ? null : String(v));
    keys.set(JSON.stringify(values), values);
  }
  keyFields ??= info.primaryKey;
  const names = info.fields.map((f) => f.name);
  const missing = keyFields.find((k) => !names.includes(k));
  if (missing !== undefined) {
    throw new InputError(
      `${driver.label}: the captured key field '${missing}' is not a field of the table${
        where === CHANGE_TABLE ? " any more" : ` (${where})`
      }`,
      where === CHANGE_TABLE
        ? "reinstall capture: dsync capture remove, then dsync capture install"
        : "write the key fields of the table's primary key (or of --key) into the store",
    );
  }
  const keyList = [...keys.values()];
  const ids = entries.map((e) => e.id);
  return {
    count: ids.length,
    keyFields,
    keys: keyList,
    rows: new KeyedRows(driver, info, keyFields, keyList, options.where),
    remove: () => remove(ids),
  };
}

/** Deletes the change rows `ids` of the driver's change table, in one transaction. */
export async function removeIds(driver: CaptureDriver, ids: unknown[]): Promise<void> {
  const statements: Statement[] = [];
  for (let i = 0; i < ids.length; i += IDS_PER_DELETE) {
    const chunk = ids.slice(i, i + IDS_PER_DELETE);
    statements.push({
      sql: `DELETE FROM ${driver.changeTable} WHERE id IN (${
        chunk.map((_id, n) => driver.dialect.placeholder(n + 1)).join(", ")
      })`,
      params: chunk,
    });
  }
  if (statements.length) await driver.run(statements);
}

/**
 * The SELECT of the rows of `table` whose `keyFields` equal one of `keys` (values bound), and
 * that match `where` when given.
 */
export function keyedSelect(
  dialect: Dialect,
  table: string,
  fields: string[],
  keyFields: string[],
  keys: (string | null)[][],
  where?: string,
): SourceQuery {
  const { condition, params } = keyCondition(dialect, keyFields, keys);
  const columns = fields.map((f) => dialect.quoteIdent(f)).join(", ");
  return {
    sql: `SELECT ${columns} FROM ${table}${whereClause([condition, where])}`,
    params,
    name: table,
  };
}

/** The rows of the changed keys, read a few hundred keys per query. */
class KeyedRows implements Dataset {
  constructor(
    readonly driver: CaptureDriver,
    readonly info: DatasetInfo,
    readonly keyFields: string[],
    readonly keys: (string | null)[][],
    readonly where?: string,
  ) {}

  get label(): string {
    return `${this.driver.label} (captured changes)`;
  }

  describe(): Promise<DatasetInfo> {
    return Promise.resolve({ ...this.info, primaryKey: this.keyFields });
  }

  async *read(batchSize: number): AsyncGenerator<RowBatch> {
    let offset = 0;
    const names = this.info.fields.map((f) => f.name);
    for (let i = 0; i < this.keys.length; i += KEYS_PER_QUERY) {
      const query = keyedSelect(
        this.driver.dialect,
        this.driver.quotedTable,
        names,
        this.keyFields,
        this.keys.slice(i, i + KEYS_PER_QUERY),
        this.where,
      );
      const dataset = await this.driver.openQuery({ ...query, name: this.driver.tableName });
      try {
        let last = 0;
        for await (const batch of dataset.read(batchSize)) {
          last = batch.positions[batch.positions.length - 1] ?? last;
          yield { rows: batch.rows, positions: batch.positions.map((p) => p + offset) };
        }
        offset += last;
      } finally {
        await dataset.close();
      }
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** How a dialect spells the parts of a trigger body that record a change. */
export interface TriggerSpelling {
  /** A JSON object's text from `name, value, …` pairs: `json_object(…)`. */
  object(pairs: string): string;
  /** A column's value as text: `CAST(x AS TEXT)`. */
  text(column: string): string;
  /** Null-safe equality of two values: `a IS b`, `a <=> b`. */
  same(a: string, b: string): string;
}

/**
 * The SQL a trigger body records changes with, in `dialect`: `record("NEW", "insert")` is the
 * INSERT of one change row (`when`: only when this condition holds); `keyMoved` is true when an update changed the key (the old key is
 * then recorded as deleted).
 */
export function changeRecorder(
  dialect: Dialect,
  spell: TriggerSpelling,
  changeTable: string,
  tableName: string,
  keyFields: string[],
): {
  record(row: "NEW" | "OLD", op: CaptureOp, when?: string): string;
  keyMoved: string;
} {
  const q = (name: string) => dialect.quoteIdent(name);
  const values = (row: string, op: string) =>
    `${dialect.literal(tableName)}, ${
      spell.object(
        keyFields.map((k) => `${dialect.literal(k)}, ${spell.text(`${row}.${q(k)}`)}`).join(", "),
      )
    }, '${op}'`;
  return {
    record: (row, op, when) =>
      `INSERT INTO ${changeTable} (table_name, ${q("key")}, op) ${
        when ? `SELECT ${values(row, op)} WHERE ${when}` : `VALUES (${values(row, op)})`
      }`,
    keyMoved: `NOT (${
      keyFields.map((k) => spell.same(`OLD.${q(k)}`, `NEW.${q(k)}`)).join(" AND ")
    })`,
  };
}

/** The trigger name of `op` on `table`: `dsync_capture_users_insert`. */
export function triggerName(table: string, op: CaptureOp): string {
  return `dsync_capture_${table}_${op}`;
}
