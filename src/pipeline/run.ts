/**
 * `dsync run`: opens each pipeline's source and target through the adapters' own
 * `openSource`/`openTarget` and syncs them with {@linkcode runSync}, the path the pair commands
 * take, in `depends_on` order. A failing pipeline stops the run (or, with `continueOnError`,
 * the pipelines that depend on it) and the run exits with the failure's code.
 *
 * @example
 * ```ts ignore
 * const code = await runConfig("dsync.yaml", [], { overrides: { dryRun: true } });
 * ```
 * @module
 */
import { openAsSource, openAsTarget } from "../app/registry.ts";
import { DsyncError, UsageError } from "../model/errors.ts";
import { baseName } from "../adapter_kit/files.ts";
import { type FieldOptions, resolveFields } from "../engine/fields.ts";
import type { Dataset, DatasetInfo, OpenOptions, Target } from "../adapter_kit/importer.ts";
import { isSqlImporter, type SourceQuery, type SqlOpenContext } from "../adapter_kit/sql.ts";
import { type SyncOptions, syncOptions } from "../app/sync.ts";
import { mapEntries, nameList } from "../adapter_kit/option_values.ts";
import { besideConfig, loadConfig } from "./config.ts";
import type { Config, PipelineConfig } from "./config_types.ts";
import { MappedDataset } from "./mapped.ts";
import { EnrichedDataset } from "./enrichment.ts";
import { checkLoadTarget, type LoadOptions, loadOptions, runLoad } from "../app/modes.ts";
import { needsQuery, sourceQuery, type WatermarkFilter } from "./query.ts";
import { DEFAULT_STATE, WatermarkState } from "../app/state.ts";

/** How `dsync run` was called. */
export interface RunConfigOptions {
  /** Pair-command options given on the command line (commander names); they win over the file. */
  overrides: OpenOptions;
  /** Check the file and every datastore; move no data (default false). */
  validate?: boolean;
  /** Run the pipelines that do not depend on a failed one (default false: stop). */
  continueOnError?: boolean;
  /** Watermark state file (default `.dsync/state.db` in the config file's folder). */
  state?: string;
}

/**
 * Runs (or with `validate`, checks) the pipelines `names` of `file`, or all of them.
 *
 * @returns the exit code: 0, 1 for differences with `exitCode`, else the first failure's.
 * @throws {UsageError} for a malformed config file or an unknown pipeline name.
 */
export async function runConfig(
  file: string,
  names: string[],
  options: RunConfigOptions,
): Promise<number> {
  const config = await loadConfig(file);
  const declared = config.pipelines.map((p) => p.name);
  for (const name of names) {
    if (!declared.includes(name)) {
      throw new UsageError(`${file}: no pipeline '${name}'`, `pipelines: ${declared.join(", ")}`);
    }
  }
  const selected = config.pipelines.filter((p) => !names.length || names.includes(p.name));
  if (options.overrides.output !== undefined && selected.length > 1) {
    throw new UsageError(
      `-o ${options.overrides.output}: ${selected.length} pipelines would write the same file`,
      "name one pipeline, or give each its own output: in the file",
    );
  }
  if (options.validate) return await validatePipelines(config, selected, options);
  // Beside the config file, like its relative paths: a cron job started elsewhere finds it.
  const state = new WatermarkState(options.state ?? besideConfig(file, DEFAULT_STATE)!);
  const failed = new Map<string, string>();
  let firstFailure = 0, differences = 0;
  try {
    for (const [n, pipeline] of selected.entries()) {
      const blocked = pipeline.dependsOn.find((d) => failed.has(d));
      if (blocked) {
        failed.set(pipeline.name, `skipped: depends on ${blocked}`);
        continue;
      }
      try {
        differences |= await runPipeline(pipeline, config, options, state);
      } catch (error) {
        const failure = pipelineError(pipeline, error);
        report(failure);
        failed.set(pipeline.name, `exit ${failure.exitCode}`);
        firstFailure ||= failure.exitCode;
        if (!options.continueOnError) {
          const rest = selected.slice(n + 1).map((p) => p.name);
          if (rest.length) console.error(`dsync: stopped; not run: ${rest.join(", ")}`);
          return failure.exitCode;
        }
      }
    }
  } finally {
    state.close();
  }
  if (failed.size) {
    console.error(
      `dsync: ${failed.size} of ${selected.length} pipelines failed: ${
        [...failed].map(([name, why]) => `${name} (${why})`).join(", ")
      }`,
    );
    return firstFailure;
  }
  return differences;
}

/** The pipeline's own options: `defaults:`, then the pipeline's, then the command line's. */
function settingsOf(pipeline: PipelineConfig, config: Config, options: RunConfigOptions) {
  return { ...config.defaults, ...pipeline.settings, ...options.overrides };
}

/** Datastore `url`/`path` plus `#table`, as the adapter's locator grammar has it. */
function locatorOf(base: string | undefined, table: string | undefined): string {
  if (table === undefined) return base ?? "";
  return base ? `${base}#${table}` : table;
}

/** The name a default target takes after the source: its table, else its file. */
function sourceNameOf(pipeline: PipelineConfig): string {
  const { table, datastore } = pipeline.source;
  if (table) return table.slice(table.lastIndexOf(".") + 1).replaceAll('"', "");
  if (datastore.locator && pipeline.source.query === undefined) return baseName(datastore.locator);
  return pipeline.name;
}

