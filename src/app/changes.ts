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
import { storedChanges } from "../adapter_kit/capture_store.ts";
import type { ChangeStore } from "../adapter_kit/change_store.ts";
import type { DatasetInfo, Target } from "../adapter_kit/importer.ts";
import { type FieldLayout, type FieldOptions, resolveFields } from "../engine/fields.ts";
import { keyTextOf } from "../engine/records.ts";
import { TargetError, UsageError } from "../model/errors.ts";
import { convertValue } from "../model/values.ts";
import { ScopedTarget, scopeTarget } from "./incremental.ts";
import { type FilterableTarget, isFilterable, keyCondition } from "../adapter_kit/sql.ts";
import type { RowBatch } from "../model/types.ts";
import { findImporter, listImporters } from "./registry.ts";
import type { OpenOptions } from "../adapter_kit/importer.ts";
import { redactUrl } from "../adapter_kit/http_client.ts";
import { runSync, scopeDeletes, type SyncOptions, type SyncResult } from "./sync.ts";

/**
 * Where a `changes` run takes its keys from, and which source rows count: the change table
 * (default) or a change store; `where`: only changed rows matching this condition are read
 * (with `--delete`, the target is read through `options.partition` too, as a full sync would).
 */
export interface ChangesFrom {
  /** Opens the change store (`--change-store URL`) instead of reading `dsync_changes`. */
  store?: () => Promise<ChangeStore>;
  /** The source condition (`--where`). */
  where?: string;
}

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

/**
 * Opens the change store a `--change-store` URL names (`redis://host:port/db#KEY`,
 * `nats://host:port/SUBJECT`).
 *
 * @throws {UsageError} for a URL of an adapter that keeps no change store.
 */
export function openChangeStore(url: string, options: OpenOptions): Promise<ChangeStore> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  const importer = scheme ? findImporter(scheme === "rediss" ? "redis" : scheme) : undefined;
  if (!importer?.openChangeStore) {
    throw new UsageError(
      `--change-store ${redactUrl(url)}: expected a change store URL`,
      `stores: ${
        listImporters().filter((i) => i.openChangeStore).map((i) => i.name).join(", ")
      } (redis://host:port/db#KEY, nats://host:port/SUBJECT)`,
    );
  }
  return importer.openChangeStore(url, { options });
}

/** Opens the capture driver and the target, runs {@linkcode syncChanges}, closes both. */
export async function openAndSyncChanges(
  openDriver: () => Promise<CaptureDriver>,
  openTarget: () => Promise<Target>,
  options: SyncOptions,
  started = performance.now(),
  from: ChangesFrom = {},
): Promise<ChangesResult> {
  const driver = await openDriver();
  let store: ChangeStore | undefined;
  try {
    store = await from.store?.();
    const target = await openTarget();
    try {
      return await syncChanges(driver, target, options, started, { ...from, store });
    } finally {
      await target.close();
    }
  } finally {
    await store?.close();
    await driver.close();
  }
}

/**
 * Syncs the rows of the captured changes of `driver`'s table (or of `from.store`'s entries) into
 * `target`, then removes the processed change rows or entries (unless `dryRun`). Closes none.
 *
 * A changed key whose row no longer matches `from.where` is read as gone from the source: with
 * `--delete` it is deleted only where the target is read through `options.partition` (the
 * target row matched the partition too), as a full `--where` sync would; a target that cannot be
 * read so is refused, and without a partition (`--delete-outside-where`) the key is deleted.
 *
 * @throws {UsageError} when capture is not installed, or the sync's key is not the captured one.
 * @throws {TargetError} when the target was written but the change rows could not be removed.
 */
export async function syncChanges(
  driver: CaptureDriver,
  target: Target,
  options: SyncOptions,
  started = performance.now(),
  from: { store?: ChangeStore; where?: string } = {},
): Promise<ChangesResult> {
  const where = from.where === undefined ? {} : { where: from.where };
  const pending = from.store
    ? await storedChanges(driver, from.store, where)
    : await pendingChanges(driver, where);
  const origin = from.store?.label ?? driver.label;
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
  const keys = capturedKeys(layout, sourceInfo, pending.keyFields, pending.keys, origin);
  // Deletes stay inside the partition: the target's rows of those keys are read through it.
  if (options.partition && options.delete && targetInfo.exists) {
    await scopeDeletes(target, options.partition);
  }
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
      } of ${pending.keys.length} key${pending.keys.length === 1 ? "" : "s"} in ${origin}`,
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
        `${target.label} was written, but the ${pending.count} processed changes could not be removed from ${origin} (${
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
