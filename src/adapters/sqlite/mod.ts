/**
 * SQLite databases through `node:sqlite` (built into Deno: no native download). Writes run in
 * one transaction with prepared, multi-row statements; a missing table is created with the
 * key as its primary key.
 *
 * @example
 * ```sh
 * dsync csv:sqlite users.csv app.db#users
 * dsync sqlite:csv app.db#users out.csv
 * ```
 * @module
 */
import type { SQLInputValue } from "node:sqlite";
import { openSqlite } from "../../adapter_kit/sqlite.ts";
import { InputError, UsageError } from "../../model/errors.ts";
import { fileExists, splitFileLocator } from "../../adapter_kit/files.ts";
import { LOCK_TIMEOUT_OPTION, lockWaitMs } from "../../adapter_kit/option_values.ts";
import type { CaptureImporter } from "../../adapter_kit/capture.ts";
import { SqliteCapture } from "./capture.ts";
import { sqliteDialect } from "./dialect.ts";
import { SqliteTable } from "./table.ts";
import { bindValue } from "./values.ts";
import { parseLocator, sourceLocator, whichTable } from "./locator.ts";

/** The `sqlite` adapter. */
export const sqliteImporter: CaptureImporter = {
  name: "sqlite",
  description: "SQLite database table (built in, no server)",
  locator: "FILE.db#TABLE, or FILE.db with --table; target default: dsync.db#<source name>",
  transactional: true,
  options: [{
    flags: "--table <name>",
    description: "SQLite table, when the locator has no #TABLE",
  }, LOCK_TIMEOUT_OPTION],
  dialect: sqliteDialect,
  openSource: (locator, ctx) => {
    const [path, table] = parseLocator(locator, ctx);
    if (ctx.query) return Promise.resolve(new SqliteTable(path, "", "source", ctx.query));
    if (!table) throw whichTable(locator, path);
    return Promise.resolve(new SqliteTable(path, table, "source"));
  },
  openStatements: async (locator) => {
    const { path } = splitFileLocator(locator, "table");
    if (!await fileExists(path)) throw new InputError(`${path}: no such SQLite database`);
    const db = openSqlite(path);
    return {
      label: `sqlite:${path}`,
      run: (text: string, params: unknown[]) => {
        db.prepare(text).run(...params.map(bindValue) as SQLInputValue[]);
        return Promise.resolve();
      },
      close: () => {
        if (db.isOpen) db.close();
        return Promise.resolve();
      },
    };
  },
  openCapture: (locator, ctx) => {
    const [path, table] = sourceLocator(locator, ctx);
    return Promise.resolve(
      new SqliteCapture(
        path,
        table,
        new SqliteTable(path, table, "source"),
        (query) => new SqliteTable(path, "", "source", query),
      ),
    );
  },
  openTarget: (locator, ctx) => {
    const [path, table] = parseLocator(locator ?? "dsync.db", ctx);
    const name = table ?? ctx.sourceName;
    if (!name) throw new UsageError(`sqlite target '${locator}': which table? write ${path}#TABLE`);
    return Promise.resolve(
      new SqliteTable(path, name, "target", undefined, lockWaitMs(ctx.options)),
    );
  },
};
