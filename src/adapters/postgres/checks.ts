/**
 * Values a PostgreSQL column would refuse or silently change (out of range for smallint/integer/
 * numeric(p,s), more decimal places or fractional seconds than it keeps, too long for
 * varchar(n)/char(n), not exact as a real, NUL characters, not a uuid), found before anything is
 * written.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { OID } from "./catalog.ts";
 * import { valueCheck } from "./checks.ts";
 * const column = {
 *   name: "n", baseOid: OID.int2, baseName: "int2", typmod: -1, typtype: "b", category: "N",
 *   native: "smallint", type: "integer" as const, domain: false,
 * };
 * deepStrictEqual(valueCheck(column, "integer")?.(1), undefined);
 * ```
 * @module
 */
import type { WritePlan } from "../../adapter_kit/changes.ts";
import { checkPlanValues, codePoints } from "../../adapter_kit/value_checks.ts";
import { InputError, showValue } from "../../model/errors.ts";
import type { FieldType } from "../../model/types.ts";
import { stableStringify } from "../../model/values.ts";
import { OID, type PgColumn } from "./catalog.ts";
import { badArrayElement, canonicalUuid } from "./spelling.ts";

const INT_RANGE: Record<number, [number, number, string]> = {
  [OID.int2]: [-32768, 32767, "smallint"],
  [OID.int4]: [-2147483648, 2147483647, "integer"],
};

/** Arrays whose elements are checked before writing (integers, uuids). */
const CHECKED_ARRAYS = new Set(["_int2", "_int4", "_int8", "_uuid"]);

/** Digits before and after the point of a canonical decimal string. */
function digits(decimal: string): [number, number] {
  const [int, frac = ""] = decimal.replace(/^-/, "").split(".");
  return [int === "0" ? 0 : int.length, frac.length];
}

/** The shortest decimal text PostgreSQL prints for a `real`, as the double it reads back as. */
function realReadBack(value: number): number {
  const single = Math.fround(value);
  for (let p = 1; p <= 9; p++) {
    const text = single.toPrecision(p);
    if (Math.fround(Number(text)) === single) return Number(text);
  }
  return single;
}

/**
 * A check for values written to `column` (undefined: a column dsync creates, of dsync type
 * `type`): returns why a value cannot be stored as it is, or undefined. The check itself is
 * undefined when the column takes every value of its type.
 */
export function valueCheck(
  column: PgColumn | undefined,
  type: FieldType,
): ((value: unknown) => string | undefined) | undefined {
  const textCheck = (value: unknown) =>
    typeof value === "string" && value.includes("\u0000")
      ? "contains a NUL character, which PostgreSQL text cannot hold"
      : undefined;
  if (!column) return type === "text" || type === "auto" ? textCheck : undefined;
  const { baseOid, typmod, native } = column;
  if (column.category === "A" && CHECKED_ARRAYS.has(column.baseName)) {
    // Checked here: the server's refusal would come while writing, without the source line.
    return (value) => {
      if (typeof value !== "string") return;
      const bad = badArrayElement(column, value);
      return bad === undefined
        ? undefined
        : `${showValue(value)}: element ${showValue(bad)} is not a value of ${native}`;
    };
  }
  const range = INT_RANGE[baseOid];
  if (range) {
    return (value) => {
      if (value === null || (typeof value !== "number" && typeof value !== "bigint")) return;
      if (value < range[0] || value > range[1]) {
        return `${showValue(value)} is out of range for ${range[2]} (${range[0]} to ${range[1]})`;
      }
    };
  }
  if (baseOid === OID.numeric && typmod >= 4) {
    const precision = ((typmod - 4) >> 16) & 0xffff;
    const scale = (((typmod - 4) & 0x7ff) ^ 1024) - 1024;
    return (value) => {
      if (typeof value !== "string") return;
      const [int, frac] = digits(value);
      if (frac > scale) {
        return `${showValue(value)} has more decimal places than ${native} keeps (${
          Math.max(scale, 0)
        }); PostgreSQL would round it`;
      }
      if (int > precision - scale) {
        return `${showValue(value)} is out of range for ${native} (at most ${
          precision - scale
        } digits before the point)`;
      }
    };
  }
  if ((baseOid === OID.varchar || baseOid === OID.bpchar) && typmod >= 4) {
    const max = typmod - 4;
    return (value) => {
      if (typeof value !== "string") return;
      const nul = textCheck(value);
      if (nul) return nul;
      const length = codePoints(value);
      if (length > max) {
        return `${showValue(value)} is too long for ${native} (${length} characters)`;
      }
    };
  }
  if (baseOid === OID.float4) {
    return (value) => {
      if (typeof value !== "number" || !Number.isFinite(value)) return;
      if (realReadBack(value) !== value) {
        return `${showValue(value)} does not fit a real (it would read back as ${
          realReadBack(value)
        }); use double precision`;
      }
    };
  }
  if (baseOid === OID.time || baseOid === OID.timestamp || baseOid === OID.timestamptz) {
    const precision = typmod >= 0 ? typmod : 6;
    return (value) => {
      if (typeof value !== "string") return;
      if (/:60(\.\d*)?Z?$/.test(value)) {
        return `${
          showValue(value)
        } is a leap second, which PostgreSQL cannot hold (it would store the next minute's first second)`;
      }
      const m = /\.(\d+)/.exec(value);
      if (m && m[1].length > precision) {
        return `${
          showValue(value)
        } has more fractional seconds than ${native} keeps (${precision} digits)`;
      }
    };
  }
  if (baseOid === OID.uuid) {
    return (value) =>
      typeof value === "string" && canonicalUuid(value) === undefined
        ? `${showValue(value)} is not a uuid (32 hex digits, in 8-4-4-4-12 groups)`
        : undefined;
  }
  if (baseOid === OID.jsonb) {
    return (value) =>
      value !== null && value !== undefined && stableStringify(value).includes("\\u0000")
        ? "contains a \\u0000 character, which jsonb cannot hold"
        : undefined;
  }
  if (type === "text" && baseOid !== OID.bytea) return textCheck;
  return undefined;
}

/**
 * Throws an input error naming the first record of `plan` with a value `columns`
 * would refuse or change (created records: every field; updated ones: the changed fields).
 * `label` names the table in the message.
 */
export function checkValues(plan: WritePlan, columns: PgColumn[], label: string): void {
  const byName = new Map(columns.map((c) => [c.name, c]));
  checkPlanValues(plan, plan.fields.map((f) => valueCheck(byName.get(f.name), f.type)), label);
}

/** Longest identifier PostgreSQL keeps (NAMEDATALEN - 1 bytes); longer ones it cuts silently. */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * Refuses names PostgreSQL would shorten: the table would be created under another name (and
 * every later run would look for the long one), so nothing is created (exit 2).
 */
export function checkIdentifiers(label: string, names: string[]): void {
  for (const name of names) {
    const bytes = new TextEncoder().encode(name).length;
    if (bytes > MAX_IDENTIFIER_BYTES) {
      throw new InputError(
        `${label}: the name '${name}' is ${bytes} bytes; PostgreSQL keeps at most ${MAX_IDENTIFIER_BYTES} and would cut it short`,
        "use a shorter name (--map SOURCE=SHORTER for a field, or name the table in the locator)",
      );
    }
  }
}
