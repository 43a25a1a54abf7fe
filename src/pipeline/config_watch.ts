/**
 * `watch:` of a config file: `watch: true` or `watch: { every: 30s }` makes `dsync run` run the
 * selected pipelines round after round, as `--watch [--every]` does (the command line wins).
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { watchEvery } from "./config_watch.ts";
 * strictEqual(watchEvery({ every: "30s" }, () => {}), 30_000);
 * strictEqual(watchEvery(true, () => {}), 60_000);
 * strictEqual(watchEvery(undefined, () => {}), undefined);
 * ```
 * @module
 */
import { DEFAULT_EVERY_MS, parseDuration } from "../app/watch.ts";
import { UsageError } from "../model/errors.ts";

/**
 * The time between rounds (ms) that a schema-checked `watch:` value asks for; undefined when it
 * asks for none (`false`, absent). A bad duration goes to `issue` (and gives undefined).
 */
export function watchEvery(raw: unknown, issue: (message: string) => void): number | undefined {
  if (raw === undefined || raw === false || raw === null) return undefined;
  const every = typeof raw === "object" ? (raw as { every?: unknown }).every : undefined;
  if (every === undefined) return DEFAULT_EVERY_MS;
  try {
    return parseDuration(String(every), "every:");
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    issue(error.message.replace(/^every: /, ""));
    return undefined;
  }
}
