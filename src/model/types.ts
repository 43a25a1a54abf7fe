/**
 * The record model: field types, values and rows shared by every adapter.
 *
 * A value is a plain JavaScript value whose shape depends on its field's type (see
 * docs/types.md): `integer` → number, or bigint beyond 2^53; `float` → number; `decimal`,
 * `text`, `date`, `time`, `timestamp`, `timestamptz` → canonical string; `boolean` → boolean;
 * `bytes` → Uint8Array; `json` → parsed JSON; `null` for every type. `auto` fields (untyped
 * targets such as CSV files) keep whatever the source gave.
 *
 * @example
 * ```ts
 * import type { Field, Row } from "./types.ts";
 * const fields: Field[] = [{ name: "id", type: "integer" }, { name: "name", type: "text" }];
 * const row: Row = [1, "Ann"]; // values in the order of `fields`
 * ```
 * @module
 */

/** The types a field can have. */
export type FieldType =
  | "integer"
  | "float"
  | "decimal"
  | "boolean"
  | "text"
  | "date"
  | "time"
  | "timestamp"
  | "timestamptz"
  | "bytes"
  | "json"
  | "auto";

/** Every field type, in documentation order. */
export const FIELD_TYPES: readonly FieldType[] = [
  "integer",
  "float",
  "decimal",
  "boolean",
  "text",
  "date",
  "time",
  "timestamp",
  "timestamptz",
  "bytes",
  "json",
  "auto",
];

/** A JSON value as parsed by `JSON.parse`. */
export type JsonValue = null | boolean | number | string | JsonValue[] | {
  [key: string]: JsonValue;
};

/** One value of a record; see the module doc for which shape each type uses. */
export type Value =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | JsonValue[]
  | { [key: string]: JsonValue };

/** A field: its name and type, plus the target's own type name when it has one. */
export interface Field {
  /** Field (column) name, exactly as the datastore spells it. */
  name: string;
  /** dsync type used for conversion and comparison. */
  type: FieldType;
  /** The datastore's declared type (`VARCHAR(20)`, `bigint`), for messages and DDL. */
  nativeType?: string;
  /**
   * A target's own spelling of a converted value, when it stores some values respelled (a
   * PostgreSQL `uuid` lower-case, an array as the server prints it): source values are compared
   * and written in it, so that a rerun finds them equal. Absent: values are stored as given.
   */
  respell?: (value: Value) => Value;
}

/** A record's values, in the order of its dataset's fields. */
export type Row = unknown[];

/** Rows read in one round trip, with where each came from (line or record number). */
export interface RowBatch {
  /** The rows, in field order. */
  rows: Row[];
  /** `positions[i]` is the 1-based line (files) or record number of `rows[i]`. */
  positions: number[];
}

/**
 * Records as their text in a file (CSV records), for comparing whole records before splitting
 * them into cells: under the same header, two records with the same text are the same record.
 */
export interface LineBatch {
  /** Each record's text, without its line break. */
  texts: string[];
  /** The key cells of each record, as `Dataset.read` gives them: `keys[i * keyCount + k]`. */
  keys: (string | null)[];
  /** `positions[i]` is the 1-based line `texts[i]` starts on. */
  positions: number[];
  /** Record `i`'s cells, as `Dataset.read` gives them. */
  row(i: number): Row;
}
