/**
 * SQLite's column affinity and what it does to the values dsync binds: a column of NUMERIC
 * affinity (declared `DECIMAL`, `NUMERIC`, `JSON`, `BOOLEAN`, `DATE`, …) turns text that reads
 * as a number into an INTEGER or a REAL, keeping 15 significant digits. So a decimal is bound
 * as the 64-bit integer or the double that holds it exactly, and one that neither holds is
 * refused before anything is written, as is a JSON number beyond both; NaN, which SQLite would
 * store as NULL, is bound as the text `'NaN'`, which dsync reads back as NaN.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { numericCheck, sqliteAffinity } from "./affinity.ts";
 * deepStrictEqual(sqliteAffinity("DECIMAL(10,2)"), "numeric");
 * deepStrictEqual(sqliteAffinity("DECIMAL_TEXT"), "text");
 * deepStrictEqual(numericCheck("decimal")!("1.5"), undefined);
 * deepStrictEqual(typeof numericCheck("decimal")!("0.1000000000000000001"), "string");
 * ```
 * @module
 */
import type { ValueCheck } from "../../adapter_kit/value_checks.ts";
import type { FieldType } from "../../model/types.ts";
import { decimalFromNumber, stableStringify } from "../../model/values.ts";
import { isRawJson } from "../../model/raw_json.ts";

/** The affinity SQLite gives a declared column type (its rules, in their order). */
export type Affinity = "integer" | "text" | "blob" | "real" | "numeric";

/** The affinity of a declared type, by SQLite's rules (datatype3.html, 3.1). */
export function sqliteAffinity(declared: string): Affinity {
  const t = declared.toUpperCase();
  if (t.includes("INT")) return "integer";
  if (/CHAR|CLOB|TEXT/.test(t)) return "text";
  if (t === "" || t.includes("BLOB")) return "blob";
  if (/REAL|FLOA|DOUB/.test(t)) return "real";
  return "numeric";
}

const INT64 = /^-?\d+$/;

/** Whether SQLite stores the decimal text exactly as an INTEGER (64 bits) or a REAL. */
function exactDecimal(text: string): boolean {
  if (INT64.test(text)) {
    const n = BigInt(text);
    if (n >= -(2n ** 63n) && n < 2n ** 63n) return true;
  }
  const number = Number(text);
  return Number.isFinite(number) && decimalFromNumber(number) === text;
}

/**
 * The check of values of `type` into a column of NUMERIC affinity: decimals and top-level JSON
 * numbers SQLite would store with fewer digits; undefined for types it keeps as they are.
 */
export function numericCheck(type: FieldType): ValueCheck | undefined {
  if (type === "decimal") {
    return (value) =>
      typeof value !== "string" || exactDecimal(value) ? undefined : `${value} has more digits ` +
        "than SQLite's NUMERIC affinity keeps (a 64-bit integer or a double); declare the " +
        "column DECIMAL_TEXT (TEXT affinity) to keep every digit";
  }
  if (type === "json") {
    return (value) => {
      if (typeof value !== "bigint" && !isRawJson(value)) return undefined;
      const text = stableStringify(value);
      return exactDecimal(text) ? undefined : `the JSON number ${text} has more digits than ` +
        "SQLite's NUMERIC affinity keeps (a JSON column stores a bare number as a number)";
    };
  }
  return undefined;
}

/**
 * How a value of `type` is bound into a column of NUMERIC affinity: a decimal as the number that holds it exactly (checked by {@linkcode numericCheck}) rather than text
 * that SQLite converts, so that no text-to-double rounding of SQLite's is involved.
 */
export function numericBinding(type: FieldType): ((value: unknown) => unknown) | undefined {
  if (type !== "decimal") return undefined;
  return (value) => {
    if (typeof value !== "string") return value;
    if (INT64.test(value)) {
      const n = BigInt(value);
      if (n >= -(2n ** 63n) && n < 2n ** 63n) {
        return Number.isSafeInteger(Number(n)) ? Number(n) : n;
      }
    }
    return Number(value);
  };
}
