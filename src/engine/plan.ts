/**
 * The planner: resolves fields, runs the diff engine, types the values to write, applies the
 * change policy (`--no-create`, `--no-update`, `--delete`) and the safety limits.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, rejects } from "node:assert/strict";
 * import type { DatasetInfo, Target } from "../adapter_kit/importer.ts";
 * import { LimitError } from "../model/errors.ts";
 * import type { Row } from "../model/types.ts";
 * import { planChanges } from "./plan.ts";
 * const info: DatasetInfo = {
 *   exists: true,
 *   fields: [{ name: "id", type: "integer" }, { name: "name", type: "text" }],
 *   primaryKey: ["id"],
 *   typed: true,
 *   textual: false,
 * };
 * // An in-memory table of (id, name).
 * const table = (label: string, rows: Row[]): Target => ({
 *   label,
 *   describe: () => Promise.resolve(info),
 *   read: async function* () {
 *     yield { rows, positions: rows.map((_row, i) => i + 1) };
 *   },
 *   apply: () => Promise.resolve(),
 *   close: () => Promise.resolve(),
 * });
 * const source = table("source", [[1, "Ann"], [2, "Rob"]]);
 * const target = table("target", [[1, "Ann"], [3, "Eve"]]);
 * const plan = await planChanges(source, target, { delete: true });
 * deepStrictEqual([...plan.write.creates].map((change) => change.after), [[2, "Rob"]]);
 * deepStrictEqual([...plan.write.deletes].map((change) => change.key), [[3]]);
 * deepStrictEqual(plan.write.updates.length, 0);
 * await target.apply(plan.write); // unless --dry-run
 * // Deleting 1 of the target's 2 records is more than 5%: nothing is planned.
 * const limited = planChanges(source, target, { delete: true, limits: { delete: "5%" } });
 * await rejects(limited, LimitError);
 * ```
 * @module
 */
import { diffDatasets, type DiffOptions, type DiffResult } from "./hash_join.ts";
import { bisect, type Bisection } from "./bisect.ts";
import type { PartitionOptions } from "./partition.ts";
import { tryMergeDiff } from "./sorted_merge.ts";
import { tryJoinDiff } from "./join_diff.ts";
import { DEFAULT_MEMORY_RECORDS } from "./spill.ts";
import { onDisk, targetKeyOf } from "./records.ts";
import type { ChangeList, RecordChange, WritePlan } from "../adapter_kit/changes.ts";
import { LimitError, UsageError } from "../model/errors.ts";
import { type FieldLayout, type FieldOptions, resolveFields } from "./fields.ts";
import type { Dataset, DatasetInfo, Target } from "../adapter_kit/importer.ts";
import type { Field, Row } from "../model/types.ts";
import { TypeInference } from "../model/inference.ts";
import {
  type CreateSink,
  type PlanHeader,
  STREAM_BATCH,
  streamedMerge,
  type StreamRecord,
  typeCreate,
} from "./stream_creates.ts";

/** Safety limits: a count, or a percentage of the target's size (`"5%"`). */
export interface Limits {
  create?: string;
  update?: string;
  delete?: string;
  changes?: string;
}

/**
 * The strategies `--strategy` offers: `auto` tries a join inside the target's database, then
 * the sorted merge, then the hash join; `merge` reads both sides into dsync (sorted merge, else
 * hash join); `hash` checksum bisection between two SQL databases (bisect.ts); `join` the join
 * inside one database. A forced `hash` or `join` that cannot run is a usage error (exit 2).
 * (Change capture, `changes`, is another entry of this list.)
 */
export const PAIRING_STRATEGIES = ["auto", "merge", "hash", "join"] as const;

/**
 * How records are paired: one of {@linkcode PAIRING_STRATEGIES}, or `hash-join`, which forces the hash
 * join in dsync (what an unsorted source gets; for tests and benchmarks: `DSYNC_STRATEGY`).
 */
