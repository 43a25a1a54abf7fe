/**
 * Errors that end a run, each carrying the exit code SPEC.md assigns to it.
 *
 * @example
 * ```ts
 * import { ok, strictEqual } from "node:assert/strict";
 * import { DsyncError, InputError, rolledBack } from "./errors.ts";
 * const error = new InputError("users.csv:12: field 'age': cannot convert \"x\" to integer");
 * ok(error instanceof DsyncError);
 * strictEqual(error.exitCode, 2);
 * const failed = rolledBack("sqlite:app.db#users", "inserting", "UNIQUE constraint failed");
 * strictEqual(failed.exitCode, 4);
 * strictEqual(
 *   failed.message,
 *   "sqlite:app.db#users: failed while inserting: UNIQUE constraint failed; " +
 *     "rolled back, nothing written",
 * );
 * ```
 * @module
 */
import { rawJsonNumber } from "./raw_json.ts";

/** Base class: an expected failure with a one-line message and an exit code. */
export class DsyncError extends Error {
  /** Process exit code for this failure. */
  readonly exitCode: number;
  /** Optional second line: what the user can do about it. */
  readonly hint?: string;
  constructor(message: string, exitCode: number, hint?: string) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

/** Bad option, unknown adapter or malformed locator (exit 2). */
export class UsageError extends DsyncError {
  constructor(message: string, hint?: string) {
    super(message, 2, hint);
  }
}

/** Unreadable or malformed source, missing or duplicate key, unconvertible value (exit 2). */
export class InputError extends DsyncError {
  constructor(message: string, hint?: string) {
    super(message, 2, hint);
  }
}

/** A safety limit refused the change set; nothing was applied (exit 3). */
export class LimitError extends DsyncError {
  constructor(message: string, hint?: string) {
    super(message, 3, hint);
  }
}

/** The target failed while applying; SQL targets rolled back (exit 4). */
export class TargetError extends DsyncError {
  constructor(message: string, hint?: string) {
    super(message, 4, hint);
  }
}

/**
 * A source or target that cannot be reached (refused, unknown host, no answer in time, not the
 * server expected on that port) or that stopped answering mid-run (exit 4, like a failed write:
 * worth retrying later, unlike bad input).
 */
export class UnreachableError extends DsyncError {
  constructor(message: string, hint?: string) {
    super(message, 4, hint);
  }
}

/**
 * A transactional target failed part way and rolled back: `label: failed while STEP: CAUSE;
 * rolled back, nothing written` (exit 4). The one wording every SQL target uses.
 */
export function rolledBack(label: string, step: string, cause: string, hint?: string): TargetError {
  return new TargetError(
    `${label}: failed while ${step || "writing"}: ${cause}; rolled back, nothing written`,
    hint,
  );
}

/** A saved plan no longer matches the target (exit 5). */
export class ConflictError extends DsyncError {
  constructor(message: string, hint?: string) {
    super(message, 5, hint);
  }
}

/**
 * A value that cannot be converted to a field's type. Readers catch it and re-throw an
 * {@linkcode InputError} that names the file, line and field.
 */
export class ConversionError extends Error {
  constructor(readonly value: unknown, readonly type: string, readonly reason?: string) {
    super(`cannot convert ${showValue(value)} to ${type}${reason ? ` (${reason})` : ""}`);
    this.name = "ConversionError";
  }
}

/** A JSON.stringify replacer: a bigint nested in JSON (parseJsonExact's) as its exact digits. */
function exactBigints(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? rawJsonNumber(value.toString()) : value;
}

/** Renders a value for an error message: quoted, with long values cut. */
export function showValue(value: unknown): string {
  let text: string;
  if (typeof value === "string") text = JSON.stringify(value);
  else if (typeof value === "bigint") text = value.toString();
  else if (value instanceof Uint8Array) text = `<${value.length} bytes>`;
  else text = JSON.stringify(value, exactBigints) ?? String(value);
  return text.length > 80 ? text.slice(0, 77) + "..." : text;
}
