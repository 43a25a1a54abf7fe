/**
 * Change capture on a PostgreSQL table: `dsync_changes` in the table's schema, filled by one
 * `AFTER INSERT OR UPDATE OR DELETE … FOR EACH ROW` trigger and its PL/pgSQL function
 * (adapter_kit/capture.ts has the rest).
 *
 * @example
 * ```ts ignore
 * const driver = await PgCapture.open(tableOf("crm.users", undefined, "source"), settings, table, query);
 * ```
 * @module
 */
import type { Sql } from "postgres";
import {
  type CaptureDriver,
  type CaptureOp,
  CHANGE_TABLE,
  changeRecorder,
  type Statement,
} from "../../adapter_kit/capture.ts";
import type { Dataset, DatasetInfo } from "../../adapter_kit/importer.ts";
import { ansiQuote as quoteIdent, type SourceQuery } from "../../adapter_kit/sql.ts";
import { TargetError } from "../../model/errors.ts";
import { defaultSchema } from "./catalog.ts";
import {
  type Connection,
  failureOf,
  messageOf,
  type OpenedSql,
  openSql,
  type PgSettings,
} from "./connection.ts";
import { postgresDialect } from "./dialect.ts";

/** The trigger's name (one per table: it fires for all three operations). */
const TRIGGER = "dsync_capture";

/** The capture side of one PostgreSQL table. */
export class PgCapture implements CaptureDriver {
  readonly dialect = postgresDialect;
  readonly changeTable: string;
  readonly quotedTable: string;
  readonly #function: string;

  private constructor(
    readonly connection: Connection,
    readonly settings: PgSettings,
    readonly opened: OpenedSql,
    readonly schema: string,
    readonly tableName: string,
    readonly table: Dataset,
    readonly query: (query: SourceQuery) => Dataset,
  ) {
    this.changeTable = `${quoteIdent(schema)}.${quoteIdent(CHANGE_TABLE)}`;
    this.quotedTable = `${quoteIdent(schema)}.${quoteIdent(tableName)}`;
    this.#function = `${quoteIdent(schema)}.${quoteIdent(`${TRIGGER}_${tableName}`)}`;
    this.#publication = `${TRIGGER}_${tableName}`;
  }

  /** The publication of logical decoding (unqualified: publications belong to the database). */
  readonly #publication: string;

  /**
   * Connects (read-write: the change table is written) and finds the table's schema. `table`
   * and `query` open the table and a SELECT as sources in the schema found.
   */
  static async open(
    connection: Connection,
    settings: PgSettings,
    table: (schema: string) => Dataset,
    query: (query: SourceQuery) => Dataset,
  ): Promise<PgCapture> {
    const opened = await openSql(connection, "target", settings);
    let schema = connection.schema;
    try {
      schema ??= await opened.watchdog.guard(() => defaultSchema(opened.sql));
    } catch (error) {
      await opened.sql.end({ timeout: 1 });
      throw failureOf(`pg:${opened.label}#${connection.table}`, error, opened);
    }
    return new PgCapture(
      connection,
      settings,
      opened,
      schema,
      connection.table!,
      table(schema),
      query,
    );
  }

  get label(): string {
    return this.table.label;
  }

  describe(): Promise<DatasetInfo> {
    return this.table.describe();
  }

  installStatements(keyFields: string[]): Statement[] {
    const { record, keyMoved } = changeRecorder(
      postgresDialect,
      {
        object: (pairs) => `json_build_object(${pairs})::text`,
        text: (column) => `(${column})::text`,
        same: (a, b) => `${a} IS NOT DISTINCT FROM ${b}`,
      },
      this.changeTable,
      this.tableName,
      keyFields,
    );
    return [
      ...this.#changeTableStatements(),
      {
        sql:
          `CREATE OR REPLACE FUNCTION ${this.#function}() RETURNS trigger LANGUAGE plpgsql AS $dsync$
BEGIN
  IF TG_OP = 'INSERT' THEN
    ${record("NEW", "insert")};
  ELSIF TG_OP = 'UPDATE' THEN
    IF ${keyMoved} THEN
      ${record("OLD", "delete")};
    END IF;
    ${record("NEW", "update")};
  ELSE
    ${record("OLD", "delete")};
  END IF;
  RETURN NULL;
END
$dsync$`,
      },
      { sql: `DROP TRIGGER IF EXISTS ${TRIGGER} ON ${this.quotedTable}` },
      {
        sql:
          `CREATE TRIGGER ${TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON ${this.quotedTable} FOR EACH ROW EXECUTE FUNCTION ${this.#function}()`,
      },
    ];
  }