export type PairingStrategy = (typeof PAIRING_STRATEGIES)[number] | "hash-join";

/**
 * What `--strategy` takes: a {@linkcode PairingStrategy}, or `changes` — the source is only the
 * rows whose keys change capture recorded (src/app/changes.ts), paired by `auto`.
 */
export const STRATEGIES = [...PAIRING_STRATEGIES, "changes"] as const;

/** Planner options; every default is the CLI's default. */
export interface PlanOptions extends FieldOptions {
  /** How records are paired (default `auto`). */
  strategy?: PairingStrategy;
  /** `hash`: segments by ranges of a field instead of the key (bisect.ts). */
  partitionBy?: PartitionOptions;
  /** Records the engine holds in memory before it spills to temporary files (default 1M). */
  memoryRecords?: number;
  /** Create missing records (default true). */
  create?: boolean;
  /** Update differing records (default true). */
  update?: boolean;
  /** Delete target records missing from the source (default false: only reported). */
  delete?: boolean;
  /** Safety limits; exceeded → {@linkcode LimitError}. */
  limits?: Limits;
  /** Records per read round trip (default 5000). */
  batchSize?: number;
  /** Allow creating a missing target (default true). */
  createTarget?: boolean;
  /**
   * Write the creates of a first load (an absent or empty target) into the open write session
   * as they are found (see stream_creates.ts); the plan's `streamed` counts them. Only for runs
   * that apply the plan; a run that prints its change set passes `streamRecord` to keep one.
   */
  streamCreates?: boolean;
  /** The record of the streamed creates, for a run that prints its change set. */
  streamRecord?: StreamRecord;
  /** Progress callback: the side being read and its records read so far. */
  onProgress?: (side: "source" | "target", records: number) => void;
}

/** A computed plan with its counts. */
export interface Plan {
  write: WritePlan;
  layout: FieldLayout;
  /** Target size before the sync. */
  targetCount: number;
  /** Source records read. */
  sourceCount: number;
  /** Creates already written into the write session (not in `write.creates`). */
  streamed: number;
  /** Changes found but left out by the policy. */
  skipped: { create: number; update: number; delete: number };
  /** Whether the engine went past its memory budget and used temporary files. */
  spilled: boolean;
  /**
   * How records were paired: one merge pass over both sides in key order, a hash join, a join
   * inside the database, or checksum bisection (then `bisection` tells how).
   */
  strategy: "merge" | "hash-join" | "join" | "hash";
  /** For checksum bisection: what was checked and read, and how the rows read were paired. */
  bisection?: Bisection;
  /** For a join: where it ran (`a join inside sqlite`). */
  joinedBy?: string;
  /** Why `auto` could not use a join inside the database, when the target offers one. */
  joinRefused?: string;
}

/**
 * Computes the change set that makes `target` agree with `source`.
 *
 * @throws {InputError} bad source data; {@linkcode LimitError} a limit is exceeded.
 */
