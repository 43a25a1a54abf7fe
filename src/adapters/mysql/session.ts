/**
 * The session every MySQL/MariaDB connection of dsync runs in: mysql2's connection options
 * (UTF-8, UTC, exact numbers and dates as text), the session settings (UTC, strict `sql_mode`),
 * the table options of a table dsync creates, and error messages without secrets.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { binaryCollation } from "./session.ts";
 * strictEqual(binaryCollation("10.11.6-MariaDB"), "utf8mb4_nopad_bin");
 * strictEqual(binaryCollation("8.0.36"), "utf8mb4_0900_bin");
 * ```
 * @module
 */
import { type ConnectionSettings, redactUrl } from "./locator.ts";
import { DEFAULT_CONNECT_SECONDS, probeOrFail } from "../../adapter_kit/server_probe.ts";

/**
 * The session every connection runs in: UTC, and a strict `sql_mode` so the server refuses what
 * it would otherwise truncate, zero or renumber (`NO_AUTO_VALUE_ON_ZERO`: a 0 stays 0).
 */
export const SQL_MODE =
  "STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO";

/** The session settings every connection starts with. */
export const SESSION_SQL =
  `SET SESSION time_zone = '+00:00', SESSION sql_mode = '${SQL_MODE}', SESSION net_write_timeout = 3600, SESSION net_read_timeout = 3600`;

/** mysql2's connection options for `s`: UTF-8, UTC, exact numbers and dates as text. */
export function connectionOptions(s: ConnectionSettings): Record<string, unknown> {
  return {
    host: s.socketPath ? undefined : s.host,
    port: s.socketPath ? undefined : s.port,
    socketPath: s.socketPath,
    user: s.user,
    password: s.password,
    database: s.database,
    ssl: s.ssl ? {} : undefined,
    charset: "UTF8MB4_GENERAL_CI",
    timezone: "Z",
    // mysql2 has no "no bound": 0 would time out at once.
    connectTimeout: (s.connectSeconds || 24 * 3600) * 1000,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    maxPreparedStatements: 64,
    multipleStatements: false,
  };
}

/**
 * What a table dsync creates is made of: InnoDB, utf8mb4 compared byte for byte and without
 * padding (a PAD SPACE collation would make the keys `a` and `a ` one key).
 */
export function tableOptions(collation: string): string {
  return ` ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=${collation}`;
}

/** The binary NO PAD utf8mb4 collation of a server version (MySQL 5.7 has only a PAD one). */
export function binaryCollation(version: string): string {
  if (/mariadb/i.test(version)) return "utf8mb4_nopad_bin";
  const [major, minor, patch] = version.split(/[.-]/).map(Number);
  return major > 8 || (major === 8 && (minor > 0 || patch >= 17))
    ? "utf8mb4_0900_bin"
    : "utf8mb4_bin";
}

/** Message of any error, with secrets removed. */
export function messageOf(error: unknown, secrets: string[]): string {
  const e = error as { message?: string; code?: string; sqlMessage?: string; errno?: number };
  let text = e?.sqlMessage ?? e?.message ?? String(error);
  // mysql2 names error numbers after MySQL's list; from 1900 on MariaDB's numbers mean other
  // errors (its 4025, a failed CHECK, is MySQL's ER_INNODB_AUTOEXTEND_SIZE_OUT_OF_RANGE).
  const code = e?.sqlMessage && (e.errno ?? 0) >= 1900 ? `error ${e.errno}` : e?.code;
  if (code && !text.includes(code)) text += ` (${code})`;
  text = redactUrl(text);
  for (const secret of secrets) if (secret) text = text.replaceAll(secret, "***");
  return text;
}

/** mysql2's codes for a server that cannot be reached (exit 4 with the connection's name). */
export const NETWORK_CODES =
  /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ECONNRESET|PROTOCOL_CONNECTION_LOST|ENOENT)$/;

/** The hint for a server that cannot be reached. */
export const UNREACHABLE_HINT =
  "is the server running? the connection comes from the locator URL, else MYSQL_URL, else MYSQL_HOST/MYSQL_TCP_PORT/MYSQL_PWD/USER and ~/.my.cnf";

/**
 * Checks that a MySQL/MariaDB server answers at `s`'s host and port within `--connect-timeout`
 * before mysql2 connects: its greeting (protocol 10) or an error packet (`Host ... is not allowed`)
 * must come first. Throws an {@linkcode UnreachableError} (exit 4) `label: cannot connect to
 * H:P: ...` or `label: H:P is not a MySQL/MariaDB server: it answered "..."`. A Unix socket is
 * left to mysql2.
 */
export async function probeMysql(s: ConnectionSettings, label: string): Promise<void> {
  if (s.socketPath) return;
  await probeOrFail(
    {
      host: s.host,
      port: s.port,
      seconds: s.connectSeconds ?? DEFAULT_CONNECT_SECONDS,
      server: "MySQL/MariaDB",
      // A packet: 3 bytes length, 1 byte sequence, then 10 (handshake v10) or 0xff (error).
      accepts: (first) => first.length < 5 || first[4] === 10 || first[4] === 0xff,
    },
    label,
    UNREACHABLE_HINT,
  );
}
