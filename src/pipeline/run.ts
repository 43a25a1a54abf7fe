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
import { isCaptureImporter } from "../adapter_kit/capture.ts";
import { captureAdapters, openAndSyncChanges, openChangeStore } from "../app/changes.ts";
import { DsyncError, UsageError } from "../model/errors.ts";
import type { OpenOptions } from "../adapter_kit/importer.ts";
import { isSqlImporter } from "../adapter_kit/sql.ts";
import { type SyncOptions, syncOptions } from "../app/sync.ts";
import { HandlerState } from "./handler_state.ts";
import { runHandlers } from "./handlers.ts";
import { besideConfig, loadConfig } from "./config.ts";
import type { Config, PipelineConfig, TargetConfig } from "./config_types.ts";
import { type LoadOptions, loadOptions, runLoad } from "../app/modes.ts";
import { DEFAULT_STATE, WatermarkState } from "../app/state.ts";
import { watchedFile, watchLoop, type WatchOptions } from "../app/watch.ts";
import {
  isStdout,
  locatorOf,
  openSource,
  openTarget,
  pipelineError,
  report,
  settingsOf,
  verbosity,
} from "./open.ts";
import { validatePipelines } from "./validate_run.ts";

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
  /** `--watch`: run the selected pipelines round after round until a signal. */
  watch?: WatchOptions;
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
  given: RunConfigOptions,
): Promise<number> {
  const config = await loadConfig(file);
  const options = { ...given, watch: given.watch ?? fileWatch(config, given) };
  const declared = config.pipelines.map((p) => p.name);
  for (const name of names) {
    if (!declared.includes(name)) {
      throw new UsageError(`${file}: no pipeline '${name}'`, `pipelines: ${declared.join(", ")}`);
    }
  }
  const selected = config.pipelines.filter((p) => !names.length || names.includes(p.name));
  const runs = selected.reduce((n, p) => n + p.targets.length, 0);
  if (options.overrides.output !== undefined && runs > 1) {
    throw new UsageError(
      `-o ${options.overrides.output}: ${
        selected.length > 1 ? `${selected.length} pipelines` : `${runs} targets`
      } would write the same file`,
      "name one pipeline, or give each its own output: in the file",
    );
  }
  if (options.validate) return await validatePipelines(config, selected, options);
  // Beside the config file, like its relative paths: a cron job started elsewhere finds it.
  const state = new WatermarkState(options.state ?? besideConfig(file, DEFAULT_STATE)!);
  try {
    if (!options.watch) return await runSelected(config, selected, options, state);
    const files = selected.flatMap((p) => {
      const file = watchedFile(locatorOf(p.source.datastore.locator, p.source.table));
      return file ? [file] : [];
    });
    return await watchLoop(
      () => runSelected(config, selected, options, state),
      { ...options.watch, files },
    );
  } finally {
    state.close();
  }
}

/** The watch a file's `watch:` asks for (none for `--validate`), as `--watch` would give it. */
function fileWatch(config: Config, options: RunConfigOptions): WatchOptions | undefined {
  if (config.watchEveryMs === undefined || options.validate) return undefined;
  const flag = (name: string) => options.overrides[name] ?? config.defaults[name];
  return {
    everyMs: config.watchEveryMs,
    quiet: flag("quiet") === true,
    verbose: flag("verbose") === true,
  };
}

/** One run of the selected pipelines, in order; the exit code as {@linkcode runConfig}'s. */
async function runSelected(
  config: Config,
  selected: PipelineConfig[],
  options: RunConfigOptions,
  state: WatermarkState,
): Promise<number> {
  const failed = new Map<string, string>();
  let firstFailure = 0, differences = 0;
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
      report(failure, !!options.watch);
      failed.set(pipeline.name, `exit ${failure.exitCode}`);
      firstFailure ||= failure.exitCode;
      if (!options.continueOnError) {
        const rest = selected.slice(n + 1).map((p) => p.name);
        if (rest.length) console.error(`dsync: stopped; not run: ${rest.join(", ")}`);
        return failure.exitCode;
      }
    }
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

/**
 * Runs one pipeline; returns runSync's exit code (1: differences with exit_code). With several
 * `targets:`, each is planned and applied on its own (its own transaction, its own summary line)
 * from its own read of the source; a failing one is reported and rolled back by itself, the
 * others still run, and the pipeline then fails with the first failure's exit code.
 */
