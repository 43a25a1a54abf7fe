/**
 * One sync run: plan the changes between an opened source and target, apply them (unless a dry
 * run), print the change set and the summary. The pair commands and `dsync run` both end here.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { findImporter, openAsSource, openAsTarget } from "./registry.ts";
 * import { runSync, syncOptions } from "./sync.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/users.csv`, "id,name\n1,Ann\n2,Rob\n");
 * const options = {
 *   ...syncOptions({ delete: true }),
 *   output: `${dir}/changes.ndjson`, // the change set, instead of stdout
 *   quiet: true,
 * };
 * const context = { options: {} };
 * const sync = async () => {
 *   const source = await openAsSource(findImporter("csv")!, `${dir}/users.csv`, context);
 *   const target = await openAsTarget(findImporter("sqlite")!, `${dir}/app.db#users`, context);
 *   try {
 *     return (await runSync(source, target, options)).summary;
 *   } finally {
 *     await source.close();
 *     await target.close();
 *   }
 * };
 * strictEqual((await sync()).create, 2); // creates the table and its two records
 * const again = await sync();
 * strictEqual(again.create + again.update + again.delete, 0); // a second run plans nothing
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { streamTextWriter } from "../adapter_kit/text_writer.ts";
import { TargetError, UsageError } from "../model/errors.ts";
import { dirname } from "node:path";
import { mapEntries, nameList, wholeNumber } from "../adapter_kit/option_values.ts";
import {
  type Dataset,
  inWriteSession,
  type OpenOptions,
  type Target,
} from "../adapter_kit/importer.ts";
import type { WritePlan } from "../adapter_kit/changes.ts";
import { isScopable, isSqlTarget, type Partition } from "../adapter_kit/sql.ts";
import {
  deleteGuard,
  type Limits,
  PAIRING_STRATEGIES,
  type Plan,
  planChanges,
  type PlanOptions,
  STRATEGIES,
} from "../engine/plan.ts";
import {
  COLOR_MODES,
  isStdout,
  openChangeSetStream,
  type OutputFormat,
  type Summary,
  summaryLine,
  summaryObject,
  useColour,
  writeChanges,
} from "./output.ts";
import { TERMINAL_CHANGES, writeTable } from "./table.ts";
import { writeHtmlReport } from "./html_report.ts";
import { DsyncError } from "../model/errors.ts";
import { Progress, type ProgressTick } from "./progress.ts";
import { DEFAULT_MEMORY_RECORDS } from "../engine/spill.ts";
import type { PartitionOptions } from "../engine/partition.ts";
import { roundTime } from "./watch.ts";
import { ChangeSpool } from "./change_spool.ts";

/** Formats of the change set on stdout. */
export const FORMATS = ["ndjson", "json", "table", "summary", "sql", "html"];

/**
 * Everything a sync run takes besides its two datasets: the planner's options and how the run
 * reports; defaults are the CLI's.
 */
export interface SyncOptions extends Omit<PlanOptions, "onProgress"> {
  /** Plan only (default false). */
  dryRun?: boolean;
  /** Change-set format on stdout (default: table on a terminal, else ndjson). */
  format?: string;
  /** Write the change set to this file instead of stdout (`-`: stdout). */
  output?: string;
  /** Colour in the table: auto (the stream written is a terminal), always, never. */
  color?: string;
  /**
   * How the summary names the run, when not `source → target`: `dsync diff A B` says `A → B`
   * (the direction of its changes) and `diff` before it.
   */
  title?: string;
  /**
   * The run is `dsync diff A B` (B synced into A): the JSON summary adds `a` and `b`, so that it
   * reads in the direction of the changes.
   */
  diff?: boolean;
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
  /** Start the stderr summary line with the time it was written (`--watch`: one per round). */
  stamp?: boolean;
  /**
   * The default mass-delete guard (see {@linkcode deleteGuard}); default true. Off only where
   * the deletes are explicit marks, not absences (an incremental pipeline's `soft_delete`).
   */
  deleteGuard?: boolean;
  /**
   * `--strategy changes`: the source is read as the rows of the keys change capture recorded
   * (src/app/changes.ts), not whole.
   */
  changes?: boolean;
  /**
   * The condition the source was filtered by. With `delete`, the target is read through it
   * (so deletes stay inside the partition), or the run is refused.
   */
  partition?: Partition;
  /**
   * How the planned change set is written, in place of `target.apply` (the load modes of
   * src/app/modes.ts: a reload, a delete then insert, collapsing rows).
   */
  write?: (plan: WritePlan, progress?: (written: number) => void) => Promise<void>;
}

