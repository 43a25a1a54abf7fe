/**
 * One `<src>:<tgt>` run from the command line: open both sides, narrow an SQL source to what
 * changed (incremental), and load — or, under `--strategy changes`, only the captured keys.
 *
 * @module
 */
import { UsageError } from "../model/errors.ts";
import { baseName } from "../adapter_kit/files.ts";
import type { Importer, OpenOptions } from "../adapter_kit/importer.ts";
import { isSqlImporter } from "../adapter_kit/sql.ts";
import { isCaptureImporter } from "../adapter_kit/capture.ts";
import { captureAdapters, openAndSyncChanges } from "../app/changes.ts";
import { openAsSource, openAsTarget } from "../app/registry.ts";
import { type SyncOptions, syncOptions, writeFailureSummary } from "../app/sync.ts";
import { loadOptions, runLoad } from "../app/modes.ts";
import { incrementalSource } from "./pushdown.ts";

/** Name a target takes after its source by default: the table, else the file's base name. */
function sourceName(locator: string): string {
  if (locator === "-") return "stdin";
  const hash = locator.lastIndexOf("#");
  if (hash < 0) return baseName(locator);
  const table = locator.slice(hash + 1);
  return table.slice(table.lastIndexOf(".") + 1).replaceAll('"', "") ||
    baseName(locator.slice(0, hash));
}

/**
 * Runs one `<src>:<tgt>` sync (or `diff`, through `run`) and returns its exit code: 0, or the
 * code the run reports (1 for differences under --exit-code, …).
 */
export async function runPair(
  [sourceImporter, targetImporter]: [Importer, Importer],
  args: string[],
  options: OpenOptions,
  run: Pick<SyncOptions, "title" | "diff"> = {},
): Promise<number> {
  const started = performance.now();
  const sync = { ...syncOptions(options, args[1] === "-"), ...run, stamp: options.watch === true };
  let load = loadOptions(options);
  if (
    typeof options.where === "string" && isSqlImporter(sourceImporter) &&
    options.deleteOutsideWhere !== true
  ) {
    sync.partition = { condition: options.where, dialect: sourceImporter.dialect.name };
  }
  const ctx = { options, sourceName: sourceName(args[0]) };
  if (sync.changes) return await runChanges([sourceImporter, targetImporter], args, sync, ctx);
  let source, target;
  try {
    source = await openAsSource(sourceImporter, args[0], ctx);
    target = await openAsTarget(targetImporter, args[1], ctx);
  } catch (error) {
    await source?.close();
    if (sync.format === "summary") {
      const label = (importer: Importer, locator?: string) => `${importer.name}:${locator ?? ""}`;
      await writeFailureSummary(
        source?.label ?? label(sourceImporter, args[0]),
        label(targetImporter, args[1]),
        error,
        sync,
        started,
      );
    }
    throw error;
  }
  try {
    if (isSqlImporter(sourceImporter)) {
      ({ source, load } = await incrementalSource(
        sourceImporter,
        args[0],
        ctx,
        source,
        target,
        load,
      ));
    }
    const result = await runLoad(source, target, sync, load, started);
    return result.exitCode ?? 0;
  } finally {
    await source.close();
    await target.close();
  }
}

/** `--strategy changes`: the source's captured changes, not the whole source. */
async function runChanges(
  [sourceImporter, targetImporter]: [Importer, Importer],
  args: string[],
  sync: ReturnType<typeof syncOptions>,
  ctx: { options: OpenOptions; sourceName: string },
): Promise<number> {
  if (!isCaptureImporter(sourceImporter)) {
    throw new UsageError(
      `--strategy changes: ${sourceImporter.name} cannot capture changes`,
      `change capture works on tables of: ${captureAdapters()}`,
    );
  }
  if (ctx.options.where !== undefined) {
    throw new UsageError("--strategy changes reads the captured keys: it takes no --where");
  }
  const result = await openAndSyncChanges(
    () => sourceImporter.openCapture(args[0], ctx),
    () => openAsTarget(targetImporter, args[1], ctx),
    sync,
  );
  return result.exitCode ?? 0;
}
