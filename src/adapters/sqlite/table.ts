/**
 * One table of a SQLite database file: described, read (by rowid pages, sorted, filtered),
 * written in one transaction (a write session holding SQLite's writer lock), diffed by a join
 * or a checksum bisection inside SQLite.
 *
 * @module
 */
import { isSqliteBusy, openSqlite } from "../../adapter_kit/sqlite.ts";
import { checkInterrupt, pauseForSignals } from "../../adapter_kit/interrupt.ts";
import type { WritePlan } from "../../adapter_kit/changes.ts";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { checkPlanValues } from "../../adapter_kit/value_checks.ts";
import { InputError, rolledBack, TargetError } from "../../model/errors.ts";
import { fileExists } from "../../adapter_kit/files.ts";
import {
  type Dataset,
  type DatasetInfo,
  type Savepoint,
  targetLocked,
  WRITE_LOCK_WAIT_MS,
} from "../../adapter_kit/importer.ts";
import {
  ansiQuote as quoteIdent,
  changeSetSql,
  type FilterableTarget,
  type JoinDiffTarget,
  type JoinRequest,
  type JoinScan,
  type SourceQuery,
  sqlSavepoint,
} from "../../adapter_kit/sql.ts";
import { sqliteDialect, sqliteType } from "./dialect.ts";
import { decodeNulText, nulMaskSelect, nulSafeSelect } from "./nul_text.ts";
import { writeSteps } from "./write.ts";
import { arrays, bindJson, bindValue, decodedRows } from "./values.ts";
import { sqliteJoinScan } from "./join.ts";
import { sqliteChecksumSide } from "./checksum.ts";
import type { ChecksumDataset, ChecksumRequest, ChecksumSide } from "../../adapter_kit/checksum.ts";
import { numericBinding, numericCheck, sqliteAffinity } from "./affinity.ts";
import type { Field, RowBatch } from "../../model/types.ts";
import { type LoadTarget, type LoadWrite, stagingName } from "../../adapter_kit/load.ts";
import { batchRows, LOCAL_BATCH_ROWS } from "../../adapter_kit/batches.ts";

/** A name of the rowid that no column of the table takes, if one is left. */
function rowidName(info: DatasetInfo): string | undefined {
  return ["rowid", "_rowid_", "oid"].find((name) =>
    !info.fields.some((f) => f.name.toLowerCase() === name)
  );
}

/** One table of a SQLite database file. */
export class SqliteTable implements JoinDiffTarget, ChecksumDataset, FilterableTarget, LoadTarget {
  readonly label: string;
  readonly dialect = sqliteDialect;
  readonly loadWrites: readonly LoadWrite[] = ["truncate", "replace", "delete_insert"];
  #db: DatabaseSync | undefined;
  #info: DatasetInfo | undefined;
  #statements = new Map<string, StatementSync>();

  /** `query`: read this SELECT instead of the table (a source only). */
  constructor(
    readonly path: string,
    readonly table: string,
    readonly role: "source" | "target",
    readonly query?: SourceQuery,
    /** How long a write waits for another writer's lock (`--lock-timeout`). */
    readonly lockMs = WRITE_LOCK_WAIT_MS,
  ) {
    this.label = `sqlite:${path}#${query?.name ?? table}`;
  }

