/**
 * Option values as the command line and config files give them (text), checked and parsed, with
 * one message shape for every option: `--batch-size 0: expected a whole number ≥ 1`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, throws } from "node:assert/strict";
 * import { nameList, wholeNumber } from "./option_values.ts";
 * deepStrictEqual(wholeNumber("5000", "--batch-size", 1), 5000);
 * throws(
 *   () => wholeNumber("0", "--batch-size", 1),
 *   { message: "--batch-size 0: expected a whole number ≥ 1" },
 * );
 * deepStrictEqual(nameList("id, name"), ["id", "name"]);
 * ```
 * @module
 */
import { UsageError } from "../model/errors.ts";
import { type AdapterOption, type OpenOptions, WRITE_LOCK_WAIT_MS } from "./importer.ts";

/** The long flag (`--retry-delay`) and the camel-cased name commander gives its value. */
export function optionName(flags: string): { flag: string; name: string } {
  const flag = /--[a-z0-9-]+/.exec(flags)![0];
  return { flag, name: flag.slice(2).replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase()) };
}

/**
 * `values` with every option of `declared` that has a parser parsed: given text, or the default
 * when none was given. Values that are no longer text (parsed already) are left alone.
 */
export function parseAdapterOptions(
  declared: readonly AdapterOption[],
  values: OpenOptions,
): OpenOptions {
  const parsed: OpenOptions = { ...values };
  for (const option of declared) {
    if (!option.parse) continue;
    const { flag, name } = optionName(option.flags);
    const text = parsed[name] ?? option.defaultValue;
    if (typeof text === "string") parsed[name] = option.parse(text, flag);
  }
  return parsed;
}

/** A parser for whole-number options ≥ `min`. */
export function wholeNumberOption(min: number): (text: string, flag: string) => number {
  return (text, flag) => wholeNumber(text, flag, min);
}

/** A parser for options in seconds (zero allowed when `zero`). */
export function secondsOption(zero: boolean): (text: string, flag: string) => number {
  return (text, flag) => seconds(text, flag, zero);
}

/** Splits `a,b , c` into trimmed names; undefined stays undefined. */
export function nameList(value: unknown): string[] | undefined {
  if (typeof value !== "string") return undefined;
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** Parses `--map` entries (`SRC=DST`). */
export function mapEntries(values: unknown): Record<string, string> {
  const map: Record<string, string> = {};
  for (const entry of (values as string[] | undefined) ?? []) {
    const m = /^([^=]+)=([^=]+)$/.exec(entry);
    if (!m) throw new UsageError(`--map ${entry}: expected SRC=DST`);
    map[m[1]] = m[2];
  }
  return map;
}

/** A whole number ≥ `min`, or a {@linkcode UsageError} naming the option. */
export function wholeNumber(value: unknown, option: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`${option} ${value}: expected a whole number ≥ ${min}`);
  }
  return n;
}

/** A positive number of seconds (or zero, when `zero` is allowed). */
export function seconds(value: unknown, option: string, zero: boolean): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (!zero && n === 0)) {
    throw new UsageError(`${option} ${value}: expected a number of seconds${zero ? "" : " > 0"}`);
  }
  return n;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration in milliseconds, > 0: `500ms`, `5s`, `1.5m`, `2h`, or a bare number of seconds.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { durationMs } from "./option_values.ts";
 * deepStrictEqual([durationMs("500ms", "--lock-timeout"), durationMs("2m", "--lock-timeout")], [500, 120000]);
 * ```
 */
export function durationMs(value: unknown, option: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(String(value));
  const ms = m ? Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? "s"]) : NaN;
  if (!(ms > 0)) {
    throw new UsageError(
      `${option} ${value}: expected a duration > 0 such as 500ms, 5s, 2m or 1h`,
    );
  }
  return ms;
}

/** A parser for duration options (milliseconds, see {@linkcode durationMs}). */
export function durationOption(text: string, flag: string): number {
  return durationMs(text, flag);
}

/** `--lock-timeout`, an option of every target with a write session (SQLite, PostgreSQL, MySQL). */
export const LOCK_TIMEOUT_OPTION: AdapterOption = {
  flags: "--lock-timeout <duration>",
  description:
    "how long to wait for another writer's lock on the target (500ms, 5s, 2m, 1h), then exit 4",
  role: "target",
  defaultValue: "5s",
  parse: durationOption,
};

/** The write lock wait of a target opened with `options`, in milliseconds. */
export function lockWaitMs(options: OpenOptions): number {
  const given = options.lockTimeout;
  return typeof given === "number" ? given : WRITE_LOCK_WAIT_MS;
}