export async function planChanges(
  source: Dataset,
  target: Target,
  options: PlanOptions = {},
): Promise<Plan> {
  const sourceInfo = await source.describe();
  const targetInfo = await target.describe();
  if (!targetInfo.exists && options.createTarget === false) {
    throw new UsageError(
      `${target.label} does not exist`,
      "create it first, or drop --no-create-table",
    );
  }
  const layout = resolveFields(
    { ...sourceInfo, label: source.label },
    { ...targetInfo, label: target.label },
    options,
  );
  const attempt = (inferences: Map<number, TypeInference>): DiffOptions => ({
    batchSize: options.batchSize,
    memoryRecords: options.memoryRecords ?? DEFAULT_MEMORY_RECORDS,
    targetExists: targetInfo.exists,
    keepCreates: options.create !== false,
    onCreate: inferences.size ? inferEach(inferences) : undefined,
    // An existing target's own values count too: one field keeps one JSON type in a file
    // (`"02134"` in the file makes a new `73301` a string as well).
    onTarget: inferences.size && targetInfo.exists ? inferEach(inferences) : undefined,
    onProgress: options.onProgress,
  });
  let inferences = inferredFields(layout, sourceInfo, targetInfo);
  const forced = options.strategy ?? "auto";
  const joined = forced === "auto" || forced === "join"
    ? await tryJoinDiff(source, target, layout, attempt(inferences), sourceInfo.fields)
    : undefined;
  if (forced === "join" && (joined === undefined || typeof joined === "string")) {
    throw new UsageError(
      `--strategy join: no join inside the database: ${
        joined ?? `${source.label} and ${target.label} are not in one database`
      }`,
      "use --strategy auto (or merge) to read both sides",
    );
  }
  const merge = (from: Dataset, to: Dataset, createSink?: CreateSink) =>
    tryMergeDiff(from, to, layout, {
      keys: {
        source: layout.keyIndexes.map((i) => sourceInfo.fields[layout.fields[i].sourceIndex].name),
        target: targetInfo.exists
          ? layout.keyIndexes.map((i) => targetInfo.fields[layout.fields[i].targetIndex].name)
          : [],
      },
      targetExists: targetInfo.exists,
      batchSize: options.batchSize ?? 5000,
    }, { ...attempt(inferences), createSink });
  // A first load written into the open session as it is read (stream_creates.ts).
  let streamed = 0;
  const streamMerge = async () => {
    // The sample is the creates buffer of a plan held whole (a sixteenth of the budget).
    const sample = Math.max(1, (options.memoryRecords ?? DEFAULT_MEMORY_RECORDS) >> 4);
    const result = await streamedMerge(
      target,
      {
        sample,
        batch: Math.min(STREAM_BATCH, sample),
        inferences,
        header: () => writeHeader(layout, inferences, targetInfo, target, source, sourceInfo),
        // The stream writes only into an empty target: percentages are of 0 records.
        maxCreates: emptyTargetMaxCreates(options.limits ?? {}),
        record: options.streamRecord,
      },
      (createSink?: CreateSink) => merge(source, target, createSink),
      () => {
        inferences = inferredFields(layout, sourceInfo, targetInfo);
        return merge(source, target);
      },
    );
    streamed = result.streamed;
    return result.diff;
  };
  /**
   * Reads both sides (or the parts bisection left) into dsync: sorted merge (its creates
   * streamed into the target on a first load, when asked), else hash join.
   */
  const readBoth = async (
    from: Dataset,
    to: Dataset,
    stream = false,
  ): Promise<[DiffResult, "merge" | "hash-join"]> => {
    const merged = forced === "hash-join"
      ? undefined
      : stream
      ? await streamMerge()
      : await merge(from, to);
    if (merged) return [merged, "merge"];
    inferences = inferredFields(layout, sourceInfo, targetInfo);
    return [await diffDatasets(from, to, layout, attempt(inferences)), "hash-join"];
  };
  let diff: DiffResult;
  let strategy: Plan["strategy"];
  let bisection: Bisection | undefined;
  if (joined !== undefined && typeof joined !== "string") {
    [diff, strategy] = [joined.diff, "join"];
  } else if (forced === "hash") {
    const bisected = await bisect(source, target, layout, {
      sourceFields: sourceInfo.fields,
      targetFields: targetInfo.fields,
      targetExists: targetInfo.exists,
      readBoth,
      partition: options.partitionBy,
    });
    if (typeof bisected === "string") {
      throw new UsageError(
        `--strategy hash: no checksum bisection: ${bisected}`,
        "use --strategy auto (or merge) to read both sides",
      );
    }
    [diff, bisection, strategy] = [bisected.diff, bisected, "hash"];
  } else {
    [diff, strategy] = await readBoth(source, target, options.streamCreates === true);
  }

  const updates = options.update === false ? [] : diff.updates;
  const deletes = options.delete ? diff.deletes : [];
  const inferUpdate = inferEach(inferences);
  for (const change of updates) inferUpdate(change.after);
  const inferredIndexes = [...inferences.keys()];
  const inferredTypes = [...inferences.values()].map((inference) => inference.type);
  const typed = <C extends RecordChange & { after: Row }>(change: C): C =>
    typeCreate(change, inferredIndexes, inferredTypes, layout.keyIndexes);
  // Changes on disk are read afresh each time: they are typed as they are read.
  const withTypes = <C extends RecordChange & { after: Row }>(
    list: ChangeList<C>,
  ): ChangeList<C> => {
    if (!inferences.size) return list;
    if (onDisk(list)) return mappedList(list, typed);
    for (const change of list) typed(change);
    return list;
  };
  const creates = withTypes(diff.creates);
  const typedUpdates = withTypes(updates);
  const header = writeHeader(layout, inferences, targetInfo, target, source, sourceInfo);
  // Streamed creates made the table already.
  if (streamed) header.createTarget = false;
  const write: WritePlan = { ...header, creates, updates: typedUpdates, deletes };
  checkLimits(options.limits ?? {}, write, diff.targetCount, streamed);
  return {
    write,
    layout,
    targetCount: diff.targetCount,
    sourceCount: diff.sourceCount,
    skipped: {
      create: diff.createCount - creates.length - streamed,
      update: diff.updates.length - updates.length,
      delete: diff.deletes.length - deletes.length,
    },
    spilled: diff.spilled,
    streamed,
    strategy,
    bisection,
    joinedBy: joined === undefined || typeof joined === "string" ? undefined : joined.description,
    joinRefused: typeof joined === "string" ? joined : undefined,
  };
}

