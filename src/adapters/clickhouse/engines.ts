/**
 * What each ClickHouse table engine lets dsync do: which take mutations, which only inserts, and
 * when a `ReplacingMergeTree` takes updates as new rows (the later row of a key, or the one with
 * the higher version, is the one it keeps) instead of mutations.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { MUTABLE_ENGINES } from "./engines.ts";
 * strictEqual(MUTABLE_ENGINES.test("ReplacingMergeTree"), true);
 * ```
 * @module
 */
import type { WritePlan } from "../../adapter_kit/changes.ts";
import { splitArgs } from "./types.ts";

/** What the engine rules need of a table. */
export interface EngineTable {
  /** The engine of an existing table; empty for a new one. */
  engine: string;
  columns: { name: string }[];
  /** Its sorting key's columns (empty when it is not plain columns). */
  sortingKey?: string[];
}

/** Engines whose rows ALTER TABLE ... UPDATE/DELETE can change. */
export const MUTABLE_ENGINES = /^(Replicated)?(Replacing)?MergeTree$/;
/** Engines that only take inserts. */
export const APPEND_ENGINES = /^(Log|TinyLog|StripeLog|Memory)$/;

/**
 * The version column of a `ReplacingMergeTree(ver)` (`engine_full` of `system.tables`), which
 * mutations cannot change, like the sorting key; undefined for other engines.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { replacingVersion } from "./engines.ts";
 * strictEqual(replacingVersion("ReplacingMergeTree(ver) ORDER BY id SETTINGS a = 1"), "ver");
 * strictEqual(replacingVersion("ReplicatedReplacingMergeTree('/p', 'r', `v\\`2`) ORDER BY id"), "v`2");
 * strictEqual(replacingVersion("ReplacingMergeTree ORDER BY id"), undefined);
 * ```
 */
export function replacingVersion(engineFull: string): string | undefined {
  const m =
    /^(Replicated)?ReplacingMergeTree\((.*?)\)\s*(?:ORDER|PARTITION|PRIMARY|SAMPLE|TTL|SETTINGS|$)/s
      .exec(engineFull.trim());
  if (!m) return undefined;
  // Replicated engines take the ZooKeeper path and the replica name first.
  const args = splitArgs(m[2]).slice(m[1] ? 2 : 0);
  const version = args[args.length - 1];
  if (!version) return undefined;
  const quoted = /^`(.*)`$/s.exec(version);
  return quoted ? quoted[1].replace(/\\(.)/gs, "$1") : version;
}

/**
 * Whether updates go in as new rows, which the ReplacingMergeTree keeps instead of the old ones
 * (the later row of a key, or the one with the higher version; dsync reads FINAL): no mutation.
 * Only when dsync's key is the sorting key the table deduplicates by, and every column is
 * written (a new row would lose the others); otherwise updates are mutations.
 */
export function updatesByInsert(access: EngineTable, plan: WritePlan): boolean {
  if (plan.createTarget || plan.load || !/^(Replicated)?ReplacingMergeTree$/.test(access.engine)) {
    return false;
  }
  const names = new Set(plan.fields.map((f) => f.name));
  const key = plan.keyIndexes.map((i) => plan.fields[i].name);
  const sorting = access.sortingKey ?? [];
  return access.columns.every((c) => names.has(c.name)) && key.length === sorting.length &&
    sorting.every((k) => key.includes(k));
}

/**
 * Whether version `after` is below `before`: numbers, bigints, a `UInt64`'s digits (read as
 * decimal text), or ISO date and time text.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { lowerVersion } from "./engines.ts";
 * strictEqual(lowerVersion("99", "100"), true);
 * strictEqual(lowerVersion("2024-01-02", "2024-01-01"), false);
 * ```
 */
export function lowerVersion(after: unknown, before: unknown): boolean {
  if (after === null || before === null || after === undefined || before === undefined) {
    return false;
  }
  const digits = (v: unknown) => typeof v === "string" && /^\d+$/.test(v);
  if (typeof after === "string" && !(digits(after) && digits(before))) {
    return after < String(before);
  }
  return BigInt(after as string | number | bigint) < BigInt(before as string | number | bigint);
}
