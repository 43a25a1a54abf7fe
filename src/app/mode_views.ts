/**
 * The datasets and targets the load modes (src/app/modes.ts) see instead of the ones opened: a
 * source filtered by its update key, a source with `_dsync_loaded_at`, a target read as empty,
 * and a target widened by the source fields it lacks (`--add-columns`).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import type { Dataset } from "../adapter_kit/importer.ts";
 * import { FilteredDataset } from "./mode_views.ts";
 * const source: Dataset = {
 *   label: "s",
 *   describe: () =>
 *     Promise.resolve({ exists: true, fields: [], primaryKey: [], typed: true, textual: false }),
 *   read: async function* () {
 *     yield { rows: [[1], [5], [9]], positions: [1, 2, 3] };
 *   },
 *   close: () => Promise.resolve(),
 * };
 * const later = new FilteredDataset(source, 0, (v) => (v as number) > 4);
 * deepStrictEqual((await Array.fromAsync(later.read(10))).flatMap((b) => b.rows), [[5], [9]]);
 * ```
 * @module
 */
import type { WritePlan } from "../adapter_kit/changes.ts";
import type { Dataset, DatasetInfo, Target } from "../adapter_kit/importer.ts";
import { canAddColumns } from "../adapter_kit/load.ts";
import { isScopable, isSqlTarget, type Partition } from "../adapter_kit/sql.ts";
import type { FieldOptions } from "../engine/fields.ts";
import { UsageError } from "../model/errors.ts";
import type { Field, Row, RowBatch } from "../model/types.ts";

/** The column `--mode snapshot` adds: when the snapshot was taken (one value per run). */
export const LOADED_AT = "_dsync_loaded_at";

/** The rows of `inner` whose field `index` passes `keep`. */
export class FilteredDataset implements Dataset {
  constructor(
    readonly inner: Dataset,
    readonly index: number,
    readonly keep: (value: unknown) => boolean,
  ) {}

  get label(): string {
    return this.inner.label;
  }

  describe(): Promise<DatasetInfo> {
    return this.inner.describe();
  }

  async *read(batchSize: number): AsyncGenerator<RowBatch> {
    for await (const batch of this.inner.read(batchSize)) {
      const rows: Row[] = [];
      const positions: number[] = [];
      batch.rows.forEach((row, r) => {
        if (this.keep(row[this.index])) {
          rows.push(row);
          positions.push(batch.positions[r]);
        }
      });
      if (rows.length) yield { rows, positions };
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A source with `_dsync_loaded_at` added: the time this run started, for every record. */
export class LoadedAt implements Dataset {
  readonly stamp = new Date().toISOString();

  constructor(readonly inner: Dataset) {}

  get label(): string {
    return this.inner.label;
  }

  get rereadable(): boolean | undefined {
    return this.inner.rereadable;
  }

  async describe(): Promise<DatasetInfo> {
    const info = await this.inner.describe();
    if (info.fields.some((f) => f.name === LOADED_AT)) {
      throw new UsageError(`--mode snapshot: ${this.label} has a field '${LOADED_AT}' already`);
    }
    return { ...info, fields: [...info.fields, { name: LOADED_AT, type: "timestamptz" }] };
  }

  async *read(batchSize: number): AsyncGenerator<RowBatch> {
    for await (const batch of this.inner.read(batchSize)) {
      yield { rows: batch.rows.map((row) => [...row, this.stamp]), positions: batch.positions };
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Forwards what a wrapper does not change: the write session, SQL statements, partitions. */
export abstract class TargetView implements Target {
  session?: Target["session"];
  sqlStatements?: (plan: WritePlan) => Iterable<string>;
  scopeTo?: (partition: Partition) => Promise<void>;

  constructor(readonly inner: Target) {
    if (inner.session) this.session = (work) => inner.session!(work);
    if (isSqlTarget(inner)) this.sqlStatements = (plan) => inner.sqlStatements(plan);
    if (isScopable(inner)) this.scopeTo = (partition) => inner.scopeTo(partition);
  }

  get label(): string {
    return this.inner.label;
  }

  describe(): Promise<DatasetInfo> {
    return this.inner.describe();
  }

  read(batchSize: number): AsyncIterable<RowBatch> {
    return this.inner.read(batchSize);
  }

  apply(plan: WritePlan, progress?: (written: number) => void): Promise<void> {
    return this.inner.apply(plan, progress);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A target seen as holding no records (it is described as it is): every source record is new. */
export class EmptyView extends TargetView {
  override async *read(): AsyncGenerator<RowBatch> {}
}

/**
 * A target with the source fields it lacks as if they were there, empty; `apply` adds them
 * (`addColumns`) before writing, with the types the engine inferred from their values.
 */
export class WidenedTarget extends TargetView {
  constructor(inner: Target, readonly added: Field[]) {
    super(inner);
  }

  override async describe(): Promise<DatasetInfo> {
    const info = await this.inner.describe();
    const have = new Set(info.fields.map((f) => f.name));
    const missing = this.added.filter((f) => !have.has(f.name));
    return missing.length ? { ...info, fields: [...info.fields, ...missing] } : info;
  }

  override async *read(batchSize: number): AsyncGenerator<RowBatch> {
    const info = await this.inner.describe();
    const have = new Set(info.fields.map((f) => f.name));
    const pad = this.added.filter((f) => !have.has(f.name)).length;
    for await (const batch of this.inner.read(batchSize)) {
      if (!pad) yield batch;
      else {
        yield {
          rows: batch.rows.map((row) => [...row, ...new Array(pad).fill(null)]),
          positions: batch.positions,
        };
      }
    }
  }

  override async apply(plan: WritePlan, progress?: (written: number) => void): Promise<void> {
    const info = await this.inner.describe();
    const have = new Set(info.fields.map((f) => f.name));
    const names = new Set(this.added.map((f) => f.name));
    const fresh = plan.fields.filter((f) => names.has(f.name) && !have.has(f.name));
    // A full-refresh's staging table is made with them: the old table is not altered.
    if (fresh.length && canAddColumns(this.inner) && plan.load !== "replace") {
      await this.inner.addColumns(
        fresh.map((f) => ({ name: f.name, type: f.type === "auto" ? "text" : f.type })),
      );
    }
    await this.inner.apply(plan, progress);
  }
}

/**
 * `target` widened by the fields of `source` it lacks (after `--map`, `--fields`, `--exclude`),
 * or `target` itself when it lacks none or does not exist.
 */
export async function widened(
  source: Dataset,
  target: Target,
  options: FieldOptions,
): Promise<Target> {
  const [sourceInfo, targetInfo] = [await source.describe(), await target.describe()];
  if (!targetInfo.exists) return target;
  const have = new Set(targetInfo.fields.map((f) => f.name));
  const wanted = options.fields?.length ? new Set([...options.key ?? [], ...options.fields]) : null;
  const excluded = new Set(options.exclude ?? []);
  const added: Field[] = [];
  for (const field of sourceInfo.fields) {
    const name = options.map?.[field.name] ?? field.name;
    if (have.has(name) || excluded.has(name) || (wanted && !wanted.has(name))) continue;
    // An untyped source's type is inferred from the values written (the engine's `auto`).
    added.push({ name, type: sourceInfo.typed ? field.type : "auto" });
  }
  return added.length ? new WidenedTarget(target, added) : target;
}