  async #open(): Promise<DatabaseSync | undefined> {
    if (this.#db) return this.#db;
    if (!await fileExists(this.path)) {
      if (this.role === "source") throw new InputError(`${this.path}: no such SQLite database`);
      return undefined;
    }
    try {
      if (this.role === "source" && await fileExists(`${this.path}-journal`)) {
        // A leftover rollback journal (a writer was killed): a read-only connection cannot
        // roll it back and calls the file "not a database". One read-write open recovers it.
        const recovering = openSqlite(this.path, { busyMs: this.lockMs });
        try {
          recovering.prepare("SELECT count(*) FROM sqlite_master").get();
        } finally {
          recovering.close();
        }
      }
      this.#db = openSqlite(this.path, {
        readOnly: this.role === "source",
        busyMs: this.lockMs,
      });
    } catch (error) {
      throw new InputError(`${this.path}: cannot open as SQLite: ${(error as Error).message}`);
    }
    return this.#db;
  }

  async describe(): Promise<DatasetInfo> {
    if (this.#info) return this.#info;
    const db = await this.#open();
    if (db && this.query) return this.#info = this.#describeQuery(db, this.query);
    let columns: { name: string; type: string; pk: number }[] = [];
    if (db) {
      try {
        columns = db.prepare(`PRAGMA table_info(${quoteIdent(this.table)})`)
          .all() as typeof columns;
      } catch (error) {
        throw new InputError(`${this.path}: not a SQLite database (${(error as Error).message})`);
      }
    }
    if (columns.length === 0 && this.role === "source") {
      const tables = db!.prepare(
        "SELECT name FROM sqlite_master WHERE type IN ('table','view') ORDER BY name",
      )
        .all().map((r) => r.name);
      throw new InputError(
        `${this.label}: no such table`,
        `tables in ${this.path}: ${tables.join(", ") || "(none)"}`,
      );
    }
    const fields: Field[] = columns.map((c) => ({
      name: c.name,
      type: sqliteType(c.type),
      nativeType: c.type,
    }));
    const primaryKey = columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) =>
      c.name
    );
    this.#info = { exists: columns.length > 0, fields, primaryKey, typed: true, textual: false };
    return this.#info;
  }

  /** A query's columns with their declared types (expressions have none: `auto`). */
  #describeQuery(db: DatabaseSync, query: SourceQuery): DatasetInfo {
    let columns: { name: string; type: string | null }[];
    try {
      columns = db.prepare(query.sql).columns();
    } catch (error) {
      throw new InputError(`${this.label}: ${(error as Error).message}`);
    }
    const fields = columns.map((c) => ({
      name: c.name,
      type: sqliteType(c.type ?? ""),
      nativeType: c.type ?? undefined,
    }));
    return { exists: true, fields, primaryKey: [], typed: true, textual: false };
  }

  async *read(size: number): AsyncGenerator<RowBatch> {
    const batchSize = Math.min(size, LOCAL_BATCH_ROWS);
    const info = await this.describe();
    const db = await this.#open();
    if (!db || !info.exists) return;
    if (this.query) {
      // One iterate(): a query has no rowid to page by, and LIMIT/OFFSET pages re-run the
      // query from the start each time (10× slower on 300k joined rows).
      const names = info.fields.map((f) => f.name);
      const wrapped = new Set(names).size === names.length;
      const statement = db.prepare(
        wrapped
          ? `SELECT ${nulSafeSelect(names.map(quoteIdent)).join(", ")} FROM (${this.query.sql})`
          : this.query.sql,
      );
      arrays(statement);
      const rows = statement.iterate(...(this.query.params ?? []).map(bindValue) as never[]);
      try {
        yield* batchRows(rows, batchSize, (item) => {
          const row = item as unknown as unknown[];
          if (wrapped) decodeNulText(row);
          return row;
        });
      } catch (error) {
        throw new InputError(`${this.label}: ${(error as Error).message}`);
      }
      return;
    }
    const names = info.fields.map((f) => quoteIdent(f.name));
    const columns = nulSafeSelect(names).join(", ");
    const table = quoteIdent(this.table);
    const rowid = rowidName(info);
    let whole: StatementSync | undefined;
    let paged: StatementSync | undefined;
    let first: StatementSync | undefined;
    try {
      // Pages of `all()` by rowid cross into JavaScript once per page, not once per row: 2.5×
      // faster than iterate() on 1M rows. WITHOUT ROWID tables fall back to iterate().
      // Pages hold the values as they are and which of them node:sqlite cut at a NUL; such a
      // row is read again whole by its rowid.
      const masked = nulMaskSelect(names).join(", ");
      paged = rowid
        ? db.prepare(
          `SELECT ${rowid}, ${masked} FROM ${table} WHERE ${rowid} > ? ORDER BY ${rowid} LIMIT ?`,
        )
        : undefined;
      // The first page takes the smallest rowid, -2^63, too (`>` would skip that record).
      first = paged &&
        db.prepare(
          `SELECT ${rowid}, ${masked} FROM ${table} WHERE ${rowid} >= ? ORDER BY ${rowid} LIMIT ?`,
        );
      whole = paged && db.prepare(`SELECT ${columns} FROM ${table} WHERE ${rowid} = ?`);
    } catch {
      paged = undefined;
    }
    let position = 0;
    if (paged && first && whole) {
      arrays(paged);
      arrays(first);
      arrays(whole);
      let last: unknown = -9223372036854775808n;
      for (let statement = first;; statement = paged) {
        const page = statement.all(last as bigint, batchSize) as unknown as unknown[][];
        if (page.length === 0) return;
        last = page[page.length - 1][0];
        const positions = new Array<number>(page.length);
        for (let i = 0; i < page.length; i++) {
          const id = page[i].shift();
          if (page[i].pop() !== "") {
            page[i] = whole.get(id as bigint) as unknown as unknown[];
            decodeNulText(page[i]);
          }
          positions[i] = ++position;
        }
        yield { rows: page, positions };
        await pauseForSignals();
      }
    }
    yield* decodedRows(db.prepare(`SELECT ${columns} FROM ${table}`), [], batchSize);
  }

  /** The rows matching `condition`, its `?` bound to `params`. */
  async *readWhere(condition: string, params: unknown[], size: number): AsyncGenerator<RowBatch> {
    const info = await this.describe();
    const db = await this.#open();
    if (!db || !info.exists) return;
    const columns = nulSafeSelect(info.fields.map((f) => quoteIdent(f.name))).join(", ");
    yield* decodedRows(
      db.prepare(`SELECT ${columns} FROM ${quoteIdent(this.table)} WHERE ${condition}`),
      params,
      Math.min(size, LOCAL_BATCH_ROWS),
    );
  }

  /**
   * Key order: an INTEGER PRIMARY KEY is the rowid, so the rowid-paged read is already sorted;
   * any other key is one `ORDER BY … COLLATE BINARY` (SQLite's own byte order of text).
   */
  readSorted(keys: string[], batchSize: number): AsyncIterable<RowBatch> | undefined {
    const info = this.#info;
    if (this.query || !info?.exists) return undefined;
    const declared = (name: string) => info.fields.find((f) => f.name === name)?.nativeType;
    if (keys.some((k) => declared(k) === undefined)) return undefined;
    if (
      keys.length === 1 && info.primaryKey.length === 1 && info.primaryKey[0] === keys[0] &&
      declared(keys[0])!.toUpperCase() === "INTEGER"
    ) return this.read(batchSize);
    return this.#readOrdered(keys, batchSize);
  }

  async *#readOrdered(
    keys: string[],
    size: number,
    filter = { where: "", params: [] as unknown[] },
  ): AsyncGenerator<RowBatch> {
    const batchSize = Math.min(size, LOCAL_BATCH_ROWS);
    const db = (await this.#open())!;
    const columns = nulSafeSelect(this.#info!.fields.map((f) => quoteIdent(f.name))).join(", ");
    const order = keys.map((k) => `${quoteIdent(k)} COLLATE BINARY`).join(", ");
    const from = `${quoteIdent(this.table)}${filter.where ? ` WHERE ${filter.where}` : ""}`;
    // Positions are rowids where there are any, so that a message names the row SQLite knows.
    const rowid = rowidName(this.#info!);
    let statement: StatementSync;
    try {
      statement = db.prepare(`SELECT ${rowid}, ${columns} FROM ${from} ORDER BY ${order}`);
    } catch {
      statement = db.prepare(`SELECT 0, ${columns} FROM ${from} ORDER BY ${order}`);
    }
    arrays(statement);
    yield* batchRows(
      statement.iterate(...filter.params as never[]) as unknown as unknown[][],
      batchSize,
      (row) => {
        const values = row.slice(1);
        decodeNulText(values);
        return values;
      },
      (row, index) => Number(row[0]) || index + 1,
    );
  }

  /**
   * How each field of `plan` is bound, after the values SQLite would not keep are refused
   * (before anything is written): see affinity.ts.
   */
  #binders(plan: WritePlan): ((value: unknown) => unknown)[] {
    const declared = new Map(this.#info?.fields.map((f) => [f.name, f.nativeType ?? ""]));
    const numeric = plan.fields.map((f) =>
      sqliteAffinity(
        plan.createTarget ? sqliteDialect.declaredType(f.type) : declared.get(f.name) ?? "",
      ) === "numeric"
    );
    checkPlanValues(
      plan,
      plan.fields.map((f, i) => numeric[i] ? numericCheck(f.type) : undefined),
      this.label,
    );
    return plan.fields.map((f, i) =>
      f.type === "json" ? bindJson : (numeric[i] && numericBinding(f.type)) || bindValue
    );
  }

  async apply(plan: WritePlan, progress?: (written: number) => void): Promise<void> {
    if (
      plan.creates.length + plan.updates.length + plan.deletes.length === 0 && !plan.createTarget
    ) return;
    let db: DatabaseSync;
    try {
      db = (await this.#open()) ?? (this.#db = openSqlite(this.path, { busyMs: this.lockMs }));
    } catch (error) {
      throw new TargetError(`${this.path}: cannot open: ${(error as Error).message}`);
    }
    const bind = this.#binders(plan);
    const replace = plan.load === "replace";
    // full-refresh loads a staging table, renamed over the table at the end.
    const table = quoteIdent(replace ? stagingName(this.table) : this.table);
    // Inside session() the transaction is the session's: it commits, not apply.
    const own = !db.isTransaction;
    if (own) this.#begin(db);
    const at = { step: "writing" };
    try {
      await writeSteps(db, plan, table, {
        bind,
        prepared: (sql) => this.#prepared(db, sql),
        at,
        progress,
      });
      if (replace) {
        at.step = "replacing the table with the staging table";
        db.exec(`DROP TABLE ${quoteIdent(this.table)}`);
        db.exec(`ALTER TABLE ${table} RENAME TO ${quoteIdent(this.table)}`);
        this.#info = undefined;
      }
      if (own) {
        checkInterrupt();
        at.step = "committing";
        db.exec("COMMIT");
      }
    } catch (error) {
      // SQLite ends the transaction itself on a full disk (SQLITE_FULL): what fails next is
      // the table it just dropped, so say where the space ran out.
      const full = !db.isTransaction || /database or disk is full/.test((error as Error).message);
      if (db.isTransaction) db.exec("ROLLBACK");
      throw rolledBack(
        this.label,
        at.step,
        (error as Error).message,
        full
          ? `is the disk holding ${this.path} full? SQLite rolled the transaction back`
          : undefined,
      );
    }
  }

  /** `--add-columns`: `ALTER TABLE … ADD COLUMN`, in the session's transaction. */
  async addColumns(fields: Field[]): Promise<void> {
    const db = (await this.#open())!;
    try {
      for (const f of fields) {
        db.exec(
          `ALTER TABLE ${quoteIdent(this.table)} ADD COLUMN ${quoteIdent(f.name)} ${
            sqliteDialect.declaredType(f.type)
          }`.trimEnd(),
        );
      }
    } catch (error) {
      throw new TargetError(
        `${this.label}: cannot add columns: ${(error as Error).message}; nothing written`,
      );
    }
    this.#info = undefined;
    await this.describe();
  }

  /** `BEGIN IMMEDIATE`: takes the write lock now, waiting up to the busy timeout for it. */
  #begin(db: DatabaseSync): void {
    try {
      db.exec("BEGIN IMMEDIATE");
    } catch (error) {
      if (isSqliteBusy(error)) throw targetLocked(this.label, this.lockMs);
      throw new TargetError(
        `${this.label}: cannot start a transaction: ${(error as Error).message}; nothing written`,
      );
    }
  }

  /**
   * The write session: `BEGIN IMMEDIATE` (SQLite's writer lock) before the table is described
   * and read, so that no other writer commits between the read and the write; one COMMIT at the
   * end. A database file the session created and left empty is removed.
   */
  async session<T>(work: () => Promise<T>): Promise<T> {
    const existed = await fileExists(this.path);
    let db: DatabaseSync;
    try {
      db = (await this.#open()) ?? (this.#db = openSqlite(this.path, { busyMs: this.lockMs }));
    } catch (error) {
      throw new TargetError(`${this.path}: cannot open: ${(error as Error).message}`);
    }
    try {
      this.#begin(db);
      this.#info = undefined;
      const result = await work();
      checkInterrupt();
      try {
        db.exec("COMMIT");
      } catch (error) {
        throw rolledBack(this.label, "committing", (error as Error).message);
      }
      return result;
    } catch (error) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw error;
    } finally {
      if (!existed) await this.#removeIfEmpty();
    }
  }

  /** A `SAVEPOINT` in the session's transaction; undefined outside a session. */
  async savepoint(): Promise<Savepoint | undefined> {
    const db = this.#db;
    if (!db?.isTransaction) return undefined;
    return await sqlSavepoint((statement) => db.exec(statement));
  }

  /** Closes and removes the database file when it holds nothing (0 bytes). */
  async #removeIfEmpty(): Promise<void> {
    const size = await Deno.stat(this.path).then((s) => s.size, () => -1);
    if (size !== 0) return;
    await this.close();
    await Deno.remove(this.path).catch(() => {});
  }

  /** The diff by a join inside SQLite, when the source is a table of a SQLite file too. */
  async joinDiff(source: Dataset, request: JoinRequest): Promise<JoinScan | string | undefined> {
    if (!(source instanceof SqliteTable)) return undefined;
    if (source.query) return "the source is a query";
    const [sourceInfo, targetInfo] = [await source.describe(), await this.describe()];
    if (!targetInfo.exists) return undefined;
    return sqliteJoinScan(
      { path: this.path, table: this.table, primaryKey: targetInfo.primaryKey },
      { path: source.path, table: source.table, primaryKey: sourceInfo.primaryKey },
      request,
    );
  }

  /** SQLite's side of a checksum bisection (checksum.ts). */
  async checksumSide(request: ChecksumRequest): Promise<ChecksumSide | string> {
    if (this.query) return "the source is a query";
    const info = await this.describe();
    const db = await this.#open();
    if (!db || !info.exists) return "the table does not exist";
    return sqliteChecksumSide(db, quoteIdent(this.table), info.primaryKey, request, (parts) => {
      const key = request.fields[request.keyIndexes[0]].column;
      const readPart = (keys: string[], size: number, part: { where: string; params: unknown[] }) =>
        this.#readOrdered(keys, size, part);
      const read = async function* (keys: string[], size: number) {
        for (const part of parts) yield* readPart(keys, size, part);
      };
      return {
        label: this.label,
        describe: () => this.describe(),
        read: (size) => read(info.primaryKey.length ? info.primaryKey : [key], size),
        readSorted: read,
        close: () => Promise.resolve(),
      };
    });
  }

  sqlStatements(plan: WritePlan): Iterable<string> {
    return changeSetSql(plan, quoteIdent(this.table), sqliteDialect);
  }

  /**
   * A prepared statement, kept for the next apply of the same session (a streamed first load
   * applies its creates in thousands of batches).
   */
  #prepared(db: DatabaseSync, sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      if (this.#statements.size >= 8) this.#statements.clear();
      statement = db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  close(): Promise<void> {
    this.#statements.clear();
    this.#db?.close();
    this.#db = undefined;
    return Promise.resolve();
  }
}
