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
import type { Sql } from "postgres";
import type { WritePlan } from "../../adapter_kit/changes.ts";
import type { Dataset, DatasetInfo } from "../../adapter_kit/importer.ts";
import {
  ansiQuote as quoteIdent,
  changeSetSql,
  createTableSql,
  type JoinDiffTarget,
  type JoinRequest,
  type JoinScan,
  type SourceQuery,
} from "../../adapter_kit/sql.ts";
import { InputError, rolledBack } from "../../model/errors.ts";
import type { Field, RowBatch } from "../../model/types.ts";
import { parseDecimal } from "../../model/values.ts";
import {
  defaultSchema,
  OID,
  orderByKeys,
  type PgColumn,
  primaryKeyOf,
  queryColumns,
  readTable,
  selectList,
  showIdent,
  tableNames,
} from "./catalog.ts";
import { checkValues } from "./checks.ts";
import { type Connection, connectionHint, messageOf, openSql } from "./connection.ts";
import { postgresDialect } from "./dialect.ts";
import { createRows, deleteRows, updateRows } from "./write.ts";
import { pgJoinScan } from "./join.ts";

/** One PostgreSQL table (or view, as a source). */
export class PgTable implements JoinDiffTarget {
  #sql: Sql | undefined;
  #info: DatasetInfo | undefined;
  #columns: PgColumn[] = [];
  #schema: string | undefined;
  #table: string;
  #connectionLabel: string;
  #secrets: string[] = [];
  #oid = 0;

  constructor(
    readonly connection: Connection,
    table: string,
    readonly role: "source" | "target",
    readonly where?: string,
    /** Read this SELECT instead of the table (a source only). */
    readonly query?: SourceQuery,
  ) {
    this.#table = table;
    this.#schema = connection.schema;
    this.#connectionLabel = "";
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
    if (this.#sql) return this.#sql;
    const opened = await openSql(this.connection, this.role);
    this.#secrets.push(...opened.secrets);
    this.#connectionLabel = opened.label;
    this.#sql = opened.sql;
    return opened.sql;
  }

  /** Runs a query while opening the dataset: connection problems are input errors (exit 2). */
  async #query<T>(run: (sql: Sql) => Promise<T>): Promise<T> {
    const sql = await this.#connect();
    try {
      return await run(sql);
    } catch (error) {
      const hint = connectionHint((error as { code?: string }).code ?? "");
      throw new InputError(`${this.label}: ${messageOf(error, this.#secrets)}`, hint);
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
    const primaryKey = this.#columns.length
      ? await this.#query((sql) => primaryKeyOf(sql, this.#oid))
      : [];
    const fields: Field[] = this.#columns.map((c) => ({
      name: c.name,
      type: c.type,
      nativeType: c.native,
    }));
    this.#info = {
      exists: this.#columns.length > 0,
      fields,
      primaryKey,
      typed: true,
      textual: false,
    };
    return this.#info;
  }

  /** A query's columns, typed as PostgreSQL describes the prepared statement. */
  async #describeQuery(query: SourceQuery): Promise<DatasetInfo> {
    this.#columns = await this.#query((sql) => queryColumns(sql, query));
    const fields = this.#columns.map((c) => ({ name: c.name, type: c.type, nativeType: c.native }));
    return { exists: true, fields, primaryKey: [], typed: true, textual: false };
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

  async *#read(batchSize: number, orderBy: string): AsyncGenerator<RowBatch> {
    const info = await this.describe();
    if (!info.exists) return;
    const sql = await this.#connect();
    const filter = this.role === "source" && this.where ? ` where (${this.where})` : "";
    const from = this.query ? `(${this.query.sql}) q` : this.#qualified;
    const text = `select ${selectList(this.#columns)} from ${from}${filter}${orderBy}`;
    let position = 0;
    // numeric comes as PostgreSQL prints it (`9.90`): hand over the canonical decimal (`9.9`),
    // so that a target storing decimals as text compares equal to what dsync wrote there.
    const decimals = this.#columns.flatMap((c, i) => c.baseOid === OID.numeric ? [i] : []);
    const cursor = sql.unsafe(text, (this.query?.params ?? []) as never[]).values().cursor(
      batchSize,
    );
    try {
      for await (const rows of cursor) {
        const positions = new Array<number>(rows.length);
        for (let i = 0; i < rows.length; i++) {
          positions[i] = ++position;
          for (const d of decimals) {
            const v = rows[i][d];
            if (typeof v === "string") rows[i][d] = parseDecimal(v) ?? v;
          }
        }
        yield { rows: rows as unknown as unknown[][], positions };
      }
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw new InputError(`${this.label}: ${messageOf(error, this.#secrets)}`);
    }
  }

  async apply(plan: WritePlan, progress?: (written: number) => void): Promise<void> {
    const total = plan.creates.length + plan.updates.length + plan.deletes.length;
    if (total === 0 && !plan.createTarget) return;
    if (this.#schema === undefined) await this.describe();
    checkValues(plan, this.#columns, this.label);
    const sql = await this.#connect();
    const table = this.#qualified;
    let current = "starting the transaction";
    let failing: string | undefined;
    const onFailing = (what: string) => failing = what;
    let written = 0;
    try {
      await sql.begin(async (tx) => {
        if (plan.createTarget) {
          current = "creating the table";
          await tx.unsafe(createTableSql(postgresDialect, table, plan.fields, plan.keyIndexes));
        }
        if (plan.creates.length) {
          current = "creating records (COPY)";
          await createRows(tx, table, plan, (n) => {
            written = n;
            progress?.(n);
          }, onFailing);
          written = plan.creates.length;
          progress?.(written);
        }
        if (plan.updates.length) {
          current = "updating records";
          await updateRows(tx, table, plan, onFailing);
          written += plan.updates.length;
          progress?.(written);
        }
        if (plan.deletes.length) {
          current = "deleting records";
          await deleteRows(tx, table, plan, onFailing);
          written += plan.deletes.length;
          progress?.(written);
        }
        current = "committing";
      });
    } catch (error) {
      const hint = current === "creating the table" &&
          (error as { code?: string }).code === "3F000"
        ? `create the schema first: CREATE SCHEMA ${showIdent(this.#schema!)}`
        : undefined;
      throw rolledBack(this.label, failing ?? current, messageOf(error, this.#secrets), hint);
    }
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
      { relation: this.#qualified, columns: this.#columns, primaryKey: targetInfo.primaryKey },
      request,
      fail,
    ).catch((error) => {
      throw fail(error);
    });
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
