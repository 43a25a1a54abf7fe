/**
 * Load modes and merge strategies (`--mode`, `--merge-strategy`; a pipeline's `mode:` and
 * `merge_strategy:`) and schema evolution (`--add-columns`), around {@linkcode runSync}: every
 * mode plans a keyed change set, prints it in the same format and checks it against the same
 * limits; the mode decides what is read and how the change set is written.
 *
 * | mode | reads | writes |
 * | --- | --- | --- |
 * | `sync` (default) | both sides | the change set |
 * | `append` | both sides | creates only |
 * | `snapshot` | the source | every source record, with `_dsync_loaded_at` |
 * | `truncate` | both sides | every source record, after emptying the table (DDL kept) |
 * | `full-refresh` | both sides | every source record into a staging table renamed over the table |
 * | `incremental` | source rows past the saved watermark of `--update-key` | their changes |
 * | `backfill` | source rows with `--update-key` in `--range A..B` | their changes |
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { loadOptions } from "./modes.ts";
 * deepStrictEqual(loadOptions({ mode: "backfill", updateKey: "day", range: "1..5" }).range, {
 *   from: "1",
 *   to: "5",
 * });
 * ```
 * @module
 */
import type {
  ChangeList,
  CreateChange,
  DeleteChange,
  RecordChange,
  UpdateChange,
  WritePlan,
} from "../adapter_kit/changes.ts";
import type { Dataset, OpenOptions, Target } from "../adapter_kit/importer.ts";
import { canAddColumns, type LoadWrite, offersLoad } from "../adapter_kit/load.ts";
import type { FieldOptions } from "../engine/fields.ts";
import { planChanges } from "../engine/plan.ts";
import { UsageError } from "../model/errors.ts";
import type { FieldType, Row } from "../model/types.ts";
import { keysOf, readDelta, scopeTarget } from "./incremental.ts";
import { DEFAULT_STATE, WatermarkState } from "./state.ts";
import { runSync, type SyncOptions, type SyncResult } from "./sync.ts";
import { boundValue, compareValues, parseRange, type Range } from "./watermark.ts";
import { EmptyView, FilteredDataset, LOADED_AT, LoadedAt, widened } from "./mode_views.ts";

/** How the target is loaded. */
export const LOAD_MODES = [
  "sync",
  "full-refresh",
  "truncate",
  "snapshot",
  "append",
  "incremental",
  "backfill",
] as const;
export type LoadMode = typeof LOAD_MODES[number];

/** How planned changes are written. */
export const MERGE_STRATEGIES = [
  "upsert",
  "insert",
  "update",
  "delete_insert",
  "collapse",
] as const;
export type MergeStrategy = typeof MERGE_STRATEGIES[number];

export { LOADED_AT };

/** The load settings of one run. */
export interface LoadOptions {
  mode: LoadMode;
  mergeStrategy: MergeStrategy;
  /** The field `incremental` and `backfill` select rows by. */
  updateKey?: string;
  /** `backfill`: the inclusive range of the update key. */
  range?: Range;
  /** The watermark state file (default `.dsync/state.db`). */
  state?: string;
  /** Whose watermark: default `pair:<source label>`; a pipeline gives its name. */
  stateName?: string;
  /** The target of the watermark's slot (default the target's label). */
  stateTarget?: string;
  /** `incremental`: the source field that is true for rows to delete (pipelines). */
  softDelete?: string;
  /** `incremental`: the source read only rows past the watermark already (a pushed-down query). */
  prefiltered?: boolean;
  /** Add source fields the target lacks as new columns (default false). */
  addColumns: boolean;
  /** `collapse`: the sign column (default `sign`). */
  signColumn: string;
}

/**
 * The load settings from parsed options (commander names: `mode`, `mergeStrategy`, `updateKey`,
 * `range`, `watermarks`, `addColumns`, `signColumn`).
 *
 * @throws {UsageError} unknown values, and options that do not go together.
 */
