/**
 * Type inference for a new target from untyped values (CSV cells, JSON without a schema): the
 * type every value of a column fits, by the rules of {@linkcode convertValue} and the canonical
 * forms of docs/types.md.
 * @module
 */
import type { FieldType, Value } from "./types.ts";
import {
  convertValue,
  digitsAt,
  INT_MAX,
  INT_MIN,
  isDateText,
  isPlainNumber,
  realDate,
} from "./values.ts";

/**
 * The type that every non-null text value of a column fits, for creating a new target from an
 * untyped source: integer, float, boolean, date, timestamp, timestamptz, else text. Text with
 * leading zeros (`"007"`, zip codes) stays text.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { inferType } from "./inference.ts";
 * strictEqual(inferType(["1", "22", null]), "integer");
 * strictEqual(inferType(["007", "12"]), "text");
 * ```
 */
export function inferType(values: Iterable<unknown>): FieldType {
  const inference = new TypeInference();
  for (const value of values) inference.add(value);
  return inference.type;
}

/**
 * {@linkcode inferType} one value at a time, for values that stream past.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { TypeInference } from "./inference.ts";
 * const inference = new TypeInference();
 * inference.add("2024-01-31");
 * strictEqual(inference.type, "date");
 * inference.add("next week");
 * strictEqual(inference.type, "text");
 * ```
 */
export class TypeInference {
  #candidates: FieldType[] = [
    "integer",
    "float",
    "boolean",
    "date",
    "timestamp",
    "timestamptz",
    "json",
  ];
  #seen = false;
  #keepEmpty: boolean;
  #settled = false;

  /**
   * @param keepEmpty `""` fits only text (for targets that keep it apart from NULL); else it is
   *   ignored like NULL, and converts to NULL in any other type.
   */
  constructor(keepEmpty = false) {
    this.#keepEmpty = keepEmpty;
  }

  /** Narrows the candidates to those `value` fits. */
  add(value: unknown): void {
    if (value === "" && this.#keepEmpty) {
      this.#seen = true;
      this.#candidates.length = 0;
      return;
    }
    if (value === null || value === undefined || value === "") return;
    this.#seen = true;
    const candidates = this.#candidates;
    // Settled: a value that fits the type leaves it as it is; only one that does not narrows.
    if (this.#settled && (candidates.length === 0 || fitsType(value, candidates[0]))) return;
    for (let c = 0; c < candidates.length; c++) {
      if (!fitsType(value, candidates[c])) candidates.splice(c--, 1);
    }
  }

  /**
   * From now on only whether each value still fits {@linkcode type} is checked (one test a value
   * instead of one per candidate). A value that does not fit still changes the type, but the
   * type it changes to may be wider than needed: for a caller that starts over with a fresh
   * inference when the type changes (a streamed first load, whose table the type already made).
   */
  settle(): void {
    this.#settled = true;
  }

  /** The first candidate every value fits, else text. */
  get type(): FieldType {
    return this.#seen && this.#candidates.length > 0 ? this.#candidates[0] : "text";
  }
}

function fitsType(value: unknown, type: FieldType): boolean {
  switch (typeof value) {
    case "number":
      return type === "float" || (type === "integer" && Number.isInteger(value));
    case "bigint":
      return type === "integer" && value >= INT_MIN && value <= INT_MAX;
    case "boolean":
      return type === "boolean";
    case "object":
      return type === "json" && !(value instanceof Uint8Array);
    case "string":
      break;
    default:
      return false;
  }
  // Only a value's canonical spelling fits a type: converting it must give back the same text,
  // so that the written value equals its source text under `auto` and nothing is respelled
  // (`"1.50"`, `"0E8"`, `"1e5"`, `"TRUE"`, `"2024-01-02 10:00"` stay text).
  const text = value as string;
  switch (type) {
    case "integer": {
      if (!/^-?(0|[1-9]\d*)$/.test(text) || text === "-0") return false;
      // Up to 18 digits is always within the 64-bit range.
      const digits = text.charCodeAt(0) === 45 ? text.length - 1 : text.length;
      return digits <= 18 || (BigInt(text) >= INT_MIN && BigInt(text) <= INT_MAX);
    }
    case "float":
      return isPlainNumber(text) && (isShortestFloat(text) ?? String(Number(text)) === text);
    case "boolean":
      return text === "true" || text === "false";
    case "date":
      return isDateText(text) &&
        realDate(digitsAt(text, 0, 4), digitsAt(text, 5, 2), digitsAt(text, 8, 2));
    case "timestamp":
      return text.length > 10 && text[10] === "T" && !text.endsWith("Z") &&
        convertsTo(text, "timestamp") === text;
    case "timestamptz":
      return text.endsWith("Z") && convertsTo(text, "timestamptz") === text;
    default:
      return false;
  }
}

/**
 * For a plain number's text (see `isPlainNumber`), whether it is what `String(Number(text))`
 * gives, without converting (the check runs for every value of a float column); undefined when
 * only the conversion can tell. Sure for at most 15 significant digits without exponent in the
 * range `String` writes without one (from 1e-6 to below 1e21): at most 15 digits, a decimal is
 * the only one of its length that reads as its double, so it is the shortest spelling, the one
 * `String` writes. A fraction ending in 0 never is.
 */
export function isShortestFloat(text: string): boolean | undefined {
  const end = text.length;
  let i = text.charCodeAt(0) === 45 ? 1 : 0;
  const start = i;
  while (i < end && text.charCodeAt(i) !== 46) {
    // An exponent: left to the conversion.
    if ((text.charCodeAt(i) | 32) === 101) return undefined;
    i++;
  }
  const whole = i - start;
  if (whole > 21) return undefined;
  if (i === end) {
    // An integer: `-0` is written `0`.
    if (whole === 1 && text.charCodeAt(start) === 48) return start === 0;
    return whole <= 15 ? true : undefined;
  }
  const fraction = i + 1;
  for (let j = fraction; j < end; j++) if ((text.charCodeAt(j) | 32) === 101) return undefined;
  if (text.charCodeAt(end - 1) === 48) return false;
  if (whole === 1 && text.charCodeAt(start) === 48) {
    // `0.000001` is written so, `0.0000001` as `1e-7`.
    let zeros = 0;
    while (text.charCodeAt(fraction + zeros) === 48) zeros++;
    return zeros <= 5 && end - fraction - zeros <= 15 ? true : undefined;
  }
  return whole + end - fraction <= 15 ? true : undefined;
}

function convertsTo(value: unknown, type: FieldType): Value | undefined {
  try {
    return convertValue(value, type);
  } catch {
    return undefined;
  }
}
