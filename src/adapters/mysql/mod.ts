/**
 * MySQL and MariaDB tables through mysql2 (`npm:mysql2`, pure JavaScript, loaded only when a
 * mysql locator is opened). Reads stream over the text protocol with every value taken as its
 * raw bytes (no driver parsing: BIGINT, DECIMAL and JSON stay exact); writes run in one InnoDB
 * transaction, in UTC and strict `sql_mode`: creates by multi-row prepared INSERTs, updates and
 * deletes set-based through a temporary table. docs/types.md ("MySQL and MariaDB") has the
 * type mapping.
 *
 * @example
 * ```sh
 * export MYSQL_URL=mysql://app@127.0.0.1:3306/shop
 * dsync csv:mysql users.csv                     # shop.users, created if missing
 * dsync mysql:csv 'mysql://app@db/shop#users' users.csv
 * ```
 * @module
 */
import { openMysqlStatements } from "./statements.ts";
import { UsageError } from "../../model/errors.ts";
import type { OpenContext } from "../../adapter_kit/importer.ts";
import { LOCK_TIMEOUT_OPTION, lockWaitMs } from "../../adapter_kit/option_values.ts";
import { CONNECT_TIMEOUT_OPTION, connectSecondsOf } from "../../adapter_kit/server_probe.ts";
import type { SqlOpenContext } from "../../adapter_kit/sql.ts";
import type { CaptureImporter } from "../../adapter_kit/capture.ts";
import { MysqlCapture } from "./capture.ts";
import { mysqlDialect } from "./dialect.ts";
import { type MysqlLocator, parseLocator, redactUrl } from "./locator.ts";
import type { TimeAs, ZeroDates } from "./values.ts";

import { MysqlTable } from "./table.ts";

/** The table of a locator, or the default table name for a target. */
function tableOf(locator: string, fallback: string | undefined, role: string): MysqlLocator {
  const parsed = parseLocator(locator);
  if (!parsed.table) {
    if (!fallback) {
      throw new UsageError(
        `mysql ${role} '${
          redactUrl(locator)
        }': which table? write URL#[DATABASE.]TABLE, or just [DATABASE.]TABLE`,
      );
    }
    parsed.table = fallback;
  }
  return parsed;
}

/** How values are read: `--zero-dates error|null`, `--time-as time|text`. */
function readOptions(ctx: OpenContext): { zeroDates: ZeroDates; timeAs: TimeAs } {
  const zeroDates = ctx.options.zeroDates ?? "error";
  if (zeroDates !== "error" && zeroDates !== "null") {
    throw new UsageError(`--zero-dates '${zeroDates}': expected error or null`);
  }
  const timeAs = ctx.options.timeAs ?? "time";
  if (timeAs !== "time" && timeAs !== "text") {
    throw new UsageError(`--time-as '${timeAs}': expected time or text`);
  }
  return { zeroDates, timeAs };
}

/** The `mysql` adapter. */
export const mysqlImporter: CaptureImporter = {
  name: "mysql",
  aliases: ["mariadb"],
  description: "MySQL / MariaDB table (mysql2; one InnoDB transaction)",
  locator:
    "mysql://USER@HOST:PORT/DB#TABLE, or [DB.]TABLE with MYSQL_URL or MYSQL_HOST/MYSQL_PWD/~/.my.cnf; target default: <source name>",
  transactional: true,
  options: [
    {
      flags: "--where <sql>",
      description: "SQL source (PostgreSQL, MySQL): read only rows matching this SQL condition",
      role: "source",
    },
    {
      flags: "--allow-non-transactional",
      description: "MySQL target: write to a MyISAM (non-transactional) table, without rollback",
      role: "target",
    },
    {
      flags: "--zero-dates <mode>",
      description: "MySQL: a zero date (0000-00-00) reads as an error (default) or as null",
    },
    {
      flags: "--time-as <type>",
      description:
        "MySQL: a TIME column is a time of day (time, default) or its text, durations too (text: -01:30:00, 838:59:59)",
    },
    LOCK_TIMEOUT_OPTION,
    CONNECT_TIMEOUT_OPTION,
  ],
  dialect: mysqlDialect,
  openSource: (locator, ctx: SqlOpenContext) => {
    if (ctx.query) {
      return Promise.resolve(
        new MysqlTable(parseLocator(locator), "", "source", {
          query: ctx.query,
          ...readOptions(ctx),
          connectSeconds: connectSecondsOf(ctx.options),
        }),
      );
    }
    const parsed = tableOf(locator, undefined, "source");
    return Promise.resolve(
      new MysqlTable(parsed, parsed.table!, "source", {
        where: ctx.options.where as string | undefined,
        ...readOptions(ctx),
        connectSeconds: connectSecondsOf(ctx.options),
      }),
    );
  },
  openStatements: (locator) => openMysqlStatements(locator),
  openCapture: (locator, ctx: OpenContext) => {
    const parsed = tableOf(locator, undefined, "source");
    const read = { ...readOptions(ctx), connectSeconds: connectSecondsOf(ctx.options) };
    return Promise.resolve(
      new MysqlCapture(
        new MysqlTable(parsed, parsed.table!, "source", { capture: true, ...read }),
        (query) => new MysqlTable(parseLocator(locator), "", "source", { query, ...read }),
      ),
    );
  },
  openTarget: (locator, ctx: OpenContext) => {
    const parsed = tableOf(locator ?? "", ctx.sourceName, "target");
    return Promise.resolve(
      new MysqlTable(parsed, parsed.table!, "target", {
        allowNonTransactional: ctx.options.allowNonTransactional === true,
        lockMs: lockWaitMs(ctx.options),
        ...readOptions(ctx),
        connectSeconds: connectSecondsOf(ctx.options),
      }),
    );
  },
};
