/**
 * `--strategy changes` ("execute"): the keys change capture recorded (adapter_kit/capture.ts)
 * are read from the source database, exactly the source rows of those keys are fetched, and the
 * target is planned against them as seen through the same keys — a key whose row is gone from
 * the source becomes a delete (with `--delete`). The plan is applied in one transaction, and only
 * after it committed are the processed change rows removed: a crash in between leaves them, and
 * the next run fetches the same keys again and finds nothing left to change.
 *
 * @example
 * ```ts ignore
 * const driver = await sqliteImporter.openCapture!("app.db#users", { options: {} });
 * const target = await postgresImporter.openTarget!("public.users", { options: {} });
 * const { summary, changes } = await syncChanges(driver, target, syncOptions({ delete: true }));
 * ```
 * @module
 */
import {
  type CaptureDriver,
  isCaptureImporter,
  KEYS_PER_QUERY,
  pendingChanges,
} from "../adapter_kit/capture.ts";
import type { DatasetInfo, Target } from "../adapter_kit/importer.ts";
import { type FieldLayout, type FieldOptions, resolveFields } from "../engine/fields.ts";
import { keyTextOf } from "../engine/records.ts";
import { TargetError, UsageError } from "../model/errors.ts";
import { convertValue } from "../model/values.ts";
import { ScopedTarget, scopeTarget } from "./incremental.ts";
import { type FilterableTarget, isFilterable, keyCondition } from "../adapter_kit/sql.ts";
import type { RowBatch } from "../model/types.ts";
import { listImporters } from "./registry.ts";
import { runSync, type SyncOptions, type SyncResult } from "./sync.ts";

/** What a `changes` run did: the sync's result and the change rows it processed. */
export interface ChangesResult extends SyncResult {
  /** Change rows read (and, unless a dry run, removed). */
  changes: number;
  /** Distinct keys they named. */
  keys: number;
}

/** The adapters that can capture changes, for messages: `sqlite, postgres, mysql`. */
export function captureAdapters(): string {
  return listImporters().filter(isCaptureImporter).map((i) => i.name).join(", ");
}

/** Opens the capture driver and the target, runs {@linkcode syncChanges}, closes both. */
export async function openAndSyncChanges(
  openDriver: () => Promise<CaptureDriver>,
  openTarget: () => Promise<Target>,
  options: SyncOptions,
  started = performance.now(),
): Promise<ChangesResult> {
  const driver = await openDriver();
  try {
    const target = await openTarget();
    try {
      return await syncChanges(driver, target, options, started);
    } finally {
      await target.close();
    }
  } finally {
    await driver.close();
  }
}

/**
 * Syncs the rows of the captured changes of `driver`'s table into `target`, then removes the
 * processed change rows (unless `dryRun`). Closes neither.
 *
 * @throws {UsageError} when capture is not installed, or the sync's key is not the captured one.
 * @throws {TargetError} when the target was written but the change rows could not be removed.
 */
export async function syncChanges(
  driver: CaptureDriver,
  target: Target,
  options: SyncOptions,
  started = performance.now(),
): Promise<ChangesResult> {
  const pending = await pendingChanges(driver);
  const source = pending.rows;
  const sourceInfo = await source.describe();
  const fieldOptions = {
    key: options.key,
    fields: options.fields,
    exclude: options.exclude,
    map: options.map,
  };
  const targetInfo = await target.describe();
  const layout = resolveFields(
    { ...sourceInfo, label: source.label },
    { ...targetInfo, label: target.label },
    fieldOptions,
  );
  const keys = capturedKeys(layout, sourceInfo, pending.keyFields, pending.keys, driver.label);
  // A target still to be created holds nothing to scope; a SQL target reads just those keys.
  const scoped = !targetInfo.exists ? target : isFilterable(target)
    ? new KeyedTarget(
      target,
      layout.keyIndexes.map((i) => targetInfo.fields[layout.fields[i].targetIndex].name),
      keys.values,
      fieldOptions,
      sourceInfo,
    )
    : scopeTarget(target, keys.texts, fieldOptions, sourceInfo);
  if (options.verbose) {
    console.error(
      `dsync: ${pending.count} captured change${
        pending.count === 1 ? "" : "s"
      } of ${pending.keys.length} key${pending.keys.length === 1 ? "" : "s"} in ${driver.label}`,
    );
  }
  const result = await runSync(source, scoped, {
    ...options,
    changes: false,
    // The target is seen through the captured keys only: a share of that scope says nothing
    // about a mass delete, and a delete is a row the source deleted, not one it lacks.
    deleteGuard: false,
    partition: undefined,
  }, started);
  if (!options.dryRun && pending.count) {
    try {
      await pending.remove();
    } catch (error) {
      throw new TargetError(
        `${target.label} was written, but the ${pending.count} processed changes could not be removed from ${driver.label} (${
          (error as Error).message
        }); the next run applies them again and changes nothing twice`,
      );
    }
  }
  return { ...result, changes: pending.count, keys: pending.keys.length };
}

/**
 * The captured keys as the engine sees them: their key texts, for {@linkcode scopeTarget}, and
 * their values in key order, for a target's own query. The layout's key must be the captured key
 * fields. A key that does not convert to the key's type matches no target record and is left out.
 */
function capturedKeys(
  layout: FieldLayout,
  sourceInfo: DatasetInfo,
  keyFields: string[],
  keys: (string | null)[][],
  label: string,
): { texts: Set<string>; values: unknown[][] } {
  const names = layout.keyIndexes.map((i) => sourceInfo.fields[layout.fields[i].sourceIndex].name);
  if ([...names].sort().join("\u0000") !== [...keyFields].sort().join("\u0000")) {
    throw new UsageError(
      `--strategy changes: the sync's key (${
        names.join(", ")
      }) is not the key capture records in ${label} (${keyFields.join(", ")})`,
      `sync by --key ${keyFields.join(",")}, or reinstall capture with --key ${names.join(",")}`,
    );
  }
  const texts = new Set<string>();
  const values: unknown[][] = [];
  const at = names.map((name) => keyFields.indexOf(name));
  for (const key of keys) {
    const row = new Array(layout.fields.length);
    try {
      layout.keyIndexes.forEach((i, k) => {
        row[i] = convertValue(key[at[k]], layout.fields[i].type);
      });
      texts.add(keyTextOf(row, layout, label));
      values.push(layout.keyIndexes.map((i) => row[i]));
    } catch {
      // no target record has it
    }
  }
  return { texts, values };
}

/** A SQL target read through its own queries: only the rows of the captured keys. */
class KeyedTarget extends ScopedTarget {
  constructor(
    readonly filterable: FilterableTarget,
    readonly fields: string[],
    readonly values: unknown[][],
    options: FieldOptions,
    sourceInfo: DatasetInfo,
  ) {
    super(filterable, new Set(), options, sourceInfo);
  }

  override async *read(batchSize: number): AsyncGenerator<RowBatch> {
    for (let i = 0; i < this.values.length; i += KEYS_PER_QUERY) {
      const { condition, params } = keyCondition(
        this.filterable.dialect,
        this.fields,
        this.values.slice(i, i + KEYS_PER_QUERY),
      );
      yield* this.filterable.readWhere(condition, params, batchSize);
    }
  }
}
