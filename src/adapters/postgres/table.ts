/**
 * One PostgreSQL table (or view, or query, as a source) as a dsync dataset and target: described
 * from the catalog, read through a cursor, written in one transaction.
 *
 * @example
 * ```ts ignore
 * const table = new PgTable(parseLocator("crm.users"), "users", "target");
 * const info = await table.describe();
 * await table.apply(plan);
 * await table.close();
 * ```
 * @module
 */
import { KeepAlive } from "./keep_alive.ts";
import type { Sql, TransactionSql } from "postgres";
import type { WritePlan } from "../../adapter_kit/changes.ts";
import {
  type Dataset,
  type DatasetInfo,
  type Savepoint,
  WRITE_LOCK_WAIT_MS,
} from "../../adapter_kit/importer.ts";
import {
  ansiQuote as quoteIdent,
  changeSetSql,
  type FilterableTarget,
  type JoinDiffTarget,
  type JoinRequest,
  type JoinScan,
  type Partition,
  type ScopableTarget,
  type SourceQuery,
  sqlSavepoint,
  whereClause,
} from "../../adapter_kit/sql.ts";
import { InputError, UsageError } from "../../model/errors.ts";
import type { Field, RowBatch } from "../../model/types.ts";
import {
  defaultSchema,
  orderByKeys,
  type PgColumn,
  primaryKeyOf,
  queryColumns,
  readTable,
  selectList,
  showIdent,
  tableNames,
} from "./catalog.ts";
import { checkIdentifiers, checkValues } from "./checks.ts";
import { cursorRows } from "./read.ts";
import { type FailureContext, writeFailure } from "./failure.ts";
import { respelling } from "./spelling.ts";
import { checkInterrupt } from "../../adapter_kit/interrupt.ts";
import {
  type Connection,
  DEFAULT_STATEMENT_TIMEOUT,
  failureOf,
  messageOf,
  type OpenedSql,
  openSql,
  type PgSettings,
} from "./connection.ts";
import { postgresDialect } from "./dialect.ts";
import { writeSteps, type WriteTarget } from "./write.ts";
import { pgJoinScan } from "./join.ts";
import { pgChecksumSide } from "./checksum.ts";
import type { ChecksumDataset, ChecksumRequest, ChecksumSide } from "../../adapter_kit/checksum.ts";
import type { LoadTarget, LoadWrite } from "../../adapter_kit/load.ts";

/** Connections already announced on stderr (a pg:pg pair says it once). */
const told = new Set<string>();

