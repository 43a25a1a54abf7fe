/**
 * The assertions the tests use, on `node:assert` (jsr's @std/assert is not reachable here).
 *
 * @example
 * ```ts
 * assertEquals([1], [1]);
 * ```
 * @module
 */
import assert from "node:assert/strict";

/** Deep equality. */
export function assertEquals(actual: unknown, expected: unknown, message?: string): void {
  assert.deepStrictEqual(actual, expected, message);
}

/** `text` matches `pattern`. */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  assert.match(text, pattern, message);
}

/** A truthy value. */
export function assertOk(value: unknown, message?: string): void {
  assert.ok(value, message);
}