/** What a sync run did. */
export interface SyncResult {
  summary: Summary;
  /** 1 when `exitCode` was asked for and there are differences, else 0. */
  exitCode: number;
  /** The change set planned (and, unless a dry run, committed). */
  plan: WritePlan;
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
  // `changes` picks the records to read; how they are paired is then the engine's default.
  const changes = options.strategy === "changes";
  return checkSyncOptions({
    ...engineOptions(changes ? { ...options, strategy: undefined } : options, env),
    partitionBy: partitionOptions(options),
    changes,
    key: nameList(options.key),
    fields: nameList(options.fields),
    exclude: nameList(options.exclude),
    map: mapEntries(options.map),
    create: options.create as boolean | undefined,
    update: options.update as boolean | undefined,
    delete: options.delete === true,
    createTarget: options.createTable as boolean | undefined,
    limits: limitOptions(options),
    dryRun: options.dryRun === true,
    format: options.format as string | undefined,
    output: options.output as string | undefined,
    color: options.color as string | undefined,
    noChangeSet: targetIsStdout && options.dryRun !== true && isStdout(options.output as string),
    exitCode: options.exitCode === true,
    batchSize: wholeNumber(options.batchSize ?? 5000, "--batch-size", 1),
    quiet: options.quiet === true,
    verbose: options.verbose === true,
    progress: options.progress as boolean | undefined,
  });
}

/** The `--partition-*` options of `--strategy hash` (synctool's partition options). */
function partitionOptions(options: OpenOptions): PartitionOptions | undefined {
  const text = (name: string) => options[name] === undefined ? undefined : String(options[name]);
  const given = ["partitionStart", "partitionEnd", "partitionInterval"].filter((n) => text(n));
  const flag = (name: string) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  const field = text("partitionColumn");
  if (field === undefined) {
    if (given.length) throw new UsageError(`${flag(given[0])} needs --partition-column`);
    return undefined;
  }
  if (options.strategy !== "hash") {
    throw new UsageError("--partition-column needs --strategy hash (checksum bisection)");
  }
  return {
    field,
    start: text("partitionStart"),
    end: text("partitionEnd"),
    interval: text("partitionInterval"),
  };
}

/** The `--max-create/update/delete/changes` options, as parsed by the command line. */
export function limitOptions(options: Record<string, unknown>): Limits {
  return {
    create: options.maxCreate as string | undefined,
    update: options.maxUpdate as string | undefined,
    delete: options.maxDelete as string | undefined,
    changes: options.maxChanges as string | undefined,
  };
}

/**
 * The engine's settings: `--strategy` (default `DSYNC_STRATEGY`, which also takes `hash-join`
 * to force the hash join in dsync, for tests and benchmarks), and `DSYNC_SPILL_RECORDS=N`, the
 * memory budget (records held before spilling to disk).
 */
function engineOptions(
  options: OpenOptions,
  env: (name: string) => string | undefined,
): Pick<PlanOptions, "strategy" | "memoryRecords"> {
  const flag = options.strategy as string | undefined;
  const strategy = flag ?? env("DSYNC_STRATEGY");
  const allowed: string[] = flag === undefined
    ? [...PAIRING_STRATEGIES, "hash-join"]
    : [...STRATEGIES];
  if (strategy !== undefined && !allowed.includes(strategy)) {
    throw new UsageError(
      `${flag === undefined ? "DSYNC_STRATEGY=" : "--strategy "}${strategy}: expected ${
        allowed.join(", ")
      }`,
    );
  }
  const spill = env("DSYNC_SPILL_RECORDS");
  return {
    strategy: strategy as PlanOptions["strategy"],
    memoryRecords: spill === undefined ? undefined : wholeNumber(spill, "DSYNC_SPILL_RECORDS", 1),
  };
}

