/**
 * The change set as users see it: NDJSON (one change per line), JSON, or a summary; and the
 * one-line summary for stderr. Also where it goes (`-o FILE`, `-o -` or stdout) and whether that
 * stream gets colour: decided by the stream actually written, not by stdout.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import type { WritePlan } from "../adapter_kit/changes.ts";
 * import { type Summary, summaryLine, writeChanges } from "./output.ts";
 * const plan: WritePlan = {
 *   fields: [{ name: "id", type: "integer" }, { name: "name", type: "text" }],
 *   keyIndexes: [0],
 *   createTarget: false,
 *   creates: [{ op: "create", key: [2], keyText: "2", after: [2, "Rob"] }],
 *   updates: [],
 *   deletes: [{ op: "delete", key: [3], keyText: "3", before: [3, "Eve"] }],
 *   targetKey: (row) => String(row[0]),
 *   targetIndexes: [0, 1],
 * };
 * const summary: Summary = {
 *   source: "users.csv",
 *   target: "sqlite:app.db#users",
 *   create: 1,
 *   update: 0,
 *   delete: 1,
 *   skipped: { create: 0, update: 0, delete: 0 },
 *   dryRun: true,
 *   seconds: 0.25,
 * };
 * let text = "";
 * const out = new WritableStream<Uint8Array>({
 *   write: (bytes) => void (text += new TextDecoder().decode(bytes)),
 * }).getWriter();
 * await writeChanges(plan, "ndjson", summary, out);
 * strictEqual(
 *   text,
 *   '{"op":"create","key":{"id":2},"after":{"id":2,"name":"Rob"}}\n' +
 *     '{"op":"delete","key":{"id":3},"before":{"id":3,"name":"Eve"}}\n',
 * );
 * strictEqual(summaryLine(summary).split("  ")[0], "users.csv → sqlite:app.db#users");
 * ```
 * @module
 */
import { streamTextWriter } from "../adapter_kit/text_writer.ts";
import { changeLine, type ChangeSpool } from "./change_spool.ts";
import {
  type ChangeObject,
  changeObject,
  planChanges,
  type WritePlan,
} from "../adapter_kit/changes.ts";

/** Output formats of the change set. */
export type OutputFormat = "ndjson" | "json" | "summary";

/** `--color`: auto (the stream written is a terminal), always, never. */
export const COLOR_MODES = ["auto", "always", "never"];

/**
 * Whether text written to a stream gets ANSI colour. `--color always|never` wins; with `auto`,
 * `FORCE_COLOR` (set, not 0) turns it on and `NO_COLOR` (set, not empty) off, and otherwise the
 * stream must be a terminal.
 */
export function useColour(
  mode: string | undefined,
  isTerminal: boolean,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): boolean {
  if (mode === "always") return true;
  if (mode === "never") return false;
  const force = env("FORCE_COLOR");
  if (force !== undefined && force !== "0" && force !== "false") return true;
  if (env("NO_COLOR")) return false;
  return isTerminal;
}

/** Where the change set goes: a file, or stdout for no `-o` and for `-o -`. */
export interface ChangeSetStream {
  writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Whether a person reads it: a terminal. */
  isTerminal: boolean;
  /** Columns of that terminal, else `COLUMNS`, else 80. */
  columns: number;
  /** Closes a file; releases stdout. */
  close(): Promise<void>;
}

/** Whether `-o` names stdout: absent or `-`. */
export function isStdout(output: string | undefined): boolean {
  return output === undefined || output === "-";
}

/** Opens the change set's stream: `output` a file path, or stdout when absent or `-`. */
export async function openChangeSetStream(output: string | undefined): Promise<ChangeSetStream> {
  if (!isStdout(output)) {
    const file = await Deno.open(output!, { write: true, create: true, truncate: true });
    const writer = fileSink(file).getWriter();
    return { writer, isTerminal: false, columns: envColumns(), close: () => writer.close() };
  }
  const isTerminal = Deno.stdout.isTerminal();
  const writer = Deno.stdout.writable.getWriter();
  return {
    writer,
    isTerminal,
    columns: isTerminal ? terminalColumns() : envColumns(),
    close: () => Promise.resolve(writer.releaseLock()),
  };
}

/**
 * A file as a stream that reports every failed write. Deno's `FsFile.writable` took a write to
 * `/dev/full` as a success, so a change set could be lost without a word.
 */
function fileSink(file: Deno.FsFile): WritableStream<Uint8Array> {
  return new WritableStream({
    async write(bytes) {
      for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
    },
    close: () => file.close(),
    abort: () => file.close(),
  });
}

function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns || envColumns();
  } catch {
    return envColumns();
  }
}

