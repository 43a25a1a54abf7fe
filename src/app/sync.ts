/**
 * One sync run: plan the changes between an opened source and target, apply them (unless a dry
 * run), print the change set and the summary. The pair commands and `dsync run` both end here.
 *
 * @example
 * ```ts
 * const source = await findImporter("csv")!.openSource!("users.csv", { options: {} });
 * const target = await findImporter("sqlite")!.openTarget!("app.db#users", { options: {} });
 * const result = await runSync(source, target, syncOptions({ delete: true }));
 * result.summary.create; // records created
 * ```
 * @module
 */
import { streamTextWriter } from "../adapter_kit/text_writer.ts";
import { UsageError } from "../model/errors.ts";
import { mapEntries, nameList, wholeNumber } from "../adapter_kit/option_values.ts";
import type { Dataset, OpenOptions, Target } from "../adapter_kit/importer.ts";
import { isSqlTarget } from "../adapter_kit/sql.ts";
import { planChanges, type PlanOptions } from "../engine/plan.ts";
import { type OutputFormat, type Summary, summaryLine, writeChanges } from "./output.ts";
import { writeTable } from "./table.ts";
import { Progress, type ProgressTick } from "./progress.ts";
import { DEFAULT_MEMORY_RECORDS } from "../engine/spill.ts";

/** Formats of the change set on stdout. */
export const FORMATS = ["ndjson", "json", "table", "summary", "sql"];

/**
 * Everything a sync run takes besides its two datasets: the planner's options and how the run
 * reports; defaults are the CLI's.
 */
export interface SyncOptions extends Omit<PlanOptions, "onProgress"> {
  /** Plan only (default false). */
  dryRun?: boolean;
  /** Change-set format on stdout (default: table on a terminal, else ndjson). */
  format?: string;
  /** Write the change set to this file instead of stdout. */
  output?: string;
  /** Print nothing on stdout (the target itself is stdout). */
  noChangeSet?: boolean;
  /** With `dryRun`: exit code 1 when there are differences. */
  exitCode?: boolean;
  /** stderr: errors only. */
  quiet?: boolean;
  /** stderr: more detail. */
  verbose?: boolean;
  /** Progress on stderr: true, false, or undefined for "on a terminal". */
  progress?: boolean;
}

/** What a sync run did. */
export interface SyncResult {
  summary: Summary;
  /** 1 when `exitCode` was asked for and there are differences, else 0. */
  exitCode: number;
}

/**
 * Sync options from parsed command-line options (camel-cased long names, as commander gives
 * them). `targetIsStdout`: the target is `-`, so stdout carries the records, not the change set.
 */
export function syncOptions(
  options: OpenOptions,
  targetIsStdout = false,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): SyncOptions {
  return checkSyncOptions({
    ...engineOptions(env),
    key: nameList(options.key),
    fields: nameList(options.fields),
    exclude: nameList(options.exclude),
    map: mapEntries(options.map),
    create: options.create as boolean | undefined,
    update: options.update as boolean | undefined,
    delete: options.delete === true,
    createTarget: options.createTable as boolean | undefined,
    limits: {
      create: options.maxCreate as string | undefined,
      update: options.maxUpdate as string | undefined,
      delete: options.maxDelete as string | undefined,
      changes: options.maxChanges as string | undefined,
    },
    dryRun: options.dryRun === true,
    format: options.format as string | undefined,
    output: options.output as string | undefined,
    noChangeSet: targetIsStdout && options.dryRun !== true && !options.output,
    exitCode: options.exitCode === true,
    batchSize: wholeNumber(options.batchSize ?? 5000, "--batch-size", 1),
    quiet: options.quiet === true,
    verbose: options.verbose === true,
    progress: options.progress as boolean | undefined,
  });
}

/**
 * The engine's settings from the environment: `DSYNC_STRATEGY=hash` forces the hash join,
 * `DSYNC_STRATEGY=join` a join inside the target's database (or fails), `merge` reads both sides,
 * `DSYNC_SPILL_RECORDS=N` sets the memory budget (records held before spilling to disk).
 */
