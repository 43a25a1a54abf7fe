/**
 * Statements of `on_*` handlers on a MySQL/MariaDB datastore: one connection in dsync's session
 * (UTC, strict sql_mode), each statement with its values bound and committed on its own.
 * @module
 */
import type { StatementRunner } from "../../adapter_kit/statements.ts";
import { InputError } from "../../model/errors.ts";
import { importPackage } from "../../adapter_kit/packages.ts";
import { connectionSettings, parseLocator } from "./locator.ts";
import { connectionOptions, messageOf, probeMysql, SESSION_SQL } from "./session.ts";

/** Opens `locator` (a URL, or nothing: MYSQL_URL and the MYSQL_* variables) for statements. */
export async function openMysqlStatements(locator: string): Promise<StatementRunner> {
  const settings = connectionSettings(parseLocator(locator));
  const secrets = settings.password
    ? [settings.password, encodeURIComponent(settings.password)]
    : [];
  const label = `mysql:${settings.user}@${
    settings.socketPath ?? `${settings.host}:${settings.port}`
  }/${settings.database ?? ""}`;
  const failure = (error: unknown) => new InputError(`${label}: ${messageOf(error, secrets)}`);
  await probeMysql(settings, label);
  const mysql = await importPackage<typeof import("mysql2/promise")>("mysql2/promise");
  let conn: Awaited<ReturnType<typeof mysql.createConnection>>;
  try {
    conn = await mysql.createConnection(
      connectionOptions(settings) as Parameters<typeof mysql.createConnection>[0],
    );
    conn.on("error", () => {});
    await conn.query(SESSION_SQL);
  } catch (error) {
    throw failure(error);
  }
  return {
    label,
    run: async (text, params) => {
      try {
        await conn.query(text, params.map(statementValue));
      } catch (error) {
        throw failure(error);
      }
    },
    close: async () => {
      await conn.end().catch(() => {});
    },
  };
}

/** A handler's JSON value as mysql2 binds it: booleans as 1/0, objects and arrays as JSON text. */
function statementValue(value: unknown): unknown {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "object" && value !== null) return JSON.stringify(value);
  return value;
}