export function loadOptions(options: OpenOptions): LoadOptions {
  const mode = (options.mode ?? "sync") as LoadMode;
  if (!LOAD_MODES.includes(mode)) {
    throw new UsageError(`--mode ${mode}: expected one of ${LOAD_MODES.join(", ")}`);
  }
  const mergeStrategy = String(options.mergeStrategy ?? "upsert").replace(
    "-",
    "_",
  ) as MergeStrategy;
  if (!MERGE_STRATEGIES.includes(mergeStrategy)) {
    throw new UsageError(
      `--merge-strategy ${options.mergeStrategy}: expected one of ${MERGE_STRATEGIES.join(", ")}`,
    );
  }
  const updateKey = options.updateKey as string | undefined;
  const range = options.range === undefined ? undefined : parseRange(String(options.range));
  const keyed = mode === "incremental" || mode === "backfill";
  if (keyed && !updateKey) {
    throw new UsageError(
      `--mode ${mode} needs --update-key COL`,
      "the source field that grows with every change, e.g. --update-key updated_at",
    );
  }
  if (updateKey !== undefined && !keyed) {
    throw new UsageError(`--update-key needs --mode incremental or --mode backfill`);
  }
  if (mode === "backfill" && !range) {
    throw new UsageError(
      "--mode backfill needs --range FROM..TO",
      "e.g. --range 2024-01-01..2024-01-31 (inclusive)",
    );
  }
  if (range && mode !== "backfill") throw new UsageError("--range needs --mode backfill");
  if (mergeStrategy !== "upsert" && !["sync", "incremental", "backfill"].includes(mode)) {
    throw new UsageError(
      `--merge-strategy ${mergeStrategy} does not go with --mode ${mode}`,
      "merge strategies decide how a keyed diff is written: use them with --mode sync, incremental or backfill",
    );
  }
  if (options.delete === true && ["append", "snapshot", "incremental", "backfill"].includes(mode)) {
    throw new UsageError(
      `--delete does not go with --mode ${mode}: it reads ${
        keyed ? "only some source rows" : "the source to add to the target"
      }, so a record it does not see is no reason to delete`,
      "leave out --delete, or use --mode sync (or truncate, full-refresh) to mirror the source",
    );
  }
  if (
    (options.create === false || options.update === false) &&
    ["truncate", "full-refresh"].includes(mode)
  ) {
    throw new UsageError(
      `--no-create/--no-update do not go with --mode ${mode}: it reloads the whole table`,
      "use --mode sync with them",
    );
  }
  if (options.signColumn !== undefined && mergeStrategy !== "collapse") {
    throw new UsageError("--sign-column needs --merge-strategy collapse");
  }
  return {
    mode,
    mergeStrategy,
    updateKey,
    range,
    state: options.watermarks as string | undefined,
    addColumns: options.addColumns === true,
    signColumn: (options.signColumn as string | undefined) ?? "sign",
  };
}

/**
 * Runs one sync in `load`'s mode and merge strategy. Closes neither dataset.
 *
 * @throws {UsageError} (exit 2) for a mode or strategy the target cannot take.
 */
export async function runLoad(
  source: Dataset,
  target: Target,
  sync: SyncOptions,
  load: LoadOptions,
  started = performance.now(),
): Promise<SyncResult> {
  checkLoadTarget(target, load, sync.format, sync.partition);
  const fields: FieldOptions = {
    key: sync.key,
    fields: sync.fields,
    exclude: sync.exclude,
    map: sync.map,
  };
  const loaded = load.mode === "snapshot" ? new LoadedAt(source) : source;
  const writeTo = load.addColumns ? await widened(loaded, target, fields) : target;
  const options: SyncOptions = { ...sync, ...strategyOptions(load, () => writeTo) };
  switch (load.mode) {
    case "sync":
      return await runSync(source, writeTo, options, started);
    case "append":
      return await runSync(source, writeTo, { ...options, update: false, delete: false }, started);
    case "snapshot": {
      const info = await writeTo.describe();
      const own = info.exists && info.primaryKey.length ? info.primaryKey : undefined;
      const base = sync.key ?? own ?? (await source.describe()).primaryKey.map(
        (name) => sync.map?.[name] ?? name,
      );
      const key = base.length ? base : ["id"];
      return await runSync(loaded, new EmptyView(writeTo), {
        ...options,
        key: key.includes(LOADED_AT) ? key : [...key, LOADED_AT],
        update: false,
        delete: false,
        deleteGuard: false,
        partition: undefined,
      }, started);
    }
    case "truncate":
    case "full-refresh": {
      if (source.rereadable === false) {
        throw new UsageError(
          `--mode ${load.mode}: ${source.label} can be read only once (it is compared, then loaded)`,
          "save it to a file first",
        );
      }
      const how: LoadWrite = load.mode === "truncate" ? "truncate" : "replace";
      return await runSync(source, writeTo, {
        ...options,
        create: true,
        update: true,
        delete: true,
        write: async (plan, progress) => {
          const total = plan.creates.length + plan.updates.length + plan.deletes.length;
          if (plan.createTarget || total === 0) return await writeTo.apply(plan, progress);
          // Every source record, typed as the diff typed them: planned against an empty view.
          const all = await planChanges(source, new EmptyView(writeTo), {
            ...fields,
            strategy: "hash-join",
            memoryRecords: sync.memoryRecords,
            batchSize: sync.batchSize,
          });
          await writeTo.apply({ ...all.write, createTarget: false, load: how }, progress);
        },
      }, started);
    }
    case "incremental":
    case "backfill":
      return await runKeyed(source, writeTo, options, load, fields, started);
  }
}

