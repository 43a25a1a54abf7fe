/**
 * Numbers kept as their exact JSON text (`JSON.rawJSON`): what `parseJsonExact` gives for a
 * number a double would round, and how an exact bigint or decimal is written back as a JSON
 * number rather than a string.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { isRawJson, rawJsonNumber } from "./raw_json.ts";
 * const n = rawJsonNumber("0.12345678901234567891");
 * strictEqual(isRawJson(n), true);
 * strictEqual(JSON.stringify({ n }), '{"n":0.12345678901234567891}');
 * ```
 * @module
 */

/** A number kept as its exact JSON text (`JSON.rawJSON`). */
export interface RawJson {
  readonly rawJSON: string;
}

/** Whether `value` is a {@linkcode RawJson} number. */
export function isRawJson(value: unknown): value is RawJson {
  return (JSON as unknown as { isRawJSON(v: unknown): boolean }).isRawJSON(value);
}

/** `text` (a JSON number) as a value `JSON.stringify` writes as it is. */
export function rawJsonNumber(text: string): RawJson {
  return (JSON as unknown as { rawJSON(text: string): RawJson }).rawJSON(text);
}