function engineOptions(
  env: (name: string) => string | undefined,
): Pick<PlanOptions, "strategy" | "memoryRecords"> {
  const strategy = env("DSYNC_STRATEGY");
  if (strategy !== undefined && !["auto", "merge", "hash", "join"].includes(strategy)) {
    throw new UsageError(`DSYNC_STRATEGY=${strategy}: expected auto, merge, hash or join`);
  }
  const spill = env("DSYNC_SPILL_RECORDS");
  return {
    strategy: strategy as PlanOptions["strategy"],
    memoryRecords: spill === undefined ? undefined : wholeNumber(spill, "DSYNC_SPILL_RECORDS", 1),
  };
}

/** Throws {@linkcode UsageError} for options that contradict each other; returns `options`. */
export function checkSyncOptions(options: SyncOptions): SyncOptions {
  if (options.format !== undefined && !FORMATS.includes(options.format)) {
    throw new UsageError(`--format ${options.format}: expected one of ${FORMATS.join(", ")}`);
  }
  if (options.exitCode && !options.dryRun) throw new UsageError("--exit-code needs --dry-run (-n)");
  return options;
}

/**
 * Plans and (unless `dryRun`) applies the changes that make `target` agree with `source`,
 * writes the change set and the summary line. Closes neither dataset.
 *
 * @throws {DsyncError} input, limit and target errors with their exit codes.
 */
export async function runSync(
  source: Dataset,
  target: Target,
  options: SyncOptions,
  started = performance.now(),
): Promise<SyncResult> {
  checkSyncOptions(options);
  const format = options.format ??
    (Deno.stdout.isTerminal() && !options.output ? "table" : "ndjson");
  if (format === "sql" && !isSqlTarget(target)) {
    throw new UsageError(`--format sql: ${target.label} is not a SQL database`);
  }
  const progress = new Progress(
    !options.quiet && (options.progress ?? Deno.stderr.isTerminal()),
    options.progress === true,
  );
  const ticks = {
    source: undefined as ProgressTick | undefined,
    target: undefined as ProgressTick | undefined,
  };
  try {
    const plan = await planChanges(source, target, {
      ...options,
      batchSize: options.batchSize ?? 5000,
      onProgress: (side, records) => {
        ticks[side] ??= progress.phase(
          `reading ${side === "source" ? source.label : target.label}`,
        );
        ticks[side]!(records);
      },
    });
    if (options.verbose) {
      console.error(
        `dsync: ${
          plan.joinRefused ? `no join inside the database (${plan.joinRefused}); ` : ""
        }paired by ${
          plan.joinedBy ?? (plan.strategy === "merge" ? "a sorted merge" : "a hash join")
        }${
          plan.spilled
            ? `; more than ${
              options.memoryRecords ?? DEFAULT_MEMORY_RECORDS
            } records to hold: spilled to temporary files`
            : ""
        }`,
      );
    }
    const dryRun = options.dryRun === true;
    if (!dryRun) {
      const { creates, updates, deletes } = plan.write;
      const total = creates.length + updates.length + deletes.length;
      await target.apply(
        plan.write,
        total ? progress.phase(`writing ${target.label}`, total) : undefined,
      );
    }
    progress.stop();
    const summary: Summary = {
      source: source.label,
      target: target.label,
      create: plan.write.creates.length,
      update: plan.write.updates.length,
      delete: plan.write.deletes.length,
      skipped: plan.skipped,
      dryRun,
      seconds: (performance.now() - started) / 1000,
    };
    if (!options.noChangeSet) {
      const file = options.output === undefined ? undefined : await Deno.open(options.output, {
        write: true,
        create: true,
        truncate: true,
      });
      const writer = (file ? file.writable : Deno.stdout.writable).getWriter();
      if (format === "table") await writeTable(plan.write, writer);
      else if (format === "sql" && isSqlTarget(target)) {
        await writeLines(target.sqlStatements(plan.write), writer);
      } else await writeChanges(plan.write, format as OutputFormat, summary, writer);
      if (file) await writer.close();
      else writer.releaseLock();
    }
    if (!options.quiet) console.error(summaryLine(summary));
    const { skipped } = plan;
    const differences = summary.create + summary.update + summary.delete + skipped.create +
      skipped.update + skipped.delete;
    return { summary, exitCode: options.exitCode && differences > 0 ? 1 : 0 };
  } finally {
    progress.stop();
  }
}

async function writeLines(lines: Iterable<string>, out: WritableStreamDefaultWriter<Uint8Array>) {
  const text = streamTextWriter(out);
  for (const line of lines) await text.write(line + "\n");
  await text.flush();
}