/** Refuses (exit 2) what the target cannot take (`dsync run --validate` asks too). */
export function checkLoadTarget(
  target: Target,
  load: LoadOptions,
  format?: string,
  partition?: unknown,
): void {
  const rewritten = ["truncate", "full-refresh"].includes(load.mode) ||
    ["delete_insert", "collapse"].includes(load.mergeStrategy);
  if (partition && ["truncate", "full-refresh"].includes(load.mode)) {
    throw new UsageError(
      `--mode ${load.mode} with --where: it would empty all of ${target.label} and load only the partition`,
      "sync the partition with --mode sync --delete (deletes stay inside it), or add --delete-outside-where if the table mirrors the filtered source",
    );
  }
  if (format === "sql" && rewritten) {
    throw new UsageError(
      `--format sql prints the keyed change set's statements, which --mode ${load.mode} --merge-strategy ${load.mergeStrategy} does not run`,
      "print the change set with --format ndjson (or table) instead",
    );
  }
  const needs = (write: LoadWrite, what: string, hint: string) => {
    if (!offersLoad(target, write)) {
      throw new UsageError(`${what}: ${target.label} cannot be loaded that way`, hint);
    }
  };
  if (load.mode === "truncate") {
    needs(
      "truncate",
      "--mode truncate",
      "truncate empties a SQL table and keeps its DDL; a file is rewritten whole by --mode sync --delete",
    );
  }
  if (load.mode === "full-refresh") {
    needs(
      "replace",
      "--mode full-refresh",
      "full-refresh replaces a SQL table through a staging table; a file is rewritten whole by --mode sync --delete",
    );
  }
  if (load.mergeStrategy === "delete_insert") {
    needs(
      "delete_insert",
      "--merge-strategy delete_insert",
      "it needs a SQL target that deletes and inserts in one transaction (sqlite, postgres, mysql)",
    );
  }
  if (load.mergeStrategy === "collapse") {
    needs(
      "collapse",
      "--merge-strategy collapse",
      "collapse writes sign rows for a ClickHouse CollapsingMergeTree table",
    );
  }
  if (load.addColumns && !canAddColumns(target)) {
    throw new UsageError(
      `--add-columns: ${target.label} cannot add columns`,
      "add them yourself, or leave the new fields out with --exclude",
    );
  }
}

/** The change policy and the write of a merge strategy; `to` is the target written. */
function strategyOptions(load: LoadOptions, to: () => Target): Partial<SyncOptions> {
  switch (load.mergeStrategy) {
    case "upsert":
      return {};
    case "insert":
      return { update: false };
    case "update":
      return { create: false };
    case "delete_insert":
      return { write: (plan, progress) => to().apply(deleteInsertPlan(plan), progress) };
    case "collapse":
      return {
        write: (plan, progress) => to().apply(collapsePlan(plan, load.signColumn), progress),
      };
  }
}

/** An update as a delete of its key, then an insert of the whole source record. */
export function deleteInsertPlan(plan: WritePlan): WritePlan {
  const deletes = joined<DeleteChange, UpdateChange>(plan.deletes, plan.updates, (u) => ({
    op: "delete",
    key: u.key,
    keyText: u.keyText,
    before: u.before,
  }));
  const creates = joined<CreateChange, UpdateChange>(plan.creates, plan.updates, (u) => ({
    op: "create",
    key: u.key,
    keyText: u.keyText,
    after: u.after,
    position: u.position,
  }));
  return { ...plan, creates, updates: [], deletes, load: "delete_insert" };
}

