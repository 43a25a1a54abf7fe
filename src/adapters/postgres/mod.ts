/**
 * PostgreSQL tables through postgres.js (`npm:postgres`, loaded only when a PostgreSQL locator is
 * opened). Reads stream through a cursor; writes run in one transaction: creates through
 * `COPY ... FROM STDIN`, updates and deletes set-based through a temporary table loaded with
 * COPY. docs/types.md ("PostgreSQL") has the type mapping.
 *
 * The adapter's modules: `connection.ts` (locators, ~/.pgpass, redaction, opening postgres.js),
 * `catalog.ts` (columns, types, primary key), `checks.ts` (values refused before writing),
 * `copy.ts` (COPY text data), `write.ts` (the transaction's steps), `table.ts` (the dataset and
 * target), `dialect.ts` (SQL spelling).
 *
 * @example
 * ```sh
 * export DATABASE_URL=postgres://app@127.0.0.1:5432/shop
 * dsync csv:postgres users.csv                  # public.users, created if missing
 * dsync pg:csv 'postgres://app@db/shop#crm.users' users.csv
 * ```
 * @module
 */
import type { OpenContext } from "../../adapter_kit/importer.ts";
import { LOCK_TIMEOUT_OPTION } from "../../adapter_kit/option_values.ts";
import type { SqlOpenContext } from "../../adapter_kit/sql.ts";
import type { CaptureImporter } from "../../adapter_kit/capture.ts";
import { PgCapture } from "./capture.ts";
import {
  failureOf,
  openSql,
  parseLocator,
  pgSettingsOf,
  tableOf,
  TIMEOUT_OPTIONS,
} from "./connection.ts";
import { postgresDialect } from "./dialect.ts";
import { PgTable } from "./table.ts";

/** The `postgres` adapter. */
export const postgresImporter: CaptureImporter = {
  name: "postgres",
  aliases: ["pg"],
  description: "PostgreSQL table (postgres.js; COPY, one transaction)",
  locator:
    "postgres://USER@HOST:PORT/DB#[SCHEMA.]TABLE, or [SCHEMA.]TABLE with DATABASE_URL or PG* variables; target default: <source name> in the default schema",
  transactional: true,
  options: [
    {
      flags: "--where <sql>",
      description:
        "PostgreSQL source: read only rows matching this SQL condition (with --delete: the target is read through it too, or refused)",
      role: "source",
    },
    {
      flags: "--delete-outside-where",
      role: "source",
      description:
        "with --where and --delete: the target mirrors the filtered source; delete records outside the condition too",
    },
    ...TIMEOUT_OPTIONS,
    LOCK_TIMEOUT_OPTION,
  ],
  dialect: postgresDialect,
  openSource: (locator, ctx: SqlOpenContext) => {
    if (ctx.query) {
      return Promise.resolve(
        new PgTable(
          parseLocator(locator),
          "",
          "source",
          undefined,
          ctx.query,
          pgSettingsOf(ctx.options),
        ),
      );
    }
    const connection = tableOf(locator, undefined, "source");
    const filter = ctx.options.where as string | undefined;
    return Promise.resolve(
      new PgTable(
        connection,
        connection.table!,
        "source",
        filter,
        undefined,
        pgSettingsOf(ctx.options),
      ),
    );
  },
  openStatements: async (locator, ctx: OpenContext) => {
    const opened = await openSql(parseLocator(locator), "target", pgSettingsOf(ctx.options));
    try {
      await opened.sql`select 1`;
    } catch (error) {
      await opened.sql.end().catch(() => {});
      throw failureOf(`postgres:${opened.label}`, error, opened);
    }
    return {
      label: `postgres:${opened.label}`,
      run: async (text: string, params: unknown[]) => {
        try {
          await opened.sql.unsafe(text, params as never[]);
        } catch (error) {
          throw failureOf(`postgres:${opened.label}`, error, opened);
        }
      },
      close: () => opened.sql.end(),
    };
  },
  openCapture: (locator, ctx: OpenContext) => {
    const connection = tableOf(locator, undefined, "source");
    const settings = pgSettingsOf(ctx.options);
    return PgCapture.open(
      connection,
      settings,
      (schema) =>
        new PgTable(
          { ...connection, schema },
          connection.table!,
          "source",
          undefined,
          undefined,
          settings,
        ),
      (query) => new PgTable(connection, "", "source", undefined, query, settings),
    );
  },
  openTarget: (locator, ctx: OpenContext) => {
    const connection = tableOf(locator ?? "", ctx.sourceName, "target");
    return Promise.resolve(
      new PgTable(
        connection,
        connection.table!,
        "target",
        undefined,
        undefined,
        pgSettingsOf(ctx.options),
      ),
    );
  },
};
