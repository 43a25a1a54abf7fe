/**
 * A MySQL/MariaDB table as a dataset and a target: describe, streamed (and sorted) reads, and the
 * one-transaction apply with its lock, in UTC and strict `sql_mode`.
 * @module
 */
import type { Connection as PromiseConnection } from "mysql2/promise";
import type { Connection as CoreConnection, FieldPacket } from "mysql2";
import { showKey, type WritePlan } from "../../adapter_kit/changes.ts";
import { InputError, TargetError, UnreachableError, UsageError } from "../../model/errors.ts";
import { type DatasetInfo, targetLocked, WRITE_LOCK_WAIT_MS } from "../../adapter_kit/importer.ts";
import {
  changeSetSql,
  createTableSql,
  type FilterableTarget,
  type SourceQuery,
  whereClause,
} from "../../adapter_kit/sql.ts";
import type { Field, RowBatch } from "../../model/types.ts";
import { addColumnsSql, replaceTable } from "./load.ts";
import { type LoadTarget, type LoadWrite, stagingName } from "../../adapter_kit/load.ts";
import { mysqlDialect, quoteIdent } from "./dialect.ts";
import { type ConnectionSettings, connectionSettings, type MysqlLocator } from "./locator.ts";
import {
  binaryCollation,
  connectionOptions,
  messageOf,
  NETWORK_CODES,
  probeMysql,
  SESSION_SQL,
  SQL_MODE,
  tableOptions,
  UNREACHABLE_HINT,
} from "./session.ts";
import {
  bindValue,
  columnOf,
  type MysqlColumn,
  readerFor,
  readsBytes,
  selectExpression,
  UnreadableValue,
  type ZeroDates,
} from "./values.ts";
import { fieldColumn } from "./metadata.ts";
import { loadDataChunks, loadDataSql } from "./load_data.ts";
import { deleteByKey, insertRows, nthChange, updateByKey } from "./writes.ts";
import type { Readable } from "node:stream";
import { changeRows, checkValues, mappedPlan, planColumns } from "./plan.ts";
import { importPackage } from "../../adapter_kit/packages.ts";
import type { ChecksumRequest, ChecksumSide } from "../../adapter_kit/checksum.ts";
import { mysqlChecksumSide } from "./checksum.ts";

/** Every value as the server's text (checksums, counts and keys). */
const typeCast = (field: { string(encoding: string): string | null }) => field.string("utf8");

/** Hex SHA-1 of a text (for lock names too long for MySQL). */
async function sha1(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** From this many creates on, LOAD DATA LOCAL INFILE (when the server allows it), else INSERTs. */
const LOAD_DATA_ROWS = 100;

/** An identifier as SQL would need it written: bare when it can be, quoted otherwise. */
function showIdent(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_$]*$/.test(name) ? name : quoteIdent(name);
}

/** One MySQL table (or view, or query, as a source). */
export class MysqlTable implements FilterableTarget, LoadTarget {
  readonly dialect = mysqlDialect;
  readonly loadWrites: readonly LoadWrite[] = ["truncate", "replace", "delete_insert"];
  #conn: PromiseConnection | undefined;
  /** The table `apply` writes, when not this one: a full-refresh's staging table. */
  #writing: string | undefined;
  #settings: ConnectionSettings;
  #info: DatasetInfo | undefined;
  #columns: MysqlColumn[] = [];
  #engine = "";
  #transactionalEngine = true;
  #mariadb = true;
  #collation = "utf8mb4_bin";
  #secrets: string[] = [];
  /** Whether the server takes LOAD DATA LOCAL INFILE (`local_infile`). */
  #localInfile = false;
  /** The stream the next LOAD DATA LOCAL INFILE reads. */
  #infile: Readable | undefined;

