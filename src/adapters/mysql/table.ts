/**
 * A MySQL/MariaDB table as a dataset and a target: describe, streamed (and sorted) reads, and the
 * one-transaction apply with its lock, in UTC and strict `sql_mode`.
 * @module
 */
import type { Connection as PromiseConnection } from "mysql2/promise";
import type { FieldPacket } from "mysql2";
import type { WritePlan } from "../../adapter_kit/changes.ts";
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
  selectExpression,
  type TimeAs,
  type ZeroDates,
} from "./values.ts";
import { fieldColumn } from "./metadata.ts";
import { writePlan } from "./apply.ts";
import { streamRows } from "./read.ts";
import type { Readable } from "node:stream";
import { checkValues, mappedPlan, planColumns } from "./plan.ts";
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
      /** `--time-as`: what a TIME column is. */
      timeAs?: TimeAs;
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

  /** False for a MyISAM (or other non-transactional) table, once described. */
  get transactional(): boolean {
    return this.#transactionalEngine;
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
        timeAs: this.options.timeAs,
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
    this.#columns = fields.map((f) => fieldColumn(f, this.options.timeAs));
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
    yield* streamRows(conn, select + where + orderBy, query?.params ?? extra?.params ?? [], {
      columns: this.#columns,
      zeroDates: this.options.zeroDates,
      batchSize,
      label: this.label,
      message: (error) => messageOf(error, this.#secrets),
    });
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
    await writePlan(conn, plan, columns, {
      table: this.#qualified,
      label: this.label,
      engine: this.#engine,
      transactional: this.#transactionalEngine,
      tableOptions: tableOptions(this.#collation),
      localInfile: this.#localInfile,
      infile: (stream) => this.#infile = stream,
      message: (error) => messageOf(error, this.#secrets),
      reconnect: () => {
        conn.destroy();
        this.#conn = undefined;
        return this.#connect();
      },
    }, progress);
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