/**
 * The rows of a collapsing table: a create is its row with sign 1; an update a cancelling row
 * (the target's values, sign -1) and the new row (sign 1); a delete a cancelling row.
 */
export function collapsePlan(plan: WritePlan, sign: string): WritePlan {
  const row = (values: Row, s: number): CreateChange => ({
    op: "create",
    key: [],
    keyText: "",
    after: [...values, s],
  });
  const keyed = (change: RecordChange, values: Row, s: number): CreateChange => ({
    ...row(values, s),
    key: change.key,
    keyText: change.keyText,
  });
  const count = plan.creates.length + 2 * plan.updates.length + plan.deletes.length;
  const creates: ChangeList<CreateChange> = {
    length: count,
    *[Symbol.iterator]() {
      for (const c of plan.creates) yield keyed(c, c.after, 1);
      for (const u of plan.updates) {
        yield keyed(u, u.before, -1);
        yield keyed(u, u.after, 1);
      }
      for (const d of plan.deletes) yield keyed(d, d.before, -1);
    },
  };
  if (plan.fields.some((f) => f.name === sign)) {
    throw new UsageError(`--sign-column ${sign}: the source has a field '${sign}' already`);
  }
  return {
    ...plan,
    fields: [...plan.fields, { name: sign, type: "integer", nativeType: "Int8" }],
    targetIndexes: [...plan.targetIndexes, -1],
    creates,
    updates: [],
    deletes: [],
    load: "collapse",
  };
}

/** `first`, then `second` mapped, as one change list. */
function joined<C extends RecordChange, D extends RecordChange = RecordChange>(
  first: ChangeList<C>,
  second: ChangeList<D>,
  map: (change: D) => C,
): ChangeList<C> {
  return {
    length: first.length + second.length,
    *[Symbol.iterator]() {
      yield* first;
      for (const change of second) yield map(change);
    },
  };
}

/** `incremental` and `backfill`: the source's rows selected by the update key, their changes. */
async function runKeyed(
  source: Dataset,
  target: Target,
  options: SyncOptions,
  load: LoadOptions,
  fields: FieldOptions,
  started: number,
): Promise<SyncResult> {
  const info = await source.describe();
  const column = load.updateKey!;
  const index = info.fields.findIndex((f) => f.name === column);
  if (index < 0) {
    throw new UsageError(
      `--update-key ${column}: source ${source.label} has no such field`,
      `fields: ${info.fields.map((f) => f.name).join(", ")}`,
    );
  }
  const type = info.fields[index].type;
  const state = load.mode === "incremental"
    ? new WatermarkState(load.state ?? DEFAULT_STATE)
    : undefined;
  try {
    const slot = {
      pipeline: load.stateName ?? `pair:${source.label}`,
      target: load.stateTarget ?? target.label,
      column,
    };
    const selected = load.prefiltered
      ? source
      : new FilteredDataset(source, index, selector(load, type, state?.get(slot)));
    const delta = await readDelta(
      selected,
      { watermark: column, softDelete: load.softDelete },
      options.batchSize ?? 5000,
    );
    const scoped = (await target.describe()).exists
      ? scopeTarget(target, await keysOf(delta, target, fields), fields, delta.info)
      : target;
    const result = await runSync(delta, scoped, {
      ...options,
      // Records outside the selection are not part of this run: never deletes, but those
      // soft_delete marks (the guard is off: the target is scoped to the delta's keys).
      delete: load.softDelete !== undefined,
      deleteGuard: false,
      partition: undefined,
    }, started);
    if (state && !options.dryRun && delta.highest !== undefined) state.save(slot, delta.highest);
    return result;
  } finally {
    state?.close();
  }
}

/** Which update key values a run reads: past the watermark, or inside the range. */
function selector(load: LoadOptions, type: FieldType, watermark: unknown): (v: unknown) => boolean {
  const present = (v: unknown) => v !== null && v !== undefined && v !== "";
  if (load.mode === "incremental") {
    return watermark === undefined
      ? present
      : (v) => present(v) && compareValues(v, watermark, type) > 0;
  }
  const { from, to } = load.range!;
  const low = from === undefined ? undefined : boundValue(from, type, "--range");
  const high = to === undefined ? undefined : boundValue(to, type, "--range");
  return (v) =>
    present(v) && (low === undefined || compareValues(v, low, type) >= 0) &&
    (high === undefined || compareValues(v, high, type) <= 0);
}