function envColumns(): number {
  const columns = Number(Deno.env.get("COLUMNS"));
  return Number.isInteger(columns) && columns >= 20 ? columns : 80;
}

/** How a run ended: ok (exit 0 or 1), refused by a limit or a conflict (3, 5), failed. */
export type RunStatus = "ok" | "refused" | "failed";

/** The status that goes with an exit code. */
export function statusOf(exitCode: number): RunStatus {
  return exitCode <= 1 ? "ok" : exitCode === 3 || exitCode === 5 ? "refused" : "failed";
}

/** The numbers of one run. */
export interface Summary {
  source: string;
  target: string;
  create: number;
  update: number;
  delete: number;
  skipped: { create: number; update: number; delete: number };
  dryRun: boolean;
  seconds: number;
  /** Names the run instead of `source → target` in the line and the HTML report. */
  title?: string;
  /** `dsync diff A B`: `target` is A and `source` is B (see {@linkcode summaryObject}). */
  diff?: boolean;
  /** The exit code the run ends with (default 0). */
  exitCode?: number;
  /** Why it failed or was refused, one line. */
  error?: string;
  /** False for a target whose writes are not all or nothing (`Target.transactional`). */
  transactional?: boolean;
}

/** Every change of the plan in SPEC.md order: creates, updates, deletes, each by key. */
export function* planChangeObjects(plan: WritePlan): Generator<ChangeObject> {
  for (const change of planChanges(plan)) yield changeObject(change, plan);
}

/**
 * Writes the change set in `format` to `out`, in chunks, closing nothing; a streamed first
 * load's creates come from `spool`, ahead of the plan's changes (they are its creates).
 */
export async function writeChanges(
  plan: WritePlan,
  format: OutputFormat,
  summary: Summary,
  out: WritableStreamDefaultWriter<Uint8Array>,
  spool?: ChangeSpool,
): Promise<void> {
  const text = streamTextWriter(out);
  if (format === "summary") {
    await text.write(JSON.stringify(summaryObject(summary)) + "\n");
    return await text.flush();
  }
  if (format === "json") {
    await text.write(`{"summary":${JSON.stringify(summaryObject(summary))},"changes":[`);
  }
  let index = 0;
  if (spool?.count) {
    await text.flush();
    await spool.copyTo(out);
    index = spool.count;
  }
  for (const change of planChangeObjects(plan)) {
    await text.write(changeLine(change, format, index++));
  }
  if (format === "json") await text.write("\n]}\n");
  await text.flush();
}

/**
 * The `--format summary` object: the counts plus when the run ended, its status and exit code,
 * so one JSON line per run is a cron log. `source` and `target` are the datasets as synced; a
 * `dsync diff A B` (B synced into A, dry) also says `"a"` and `"b"`: its changes turn `a` into `b`.
 */
export function summaryObject(s: Summary): Record<string, unknown> {
  const exitCode = s.exitCode ?? 0;
  return {
    timestamp: new Date().toISOString(),
    status: statusOf(exitCode),
    exit_code: exitCode,
    ...(s.error === undefined ? {} : { error: s.error }),
    ...(s.diff ? { a: s.target, b: s.source } : {}),
    source: s.source,
    target: s.target,
    create: s.create,
    update: s.update,
    delete: s.delete,
    skipped: s.skipped,
    dry_run: s.dryRun,
    ...(s.transactional === false ? { transactional: false } : {}),
    seconds: Math.round(s.seconds * 1000) / 1000,
  };
}

/** What the run is called: its title, else `source → target`. */
export function runTitle(s: Summary): string {
  return s.title ?? `${s.source} → ${s.target}`;
}

/** The one-line summary for stderr: `users.csv → sqlite:dsync.db#users  +12 ~3 -0  1.2 s`. */
export function summaryLine(s: Summary): string {
  const skipped: string[] = [];
  const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;
  if (s.skipped.create) skipped.push(`${count(s.skipped.create, "create")} skipped: --no-create`);
  if (s.skipped.update) skipped.push(`${count(s.skipped.update, "update")} skipped: --no-update`);
  if (s.skipped.delete) skipped.push(`${count(s.skipped.delete, "delete")} skipped: no --delete`);
  return `${runTitle(s)}  +${s.create} ~${s.update} -${s.delete}` +
    (skipped.length ? ` (${skipped.join("; ")})` : "") +
    `  ${s.seconds.toFixed(1)} s` + (s.dryRun ? "  (dry run: nothing written)" : "") +
    (s.transactional === false && !s.dryRun && s.create + s.update + s.delete > 0
      ? "  (not transactional)"
      : "");
}
