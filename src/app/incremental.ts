/**
 * `strategy: incremental`: the source holds only rows past the saved watermark, so the sync
 * must look at just the target records with the same keys (every other target record is
 * simply not part of this run, never a delete). Rows whose `soft_delete` column is true are
 * left out of the source while their keys stay in the set, so the engine deletes them.
 *
 * The delta is held in memory: incremental runs exist to move few rows.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import type { DatasetInfo, Target } from "../adapter_kit/importer.ts";
 * import type { Row } from "../model/types.ts";
 * import { keysOf, readDelta, scopeTarget } from "./incremental.ts";
 * const info: DatasetInfo = {
 *   exists: true,
 *   fields: [
 *     { name: "id", type: "integer" },
 *     { name: "name", type: "text" },
 *     { name: "updated_at", type: "text" },
 *   ],
 *   primaryKey: ["id"],
 *   typed: true,
 *   textual: false,
 * };
 * const table = (label: string, rows: Row[]): Target => ({
 *   label,
 *   describe: () => Promise.resolve(info),
 *   read: async function* () {
 *     yield { rows, positions: rows.map((_row, i) => i + 1) };
 *   },
 *   apply: () => Promise.resolve(),
 *   close: () => Promise.resolve(),
 * });
 * // The source's rows changed since the last watermark, and the whole target.
 * const source = table("orders.db#orders", [[2, "Rob", "2024-05-02"], [5, "Eve", "2024-05-03"]]);
 * const target = table("shop.db#orders", [[1, "Ann", "2024-04-01"], [2, "Bob", "2024-04-02"]]);
 *
 * const delta = await readDelta(source, { watermark: "updated_at" }, 5000);
 * deepStrictEqual(delta.highest, "2024-05-03"); // the new watermark, saved after the write
 * const keys = await keysOf(delta, target, { key: ["id"] });
 * deepStrictEqual([...keys], ["2", "5"]);
 * const scoped = scopeTarget(target, keys, { key: ["id"] }, delta.info);
 * // Record 1 is not part of this run (never a delete): runSync(delta, scoped, ...) updates 2 and
 * // creates 5.
 * deepStrictEqual((await Array.fromAsync(scoped.read(5000))).flatMap((batch) => batch.rows), [
 *   [2, "Bob", "2024-04-02"],
 * ]);
 * ```
 * @module
 */
import type { WritePlan } from "../adapter_kit/changes.ts";
import { keyTextOf, targetKeyOf } from "../engine/records.ts";
import { InputError, UsageError } from "../model/errors.ts";
import { type FieldOptions, resolveFields } from "../engine/fields.ts";
import type { Dataset, DatasetInfo, Target } from "../adapter_kit/importer.ts";
import { isSqlTarget, type SqlTarget } from "../adapter_kit/sql.ts";
import type { FieldType, Row, RowBatch } from "../model/types.ts";
import { convertValue } from "../model/values.ts";
import { batchRows } from "../adapter_kit/batches.ts";
import { compareValues } from "./watermark.ts";

/** The incremental settings of a pipeline. */
export interface IncrementalSpec {
  /** Source field that grows with every change. */
  watermark: string;
  /** Source field that is true for rows to delete from the target. */
  softDelete?: string;
}

/** A source's delta, read whole: the rows to upsert, plus those marked deleted. */
export class Delta implements Dataset {
  /** The highest watermark value read; undefined when no row had one. */
  highest: unknown = undefined;
  /** Rows marked deleted (their keys go into the target scope, the rows not into the sync). */
  readonly deleted: Row[] = [];
  readonly live: { row: Row; position: number }[] = [];

  constructor(readonly inner: Dataset, readonly info: DatasetInfo) {}

  get label(): string {
    return this.inner.label;
  }

  describe(): Promise<DatasetInfo> {
    return Promise.resolve(this.info);
  }