async function runPipeline(
  pipeline: PipelineConfig,
  config: Config,
  options: RunConfigOptions,
  state: WatermarkState,
): Promise<number> {
  if (pipeline.targets.length === 1) {
    return await runTarget(pipeline, pipeline.target, config, options, state);
  }
  let differences = 0;
  const failures: { label: string; error: DsyncError }[] = [];
  for (const target of pipeline.targets) {
    const label = `${target.datastore.name}${target.table ? `#${target.table}` : ""}`;
    try {
      differences |= await runTarget(pipeline, target, config, options, state);
    } catch (error) {
      const failure = pipelineError(pipeline, error);
      report(
        new DsyncError(
          failure.message.replace(/^pipeline '[^']*'/, `$& target ${label}`),
          failure.exitCode,
          failure.hint,
        ),
        !!options.watch,
      );
      failures.push({ label, error: failure });
    }
  }
  if (!failures.length) return differences;
  throw new DsyncError(
    `pipeline '${pipeline.name}': ${failures.length} of ${pipeline.targets.length} targets failed (${
      failures.map((f) => `${f.label}: exit ${f.error.exitCode}`).join(", ")
    }); the others were applied`,
    failures[0].error.exitCode,
  );
}

/** Runs one pipeline into one of its targets. */
async function runTarget(
  pipeline: PipelineConfig,
  targetConfig: TargetConfig,
  config: Config,
  options: RunConfigOptions,
  state: WatermarkState,
): Promise<number> {
  const started = performance.now();
  const settings = settingsOf(pipeline, config, options);
  const sync = { ...syncOptions(settings, isStdout(targetConfig)), stamp: !!options.watch };
  const { where, datastore } = pipeline.source;
  if (
    where !== undefined && isSqlImporter(datastore.importer) &&
    settings.deleteOutsideWhere !== true
  ) {
    sync.partition = { condition: where, dialect: datastore.importer.dialect.name };
  }
  const targetSlot = `${targetConfig.datastore.name}#${targetConfig.table ?? ""}`;
  const handlerState = () =>
    new HandlerState(state, { pipeline: pipeline.name, target: targetSlot });
  if (pipeline.strategy === "changes" || sync.changes) {
    return await runChangesPipeline(pipeline, targetConfig, settings, sync, started, handlerState);
  }
  const load: LoadOptions = {
    ...loadOptions(settings),
    state: state.path,
    stateName: pipeline.name,
    stateTarget: targetSlot,
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
  // A dry run calls no handler; `handlers: instead` plans as a dry run and leaves the writing
  // to them.
  const handled = pipeline.handlers.length > 0 && !sync.dryRun;
  const instead = handled && pipeline.handlerMode === "instead";
  if (instead) sync.dryRun = true;
  const watermark = slot && { column: slot.column, after: state.get(slot) };
  const source = await openSource(pipeline, settings, watermark);
  try {
    const target = await openTarget(pipeline, settings, targetConfig);
    try {
      const result = await runLoad(source, target, sync, {
        ...load,
        softDelete: pipeline.softDelete,
        prefiltered: slot !== undefined,
      }, started);
      if (handled) {
        await runHandlers(
          pipeline.name,
          pipeline.handlers,
          pipeline.handlerMode,
          result.plan,
          handlerState(),
          instead
            ? " (the target is not written: handlers: instead)"
            : `; ${target.label} was written`,
          sync.quiet,
        );
      }
      return result.exitCode;
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

/** `strategy: changes`: the source table's captured changes into the target. */
async function runChangesPipeline(
  pipeline: PipelineConfig,
  targetConfig: TargetConfig,
  settings: OpenOptions,
  sync: SyncOptions,
  started: number,
  handlerState: () => HandlerState,
): Promise<number> {
  const { datastore, table } = pipeline.source;
  const { importer } = datastore;
  if (
    !isCaptureImporter(importer) || table === undefined || pipeline.map.length ||
    pipeline.enrichment.length
  ) {
    throw new UsageError(
      `strategy changes needs a source table of a datastore that captures changes (${captureAdapters()}), without map: or enrichment:`,
    );
  }
  const options = { ...datastore.options, ...pipeline.source.options, ...verbosity(settings) };
  const url = pipeline.changeStore;
  const result = await openAndSyncChanges(
    () => importer.openCapture(locatorOf(datastore.locator, table), { options }),
    () => openTarget(pipeline, settings, targetConfig),
    sync,
    started,
    {
      where: pipeline.source.where,
      store: url === undefined ? undefined : () => openChangeStore(url, options),
    },
  );
  // After the commit, as with the other strategies (the config refuses `handlers: instead`:
  // a dry run keeps the captured changes, so they would be handled again and again).
  if (pipeline.handlers.length && !sync.dryRun) {
    await runHandlers(
      pipeline.name,
      pipeline.handlers,
      pipeline.handlerMode,
      result.plan,
      handlerState(),
      `; ${result.summary.target} was written`,
      sync.quiet,
    );
  }
  return result.exitCode;
}
