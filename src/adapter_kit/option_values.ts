/**
 * Option values as the command line and config files give them (text), checked and parsed, with
 * one message shape for every option: `--batch-size 0: expected a whole number ≥ 1`.
 *
 * @example
 * ```ts
 * wholeNumber("5000", "--batch-size", 1); // 5000
 * nameList("id, name"); // ["id", "name"]
 * ```
 * @module
 */
import { UsageError } from "../model/errors.ts";

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