  read(batchSize: number): AsyncGenerator<RowBatch> {
    return batchRows(this.live, batchSize, (r) => r.row, (r) => r.position);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * Reads all of `source`, tracking the highest watermark and setting soft-deleted rows aside.
 *
 * @throws {UsageError} when the watermark or soft-delete field is not a source field.
 * @throws {InputError} for a soft-delete value that is not a boolean.
 */
export async function readDelta(
  source: Dataset,
  spec: IncrementalSpec,
  batchSize: number,
): Promise<Delta> {
  const info = await source.describe();
  const indexOf = (name: string, key: string) => {
    const i = info.fields.findIndex((f) => f.name === name);
    if (i < 0) {
      throw new UsageError(
        `${key} '${name}': source ${source.label} has no such field`,
        `fields: ${info.fields.map((f) => f.name).join(", ")}`,
      );
    }
    return i;
  };
  const mark = indexOf(spec.watermark, "watermark");
  const gone = spec.softDelete === undefined ? -1 : indexOf(spec.softDelete, "soft_delete");
  const later = laterThan(info.fields[mark].type);
  const delta = new Delta(source, info);
  for await (const batch of source.read(batchSize)) {
    batch.rows.forEach((row, r) => {
      const value = row[mark];
      if (value !== null && value !== undefined) {
        if (delta.highest === undefined || later(value, delta.highest)) delta.highest = value;
      }
      if (gone >= 0 && isTrue(row[gone], spec.softDelete!, source.label, batch.positions[r])) {
        delta.deleted.push(row);
      } else delta.live.push({ row, position: batch.positions[r] });
    });
  }
  return delta;
}

/** `a > b` the way the database compares values of `type` (text: code unit order). */
function laterThan(type: FieldType): (a: unknown, b: unknown) => boolean {
  return (a, b) => compareValues(a, b, type) > 0;
}

function isTrue(value: unknown, field: string, label: string, position: number): boolean {
  try {
    return convertValue(value, "boolean") === true;
  } catch {
    throw new InputError(
      `${label}:${position}: soft_delete field '${field}': expected true or false, got ${value}`,
    );
  }
}

/**
 * The engine's keys of every delta row (live and deleted), for {@linkcode scopeTarget}; rows
 * whose key does not convert are left to the engine to report.
 */
export async function keysOf(
  delta: Delta,
  target: Target,
  options: FieldOptions,
): Promise<Set<string>> {
  const layout = resolveFields(
    { ...delta.info, label: delta.label },
    { ...await target.describe(), label: target.label },
    options,
  );
  const keys = new Set<string>();
  const rows = [...delta.live.map((l) => l.row), ...delta.deleted];
  for (const row of rows) {
    const values = new Array(layout.fields.length);
    try {
      for (const i of layout.keyIndexes) {
        const field = layout.fields[i];
        const value = convertValue(row[field.sourceIndex], field.type);
        values[i] = field.respell ? field.respell(value) : value;
      }
      keys.add(keyTextOf(values, layout, delta.label));
    } catch {
      // the engine reports it when it reads the row
    }
  }
  return keys;
}

/** `target` as seen by an incremental run: only its records with one of `keys`. */
export function scopeTarget(
  target: Target,
  keys: Set<string>,
  options: FieldOptions,
  sourceInfo: DatasetInfo,
): Target {
  return new ScopedTarget(target, keys, options, sourceInfo);
}

/** A target read through a set of key texts; subclasses may read it another way. */
export class ScopedTarget implements Target {
  sqlStatements?: SqlTarget["sqlStatements"];
  session?: Target["session"];

  constructor(
    readonly inner: Target,
    readonly keys: Set<string>,
    readonly options: FieldOptions,
    readonly sourceInfo: DatasetInfo,
  ) {
    if (isSqlTarget(inner)) this.sqlStatements = (plan) => inner.sqlStatements(plan);
    if (inner.session) this.session = (work) => inner.session!(work);
  }

  get label(): string {
    return this.inner.label;
  }

  describe(): Promise<DatasetInfo> {
    return this.inner.describe();
  }

  async *read(batchSize: number): AsyncGenerator<RowBatch> {
    if (!this.keys.size) return;
    const info = await this.inner.describe();
    const layout = resolveFields(
      { ...this.sourceInfo, label: "source" },
      { ...info, label: this.label },
      this.options,
    );
    const keyOf = targetKeyOf(layout, this.label);
    for await (const batch of this.inner.read(batchSize)) {
      const rows: Row[] = [];
      const positions: number[] = [];
      batch.rows.forEach((row, r) => {
        let key: string | undefined;
        try {
          key = keyOf(row);
        } catch {
          key = undefined; // an empty key: kept, so that the engine reports it
        }
        if (key === undefined || this.keys.has(key)) {
          rows.push(row);
          positions.push(batch.positions[r]);
        }
      });
      if (rows.length) yield { rows, positions };
    }
  }

  apply(plan: WritePlan, progress?: (written: number) => void): Promise<void> {
    return this.inner.apply(plan, progress);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