/** `512 B`, `1.2 kB`, `34.5 MB`. */
function showBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const [unit, size] = bytes < 1e6 ? ["kB", 1e3] : bytes < 1e9 ? ["MB", 1e6] : ["GB", 1e9];
  return `${(bytes / size).toFixed(1)} ${unit}`;
}

/** How `-v` names a row hash of checksum bisection. */
const HASH_NAMES: Record<string, string> = { "pg-typed": "PostgreSQL's hash_record_extended" };

/** What `-v` says about the strategy that ran: `strategy merge: paired by a sorted merge`. */
function strategyLine(plan: Plan): string {
  const paired = (strategy: string) => strategy === "merge" ? "a sorted merge" : "a hash join";
  const name = plan.strategy === "hash-join" ? "merge" : plan.strategy;
  const refused = plan.joinRefused ? `no join inside the database (${plan.joinRefused}); ` : "";
  const b = plan.bisection;
  if (!b) return `strategy ${name}: ${refused}paired by ${plan.joinedBy ?? paired(plan.strategy)}`;
  const share = b.rows ? Math.round((b.rowsRead / b.rows) * 10000) / 100 : 0;
  return `strategy hash: checksum bisection (${b.engines}): ${b.segments} segments checked in ${b.levels} levels, ${b.rowsRead} of ${b.rows} rows read (${share}%), ${
    showBytes(b.bytesRead)
  } of values; paired by ${paired(b.pairedBy)}${
    b.hash ? `; rows hashed by ${HASH_NAMES[b.hash] ?? b.hash}` : ""
  }${b.partition ? `; segments by ${b.partition}` : ""}`;
}

