/**
 * Change capture on a MySQL / MariaDB table: `dsync_changes` in the table's database, filled by
 * three `AFTER INSERT/UPDATE/DELETE … FOR EACH ROW` triggers (adapter_kit/capture.ts has the
 * rest).
 *
 * @example
 * ```ts ignore
 * const driver = new MysqlCapture(table, (query) => openQuery(query));
 * ```
 * @module
 */
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
import type { SourceQuery } from "../../adapter_kit/sql.ts";
import { mysqlDialect, quoteIdent } from "./dialect.ts";
import type { MysqlTable } from "./table.ts";

/** The capture side of one MySQL table. */
export class MysqlCapture implements CaptureDriver {
  readonly dialect = mysqlDialect;

  constructor(readonly table: MysqlTable, readonly query: (query: SourceQuery) => Dataset) {}

  get label(): string {
    return this.table.label;
  }

  get tableName(): string {
    return this.table.table;
  }

  get #database(): string {
    return quoteIdent(this.table.databaseName);
  }

  get quotedTable(): string {
    return `${this.#database}.${quoteIdent(this.tableName)}`;
  }

  get changeTable(): string {
    return `${this.#database}.${quoteIdent(CHANGE_TABLE)}`;
  }

  describe(): Promise<DatasetInfo> {
    return this.table.describe();
  }

  #trigger(op: CaptureOp): string {
    return `${this.#database}.${quoteIdent(triggerName(this.tableName, op))}`;
  }

  installStatements(keyFields: string[]): Statement[] {
    const { record, keyMoved } = changeRecorder(
      mysqlDialect,
      {
        object: (pairs) => `JSON_OBJECT(${pairs})`,
        text: (column) => `CAST(${column} AS CHAR)`,
        same: (a, b) => `${a} <=> ${b}`,
      },
      this.changeTable,
      this.tableName,
      keyFields,
    );
    const on = (op: CaptureOp) =>
      `CREATE TRIGGER ${
        this.#trigger(op)
      } AFTER ${op.toUpperCase()} ON ${this.quotedTable} FOR EACH ROW`;
    return [
      {
        sql:
          `CREATE TABLE IF NOT EXISTS ${this.changeTable} (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, table_name VARCHAR(64) NOT NULL, \`key\` TEXT NOT NULL, op VARCHAR(6) NOT NULL, \`time\` TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), KEY ${
            quoteIdent(`${CHANGE_TABLE}_table`)
          } (table_name, id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      },
      ...this.removeStatements(),
      { sql: `${on("insert")} ${record("NEW", "insert")}` },
      {
        sql: `${on("update")} BEGIN IF ${keyMoved} THEN ${record("OLD", "delete")}; END IF; ${
          record("NEW", "update")
        }; END`,
      },
      { sql: `${on("delete")} ${record("OLD", "delete")}` },
    ];
  }

  removeStatements(): Statement[] {
    return dropTriggers((op) => this.#trigger(op));
  }

  capturedQuery(): Statement {
    return {
      sql:
        "SELECT EVENT_OBJECT_TABLE AS t FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? AND TRIGGER_NAME = CONCAT('dsync_capture_', EVENT_OBJECT_TABLE, '_insert')",
      params: [this.table.databaseName],
    };
  }

  run(statements: Statement[]): Promise<Record<string, unknown>[]> {
    return this.table.runStatements(statements);
  }

  openQuery(query: SourceQuery): Promise<Dataset> {
    return Promise.resolve(this.query(query));
  }

  close(): Promise<void> {
    return this.table.close();
  }
}
