/**
 * Progress on stderr, drawn by cli-progress: the phase's verb and dataset ("reading users.csv",
 * "writing sqlite:app.db#users"), records per second, and when the total is known a bar with %,
 * and the time left. Off unless stderr is a terminal or `--progress` is given, always off with
 * `--quiet`. On a terminal nothing is drawn during a run's first second (a quick run stays
 * quiet) and a finished phase's line is cleared; forced into a pipe or file, each phase leaves its
 * last state as a line, a log of what ran.
 *
 * @example
 * ```ts
 * import { Progress } from "./progress.ts";
 * // A run passes `Deno.stderr.isTerminal()`; disabled, every call is a no-op.
 * const progress = new Progress(false);
 * const tick = progress.phase("reading users.csv");
 * tick(5000);
 * progress.stop();
 * ```
 * @module
 */
import cliProgress from "cli-progress";
import process from "node:process";

/** Reports a count of records done in the current phase. */
export type ProgressTick = (done: number) => void;

/** A terminal gets no progress during the first this many milliseconds of a run. */
export const QUIET_MS = 1000;

/** One progress line on stderr, reused phase after phase. */
export class Progress {
  #bar: cliProgress.SingleBar | undefined;
  readonly #runStarted = performance.now();

  /** `enabled` false makes every call a no-op. `forced` draws even when stderr is no terminal. */
  constructor(readonly enabled: boolean, readonly forced = false) {}

  /** Starts a phase; with `total`, a bar is drawn. Returns the function to report progress. */
  phase(label: string, total?: number): ProgressTick {
    if (!this.enabled) return () => {};
    this.stop();
    if (label.length > 32) label = "…" + label.slice(-31);
    const format = total === undefined
      ? `${label}  {value} records  {rate} rec/s`
      : `${label}  {bar} {percentage}%  {value}/{total}  {rate} rec/s  ETA {eta_formatted}`;
    const started = performance.now();
    const terminal = Deno.stderr.isTerminal();
    return (done) => {
      const now = performance.now();
      if (!this.#bar) {
        if (terminal && now - this.#runStarted < QUIET_MS) return;
        this.#bar = new cliProgress.SingleBar({
          format,
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: terminal,
          noTTYOutput: this.forced,
          notTTYSchedule: 1000,
          fps: 10,
          barsize: 24,
          etaBuffer: 50,
        }, cliProgress.Presets.shades_classic);
        this.#bar.start(total ?? 0, done, { rate: 0 });
      }
      const seconds = (now - started) / 1000;
      this.#bar.update(done, { rate: seconds > 0 ? Math.round(done / seconds) : 0 });
    };
  }

  /** Ends the current phase: cleared on a terminal, its last state left in a pipe or file. */
  stop(): void {
    this.#bar?.stop();
    this.#bar = undefined;
  }
}