  /** The change table and its index, when missing. */
  #changeTableStatements(): Statement[] {
    return [
      {
        sql:
          `CREATE TABLE IF NOT EXISTS ${this.changeTable} (id bigserial PRIMARY KEY, table_name text NOT NULL, "key" text NOT NULL, op text NOT NULL, "time" timestamptz NOT NULL DEFAULT clock_timestamp())`,
      },
      {
        sql: `CREATE INDEX IF NOT EXISTS ${
          quoteIdent(`${CHANGE_TABLE}_table`)
        } ON ${this.changeTable} (table_name, id)`,
      },
    ];
  }

  logicalStatements(): Statement[] {
    return [
      ...this.#changeTableStatements(),
      ...this.removeStatements(),
      { sql: `CREATE PUBLICATION ${quoteIdent(this.#publication)} FOR TABLE ${this.quotedTable}` },
    ];
  }

  async follow(
    record: (key: Record<string, string | null>, op: CaptureOp) => Promise<void>,
    stop: Promise<void>,
    ready: () => void,
  ): Promise<void> {
    const keys = (await this.describe()).primaryKey;
    const stream = await openSql(this.connection, "target", this.settings, {
      publications: this.#publication,
    });
    const text = (v: unknown) =>
      v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : String(v);
    const keyOf = (row: Record<string, unknown>) =>
      Object.fromEntries(keys.map((k) => [k, text(row[k])]));
    let chain = Promise.resolve();
    let failure: unknown;
    try {
      const { unsubscribe } = await stream.sql.subscribe(
        `*:${this.schema}.${this.tableName}`,
        (row, info) => {
          const op = info.command as CaptureOp;
          const old = (info as { old?: Record<string, unknown> | null }).old;
          chain = chain.then(async () => {
            if (failure) return;
            // An update that changed the key carries the old key: that record is gone.
            if (op === "update" && old) await record(keyOf(old), "delete");
            await record(keyOf(row as Record<string, unknown>), op);
          }).catch((error) => void (failure ??= error));
        },
        ready,
      );
      await stop;
      await unsubscribe();
      await chain;
    } catch (error) {
      throw new TargetError(
        `${this.label}: logical decoding: ${messageOf(error, this.opened.secrets)}`,
      );
    } finally {
      await stream.sql.end({ timeout: 1 });
    }
    if (failure) throw failure;
  }

  removeStatements(): Statement[] {
    return [
      { sql: `DROP PUBLICATION IF EXISTS ${quoteIdent(this.#publication)}` },
      { sql: `DROP TRIGGER IF EXISTS ${TRIGGER} ON ${this.quotedTable}` },
      { sql: `DROP FUNCTION IF EXISTS ${this.#function}()` },
    ];
  }

  capturedQuery(): Statement {
    return {
      sql: `select c.relname as t from pg_catalog.pg_trigger g
        join pg_catalog.pg_class c on c.oid = g.tgrelid
        join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where g.tgname = $1 and n.nspname = $2
        union
        select c.relname from pg_catalog.pg_publication_rel r
        join pg_catalog.pg_publication p on p.oid = r.prpubid
        join pg_catalog.pg_class c on c.oid = r.prrelid
        join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where p.pubname = $1 || '_' || c.relname and n.nspname = $2`,
      params: [TRIGGER, this.schema],
    };
  }

  async run(statements: Statement[]): Promise<Record<string, unknown>[]> {
    const { sql, watchdog } = this.opened;
    let rows: Record<string, unknown>[] = [];
    try {
      await watchdog.guard(() =>
        (sql as Sql).begin(async (tx) => {
          for (const s of statements) {
            rows = await tx.unsafe(s.sql, (s.params ?? []) as never[]) as unknown as Record<
              string,
              unknown
            >[];
          }
        })
      );
    } catch (error) {
      throw new TargetError(`${this.label}: ${messageOf(error, this.opened.secrets)}`);
    }
    return rows;
  }

  openQuery(query: SourceQuery): Promise<Dataset> {
    return Promise.resolve(this.query(query));
  }

  async close(): Promise<void> {
    await this.opened.sql.end({ timeout: 1 });
    await this.table.close();
  }
}
