/**
 * The command line's entry: a pair spelled with an alias or a typo resolved, the command run,
 * its error turned into one line and an exit code, SIGINT/SIGTERM turned into a rollback.
 *
 * @example
 * ```ts ignore
 * const code = await runCli(["csv:sqlite", "users.csv", "--dry-run"]);
 * ```
 * @module
 */
import { CommanderError } from "commander";
import { DsyncError, UsageError } from "../model/errors.ts";
import { findImporter, listPairs } from "../app/registry.ts";
import { requestStop } from "../app/watch.ts";
import {
  interrupt,
  interruptedBy,
  runCleanups,
  SIGNAL_EXIT_CODES,
} from "../adapter_kit/interrupt.ts";
import { buildProgram } from "./program.ts";
import { runPair } from "./pair.ts";
import { unknownAdapterIn } from "./unknown.ts";
import { exitCode, setExitCode } from "./exit_status.ts";

/** How long the work may take to unwind after SIGINT/SIGTERM before the exit is forced. */
const SIGNAL_GRACE_MS = 3000;

/**
 * SIGINT/SIGTERM: the run unwinds at its next check (transactions roll back, temporary files
 * go) and {@linkcode runCli} reports one line; when it does not within the grace time (a query
 * waiting on the network), temporary files are removed and the process exits — an open
 * transaction then ends with the connection (PostgreSQL) or the journal (SQLite).
 */
function listenForSignals(): () => void {
  const listeners = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const listener = () => {
      if (interruptedBy()) return;
      // --watch: the first signal ends the watch after the running round (exit 0).
      if (requestStop(signal)) return;
      interrupt(signal);
      setTimeout(() => {
        runCleanups();
        console.error(interruptedLine(signal));
        Deno.exit(SIGNAL_EXIT_CODES[signal]);
      }, SIGNAL_GRACE_MS);
    };
    Deno.addSignalListener(signal, listener);
    return () => Deno.removeSignalListener(signal, listener);
  });
  return () => listeners.forEach((remove) => remove());
}

function interruptedLine(signal: string): string {
  return `dsync: interrupted by ${signal}; rolled back, nothing written`;
}

/** Runs dsync with `args` (without the program name) and returns the exit code. */
export async function runCli(args: string[]): Promise<number> {
  setExitCode(0);
  const stopListening = listenForSignals();
  try {
    const code = await runCommand(args);
    const signal = interruptedBy();
    if (signal && code === 0) {
      console.error(`dsync: interrupted by ${signal} after the changes were written`);
      return SIGNAL_EXIT_CODES[signal];
    }
    return code;
  } finally {
    stopListening();
  }
}

async function runCommand(args: string[]): Promise<number> {
  const verbose = args.includes("-v") || args.includes("--verbose");
  try {
    const first = args[0] ?? "";
    if (/^[^-][^:]*:[^:]*$/.test(first) && !listPairs().includes(first)) {
      const [s, t] = first.split(":").map((n) => findImporter(n));
      if (s && t) args = [`${s.name}:${t.name}`, ...args.slice(1)];
      else throw unknownAdapterIn(first);
      if (!listPairs().includes(args[0])) {
        throw new UsageError(`'${first}': ${s.name} cannot be a source or ${t.name} a target`);
      }
    }
    const adapter = findImporter(first);
    if (adapter && !first.includes(":")) {
      const other = adapter.name === "sqlite" ? "csv" : "sqlite";
      const pairs = [
        adapter.openSource && `dsync ${adapter.name}:${other}`,
        adapter.openTarget && `dsync ${other}:${adapter.name}`,
      ].filter(Boolean);
      throw new UsageError(
        `'${first}' is an adapter; a sync names two, SRC:TGT`,
        `e.g. ${pairs.join(" or ")} (see: dsync adapters)`,
      );
    }
    await buildProgram(runPair).parseAsync(args, { from: "user" });
    return exitCode();
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    const signal = interruptedBy();
    if (signal) {
      // Whatever failed did so because the run was stopped: one line, the signal's exit code.
      console.error(interruptedLine(signal));
      if (verbose) console.error((error as Error)?.stack);
      return SIGNAL_EXIT_CODES[signal];
    }
    if (error instanceof DsyncError) {
      console.error(`dsync: ${error.message}`);
      if (error.hint) console.error(`  ${error.hint}`);
      if (verbose) console.error(error.stack);
      return error.exitCode;
    }
    if ((error as { code?: string })?.code === "ENOSPC") {
      // Not a target write (those are TargetErrors): the engine's temporary files.
      const folder = Deno.env.get("TMPDIR") || "/tmp";
      console.error(`dsync: no space left for temporary files in ${folder}; nothing written`);
      console.error("  set TMPDIR to a folder with more room");
      return 4;
    }
    console.error(`dsync: ${(error as Error)?.message ?? error}`);
    if (verbose) console.error((error as Error)?.stack);
    return 2;
  }
}
