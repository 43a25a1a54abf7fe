/**
 * Change capture on a PostgreSQL table: `dsync_changes` in the table's schema, filled by one
 * `AFTER INSERT OR UPDATE OR DELETE … FOR EACH ROW` trigger and its PL/pgSQL function — or, with
 * logical decoding, by draining a permanent `pgoutput` replication slot of the table's publication
 * (pgoutput.ts decodes it): each batch is committed in `dsync_changes` before the slot advances
 * (adapter_kit/capture.ts has the rest).
 *
 * @example
 * ```ts ignore
 * const driver = await PgCapture.open(tableOf("crm.users", undefined, "source"), settings, table, query);
 * ```
 * @module
 */
import type { Sql, TransactionSql } from "postgres";
import {
  type CaptureDriver,
  CHANGE_TABLE,
  changeRecorder,
  recordStatements,
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
import { PgOutputDecoder } from "./pgoutput.ts";

/** The trigger's name (one per table: it fires for all three operations). */
const TRIGGER = "dsync_capture";

/**
 * The replication slot of logical decoding on `database`.`schema`.`table`: `dsync_users_1a2b3c4d`
 * (slot names are lowercase letters, digits and `_`, at most 63; the hash tells apart the same
 * table name in two schemas or databases of the cluster).
 */
export function slotName(database: string, schema: string, table: string): string {
  return `dsync_${tableTag(database, schema, table)}`;
}

/**
 * The publication of logical decoding on `schema`.`table`: `dsync_capture_users_1a2b3c4d`.
 * Publications belong to the database, not a schema: the hash keeps the same table name in two
 * schemas apart (installing one must not replace the other's).
 */
export function publicationName(database: string, schema: string, table: string): string {
  return `${TRIGGER}_${tableTag(database, schema, table)}`;
}

/** `users_1a2b3c4d`: the table's name made safe (at most 40 characters) and an FNV-1a hash. */
function tableTag(database: string, schema: string, table: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(`${database}\u0000${schema}\u0000${table}`)) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  const readable = table.toLowerCase().replace(/[^a-z0-9_]/g, "_").slice(0, 40);
  return `${readable}_${hash.toString(16).padStart(8, "0")}`;
}

function hexBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

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
    database: string,
    readonly table: Dataset,
    readonly query: (query: SourceQuery) => Dataset,
  ) {
    this.changeTable = `${quoteIdent(schema)}.${quoteIdent(CHANGE_TABLE)}`;
    this.quotedTable = `${quoteIdent(schema)}.${quoteIdent(tableName)}`;
    this.#function = `${quoteIdent(schema)}.${quoteIdent(`${TRIGGER}_${tableName}`)}`;
    this.#publication = publicationName(database, schema, tableName);
    this.slot = slotName(database, schema, tableName);
  }

  /** The permanent logical replication slot of logical decoding. */
  readonly slot: string;

  /** The publication of logical decoding (one per table; see {@linkcode publicationName}). */
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
    let database: string;
    try {
      schema ??= await opened.watchdog.guard(() => defaultSchema(opened.sql));
      const [row] = await opened.watchdog.guard(() => opened.sql`select current_database() as db`);
      database = String(row.db);
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
      database,
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

  async installLogical(): Promise<void> {
    await this.run([
      ...this.#changeTableStatements(),
      ...this.#unpublishStatements(),
      { sql: `CREATE PUBLICATION ${quoteIdent(this.#publication)} FOR TABLE ${this.quotedTable}` },
    ]);
    // Its own transaction: a slot cannot be created in one that wrote. An existing slot stays,
    // with the changes it holds.
    await this.run([{
      sql: `SELECT pg_create_logical_replication_slot($1, 'pgoutput')
        WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)`,
      params: [this.slot],
    }]);
  }

  async drainSlot(limit: number): Promise<{ recorded: number; more: boolean }> {
    const slot = this.slot;
    const decoder = new PgOutputDecoder(
      this.schema,
      this.tableName,
      (await this.describe()).primaryKey,
    );
    const lock = { sql: "SELECT pg_advisory_xact_lock(hashtext($1))", params: [slot] };
    let rows = 0, recorded = 0, last: string | undefined;
    await this.#transaction(async (tx) => {
      // One drain at a time: a slot serves one session, and each drain's inserts then advance.
      await tx.unsafe(lock.sql, lock.params);
      // Triggers (no slot): nothing to move.
      const [found] = await tx.unsafe(
        "SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name = $1",
        [slot],
      );
      if (!found.n) return;
      const messages = await tx.unsafe(
        `SELECT lsn::text AS lsn, encode(data, 'hex') AS data FROM pg_logical_slot_peek_binary_changes($1, NULL, $2, 'proto_version', '1', 'publication_names', $3)`,
        // publication_names is a list of identifiers: quoted, its case is kept.
        [slot, limit, quoteIdent(this.#publication)],
      );
      rows = messages.length;
      const changes = [];
      for (const m of messages) {
        const data = String(m.data);
        if (data.startsWith("43")) last = String(m.lsn); // COMMIT: its row's LSN ends it
        changes.push(...decoder.decode(hexBytes(data)));
      }
      for (const s of recordStatements(this, changes)) {
        await tx.unsafe(s.sql, s.params as never[]);
      }
      recorded = changes.length;
    });
    // Only now, with the changes committed in the change table, may the slot forget them.
    const upto = last;
    if (upto !== undefined) {
      await this.#transaction(async (tx) => {
        await tx.unsafe(lock.sql, lock.params);
        await tx.unsafe(
          `SELECT pg_replication_slot_advance($1, $2::pg_lsn) FROM pg_replication_slots
            WHERE slot_name = $1 AND confirmed_flush_lsn < $2::pg_lsn`,
          [slot, upto],
        );
      });
    }
    return { recorded, more: rows >= limit };
  }

  removeStatements(): Statement[] {
    return [
      ...this.#unpublishStatements(),
      {
        sql: `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
          WHERE slot_name = $1 AND database = current_database()`,
        params: [this.slot],
      },
    ];
  }

  /** The removal of the publication, trigger and function (not the slot). */
  #unpublishStatements(): Statement[] {
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
        where starts_with(p.pubname, $1 || '_') and n.nspname = $2`,
      params: [TRIGGER, this.schema],
    };
  }

  async run(statements: Statement[]): Promise<Record<string, unknown>[]> {
    let rows: Record<string, unknown>[] = [];
    await this.#transaction(async (tx) => {
      for (const s of statements) {
        rows = await tx.unsafe(s.sql, (s.params ?? []) as never[]) as unknown as Record<
          string,
          unknown
        >[];
      }
    });
    return rows;
  }

  /** Runs `work` in one transaction; a failure is a {@linkcode TargetError}. */
  async #transaction(work: (tx: TransactionSql) => Promise<void>): Promise<void> {
    const { sql, watchdog } = this.opened;
    try {
      await watchdog.guard(() => (sql as Sql).begin(work));
    } catch (error) {
      throw new TargetError(`${this.label}: ${messageOf(error, this.opened.secrets)}`);
    }
  }

  openQuery(query: SourceQuery): Promise<Dataset> {
    return Promise.resolve(this.query(query));
  }

  async close(): Promise<void> {
    await this.opened.sql.end({ timeout: 1 });
    await this.table.close();
  }
}
