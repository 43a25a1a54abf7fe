/**
 * A write's failure as dsync reports it: a silent server (the watchdog), a lock not granted in
 * time, an unreachable server, a lost connection, or the step that failed — rolled back.
 *
 * @module
 */
import { DsyncError, rolledBack, TargetError } from "../../model/errors.ts";
import { targetLocked } from "../../adapter_kit/importer.ts";
import { showIdent } from "./catalog.ts";
import { connectionHint, messageOf, type OpenedSql } from "./connection.ts";
import { NO_ANSWER } from "./socket.ts";

/** What {@linkcode writeFailure} reports about the table and its connection. */
export interface FailureContext {
  /** The dataset's label. */
  label: string;
  /** The connection (its watchdog), when open. */
  opened?: OpenedSql;
  /** Passwords to keep out of messages. */
  secrets: string[];
  /** `--lock-timeout` in milliseconds. */
  lockMs: number;
  /** The table's schema, for the hint when it does not exist. */
  schema?: string;
}

/** The error to report for `error` raised while `step` ran in a write transaction. */
export function writeFailure(error: unknown, step: string, t: FailureContext): DsyncError {
  if (error instanceof DsyncError) return error;
  const code = (error as { code?: string }).code ?? "";
  // The watchdog gave up on a silent server: say so (the transaction is lost with it). Inside
  // the transaction postgres.js may report only the lost connection that followed.
  const silent = code === NO_ANSWER
    ? error
    : connectionLost(error)
    ? t.opened?.watchdog.fired
    : undefined;
  if (silent) {
    return new TargetError(
      `${t.label}: ${messageOf(silent, t.secrets)}; rolled back, nothing written`,
      "raise --statement-timeout if the server is just slow",
    );
  }
  if (code === "55P03") return targetLocked(t.label, t.lockMs);
  const unreachable = connectionHint(code);
  if (unreachable && !code.startsWith("28")) {
    // The server went away before the transaction began: nothing was sent.
    return new TargetError(
      `${t.label}: cannot connect: ${messageOf(error, t.secrets)}; nothing written`,
      unreachable,
    );
  }
  if (connectionLost(error)) {
    return new TargetError(`${t.label}: connection lost while applying; rolled back`);
  }
  const hint = step === "creating the table" && code === "3F000"
    ? `create the schema first: CREATE SCHEMA ${showIdent(t.schema!)}`
    : undefined;
  return rolledBack(t.label, step, messageOf(error, t.secrets), hint);
}

/** Whether `error` says the connection to the server went away (stopped, terminated, killed). */
export function connectionLost(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return /^(CONNECTION_(CLOSED|DESTROYED|ENDED)|ECONNRESET|EPIPE|57P0[123])$/.test(e?.code ?? "") ||
    (error instanceof TypeError && /reading 'write'/.test(e.message ?? ""));
}
