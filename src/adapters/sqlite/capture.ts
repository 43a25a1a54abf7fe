/**
 * Change capture on a SQLite table: `dsync_changes` in the same file, filled by three
 * `AFTER INSERT/UPDATE/DELETE` triggers (adapter_kit/capture.ts has the rest).
 *
 * @example
 * ```ts ignore
 * const driver = new SqliteCapture("app.db", "users", (query) => openQuery(query));
 * ```
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import {
  type CaptureDriver,
  type CaptureOp,
  CHANGE_TABLE,
  changeRecorder,
  dropTriggers,
  type Statement,
  triggerName,
} from "../../adapter_kit/capture.ts";
import type { Dataset, DatasetInfo } from "../../adapter_kit/importer.ts";
import { ansiQuote as quoteIdent, type SourceQuery } from "../../adapter_kit/sql.ts";
import { isSqliteBusy, openSqlite } from "../../adapter_kit/sqlite.ts";
import { InputError, TargetError } from "../../model/errors.ts";
import { sqliteDialect } from "./dialect.ts";

/** The capture side of one SQLite table. */
export class SqliteCapture implements CaptureDriver {
  readonly label: string;
  readonly changeTable = quoteIdent(CHANGE_TABLE);
  readonly dialect = sqliteDialect;
  readonly quotedTable: string;
  #db: DatabaseSync | undefined;

  constructor(
    readonly path: string,
    readonly tableName: string,
    readonly table: Dataset,
    readonly query: (query: SourceQuery) => Dataset,
  ) {
    this.label = table.label;
    this.quotedTable = quoteIdent(tableName);
  }

  describe(): Promise<DatasetInfo> {
    return this.table.describe();
  }

  installStatements(keyFields: string[]): Statement[] {
    const { record, keyMoved } = changeRecorder(
      sqliteDialect,
      {
        object: (pairs) => `json_object(${pairs})`,
        text: (column) => `CAST(${column} AS TEXT)`,
        same: (a, b) => `${a} IS ${b}`,
      },
      this.changeTable,
      this.tableName,
      keyFields,
    );
    const on = `ON ${this.quotedTable} FOR EACH ROW BEGIN`;
    return [
      {
        sql:
          `CREATE TABLE IF NOT EXISTS ${this.changeTable} (id INTEGER PRIMARY KEY AUTOINCREMENT, table_name TEXT NOT NULL, "key" TEXT NOT NULL, op TEXT NOT NULL, time TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))`,
      },
      {
        sql: `CREATE INDEX IF NOT EXISTS ${
          quoteIdent(`${CHANGE_TABLE}_table`)
        } ON ${this.changeTable} (table_name, id)`,
      },
      ...this.removeStatements(),
      {
        sql: `CREATE TRIGGER ${this.#trigger("insert")} AFTER INSERT ${on} ${
          record("NEW", "insert")
        }; END`,
      },
      {
        sql: `CREATE TRIGGER ${this.#trigger("update")} AFTER UPDATE ${on} ${
          record("OLD", "delete", keyMoved)
        }; ${record("NEW", "update")}; END`,
      },
      {
        sql: `CREATE TRIGGER ${this.#trigger("delete")} AFTER DELETE ${on} ${
          record("OLD", "delete")
        }; END`,
      },
    ];
  }

  #trigger(op: CaptureOp): string {
    return quoteIdent(triggerName(this.tableName, op));
  }

  removeStatements(): Statement[] {
    return dropTriggers((op) => this.#trigger(op));
  }

  capturedQuery(): Statement {
    return {
      sql:
        "SELECT tbl_name AS t FROM sqlite_master WHERE type = 'trigger' AND name = 'dsync_capture_' || tbl_name || '_insert'",
    };
  }

  run(statements: Statement[]): Promise<Record<string, unknown>[]> {
    if (!this.#db) {
      try {
        this.#db = openSqlite(this.path);
      } catch (error) {
        throw new InputError(`${this.path}: cannot open as SQLite: ${(error as Error).message}`);
      }
    }
    const db = this.#db;
    let rows: Record<string, unknown>[] = [];
    try {
      db.exec("BEGIN");
      for (const s of statements) {
        rows = db.prepare(s.sql).all(...(s.params ?? []) as never[]) as Record<string, unknown>[];
      }
      db.exec("COMMIT");
    } catch (error) {
      try {
        db.exec("ROLLBACK");
      } catch {
        // no transaction left to roll back
      }
      throw new TargetError(
        `${this.label}: ${
          isSqliteBusy(error)
            ? "the database is locked by another writer"
            : (error as Error).message
        }`,
      );
    }
    return Promise.resolve(rows);
  }

  openQuery(query: SourceQuery): Promise<Dataset> {
    return Promise.resolve(this.query(query));
  }

  async close(): Promise<void> {
    this.#db?.close();
    this.#db = undefined;
    await this.table.close();
  }
}
