/**
 * Watch mode (`--watch`, `--every DURATION`): a sync repeated round after round until
 * SIGTERM/SIGINT. The first signal asks the loop to stop: a wait ends at once, a running round
 * finishes (and commits) first; the exit is 0. A second signal interrupts the round as without
 * `--watch` (it rolls back). A failed round is reported with its time and the next one waits
 * longer (doubling, at most {@linkcode MAX_BACKOFF_MS} or the interval); state such as saved
 * watermarks lives outside the round and is kept. A file source also wakes the wait when it
 * changes (`Deno.watchFs` on its folder, debounced).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { parseDuration } from "./watch.ts";
 * strictEqual(parseDuration("30s"), 30_000);
 * strictEqual(parseDuration("5m"), 300_000);
 * strictEqual(parseDuration("250ms"), 250);
 * ```
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { DsyncError, UsageError } from "../model/errors.ts";
import type { OpenOptions } from "../adapter_kit/importer.ts";
import { interruptedBy } from "../adapter_kit/interrupt.ts";

/** Time between rounds without `--every`. */
export const DEFAULT_EVERY_MS = 60_000;
/** The longest wait after failed rounds, unless the interval is longer. */
export const MAX_BACKOFF_MS = 300_000;
/** Quiet time after a file change before the round starts (editors write in several steps). */
export const DEBOUNCE_MS = 200;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * `500ms`, `30s`, `5m`, `1h`, `1.5s`, or a bare number of seconds, as milliseconds.
 *
 * @throws {UsageError} for anything else, or for zero.
 */
export function parseDuration(text: string, option = "--every"): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  const ms = match ? Number(match[1]) * UNITS[match[2] ?? "s"] : NaN;
  if (!(ms >= 1)) {
    throw new UsageError(
      `${option} ${text}: expected a duration such as 500ms, 30s, 5m or 1h`,
    );
  }
  return Math.round(ms);
}

/** What watching does. */
export interface WatchOptions {
  /** Time between rounds, in milliseconds. */
  everyMs: number;
  /** Files whose changes start the next round early (absolute or relative paths). */
  files?: string[];
  /** stderr: errors only. */
  quiet?: boolean;
  /** Stack traces of failed rounds. */
  verbose?: boolean;
}

/**
 * `--watch`/`--every` from parsed command-line options: undefined without `--watch`.
 *
 * @throws {UsageError} for `--every` without `--watch`, or a bad duration.
 */
export function watchOptions(options: OpenOptions): WatchOptions | undefined {
  if (options.watch !== true) {
    if (options.every !== undefined) throw new UsageError("--every needs --watch");
    return undefined;
  }
  return {
    everyMs: options.every === undefined ? DEFAULT_EVERY_MS : parseDuration(String(options.every)),
    quiet: options.quiet === true,
    verbose: options.verbose === true,
  };
}

/**
 * The file a locator names, when it is one on disk (`data/users.csv`, `app.db#users`): the one
 * whose changes a watch follows. Undefined for stdin, URLs and table names.
 */
