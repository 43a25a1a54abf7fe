/**
 * SIGINT and SIGTERM during a run. The CLI calls {@linkcode interrupt} from its signal listener;
 * the work in progress notices at its next {@linkcode checkInterrupt} (adapters call
 * {@linkcode pauseForSignals} between batches, so that a long synchronous SQLite loop lets the
 * signal in) and unwinds with {@linkcode Interrupted}: transactions roll back and temporary files
 * go as for any other failure. Cleanups registered with {@linkcode onInterrupt} (temporary files)
 * also run when the CLI has to exit before the work unwinds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkInterrupt, interruptedBy } from "./interrupt.ts";
 * assert.equal(interruptedBy(), undefined);
 * checkInterrupt(); // no signal: returns
 * ```
 * @module
 */
import { DsyncError } from "../model/errors.ts";

/** Exit codes of the signals dsync handles: 128 + the signal number. */
export const SIGNAL_EXIT_CODES: Record<"SIGINT" | "SIGTERM", number> = {
  SIGINT: 130,
  SIGTERM: 143,
};

/** The run was stopped by a signal (exit 130 for SIGINT, 143 for SIGTERM). */
export class Interrupted extends DsyncError {
  constructor(readonly signal: "SIGINT" | "SIGTERM") {
    super(`interrupted by ${signal}`, SIGNAL_EXIT_CODES[signal]);
  }
}

let received: "SIGINT" | "SIGTERM" | undefined;
const cleanups = new Set<() => void>();

/** The signal that interrupted this run, if one did. */
export function interruptedBy(): "SIGINT" | "SIGTERM" | undefined {
  return received;
}

/** Records `signal`: from now on {@linkcode checkInterrupt} throws. */
export function interrupt(signal: "SIGINT" | "SIGTERM"): void {
  received ??= signal;
}

/** Throws {@linkcode Interrupted} when a signal came. */
export function checkInterrupt(): void {
  if (received) throw new Interrupted(received);
}

/** Time between two turns of the event loop that {@linkcode pauseForSignals} gives signals. */
const PAUSE_EVERY_MS = 100;
let lastPause = 0;

/**
 * Lets pending signals be delivered (one macrotask turn, at most every 100 ms: cheap to call
 * per batch), then {@linkcode checkInterrupt}.
 */
export async function pauseForSignals(): Promise<void> {
  const now = performance.now();
  if (now - lastPause >= PAUSE_EVERY_MS) {
    lastPause = now;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  checkInterrupt();
}

/**
 * Registers a synchronous cleanup (removing a temporary file) for an exit forced by a signal;
 * returns the function that unregisters it once the work is done.
 */
export function onInterrupt(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** Runs every registered cleanup (each once, failures ignored). */
export function runCleanups(): void {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      // best effort: the process is about to exit
    }
  }
  cleanups.clear();
}
