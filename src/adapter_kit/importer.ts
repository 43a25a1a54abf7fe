/**
 * The one interface every adapter implements. An adapter opens a locator as a {@linkcode Dataset}
 * (to read) or a {@linkcode Target} (to read its current records and write a change set); the
 * engine never knows which datastore it talks to.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import type { Dataset, Importer } from "./importer.ts";
 *
 * // A source-only adapter whose datasets hold one record.
 * const oneImporter: Importer = {
 *   name: "one",
 *   description: "one record",
 *   locator: "any name",
 *   transactional: false,
 *   options: [],
 *   openSource: (locator): Promise<Dataset> =>
 *     Promise.resolve({
 *       label: `one:${locator}`,
 *       describe: () =>
 *         Promise.resolve({
 *           exists: true,
 *           fields: [{ name: "id", type: "integer" }],
 *           primaryKey: ["id"],
 *           typed: true,
 *           textual: false,
 *         }),
 *       read: async function* () {
 *         yield { rows: [[1]], positions: [1] };
 *       },
 *       close: () => Promise.resolve(),
 *     }),
 * };
 * const source = await oneImporter.openSource!("demo", { options: {} });
 * deepStrictEqual(source.label, "one:demo");
 * deepStrictEqual(await Array.fromAsync(source.read(500)), [{ rows: [[1]], positions: [1] }]);
 * await source.close();
 * ```
 * @module
 */
import type { WritePlan } from "./changes.ts";
import type { Lookup, LookupContext } from "./lookup.ts";
import type { ChangeFeed, FeedContext } from "./change_feed.ts";
import type { ChangeStore, ChangeStoreContext } from "./change_store.ts";
import type { StatementRunner } from "./statements.ts";
import type { Field, LineBatch, Row, RowBatch } from "../model/types.ts";
import { TargetError } from "../model/errors.ts";

/** What a dataset says about itself before it is read. */
export interface DatasetInfo {
  /** False for a target that will be created (new file or table). */
  exists: boolean;
  /** Its fields, in row order; empty when it does not exist. */
  fields: Field[];
  /** Declared primary key, the default `--key`; empty when there is none. */
  primaryKey: string[];
  /** True when field types are declared (SQL tables); false when they are `auto` (files). */
  typed: boolean;
  /** True when values are text that still needs typing (CSV cells). */
  textual: boolean;
  /**
   * The SQL dialect (`Dialect.name`) its fields' `nativeType` is spelled in, when its
   * store enforces those types (PostgreSQL, MySQL tables): a new table of another SQL store may
   * copy them (see `Dialect.copiedType`).
   */
  dialect?: string;
  /**
   * Why a field named by an option may seem missing (a CSV header split by another delimiter):
   * the hint of that error, instead of the list of fields.
   */
  fieldsHint?: string;
  /**
   * True when values are JSON values (JSON files, HTTP bodies): in a `json` field a string is a
   * JSON string, not JSON text to parse. Default false: SQL columns and cells hold JSON text.
   */
  jsonValues?: boolean;
}

/** Anything dsync can read records from: a source, or a target's current state. */
export interface Dataset {
  /** How messages and the summary name it (`users.csv`, `sqlite:app.db#users`); no secrets. */
  readonly label: string;
  /** Fields, key and whether it exists. Called once, before {@linkcode Dataset.read}. */
  describe(): Promise<DatasetInfo>;
  /** Every record, in batches of about `batchSize` rows, in the order of `describe().fields`. */
  read(batchSize: number): AsyncIterable<RowBatch>;
  /**
   * Every record in ascending order of the fields `keys` — integers numerically, text by code
   * unit (SQL `COLLATE "C"` / `BINARY`) — or undefined when the datastore cannot sort by them.
   * SQL datasets implement it with `ORDER BY`; the engine then pairs records in one merge pass
   * and checks the order as it reads.
   */
  readSorted?(keys: string[], batchSize: number): AsyncIterable<RowBatch> | undefined;
  /**
   * Whether {@linkcode Dataset.read} can start again from the beginning (a file, not stdin).
   * The engine then tries a merge in the file's own order — a source, or a target without
   * `readSorted` — and re-reads it if it is not sorted.
   */
  readonly rereadable?: boolean;
  /**
   * Every record as its text, with the cells of the fields `keyFields` (indexes into
   * `describe().fields`), in the order of {@linkcode Dataset.read}; absent when records have no
   * text of their own (anything but CSV files). The engine compares the texts of paired records
   * first and splits only those that differ.
   */
  readLines?(keyFields: number[], batchSize: number): AsyncIterable<LineBatch>;
  /** Releases connections and files. Safe to call twice. */
  close(): Promise<void>;
}

