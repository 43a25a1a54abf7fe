/**
 * Progress on stderr, drawn by cli-progress: records per second while reading, and a bar while
 * writing (when the total is known). Off unless stderr is a terminal or `--progress` is given,
 * and always off with `--quiet`.
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

/** One progress line on stderr, reused phase after phase. */
export class Progress {
  #bar: cliProgress.SingleBar | undefined;
  #started = 0;

  /** `enabled` false makes every call a no-op. `forced` draws even when stderr is no terminal. */
  constructor(readonly enabled: boolean, readonly forced = false) {}

  /** Starts a phase; with `total`, a bar is drawn. Returns the function to report progress. */
  phase(label: string, total?: number): ProgressTick {
    if (!this.enabled) return () => {};
    this.stop();
    if (label.length > 32) label = "…" + label.slice(-31);
    const format = total === undefined
      ? `${label}  {value} records  {rate} rec/s`
      : `${label}  {bar} {percentage}%  {value}/{total}  {rate} rec/s`;
    this.#bar = new cliProgress.SingleBar({
      format,
      stream: process.stderr,
      hideCursor: true,
      noTTYOutput: this.forced,
      notTTYSchedule: 1000,
      fps: 10,
      barsize: 24,
    }, cliProgress.Presets.shades_classic);
    this.#bar.start(total ?? 0, 0, { rate: 0 });
    this.#started = performance.now();
    return (done) => {
      const seconds = (performance.now() - this.#started) / 1000;
      this.#bar?.update(done, { rate: seconds > 0 ? Math.round(done / seconds) : 0 });
    };
  }

  /** Ends the current phase, leaving its last state on screen. */
  stop(): void {
    this.#bar?.stop();
    this.#bar = undefined;
  }
}