/** Throws {@linkcode UsageError} for options that contradict each other; returns `options`. */
export function checkSyncOptions(options: SyncOptions): SyncOptions {
  if (options.format !== undefined && !FORMATS.includes(options.format)) {
    throw new UsageError(`--format ${options.format}: expected one of ${FORMATS.join(", ")}`);
  }
  if (options.color !== undefined && !COLOR_MODES.includes(options.color)) {
    throw new UsageError(`--color ${options.color}: expected one of ${COLOR_MODES.join(", ")}`);
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
    (Deno.stdout.isTerminal() && isStdout(options.output) ? "table" : "ndjson");
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
  const dryRun = options.dryRun === true;
  // A first load that prints its change set as JSON lines keeps its streamed creates as that
  // text until the plan is complete (app/change_spool.ts); the other formats hold the plan.
  const spool = !dryRun && !options.noChangeSet && (format === "ndjson" || format === "json")
    ? new ChangeSpool(format)
    : undefined;
  // One write session: the target is read, written and (after the change set is out) committed
  // under one lock, so the plan applied is the plan computed. A dry run takes no lock.
  const run = async () => {
    if (options.partition && options.delete) await scopeDeletes(target, options.partition);
    const plan = await planChanges(source, target, {
      ...options,
      batchSize: options.batchSize ?? 5000,
      // A first load's creates go into the session (its transaction) as they are read,
      // instead of waiting for the plan on disk, unless the change set is printed as a table,
      // HTML or SQL (those hold the plan).
      streamCreates: !dryRun &&
        (options.noChangeSet === true || format === "summary" || spool !== undefined),
      streamRecord: spool,
      onProgress: (side, records) => {
        ticks[side] ??= progress.phase(
          `reading ${side === "source" ? source.label : target.label}`,
        );
        ticks[side]!(records);
      },
    });
    if (options.verbose) {
      const spilled = plan.spilled
        ? `; more than ${
          options.memoryRecords ?? DEFAULT_MEMORY_RECORDS
        } records to hold: spilled to temporary files`
        : "";
      const streamed = plan.streamed ? `; ${plan.streamed} creates written as they were read` : "";
      console.error(`dsync: ${strategyLine(plan)}${spilled}${streamed}`);
    }
    const refusal = options.deleteGuard === false ? undefined : deleteGuard(
      options.limits ?? {},
      plan.write.deletes.length,
      plan.targetCount,
      plan.sourceCount,
    );
    if (refusal && !dryRun) throw refusal;
    if (refusal && !options.quiet) {
      // A dry run is where the plan is reviewed: it is printed, with what a real run would do.
      console.error(`dsync: without --dry-run this would be ${refusal.message}`);
      console.error(`  ${refusal.hint}`);
    }
    const summary: Summary = {
      source: source.label,
      target: target.label,
      title: options.title,
      diff: options.diff,
      create: plan.write.creates.length + plan.streamed,
      update: plan.write.updates.length,
      delete: plan.write.deletes.length,
      skipped: plan.skipped,
      dryRun,
      transactional: target.transactional,
      // until the end: the time to plan (the change set is printed before the write)
      seconds: (performance.now() - started) / 1000,
    };
    const { skipped } = plan;
    const differences = summary.create + summary.update + summary.delete + skipped.create +
      skipped.update + skipped.delete;
    summary.exitCode = options.exitCode && differences > 0 ? 1 : 0;
    // The change set goes out before anything is written: a failure to write it (a full disk,
    // /dev/full) leaves the target as it was, and the exit code says so. The summary format
    // reports the outcome, so it waits for the commit.
    const complete = options.noChangeSet || format === "summary" ||
      await printChangeSet(plan.write, target, format, summary, options, spool);
    if (!dryRun) {
      const { creates, updates, deletes } = plan.write;
      const total = creates.length + updates.length + deletes.length;
      await (options.write ?? ((p, tick) => target.apply(p, tick)))(
        plan.write,
        total ? progress.phase(`writing ${target.label}`, total) : undefined,
      );
    }
    progress.stop();
    return { summary, complete, plan: plan.write };
  };
  try {
    if (!isStdout(options.output)) await checkOutputPath(options.output!);
    const { summary, complete, plan } = dryRun ? await run() : await inWriteSession(target, run);
    summary.seconds = (performance.now() - started) / 1000;
    if (format === "summary" && !options.noChangeSet) {
      await printSummaryAfterCommit(plan, target, summary, options);
    }
    if (!options.quiet) {
      console.error(
        (options.stamp ? `${roundTime()}  ` : "") + summaryLine(summary) +
          (complete ? "" : "  (change set cut short: its reader closed stdout)"),
      );
    }
    return { summary, exitCode: summary.exitCode ?? 0, plan };
  } catch (error) {
    if (format === "summary" && !options.noChangeSet) {
      await writeFailureSummary(source.label, target.label, error, options, started);
    }
    throw error;
  } finally {
    progress.stop();
    spool?.close();
  }
}

/**
 * `--format summary` after the commit: the line reports what happened, so it cannot go out
 * before. A failure to write it is only a warning: the exit code describes the target, which has
 * changed, and "nothing written" would be a lie.
 */
async function printSummaryAfterCommit(
  plan: WritePlan,
  target: Target,
  summary: Summary,
  options: SyncOptions,
): Promise<void> {
  try {
    await printChangeSet(plan, target, "summary", summary, options);
  } catch (error) {
    const outcome = summary.dryRun ? "nothing was written" : `${target.label} was written`;
    console.error(
      `dsync: warning: ${outcome}, but the summary line could not be: ${
        (error as Error).message.replace(/^cannot write the change set to /, "").replace(
          /; nothing written$/,
          "",
        )
      }`,
    );
  }
}

/**
 * Reads `target` through the source's partition condition, or refuses: a target read whole
 * would have every record outside the partition deleted.
 *
 * @throws {UsageError} when the target cannot be scoped.
 */
export async function scopeDeletes(target: Target, partition: Partition): Promise<void> {
  if (!isScopable(target)) {
    throw new UsageError(
      `refused: --delete with --where: ${target.label} cannot be read through the same condition, so every record outside the partition would be deleted`,
      "sync the partition without --delete, or into a SQL target of the same kind with the condition's columns; if the target mirrors the filtered source, add --delete-outside-where",
    );
  }
  await target.scopeTo(partition);
}

/**
 * `--format summary` on failure: the same one JSON line, with the status, exit code and error,
 * so a cron log has a line for every run. `error` is rethrown by the caller.
 */
export async function writeFailureSummary(
  source: string,
  target: string,
  error: unknown,
  options: Pick<SyncOptions, "output" | "dryRun" | "diff">,
  started = performance.now(),
): Promise<void> {
  const summary: Summary = {
    source,
    target,
    diff: options.diff,
    create: 0,
    update: 0,
    delete: 0,
    skipped: { create: 0, update: 0, delete: 0 },
    dryRun: options.dryRun === true,
    seconds: (performance.now() - started) / 1000,
    exitCode: error instanceof DsyncError ? error.exitCode : 2,
    error: error instanceof Error ? error.message : String(error),
  };
  const out = await openChangeSetStream(options.output);
  try {
    await out.writer.write(new TextEncoder().encode(JSON.stringify(summaryObject(summary)) + "\n"));
  } finally {
    await out.close();
  }
}

/**
 * Writes the change set in `format` to `-o FILE` or stdout; false when the reader of stdout
 * closed it early (`| head`): that is the reader's choice, not a failure. Any other failure to
 * write is a {@linkcode TargetError}: nothing has been written to the target yet.
 */
async function printChangeSet(
  plan: WritePlan,
  target: Target,
  format: string,
  summary: Summary,
  options: SyncOptions,
  spool?: ChangeSpool,
): Promise<boolean> {
  const where = isStdout(options.output) ? "stdout" : options.output!;
  let out: Awaited<ReturnType<typeof openChangeSetStream>> | undefined;
  try {
    out = await openChangeSetStream(options.output);
    if (format === "table") {
      await writeTable(plan, out.writer, {
        colour: useColour(options.color, out.isTerminal),
        width: out.columns,
        limit: out.isTerminal ? TERMINAL_CHANGES : undefined,
      });
    } else if (format === "html") await writeHtmlReport(plan, summary, out.writer);
    else if (format === "sql" && isSqlTarget(target)) {
      await writeLines(target.sqlStatements(plan), out.writer);
    } else await writeChanges(plan, format as OutputFormat, summary, out.writer, spool);
    await out.close();
    return true;
  } catch (error) {
    await out?.close().catch(() => {});
    if (where === "stdout" && error instanceof Deno.errors.BrokenPipe) return false;
    throw new TargetError(
      `cannot write the change set to ${where}: ${(error as Error).message}; nothing written`,
      where === "stdout" ? undefined : "write it elsewhere with -o, or check the free space",
    );
  }
}

/** `-o FILE` can be written: its folder exists and it is not a folder (exit 2 before anything). */
async function checkOutputPath(path: string): Promise<void> {
  const folder = dirname(path) || ".";
  const isFolder = (p: string) => Deno.stat(p).then((s) => s.isDirectory, () => undefined);
  if (await isFolder(folder) !== true) {
    throw new UsageError(`-o ${path}: no such folder ${folder}`, "create it first");
  }
  if (await isFolder(path) === true) throw new UsageError(`-o ${path}: is a folder`);
}

async function writeLines(lines: Iterable<string>, out: WritableStreamDefaultWriter<Uint8Array>) {
  const text = streamTextWriter(out);
  for (const line of lines) await text.write(line + "\n");
  await text.flush();
}