export function watchedFile(locator: string | undefined): string | undefined {
  if (!locator || locator === "-" || /^[a-z][a-z0-9+.-]*:\/\//i.test(locator)) return undefined;
  const hash = locator.lastIndexOf("#");
  const path = hash < 0 ? locator : locator.slice(0, hash);
  try {
    return Deno.statSync(path).isFile ? path : undefined;
  } catch {
    return undefined;
  }
}

let active = false;
let stopSignal: string | undefined;
let wake: (() => void) | undefined;

/**
 * A signal arrived: while a watch runs, the first one asks it to stop after the current round
 * (true: handled here); otherwise, or for a second signal, false: interrupt as usual.
 */
export function requestStop(signal: string): boolean {
  if (!active || stopSignal) return false;
  stopSignal = signal;
  wake?.();
  return true;
}

/**
 * Runs `work` (a long-running command such as `dsync capture follow`), handing it a promise that
 * resolves with the first SIGINT/SIGTERM: the work finishes what it is doing and returns (exit 0).
 * A second signal interrupts as usual.
 */
export async function untilStopped<T>(work: (stop: Promise<string>) => Promise<T>): Promise<T> {
  active = true;
  stopSignal = undefined;
  const stop = new Promise<string>((resolve) => {
    wake = () => resolve(stopSignal!);
  });
  try {
    return await work(stop);
  } finally {
    active = false;
    wake = undefined;
  }
}

/** A time for the log lines of a round: ISO 8601, UTC, to the second. */
export function roundTime(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Runs `round` (given its number, returning its exit code) again and again, `everyMs` apart, until
 * a signal asks to stop. A round that throws, or returns an exit code of 2 or more, counts as
 * failed: it is reported (a throw, with its time) and the next wait backs off. A usage error in
 * the first round ends the watch with its exit code: it would fail every time.
 *
 * @returns 0 once stopped by a signal; a round's exit code when a second signal interrupted it.
 */
export async function watchLoop(
  round: (n: number) => Promise<number>,
  options: WatchOptions,
): Promise<number> {
  active = true;
  stopSignal = undefined;
  const files = new FileChanges(options.files ?? []);
  let failures = 0;
  let n = 0;
  try {
    while (!stopSignal) {
      n++;
      let code: number;
      try {
        code = await round(n);
      } catch (error) {
        // A second signal interrupted the round: it ends as without --watch.
        if (interruptedBy() || (n === 1 && error instanceof UsageError)) throw error;
        reportFailure(error, options);
        code = error instanceof DsyncError ? error.exitCode : 2;
      }
      if (interruptedBy()) return code;
      failures = code >= 2 ? failures + 1 : 0;
      if (stopSignal) break;
      const wait = failures
        ? Math.min(options.everyMs * 2 ** failures, Math.max(options.everyMs, MAX_BACKOFF_MS))
        : options.everyMs;
      if (failures && !options.quiet) {
        console.error(
          `dsync: ${roundTime()} round ${n} failed (exit ${code}); next round in ${
            showDuration(wait)
          }`,
        );
      }
      await files.wait(wait);
    }
  } finally {
    files.close();
    active = false;
    wake = undefined;
  }
  if (!options.quiet) {
    console.error(
      `dsync: ${roundTime()} stopped by ${stopSignal} after ${n} round${n === 1 ? "" : "s"}`,
    );
  }
  return 0;
}

function reportFailure(error: unknown, options: WatchOptions): void {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`dsync: ${roundTime()} ${message}`);
  if (error instanceof DsyncError && error.hint) console.error(`  ${error.hint}`);
  if (options.verbose) console.error((error as Error)?.stack);
}

/** `1.5 s`, `2 min`, `250 ms`: a wait, for messages. */
export function showDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${Math.round(ms / 100) / 10} s`;
  return `${Math.round(ms / 6000) / 10} min`;
}

/** Changes to a set of files, watched through their folders (editors replace files by rename). */
class FileChanges {
  #watcher: Deno.FsWatcher | undefined;
  #pending = false;
  #onChange: (() => void) | undefined;
  readonly #files: string[];

  constructor(files: string[]) {
    this.#files = files.map((f) => isAbsolute(f) ? f : resolve(f));
    if (!this.#files.length) return;
    const folders = [...new Set(this.#files.map((f) => f.slice(0, f.lastIndexOf("/")) || "/"))];
    this.#watcher = Deno.watchFs(folders, { recursive: false });
    this.#pump(this.#watcher);
  }

  async #pump(watcher: Deno.FsWatcher): Promise<void> {
    try {
      for await (const event of watcher) {
        // Reads show up as "access": a watched SQLite source opened for reading is no change.
        if (event.kind === "access" || event.kind === "other") continue;
        // `app.db` also changes through `app.db-wal` and `app.db-journal`.
        if (!event.paths.some((p) => this.#files.some((f) => p.startsWith(f)))) continue;
        this.#pending = true;
        this.#onChange?.();
      }
    } catch {
      // closed
    }
  }

  /** Waits `ms`, or until a watched file changed (and stayed quiet for DEBOUNCE_MS), or a stop. */
  wait(ms: number): Promise<void> {
    return new Promise((done) => {
      let debounce: ReturnType<typeof setTimeout> | undefined;
      const timer = setTimeout(() => finish(), ms);
      const finish = () => {
        clearTimeout(timer);
        clearTimeout(debounce);
        this.#onChange = undefined;
        wake = undefined;
        this.#pending = false;
        done();
      };
      wake = finish;
      const changed = () => {
        clearTimeout(debounce);
        debounce = setTimeout(finish, DEBOUNCE_MS);
      };
      this.#onChange = changed;
      // A change while the round ran: the round may have read the file before it.
      if (this.#pending) changed();
      if (stopSignal) finish();
    });
  }

  close(): void {
    try {
      this.#watcher?.close();
    } catch {
      // already closed
    }
  }
}