/** One PostgreSQL table (or view, as a source). */
export class PgTable
  implements ScopableTarget, JoinDiffTarget, ChecksumDataset, FilterableTarget, LoadTarget {
  readonly dialect = postgresDialect;
  readonly loadWrites: readonly LoadWrite[] = ["truncate", "replace", "delete_insert"];
  #sql: Sql | undefined;
  /** The write session's transaction, while {@linkcode PgTable.session} runs. */
  #tx: TransactionSql | undefined;
  #info: DatasetInfo | undefined;
  #columns: PgColumn[] = [];
  #schema: string | undefined;
  #table: string;
  #connectionLabel: string;
  #secrets: string[] = [];
  #oid = 0;
  #opened: OpenedSql | undefined;
  /** A target's partition condition (see {@linkcode PgTable.scopeTo}). */
  #scope: string | undefined;
  /** The write session's keep-alive, while {@linkcode PgTable.session} runs. */
  #keepAlive: KeepAlive | undefined;

  constructor(
    readonly connection: Connection,
    table: string,
    readonly role: "source" | "target",
    readonly where?: string,
    /** Read this SELECT instead of the table (a source only). */
    readonly query?: SourceQuery,
    readonly settings: PgSettings = {},
  ) {
    this.#table = table;
    this.#schema = connection.schema;
    this.#connectionLabel = "";
  }

  /** `--lock-timeout` in milliseconds. */
  get #lockMs(): number {
    return this.settings.lockMs ?? WRITE_LOCK_WAIT_MS;
  }

  /** The server's idle bound on the session (`--statement-timeout`), in ms; 0: none. */
  get #idleBoundMs(): number {
    return (this.settings.statement ?? DEFAULT_STATEMENT_TIMEOUT) * 1000;
  }

  get label(): string {
    const name = this.query
      ? this.query.name
      : this.#schema !== undefined
      ? `${showIdent(this.#schema)}.${showIdent(this.#table)}`
      : showIdent(this.#table);
    return `pg:${this.#connectionLabel ? this.#connectionLabel + "#" : ""}${name}`;
  }

  /** `schema.table`, quoted. */
  get #qualified(): string {
    return `${quoteIdent(this.#schema!)}.${quoteIdent(this.#table)}`;
  }

  async #connect(): Promise<Sql> {
    // In a write session every query goes through its transaction (the one connection is
    // reserved for it).
    if (this.#tx) return this.#tx as unknown as Sql;
    if (this.#sql) return this.#sql;
    const opened = await openSql(this.connection, this.role, this.settings);
    this.#opened = opened;
    this.#secrets.push(...opened.secrets);
    this.#connectionLabel = opened.label;
    if (opened.implicit && !this.settings.quiet && !told.has(opened.label)) {
      told.add(opened.label);
      console.error(
        `dsync: pg: no URL, DATABASE_URL or PG* variables: connecting to ${opened.label} (libpq defaults)`,
      );
    }
    this.#sql = opened.sql;
    return opened.sql;
  }

  /**
   * Runs a query while opening the dataset: a server that cannot be reached is exit 4, other
   * problems (no such table, bad login) exit 2.
   */
  async #query<T>(run: (sql: Sql) => Promise<T>): Promise<T> {
    const sql = await this.#connect();
    try {
      return await this.#opened!.watchdog.guard(() => run(sql));
    } catch (error) {
      throw failureOf(this.label, error, this.#opened);
    }
  }

  async describe(): Promise<DatasetInfo> {
    if (this.#info) return this.#info;
    if (this.query) return this.#info = await this.#describeQuery(this.query);
    await this.#query(async (sql) => {
      if (this.#schema === undefined) this.#schema = await defaultSchema(sql);
      const found = await readTable(sql, this.#schema, this.#table);
      if (!found) return;
      this.#oid = found.oid;
      this.#columns = found.columns;
    });
    if (this.#columns.length === 0 && this.role === "source") {
      const tables = await this.#query((sql) => tableNames(sql, this.#schema!));
      throw new InputError(
        `${this.label}: no such table`,
        `tables in schema ${showIdent(this.#schema!)}: ${
          tables.map(showIdent).join(", ") || "(none)"
        }`,
      );
    }
    if (
      this.role === "target" && this.#columns.length === 0 && this.#opened?.implicit &&
      !this.settings.createTable
    ) {
      throw new UsageError(
        `${this.label} does not exist, and nothing named this database (no URL, DATABASE_URL or PG* variables): not creating a table in libpq's default database`,
        "name the database (postgres://USER@HOST/DB#TABLE or DATABASE_URL), or add --create-table to create it here",
      );
    }
    const primaryKey = this.#columns.length
      ? await this.#query((sql) => primaryKeyOf(sql, this.#oid))
      : [];
    const fields: Field[] = this.#columns.map((c) => ({
      name: c.name,
      type: c.type,
      nativeType: c.native,
      respell: respelling(c),
    }));
    this.#info = {
      exists: this.#columns.length > 0,
      fields,
      primaryKey,
      typed: true,
      textual: false,
      dialect: postgresDialect.name,
    };
    return this.#info;
  }

  /** A query's columns, typed as PostgreSQL describes the prepared statement. */
  async #describeQuery(query: SourceQuery): Promise<DatasetInfo> {
    this.#columns = await this.#query((sql) => queryColumns(sql, query));
    const fields = this.#columns.map((c) => ({ name: c.name, type: c.type, nativeType: c.native }));
    const dialect = postgresDialect.name;
    return { exists: true, fields, primaryKey: [], typed: true, textual: false, dialect };
  }

  read(batchSize: number): AsyncGenerator<RowBatch> {
    return this.#read(batchSize, "");
  }

  /**
   * Key order by `ORDER BY`: integer columns as they are, text columns `COLLATE "C"` (code point
   * order, whatever the database's collation); keys of other types are not offered.
   */
  readSorted(keys: string[], batchSize: number): AsyncIterable<RowBatch> | undefined {
    if (!this.#info?.exists) return undefined;
    const terms = orderByKeys(this.#columns, keys);
    if (!terms) return undefined;
    return this.#read(batchSize, ` order by ${terms.join(", ")}`);
  }

  /** The rows matching `condition`, its `$n` bound to `params` (and the partition scope). */
  readWhere(condition: string, params: unknown[], batchSize: number): AsyncGenerator<RowBatch> {
    return this.#read(batchSize, "", { condition, params });
  }

  /** `part`: only the rows matching this condition too (checksum bisection, `readWhere`). */
  async *#read(
    batchSize: number,
    orderBy: string,
    part?: { condition: string; params: unknown[] },
  ): AsyncGenerator<RowBatch> {
    const info = await this.describe();
    if (!info.exists) return;
    const sql = await this.#connect();
    const filter = whereClause([
      this.role === "source" ? this.where : this.#scope,
      part?.condition,
    ]);
    const from = this.query ? `(${this.query.sql}) q` : this.#qualified;
    const text = `select ${selectList(this.#columns)} from ${from}${filter}${orderBy}`;
    const params = part?.params ?? this.query?.params ?? [];
    yield* cursorRows(sql, text, params, {
      columns: this.#columns,
      batchSize,
      label: this.label,
      opened: this.#opened!,
    });
  }

  async apply(plan: WritePlan, progress?: (written: number) => void): Promise<void> {
    const total = plan.creates.length + plan.updates.length + plan.deletes.length;
    if (total === 0 && !plan.createTarget) return;
    if (this.#schema === undefined) await this.describe();
    if (plan.createTarget) {
      checkIdentifiers(this.label, [
        this.#table,
        ...plan.fields.map((f) => f.name),
      ]);
    }
    checkValues(plan, this.#columns, this.label);
    const sql = await this.#connect();
    const step = { current: "starting the transaction", failing: undefined as string | undefined };
    try {
      // The socket's silence counts only while dsync waits on the server (the watchdog).
      const watchdog = this.#opened!.watchdog;
      if (this.#tx) {
        const tx = this.#tx;
        const write = () =>
          watchdog.guard(() => writeSteps(tx, plan, this.#writeTarget, step, progress));
        await (this.#keepAlive ? this.#keepAlive.pause(write) : write());
      } else {
        await watchdog.guard(() =>
          sql.begin(async (tx) => {
            await writeSteps(tx, plan, this.#writeTarget, step, progress);
            step.current = "committing";
          })
        );
      }
    } catch (error) {
      throw writeFailure(error, step.failing ?? step.current, this.#failureContext);
    }
  }

  /** What {@linkcode writeFailure} reports about this table. */
  get #failureContext(): FailureContext {
    return {
      label: this.label,
      opened: this.#opened,
      secrets: this.#secrets,
      lockMs: this.#lockMs,
      schema: this.#schema,
    };
  }

  /** What {@linkcode writeSteps} needs of this table. */
  get #writeTarget(): WriteTarget {
    return {
      schema: this.#schema!,
      table: this.#table,
      label: this.label,
      columnsChanged: (columns) => {
        if (columns) this.#columns = columns;
        else {
          this.#info = undefined;
          this.#columns = [];
        }
      },
    };
  }

  /** `--add-columns`: `ALTER TABLE … ADD COLUMN`, in the session's transaction. */
  async addColumns(fields: Field[]): Promise<void> {
    const sql = await this.#connect();
    const columns = fields.map((f) =>
      `add column ${quoteIdent(f.name)} ${postgresDialect.declaredType(f.type)}`
    );
    try {
      await this.#opened!.watchdog.guard(() =>
        sql.unsafe(`alter table ${this.#qualified} ${columns.join(", ")}`)
      );
    } catch (error) {
      throw writeFailure(error, "adding columns", this.#failureContext);
    }
    this.#info = undefined;
    this.#columns = [];
    await this.describe();
  }

  /**
   * The write session: one transaction that first takes a transaction-scoped advisory lock on
   * the table's name (it serialises dsync writers, even of a table still to be created) and,
   * when the table exists, `LOCK TABLE … IN SHARE ROW EXCLUSIVE MODE` (no other writer, readers
   * go on); then the table is described and read inside it. Waits at most `--lock-timeout`
   * ({@linkcode WRITE_LOCK_WAIT_MS} by default; `lock_timeout`) for either lock. While the
   * source is read, a {@linkcode KeepAlive} keeps the transaction from idling into the
   * server's `idle_in_transaction_session_timeout`.
   */
  async session<T>(work: () => Promise<T>): Promise<T> {
    if (this.#schema === undefined) await this.describe();
    const sql = await this.#connect();
    const name = `${quoteIdent(this.#schema!)}.${quoteIdent(this.#table)}`;
    let step = "starting the transaction";
    let result: T;
    try {
      await sql.begin(async (tx) => {
        this.#tx = tx;
        step = "locking the table";
        // Each wait on the server counts against the silence bound (a frozen server); the
        // session's own JavaScript work in between does not.
        const guard = <R>(wait: () => Promise<R>) => this.#opened!.watchdog.guard(wait);
        await guard(() => tx.unsafe(`set local lock_timeout = ${Math.round(this.#lockMs)}`));
        await guard(() =>
          tx.unsafe("select pg_advisory_xact_lock(hashtextextended($1, 0))", [`dsync:${name}`])
        );
        const [{ exists }] = await guard(() =>
          tx.unsafe("select to_regclass($1) is not null as exists", [name])
        );
        if (exists) await guard(() => tx.unsafe(`lock table ${name} in share row exclusive mode`));
        this.#info = undefined;
        this.#columns = [];
        step = "writing";
        const alive = new KeepAlive(tx, this.#idleBoundMs, guard);
        this.#keepAlive = alive;
        try {
          result = await work();
        } finally {
          this.#keepAlive = undefined;
          await alive.stop();
        }
        checkInterrupt();
        step = "committing";
      });
    } catch (error) {
      throw writeFailure(error, step, this.#failureContext);
    } finally {
      this.#tx = undefined;
    }
    return result!;
  }

  /** A `SAVEPOINT` in the session's transaction; undefined outside a session. */
  async savepoint(): Promise<Savepoint | undefined> {
    const tx = this.#tx;
    if (!tx) return undefined;
    const watchdog = this.#opened!.watchdog;
    try {
      return await sqlSavepoint((statement) => watchdog.guard(() => tx.unsafe(statement)));
    } catch (error) {
      throw writeFailure(error, "writing", this.#failureContext);
    }
  }

  /**
   * Reads only the rows matching the source's partition condition, so that `--delete` deletes
   * only inside the partition. The condition is checked against the table first (`LIMIT 0`):
   * PostgreSQL resolves every column it names.
   */
  async scopeTo(partition: Partition): Promise<void> {
    const hint =
      "sync the partition without --delete, or into a table with the same columns; if the target mirrors the filtered source, add --delete-outside-where";
    if (partition.dialect !== postgresDialect.name) {
      throw new UsageError(
        `refused: --delete with a ${partition.dialect} condition: ${this.label} cannot be read through it, so every record outside the partition would be deleted`,
        hint,
      );
    }
    const info = await this.describe();
    if (!info.exists) return;
    const sql = await this.#connect();
    try {
      await this.#opened!.watchdog.guard(() =>
        sql.unsafe(`select 1 from ${this.#qualified} where (${partition.condition}) limit 0`)
      );
    } catch (error) {
      if ((error as { code?: string }).code !== "42703") {
        throw failureOf(this.label, error, this.#opened);
      }
      throw new UsageError(
        `refused: --delete with --where: ${this.label} cannot be scoped by the same condition (${
          messageOf(error, this.#secrets)
        }), so every record outside the partition would be deleted`,
        hint,
      );
    }
    this.#scope = partition.condition;
  }

  /** The diff by a FULL JOIN inside PostgreSQL, when the source is a table of the same database. */
  async joinDiff(source: Dataset, request: JoinRequest): Promise<JoinScan | string | undefined> {
    if (!(source instanceof PgTable)) return undefined;
    const [sourceInfo, targetInfo] = [await source.describe(), await this.describe()];
    if (!targetInfo.exists || source.#connectionLabel !== this.#connectionLabel) return undefined;
    if (source.query) return "the source is a query";
    const fail = (error: unknown) =>
      error instanceof InputError
        ? error
        : new InputError(`${this.label}: ${messageOf(error, this.#secrets)}`);
    return await pgJoinScan(
      this.connection,
      {
        relation: source.#qualified,
        columns: source.#columns,
        primaryKey: sourceInfo.primaryKey,
        where: source.where,
      },
      // A target scoped to the source's partition (--where with --delete) is joined scoped too.
      {
        relation: this.#qualified,
        columns: this.#columns,
        primaryKey: targetInfo.primaryKey,
        where: this.#scope,
      },
      request,
      fail,
    ).catch((error) => {
      throw fail(error);
    });
  }

  /** PostgreSQL's side of a checksum bisection (checksum.ts). */
  async checksumSide(request: ChecksumRequest): Promise<ChecksumSide | string> {
    if (this.query) return "the source is a query";
    const info = await this.describe();
    if (!info.exists) return "the table does not exist";
    const readPart = (
      size: number,
      orderBy: string,
      part: { condition: string; params: unknown[] },
    ) => this.#read(size, orderBy, part);
    const sorted = (keys: string[]) => ` order by ${orderByKeys(this.#columns, keys)!.join(", ")}`;
    return await pgChecksumSide({
      relation: this.#qualified,
      columns: this.#columns,
      primaryKey: info.primaryKey,
      where: this.role === "source" ? this.where : this.#scope,
      query: (text, params) =>
        this.#query((sql) => sql.unsafe(text, params as never[]).values()) as Promise<
          unknown[][]
        >,
      within: (parts) => {
        const key = request.fields[request.keyIndexes[0]].column;
        const read = async function* (keys: string[], size: number) {
          for (const part of parts) yield* readPart(size, sorted(keys), part);
        };
        return {
          label: this.label,
          describe: () => this.describe(),
          read: (size) => read(info.primaryKey.length ? info.primaryKey : [key], size),
          readSorted: (keys, size) =>
            orderByKeys(this.#columns, keys) ? read(keys, size) : undefined,
          close: () => Promise.resolve(),
        };
      },
    }, request);
  }

  sqlStatements(plan: WritePlan): Iterable<string> {
    return changeSetSql(plan, this.#qualified, postgresDialect);
  }

  async close(): Promise<void> {
    const sql = this.#sql;
    this.#sql = undefined;
    await sql?.end({ timeout: 1 });
  }
}
