/**
 * What `dsync run` and `dsync run --validate` share: a pipeline's settings, its source and
 * targets opened through the adapters, and how a pipeline's failure is named and reported.
 * @module
 */
import { openAsSource, openAsTarget } from "../app/registry.ts";
import { DsyncError, UsageError } from "../model/errors.ts";
import { defaultTargetName } from "../adapter_kit/files.ts";
import type { FieldOptions } from "../engine/fields.ts";
import type { Dataset, OpenOptions, Target } from "../adapter_kit/importer.ts";
import { isSqlImporter, type SourceQuery, type SqlOpenContext } from "../adapter_kit/sql.ts";
import type { SyncOptions } from "../app/sync.ts";
import { mapEntries, nameList } from "../adapter_kit/option_values.ts";
import type { Config, PipelineConfig, TargetConfig } from "./config_types.ts";
import { MappedDataset } from "./mapped.ts";
import { EnrichedDataset } from "./enrichment.ts";
import { needsQuery, sourceQuery, type WatermarkFilter } from "./query.ts";
import { roundTime } from "../app/watch.ts";

/** The pipeline's own options: `defaults:`, then the pipeline's, then the command line's. */
export function settingsOf(
  pipeline: PipelineConfig,
  config: Config,
  options: { overrides: OpenOptions },
): OpenOptions {
  return { ...config.defaults, ...pipeline.settings, ...options.overrides };
}

/** Datastore `url`/`path` plus `#table`, as the adapter's locator grammar has it. */
export function locatorOf(base: string | undefined, table: string | undefined): string {
  if (table === undefined) return base ?? "";
  return base ? `${base}#${table}` : table;
}

/** The name a default target takes after the source: its table, else its file. */
export function sourceNameOf(pipeline: PipelineConfig): string {
  const { table, datastore, query } = pipeline.source;
  const file = datastore.locator && query === undefined ? datastore.locator : undefined;
  return defaultTargetName(table, file) ?? pipeline.name;
}

/** Opens the pipeline's source (mapped when it has `map:`), reading past `watermark`. */
export async function openSource(
  pipeline: PipelineConfig,
  settings: OpenOptions,
  watermark?: WatermarkFilter,
): Promise<Dataset> {
  const { datastore } = pipeline.source;
  const { importer } = datastore;
  let query: SourceQuery | undefined;
  if (isSqlImporter(importer) && needsQuery(pipeline.source, watermark)) {
    query = sourceQuery(pipeline.source, importer.dialect, watermark);
  }
  const locator = query
    ? datastore.locator ?? ""
    : locatorOf(datastore.locator, pipeline.source.table);
  const context: SqlOpenContext = {
    options: { ...datastore.options, ...pipeline.source.options, ...verbosity(settings) },
    query,
  };
  const source = await openAsSource(importer, locator, context);
  if (query) {
    try {
      const info = await source.describe();
      const names = info.fields.map((f) => f.name);
      const twice = names.find((name, i) => names.indexOf(name) !== i);
      if (twice) {
        throw new UsageError(
          `${source.label}: the source query gives two fields named '${twice}'`,
          `name one with an alias, e.g. fields: ['addresses.${twice} as address_${twice}']`,
        );
      }
    } catch (error) {
      await source.close();
      throw error;
    }
  }
  if (!pipeline.map.length && !pipeline.enrichment.length) return source;
  const keys = nameList(settings.key) ?? ["id"];
  const renamed = new Map(
    Object.entries(mapEntries(settings.map)).map(([from, to]) => [to, from]),
  );
  const mapping = { pipeline: pipeline.name, keyFields: keys.map((k) => renamed.get(k) ?? k) };
  const enriched = pipeline.enrichment.length
    ? new EnrichedDataset(source, pipeline.enrichment, mapping)
    : source;
  return pipeline.map.length ? new MappedDataset(enriched, pipeline.map, mapping) : enriched;
}

export async function openTarget(
  pipeline: PipelineConfig,
  settings: OpenOptions,
  targetConfig: TargetConfig,
): Promise<Target> {
  const { datastore, table } = targetConfig;
  return await openAsTarget(datastore.importer, locatorOf(datastore.locator, table), {
    options: { ...datastore.options, ...targetConfig.options, ...verbosity(settings) },
    sourceName: sourceNameOf(pipeline),
  });
}

/** What every adapter hears of the run's settings: verbosity, and `create_table: true`. */
export function verbosity(settings: OpenOptions): OpenOptions {
  return { quiet: settings.quiet, verbose: settings.verbose, createTable: settings.createTable };
}

export function isStdout(target: TargetConfig): boolean {
  return target.datastore.locator === "-";
}

export function fieldOptions(sync: SyncOptions): FieldOptions {
  return { key: sync.key, fields: sync.fields, exclude: sync.exclude, map: sync.map };
}

/** A pipeline's failure, named, with the exit code of what failed. */
export function pipelineError(pipeline: PipelineConfig, error: unknown): DsyncError {
  if (error instanceof DsyncError) {
    const message = error.message.startsWith(`pipeline '${pipeline.name}'`)
      ? error.message
      : `pipeline '${pipeline.name}': ${error.message}`;
    const failure = new DsyncError(message, error.exitCode, error.hint);
    failure.stack = error.stack;
    return failure;
  }
  const failure = new DsyncError(
    `pipeline '${pipeline.name}': ${(error as Error)?.message ?? error}`,
    2,
  );
  failure.stack = (error as Error)?.stack;
  return failure;
}

export function report(error: DsyncError, stamp = false): void {
  console.error(`dsync: ${stamp ? `${roundTime()} ` : ""}${error.message}`);
  if (error.hint) console.error(`  ${error.hint}`);
}
