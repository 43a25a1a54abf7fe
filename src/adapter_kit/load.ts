/**
 * What the load modes (`--mode`, `--merge-strategy`, `--add-columns`; src/app/modes.ts) ask of a
 * target beyond a keyed change set. A target offers a write by listing it in `loadWrites`; the
 * app refuses a mode (exit 2) on a target that does not.
 *
 * - `truncate`: every current record goes first (the table, its DDL and grants stay), then the
 *   plan's creates are inserted, in the same transaction.
 * - `replace`: the creates are loaded into a staging table made from the plan's fields, which then
 *   replaces the table (dropped, the staging table renamed to its name), in one transaction where
 *   the database has transactional DDL.
 * - `delete_insert`: the deletes run before the creates (the merge strategy writes each update as
 *   a delete of its key, then an insert of the whole record).
 * - `collapse`: creates only, each carrying a sign column (ClickHouse `CollapsingMergeTree`: a
 *   cancelling row with sign -1, then the new row with sign 1).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import type { Target } from "./importer.ts";
 * import { offersLoad } from "./load.ts";
 * const csv = { label: "out.csv" } as Target;
 * strictEqual(offersLoad(csv, "truncate"), false);
 * ```
 * @module
 */
import type { Target } from "./importer.ts";
import type { Field } from "../model/types.ts";
import type { LoadWrite } from "./changes.ts";

export type { LoadWrite };

/** A target with load writes or schema evolution. */
export interface LoadTarget extends Target {
  /** The {@linkcode LoadWrite}s its `apply` performs when `plan.load` says so. */
  readonly loadWrites?: readonly LoadWrite[];
  /**
   * Adds `fields` (with the types of their values) as new columns, in the write session's
   * transaction where there is one (`ALTER TABLE … ADD COLUMN`); a file target adds them when
   * `apply` rewrites it. Called just before `apply`; `describe` then includes them.
   */
  addColumns?(fields: Field[]): Promise<void>;
}

/** Whether `target` performs the load write `load`. */
export function offersLoad(target: Target, load: LoadWrite): boolean {
  return (target as LoadTarget).loadWrites?.includes(load) ?? false;
}

/** Whether `target` can add columns. */
export function canAddColumns(target: Target): target is
  & LoadTarget
  & Required<
    Pick<LoadTarget, "addColumns">
  > {
  return typeof (target as LoadTarget).addColumns === "function";
}

/** The staging table's name of a `replace` load: `<table>__dsync_new`. */
export function stagingName(table: string): string {
  return `${table}__dsync_new`;
}

/**
 * The columns a file target writes: its own header, then the plan's fields it lacks (added by
 * `--add-columns`), so that existing rows get an empty cell there.
 */
export function fileColumns(header: string[], fields: readonly Field[]): string[] {
  const have = new Set(header);
  return [...header, ...fields.map((f) => f.name).filter((name) => !have.has(name))];
}