  constructor(
    locator: MysqlLocator,
    readonly table: string,
    readonly role: "source" | "target",
    readonly options: {
      where?: string;
      query?: SourceQuery;
      allowNonTransactional?: boolean;
      zeroDates?: ZeroDates;
      /** How long to wait for another run's lock on the table (`--lock-timeout`), in ms. */
      lockMs?: number;
      /** Change capture: a source connection that may write (the change table, triggers). */
      capture?: boolean;
      /** `--connect-timeout` in seconds; undefined: the default. */
      connectSeconds?: number;
    },
  ) {
    this.#settings = { ...connectionSettings(locator), connectSeconds: options.connectSeconds };
    if (this.#settings.password) {
      this.#secrets.push(this.#settings.password, encodeURIComponent(this.#settings.password));
    }
  }

  get #database(): string {
    return this.#settings.database ?? "";
  }

  get label(): string {
    const s = this.#settings;
    const where = s.socketPath ? s.socketPath : `${s.host}:${s.port}`;
    const name = this.options.query ? this.options.query.name : showIdent(this.table);
    return `mysql:${s.user}@${where}/${this.#database}#${name}`;
  }

  /** `` `db`.`table` `` */
  get #qualified(): string {
    return `${quoteIdent(this.#database)}.${quoteIdent(this.#writing ?? this.table)}`;
  }

  async #connect(): Promise<PromiseConnection> {
    if (this.#conn) return this.#conn;
    if (!this.#settings.database) {
      throw new UsageError(
        `${this.label}: which database? write mysql://USER@HOST:PORT/DATABASE#TABLE or DATABASE.TABLE`,
      );
    }
    await probeMysql(this.#settings, this.label);
    const mysql = await importPackage<typeof import("mysql2/promise")>("mysql2/promise");
    try {
      this.#conn = await mysql.createConnection(
        {
          ...connectionOptions(this.#settings),
          infileStreamFactory: () => {
            if (!this.#infile) throw new Error("no LOAD DATA stream");
            return this.#infile;
          },
        } as Parameters<typeof mysql.createConnection>[0],
      );
    } catch (error) {
      throw this.#connectError(error);
    }
    const conn = this.#conn;
    conn.on("error", () => {});
    await conn.query(SESSION_SQL);
    if (this.role === "source" && !this.options.capture) {
      await conn.query("SET SESSION TRANSACTION READ ONLY");
    }
    const [rows] = await conn.query("SELECT VERSION() AS v, @@local_infile AS l");
    const [server] = rows as { v: string; l: number | string }[];
    this.#mariadb = /mariadb/i.test(String(server.v));
    this.#collation = binaryCollation(String(server.v));
    this.#localInfile = Number(server.l) === 1;
    if (this.role === "target") await this.#lock(conn);
    return conn;
  }

  /**
   * Serialises dsync runs on one table: a named lock, held by this session from before the table
   * is read until it is closed, so a second run waits (`--lock-timeout`, 5 s by default) for the
   * first to commit, then fails (exit 4).
   */
  async #lock(conn: PromiseConnection): Promise<void> {
    const name = `dsync:${this.#database}.${this.table}`;
    // Lock names are at most 64 characters.
    const key = name.length <= 64 ? name : `dsync:${await sha1(name)}`;
    const waitMs = this.options.lockMs ?? WRITE_LOCK_WAIT_MS;
    // GET_LOCK's timeout is in seconds, fractions allowed.
    const [rows] = await conn.query("SELECT GET_LOCK(?, ?) AS got", [key, waitMs / 1000]);
    if (Number((rows as { got: number | null }[])[0].got) !== 1) {
      throw targetLocked(this.label, waitMs);
    }
  }

  #connectError(error: unknown): InputError | UnreachableError {
    const code = (error as { code?: string }).code ?? "";
    if (NETWORK_CODES.test(code)) {
      return new UnreachableError(
        `${this.label}: ${messageOf(error, this.#secrets)}`,
        UNREACHABLE_HINT,
      );
    }
    const hint = code === "ER_ACCESS_DENIED_ERROR"
      ? "check the user and password (URL, MYSQL_PWD or ~/.my.cnf)"
      : code === "ER_BAD_DB_ERROR"
      ? `create it first: CREATE DATABASE ${showIdent(this.#database)}`
      : undefined;
    return new InputError(`${this.label}: ${messageOf(error, this.#secrets)}`, hint);
  }

  /** Runs a query while opening the dataset: problems are input errors (exit 2). */
  async #query<T = Record<string, unknown>[]>(sql: string, params: unknown[] = []): Promise<T> {
    const conn = await this.#connect();
    try {
      const [rows] = await conn.query(sql, params);
      return rows as T;
    } catch (error) {
      throw this.#connectError(error);
    }
  }

  async describe(): Promise<DatasetInfo> {
    if (this.#info) return this.#info;
    if (this.options.query) return this.#info = await this.#describeQuery(this.options.query);
    const db = this.#database;
    const tables = await this.#query<{ ENGINE: string | null; TRANSACTIONS: string | null }[]>(
      `SELECT t.ENGINE, e.TRANSACTIONS FROM information_schema.TABLES t
       LEFT JOIN information_schema.ENGINES e ON e.ENGINE = t.ENGINE
       WHERE t.TABLE_SCHEMA = ? AND t.TABLE_NAME = ?`,
      [db, this.table],
    );
    if (tables.length === 0) {
      if (this.role === "source") {
        const names = await this.#query<{ n: string }[]>(
          "SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1 LIMIT 50",
          [db],
        );
        throw new InputError(
          `${this.label}: no such table`,
          `tables in ${showIdent(db)}: ${names.map((t) => showIdent(t.n)).join(", ") || "(none)"}`,
        );
      }
      this.#info = { exists: false, fields: [], primaryKey: [], typed: true, textual: false };
      return this.#info;
    }
    // A view has no engine: it writes through to its tables, whose engines are not checked.
    this.#engine = tables[0].ENGINE ?? "";
    this.#transactionalEngine = tables[0].ENGINE === null || tables[0].TRANSACTIONS === "YES";
    const rows = await this.#query<Record<string, string | null>[]>(
      `SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType,
         CHARACTER_SET_NAME AS charset, COLUMN_KEY AS columnKey
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
       ORDER BY ORDINAL_POSITION`,
      [db, this.table],
    );
    // MariaDB's JSON is LONGTEXT with a json_valid() check named after the column.
    const jsonColumns = new Set<string>();
    if (this.#mariadb) {
      const checks = await this.#query<{ name: string; clause: string }[]>(
        `SELECT CONSTRAINT_NAME AS name, CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS
         WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?`,
        [db, this.table],
      ).catch(() => []);
      for (const c of checks) {
        if (c.clause === `json_valid(${quoteIdent(c.name)})`) jsonColumns.add(c.name);
      }
    }
    this.#columns = rows.map((r) =>
      columnOf(r.name!, r.columnType!, {
        dataType: r.dataType!,
        charset: r.charset ?? undefined,
        json: jsonColumns.has(r.name!),
      })
    );
    const keys = await this.#query<{ name: string }[]>(
      `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
       WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY'
       ORDER BY ORDINAL_POSITION`,
      [db, this.table],
    );
    const fields: Field[] = this.#columns.map((c) => ({
      name: c.name,
      type: c.type,
      nativeType: c.columnType,
    }));
    this.#info = {
      exists: true,
      fields,
      primaryKey: keys.map((k) => k.name),
      typed: true,
      textual: false,
      dialect: mysqlDialect.name,
      // JSON columns are parsed as they are read (readerFor): their values are JSON values.
      jsonValues: true,
    };
    return this.#info;
  }

  /** A query's columns, typed from the result's metadata (`LIMIT 0`: nothing is read). */
  async #describeQuery(query: SourceQuery): Promise<DatasetInfo> {
    const conn = await this.#connect();
    let fields: FieldPacket[];
    try {
      [, fields] = await conn.query(
        `SELECT * FROM (${query.sql}) q LIMIT 0`,
        (query.params ?? []) as never[],
      );
    } catch (error) {
      throw new InputError(`${this.label}: ${messageOf(error, this.#secrets)}`);
    }
    this.#columns = fields.map(fieldColumn);
    return {
      exists: true,
      fields: this.#columns.map((c) => ({ name: c.name, type: c.type, nativeType: c.columnType })),
      primaryKey: [],
      typed: true,
      textual: false,
      // JSON columns are parsed as they are read (readerFor): their values are JSON values.
      jsonValues: true,
    };
  }

  read(batchSize: number): AsyncGenerator<RowBatch> {
    return this.#read(batchSize, "");
  }

  /**
   * Key order by `ORDER BY`: integer columns as they are, text columns by their bytes
   * (`CAST(col AS BINARY)`: code point order for utf8mb4, whatever the collation); keys of other
   * types are not offered.
   */
  readSorted(keys: string[], batchSize: number): AsyncIterable<RowBatch> | undefined {
    if (!this.#info?.exists) return undefined;
    const orderBy = this.#orderBy(keys);
    return orderBy === undefined ? undefined : this.#read(batchSize, orderBy);
  }

  #orderBy(keys: string[]): string | undefined {
    const terms: string[] = [];
    for (const key of keys) {
      const column = this.#columns.find((c) => c.name === key);
      if (column?.type === "integer" && column.dataType !== "bit") terms.push(quoteIdent(key));
      else if (column?.type === "text" && /char|text/.test(column.dataType)) {
        terms.push(`CAST(${quoteIdent(key)} AS BINARY)`);
      } else return undefined;
    }
    return ` ORDER BY ${terms.join(", ")}`;
  }

  /** MySQL's side of a checksum bisection (checksum.ts). */
  async checksumSide(request: ChecksumRequest): Promise<ChecksumSide | string> {
    if (this.options.query) return "the source is a query";
    const info = await this.describe();
    if (!info.exists) return "the table does not exist";
    const conn = await this.#connect();
    return await mysqlChecksumSide({
      relation: this.#qualified,
      columns: this.#columns,
      primaryKey: info.primaryKey,
      where: this.role === "source" ? this.options.where : undefined,
      dataset: this,
      query: async (sql, params) => {
        try {
          const [rows] = await conn.query({ sql, values: params, rowsAsArray: true, typeCast });
          return rows as (string | null)[][];
        } catch (error) {
          throw this.#connectError(error);
        }
      },
      orderBy: (keys) => this.#orderBy(keys),
      readPart: (size, orderBy, part) => this.#read(size, orderBy, part),
    }, request);
  }

  /** The rows matching `condition`, its `?` bound to `params`. */
  readWhere(condition: string, params: unknown[], batchSize: number): AsyncGenerator<RowBatch> {
    return this.#read(batchSize, "", { condition, params });
  }

  async *#read(
    batchSize: number,
    orderBy: string,
    extra?: { condition: string; params: unknown[] },
  ): AsyncGenerator<RowBatch> {
    const info = await this.describe();
    if (!info.exists) return;
    const conn = await this.#connect();
    const query = this.options.query;
    const where = whereClause([
      this.role === "source" ? this.options.where : undefined,
      extra?.condition,
    ]);
    const select = query
      ? `SELECT * FROM (${query.sql}) q`
      : `SELECT ${
        this.#columns.map((c) => selectExpression(c, quoteIdent(c.name))).join(", ")
      } FROM ${this.#qualified}`;
    const readers = this.#columns.map((c) => readerFor(c, this.options.zeroDates));
    const binary = this.#columns.map(readsBytes);
    const width = readers.length;
    let column = 0;
    // The promise wrapper has no streams: the callback connection underneath does.
    const core = (conn as unknown as { connection: CoreConnection }).connection;
    const stream = core.query({
      sql: select + where + orderBy,
      rowsAsArray: true,
      // The server's text of every value (its bytes for binary columns), never the driver's
      // parse: the readers above convert them, exactly. mysql2 calls typeCast for every column
      // of every row in order, so a counter knows the column.
      typeCast: (
        field: { buffer(): Uint8Array | null; string(encoding: string): string | null },
      ) => {
        const bytes = binary[column];
        column = column + 1 === width ? 0 : column + 1;
        return bytes ? field.buffer() : field.string("utf8");
      },
    }, query?.params ?? extra?.params ?? []).stream({ highWaterMark: batchSize });
    let rows: unknown[][] = [];
    let positions: number[] = [];
    let position = 0;
    try {
      for await (const raw of stream as AsyncIterable<(string | Uint8Array | null)[]>) {
        position++;
        const row = new Array<unknown>(width);
        for (let i = 0; i < width; i++) {
          const value = raw[i];
          try {
            row[i] = value === null ? null : readers[i](value);
          } catch (error) {
            if (!(error instanceof UnreadableValue)) throw error;
            throw new InputError(
              `${this.label}: record ${position}: field '${
                this.#columns[i].name
              }': ${error.message}`,
            );
          }
        }
        rows.push(row);
        positions.push(position);
        if (rows.length >= batchSize) {
          yield { rows, positions };
          rows = [];
          positions = [];
        }
      }
    } catch (error) {
      stream.destroy();
      if (error instanceof InputError) throw error;
      throw new InputError(`${this.label}: ${messageOf(error, this.#secrets)}`);
    }
    if (rows.length) yield { rows, positions };
  }

  async apply(plan: WritePlan, progress?: (written: number) => void): Promise<void> {
    const total = plan.creates.length + plan.updates.length + plan.deletes.length;
    if (total === 0 && !plan.createTarget) return;
    await this.describe();
    if (plan.load === "replace") {
      const conn = await this.#connect();
      const table = this.#qualified;
      this.#writing = stagingName(this.table);
      const staging = this.#qualified;
      try {
        await conn.query(`DROP TABLE IF EXISTS ${staging}`);
        await this.apply({ ...plan, load: undefined, createTarget: true }, progress);
      } finally {
        this.#writing = undefined;
      }
      this.#info = undefined;
      await replaceTable(
        conn,
        table,
        staging,
        (error) => messageOf(error, this.#secrets),
        this.label,
      );
      return;
    }
    if (!this.#transactionalEngine && !this.options.allowNonTransactional) {
      throw new UsageError(
        `${this.label}: the table's engine ${this.#engine} is not transactional: a failure part way would leave some changes written; nothing was written`,
        "convert it (ALTER TABLE ... ENGINE=InnoDB), or accept that with --allow-non-transactional",
      );
    }
    const columns = planColumns(plan, this.#columns);
    checkValues(plan, columns, this.label);
    const conn = await this.#connect();
    let current = "starting the transaction";
    let failing: string | undefined;
    let created = false;
    const transactional = this.#transactionalEngine;
    const onFailing = transactional ? (what: string) => failing = what : undefined;
    try {
      if (plan.createTarget) {
        // CREATE TABLE commits implicitly in MySQL: it runs before the transaction, and is
        // dropped again when the transaction fails.
        current = "creating the table";
        await conn.query(
          createTableSql(mysqlDialect, this.#qualified, plan.fields, plan.keyIndexes) +
            tableOptions(this.#collation),
        );
        created = true;
      }
      current = "starting the transaction";
      await conn.query("START TRANSACTION");
      let written = 0;
      if (plan.load === "truncate") {
        // TRUNCATE would commit: DELETE empties the table inside the transaction.
        current = "emptying the table";
        await conn.query(`DELETE FROM ${this.#qualified}`);
      }
      const deleteFirst = plan.load === "delete_insert" && plan.deletes.length > 0;
      if (deleteFirst) {
        current = "deleting the records to insert again";
        await deleteByKey(conn, this.#qualified, plan, columns, onFailing);
      }
      if (plan.creates.length) {
        current = "creating records";
        // A load undone to its savepoint stays written in a non-transactional table.
        const loaded = this.#localInfile && transactional &&
          plan.creates.length >= LOAD_DATA_ROWS &&
          await this.#loadData(conn, plan, columns, progress);
        if (!loaded) {
          const insert = `INSERT INTO ${this.#qualified} (${
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
        await updateByKey(conn, this.#qualified, plan, columns, onFailing);
        written += plan.updates.length;
        progress?.(written);
      }
      if (plan.deletes.length && !deleteFirst) {
        current = "deleting records";
        await deleteByKey(conn, this.#qualified, plan, columns, onFailing);
        written += plan.deletes.length;
        progress?.(written);
      }
      current = "committing";
      await conn.query("COMMIT");
    } catch (error) {
      await conn.query("ROLLBACK").catch(() => {});
      if (created) await conn.query(`DROP TABLE IF EXISTS ${this.#qualified}`).catch(() => {});
      const outcome = transactional
        ? "rolled back, nothing written"
        : `the engine ${this.#engine} is not transactional: what was written before the failure stays`;
      throw new TargetError(
        `${this.label}: failed while ${failing ?? current}: ${
          messageOf(error, this.#secrets)
        }; ${outcome}`,
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
  async #loadData(
    conn: PromiseConnection,
    plan: WritePlan,
    columns: (MysqlColumn | undefined)[],
    progress?: (written: number) => void,
  ): Promise<boolean> {
    const { Readable } = await import("node:stream");
    const types = plan.fields.map((f) => f.type);
    const sql = loadDataSql(this.#qualified, plan.fields.map((f) => f.name), columns, types);
    await conn.query("SAVEPOINT dsync_load");
    this.#infile = Readable.from(loadDataChunks(changeRows(plan.creates), types, progress));
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
      this.#infile = undefined;
    }
    await conn.query("ROLLBACK TO SAVEPOINT dsync_load");
    return false;
  }

  /** `--add-columns`: `ALTER TABLE … ADD COLUMN` (MySQL commits it at once: not rolled back). */
  async addColumns(fields: Field[]): Promise<void> {
    const conn = await this.#connect();
    await addColumnsSql(
      conn,
      this.#qualified,
      fields,
      (error) => messageOf(error, this.#secrets),
      this.label,
    );
    this.#info = undefined;
    await this.describe();
  }

  sqlStatements(plan: WritePlan): Iterable<string> {
    const columns = planColumns(plan, this.#columns);
    checkValues(plan, columns, this.label);
    const table = this.#qualified;
    const options = tableOptions(this.#collation);
    return (function* () {
      yield `SET SESSION time_zone = '+00:00', SESSION sql_mode = '${SQL_MODE}';`;
      if (plan.createTarget) {
        yield createTableSql(mysqlDialect, table, plan.fields, plan.keyIndexes) + options + ";";
      }
      // Literals as MySQL parses them: timestamps without `T` and `Z` (the session is UTC).
      const printable = mappedPlan(
        plan,
        (value, i) => typeof value === "string" ? bindValue(value, plan.fields[i].type) : value,
      );
      yield* changeSetSql(
        { ...printable, createTarget: false },
        table,
        mysqlDialect,
      );
    })();
  }

  /** The database the table is in. */
  get databaseName(): string {
    return this.#database;
  }

  /**
   * Change capture (`capture` set): runs `statements` in one transaction (DDL commits on its
   * own in MySQL); the rows of the last one. A failure is a {@linkcode TargetError}.
   */
  async runStatements(
    statements: { sql: string; params?: unknown[] }[],
  ): Promise<Record<string, unknown>[]> {
    const conn = await this.#connect();
    let rows: Record<string, unknown>[] = [];
    try {
      await conn.query("START TRANSACTION");
      for (const s of statements) {
        [rows] = await conn.query(s.sql, s.params ?? []) as unknown as [
          Record<string, unknown>[],
        ];
      }
      await conn.query("COMMIT");
    } catch (error) {
      await conn.query("ROLLBACK").catch(() => {});
      throw new TargetError(`${this.label}: ${messageOf(error, this.#secrets)}`);
    }
    return rows;
  }

  async close(): Promise<void> {
    const conn = this.#conn;
    this.#conn = undefined;
    await conn?.end().catch(() => conn.destroy());
  }
}