/** The write plan without its changes, with the write types inferred so far. */
function writeHeader(
  layout: FieldLayout,
  inferences: Map<number, TypeInference>,
  targetInfo: DatasetInfo,
  target: Target,
  source: Dataset,
  sourceInfo: DatasetInfo,
): PlanHeader {
  return {
    fields: layout.fields.map((field, i): Field => ({
      name: field.name,
      type: inferences.get(i)?.type ?? field.type,
      nativeType: inferences.has(i) ? undefined : field.nativeType,
    })),
    keyIndexes: layout.keyIndexes,
    createTarget: !targetInfo.exists,
    targetKey: targetKeyOf(layout, target.label),
    targetIndexes: layout.fields.map((f) => f.targetIndex),
    source: source.label,
    sourceDialect: sourceInfo.dialect,
  };
}

/**
 * The fields whose write types are inferred from the values written: fields compared as `auto`
 * (both sides untyped) when the target keeps types (a new SQL table, JSON numbers from CSV
 * text); a CSV target gets the source's own text back.
 */
function inferredFields(
  layout: FieldLayout,
  source: DatasetInfo,
  target: DatasetInfo,
): Map<number, TypeInference> {
  const inferring = !target.textual && (target.typed || source.textual);
  const inferences = new Map<number, TypeInference>();
  if (!inferring) return inferences;
  // An untyped target keeps `""` apart from NULL, so `""` makes its field text there.
  const keepEmpty = !target.typed;
  layout.fields.forEach((field, i) => {
    if (field.type === "auto") inferences.set(i, new TypeInference(keepEmpty));
  });
  return inferences;
}

/**
 * Adds a record's values to the inferences of their fields. Arrays, not the map: this runs for
 * every record created, and iterating a map allocates an entry per field.
 */
function inferEach(inferences: Map<number, TypeInference>): (values: Row) => void {
  const indexes = [...inferences.keys()];
  const list = [...inferences.values()];
  return (values) => {
    for (let k = 0; k < indexes.length; k++) list[k].add(values[indexes[k]]);
  };
}

/** `list` with `map` applied to each change as it is read. */
function mappedList<C extends RecordChange>(list: ChangeList<C>, map: (c: C) => C): ChangeList<C> {
  return {
    length: list.length,
    *[Symbol.iterator]() {
      for (const change of list) yield map(change);
    },
  };
}