/** A dataset that can also be written. */
export interface Target extends Dataset {
  /**
   * Applies the whole plan: all of it or (SQL targets) none of it; reports changes written.
   * Inside {@linkcode Target.session} it writes in the session's transaction and does not commit.
   */
  apply(plan: WritePlan, progress?: (written: number) => void): Promise<void>;
  /**
   * A write session (optional; SQL targets implement it): opens one transaction, takes a lock
   * that serialises the writers of this target (SQLite `BEGIN IMMEDIATE`, PostgreSQL a
   * transaction-scoped advisory lock plus `LOCK TABLE … IN SHARE ROW EXCLUSIVE MODE`), and runs
   * `work`. Every `describe`, `read`, `readSorted` and `apply` of this target during `work` goes
   * through that transaction — `describe` is asked again, not answered from before the lock —
   * so the plan applied is the plan computed against what is there. Commits after `work`
   * resolves (so `work` can still write the change set and fail the whole run), rolls back when
   * it throws, and rethrows. When another writer holds the lock longer than a bounded wait, it
   * throws {@linkcode targetLocked} (exit 4). Targets without it (files, HTTP) are planned and
   * applied as they are; {@linkcode inWriteSession} hides the difference.
   *
   * @example
   * ```ts ignore
   * await target.session!(async () => {
   *   const plan = await planChanges(source, target); // reads the target under the lock
   *   await target.apply(plan.write);                 // same transaction
   *   await writeChangeSet(plan);                     // a failure here rolls back
   * });                                               // commit
   * ```
   */
  session?<T>(work: () => Promise<T>): Promise<T>;
  /**
   * A mark inside the running write session that the writes after it can be rolled back to
   * (SQL `SAVEPOINT`), or undefined outside a session. The planner streams the creates of a
   * first load into the session as it finds them, and rolls back to the mark when it must start
   * over (a file found out of key order, a type that widens after the sample).
   */
  savepoint?(): Promise<Savepoint | undefined>;
  /**
   * False when a write is not all or nothing: a failure part way leaves what was written before
   * it (ClickHouse, Redis, NATS, HTTP; a MySQL MyISAM table written with
   * `--allow-non-transactional`). The summary says so. Unset: the importer's `transactional`.
   */
  readonly transactional?: boolean;
}

/** A mark in a write session's transaction (see {@linkcode Target.savepoint}). */
export interface Savepoint {
  /** Undoes every write since the mark; the mark is gone after. */
  rollback(): Promise<void>;
  /** Keeps the writes (they commit or roll back with the session); the mark is gone after. */
  release(): Promise<void>;
}

/** Runs `work` in `target`'s write session when it has one, else as it is. */
export function inWriteSession<T>(target: Target, work: () => Promise<T>): Promise<T> {
  return target.session ? target.session(work) : work();
}

/**
 * How long a write session waits for another writer's lock before {@linkcode targetLocked},
 * unless `--lock-timeout` says (`lockWaitMs` in option_values.ts).
 */
export const WRITE_LOCK_WAIT_MS = 5000;

/** The one error of a target whose writer lock another run holds (exit 4, nothing written). */
export function targetLocked(label: string, waitedMs = WRITE_LOCK_WAIT_MS): TargetError {
  return new TargetError(
    `${label}: target is locked by another writer (waited ${waitedMs / 1000} s); nothing written`,
    "another dsync run (or another program) is writing this target: try again when it is done, or wait longer with --lock-timeout",
  );
}

/** An option of one adapter, shown in `--help` and `dsync adapters`. */
export interface AdapterOption {
  /** Commander flag syntax, e.g. `"--delimiter <char>"`. */
  flags: string;
  /** One-line help text. */
  description: string;
  /**
   * The role the option is for: `source` or `target` only (help, parsing and completions of a
   * pair offer it only there); absent when it applies to both (a target is read as well).
   */
  role?: "source" | "target";
  /** Default value, shown in help; parsed like a given value. */
  defaultValue?: string;
  /**
   * Checks and converts the option's text (from the command line or a config file), so the
   * adapter gets a typed value and a bad one fails before anything is opened. Absent: the text
   * (or `true` for a flag, a list for `<value...>`) is passed as it is.
   */
  parse?: (text: string, flag: string) => unknown;
}

/** Options from the command line, by camel-cased long option name. */
export type OpenOptions = Record<string, unknown>;

/** What {@linkcode Importer.openSource} and {@linkcode Importer.openTarget} get to work with. */
export interface OpenContext {
  /** Parsed command-line options (common and adapter-specific). */
  options: OpenOptions;
  /** The source's base name (`users` for `data/users.csv`), for default target locators. */
  sourceName?: string;
}

/** An adapter: one datastore kind, registered once in the registry. */
export interface Importer {
  /** Adapter name used in `<src>:<tgt>`. */
  name: string;
  /** Other names accepted for it (`pg` for `postgres`). */
  aliases?: string[];
  /** One line for `dsync adapters` and help. */
  description: string;
  /** Locator forms, for help. */
  locator: string;
  /** Whether a change set is written atomically (one transaction or one file rename). */
  transactional: boolean;
  /** Options only this adapter understands. */
  options: AdapterOption[];
  /** Opens a locator for reading; absent when the adapter cannot be a source. */
  openSource?(locator: string, ctx: OpenContext): Promise<Dataset>;
  /** Opens a locator (or the default one) as a target; absent when it cannot be a target. */
  openTarget?(locator: string | undefined, ctx: OpenContext): Promise<Target>;
  /** Opens a locator for `enrichment` lookups (adapter_kit/lookup.ts); absent when it cannot. */
  openLookup?(locator: string, ctx: LookupContext): Promise<Lookup>;
  /**
   * Why a SQL adapter without {@linkcode Importer.openStatements} runs no handler statements,
   * for the config error (e.g. it cannot bind parameters, and values are never spliced in).
   */
  noStatements?: string;
  /** Opens a connection for the statements of `on_*` handlers (adapter_kit/statements.ts). */
  openStatements?(locator: string, ctx: OpenContext): Promise<StatementRunner>;
  /** Opens a stream of change events for `dsync apply` (adapter_kit/change_feed.ts). */
  openChangeFeed?(locator: string, ctx: FeedContext): Promise<ChangeFeed>;
  /** Opens a store of changed ids for `--change-store` (adapter_kit/change_store.ts). */
  openChangeStore?(locator: string, ctx: ChangeStoreContext): Promise<ChangeStore>;
}

/** Rows with their positions, as produced by {@linkcode Dataset.read}. */
export type { Field, LineBatch, Row, RowBatch };