/** Opens the pipeline's source (mapped when it has `map:`), reading past `watermark`. */
async function openSource(
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

async function openTarget(pipeline: PipelineConfig, settings: OpenOptions): Promise<Target> {
  const { datastore, table } = pipeline.target;
  return await openAsTarget(datastore.importer, locatorOf(datastore.locator, table), {
    options: { ...datastore.options, ...pipeline.target.options, ...verbosity(settings) },
    sourceName: sourceNameOf(pipeline),
  });
}

/** What every adapter hears of the run's settings: verbosity, and `create_table: true`. */
function verbosity(settings: OpenOptions): OpenOptions {
  return { quiet: settings.quiet, verbose: settings.verbose, createTable: settings.createTable };
}

function isStdout(pipeline: PipelineConfig): boolean {
  return pipeline.target.datastore.locator === "-";
}

function fieldOptions(sync: SyncOptions): FieldOptions {
  return { key: sync.key, fields: sync.fields, exclude: sync.exclude, map: sync.map };
}

/** Runs one pipeline; returns runSync's exit code (1: differences with exit_code). */
async function runPipeline(
  pipeline: PipelineConfig,
  config: Config,
  options: RunConfigOptions,
  state: WatermarkState,
): Promise<number> {
  const started = performance.now();
  const settings = settingsOf(pipeline, config, options);
  const sync = syncOptions(settings, isStdout(pipeline));
  const { where, datastore } = pipeline.source;
  if (
    where !== undefined && isSqlImporter(datastore.importer) &&
    settings.deleteOutsideWhere !== true
  ) {
    sync.partition = { condition: where, dialect: datastore.importer.dialect.name };
  }
  const load: LoadOptions = {
    ...loadOptions(settings),
    state: state.path,
    stateName: pipeline.name,
    stateTarget: `${pipeline.target.datastore.name}#${pipeline.target.table ?? ""}`,
  };
  // `strategy: incremental` (and `mode: incremental` from a SQL source) push the watermark
  // condition down into the source's SELECT.
  const pushed = pipeline.watermark ??
    (load.mode === "incremental" && isSqlImporter(datastore.importer) ? load.updateKey : undefined);
  if (pipeline.watermark !== undefined) {
    Object.assign(load, { mode: "incremental", updateKey: pipeline.watermark });
  }
  const slot = pushed === undefined
    ? undefined
    : { pipeline: load.stateName!, target: load.stateTarget!, column: pushed };
  const watermark = slot && { column: slot.column, after: state.get(slot) };
  const source = await openSource(pipeline, settings, watermark);
  try {
    const target = await openTarget(pipeline, settings);
    try {
      return (await runLoad(source, target, sync, {
        ...load,
        softDelete: pipeline.softDelete,
        prefiltered: slot !== undefined,
      }, started)).exitCode;
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

/** A pipeline's failure, named, with the exit code of what failed. */
function pipelineError(pipeline: PipelineConfig, error: unknown): DsyncError {
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

function report(error: DsyncError): void {
  console.error(`dsync: ${error.message}`);
  if (error.hint) console.error(`  ${error.hint}`);
}

/**
 * `--validate`: every selected pipeline's source and target opened and described, its field
 * options resolved against them; nothing read beyond that, nothing written.
 */
async function validatePipelines(
  config: Config,
  selected: PipelineConfig[],
  options: RunConfigOptions,
): Promise<number> {
  let code = 0;
  for (const pipeline of selected) {
    const settings = settingsOf(pipeline, config, options);
    try {
      const sync = syncOptions(settings, isStdout(pipeline));
      const upstream = config.pipelines.find((p) =>
        pipeline.dependsOn.includes(p.name) &&
        p.target.datastore === pipeline.source.datastore &&
        (p.target.table ?? p.name) === (pipeline.source.table ?? pipeline.name)
      );
      let source: Dataset;
      let sourceInfo: DatasetInfo;
      try {
        source = await openSource(pipeline, settings);
        sourceInfo = await source.describe();
      } catch (error) {
        if (!upstream) throw error;
        console.log(
          `ok    ${pipeline.name}: source not checked: pipeline '${upstream.name}' writes it first`,
        );
        continue;
      }
      try {
        const target = await openTarget(pipeline, settings);
        try {
          const targetInfo = await target.describe();
          checkLoadTarget(target, loadOptions(settings), sync.format, sync.partition);
          for (const name of [pipeline.watermark, pipeline.softDelete]) {
            if (name !== undefined && !sourceInfo.fields.some((f) => f.name === name)) {
              throw new UsageError(`${source.label} has no field '${name}'`);
            }
          }
          resolveFields(
            { ...sourceInfo, label: source.label },
            { ...targetInfo, label: target.label },
            fieldOptions(sync),
          );
          console.log(
            `ok    ${pipeline.name}: ${source.label} (${sourceInfo.fields.length} fields) → ${target.label} (${
              targetInfo.exists ? `${targetInfo.fields.length} fields` : "created on the first run"
            })`,
          );
        } finally {
          await target.close();
        }
      } finally {
        await source.close();
      }
    } catch (error) {
      const failure = pipelineError(pipeline, error);
      console.log(`FAIL  ${pipeline.name}`);
      report(failure);
      code ||= failure.exitCode;
    }
  }
  if (!code) {
    console.log(
      `${config.file}: ${selected.length} pipeline${selected.length === 1 ? "" : "s"} ok`,
    );
  }
  return code;
}