/** Parses a limit: `N` or `N%` of `total`. */
export function limitValue(text: string, total: number, option: string): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  if (!m) throw new UsageError(`${option} ${text}: expected a number or a percentage like 5%`);
  return m[2] ? Math.floor((Number(m[1]) / 100) * total) : Number(m[1]);
}

/**
 * The share of the target `--delete` may remove when no `--max-delete` is given. A sync that
 * would delete more (or delete anything from an empty source: an export that failed upstream)
 * is refused; an explicit `--max-delete N|N%` replaces this guard (`--max-delete 100%` allows all).
 */
export const DEFAULT_MAX_DELETE_PERCENT = 50;

/**
 * The default mass-delete guard: a {@linkcode LimitError} when `deletes` is more than
 * {@linkcode DEFAULT_MAX_DELETE_PERCENT} % of `targetCount`, or when the source read
 * (`sourceCount`, undefined when there is no source, as for `dsync apply`) is empty; undefined
 * when the deletes are within the guard or `limits.delete` is set.
 */
export function deleteGuard(
  limits: Limits,
  deletes: number,
  targetCount: number,
  sourceCount?: number,
): LimitError | undefined {
  if (limits.delete !== undefined || deletes === 0) return undefined;
  const max = Math.floor((DEFAULT_MAX_DELETE_PERCENT / 100) * targetCount);
  const records = (n: number) => `${n} target record${n === 1 ? "" : "s"}`;
  const hint = `review the plan with -n; if it is right, allow it with --max-delete ${deletes}` +
    ` (or --max-delete 100%)`;
  if (sourceCount === 0) {
    return new LimitError(
      `refused: the source is empty and --delete would delete ${
        deletes === targetCount ? "all " : ""
      }${deletes} of ${records(targetCount)}; nothing applied`,
      hint,
    );
  }
  if (deletes <= max) return undefined;
  const share = Math.round((deletes / targetCount) * 1000) / 10;
  return new LimitError(
    `refused: ${deletes} delete${deletes === 1 ? "" : "s"} (${share}% of ${
      records(targetCount)
    }) exceed${
      deletes === 1 ? "s" : ""
    } the default --max-delete ${DEFAULT_MAX_DELETE_PERCENT}% (${max}); nothing applied`,
    hint,
  );
}

/**
 * The most creates `--max-create` and `--max-changes` allow into an empty target; creates
 * streamed past it are only counted, and {@linkcode checkLimits} refuses the plan.
 */
function emptyTargetMaxCreates(limits: Limits): number {
  return Math.min(
    ...(["create", "changes"] as const).map((kind) => {
      const text = limits[kind];
      return text === undefined ? Infinity : limitValue(text, 0, `--max-${kind}`);
    }),
  );
}

/**
 * Throws {@linkcode LimitError} when the plan exceeds a limit; `streamed` creates were written
 * already (they roll back with the session).
 */
export function checkLimits(
  limits: Limits,
  plan: WritePlan,
  targetCount: number,
  streamed = 0,
): void {
  const creates = plan.creates.length + streamed;
  const counts = {
    create: creates,
    update: plan.updates.length,
    delete: plan.deletes.length,
    changes: creates + plan.updates.length + plan.deletes.length,
  };
  for (const kind of ["create", "update", "delete", "changes"] as const) {
    const text = limits[kind];
    if (text === undefined) continue;
    const max = limitValue(text, targetCount, `--max-${kind}`);
    if (counts[kind] > max) {
      const noun = kind === "changes" ? "changes" : `${kind}s`;
      throw new LimitError(
        `refused: ${counts[kind]} ${
          counts[kind] === 1 ? noun.replace(/s$/, "") : noun
        } exceed --max-${kind} ${text}${
          text.endsWith("%") ? ` (${max} of ${targetCount} target records)` : ""
        }; nothing applied`,
        "review the plan with -n, then raise the limit if it is right",
      );
    }
  }
}
