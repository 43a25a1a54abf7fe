/**
 * `--mode incremental` on a pair command whose source is a SQL table: once a watermark is saved,
 * the source is opened as `SELECT * FROM (table) w WHERE w.col > $1` (the watermark a bound
 * parameter), so the database returns only the rows past it, as `dsync run` does
 * (src/pipeline/query.ts). Without a saved watermark, with `--where`, or for a locator that does
 * not name its table, the source stays as it is and dsync keeps the rows past the watermark.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { splitTableLocator } from "./pushdown.ts";
 * deepStrictEqual(splitTableLocator("shop.db#orders", "sqlite", {}), { base: "shop.db", table: "orders" });
 * deepStrictEqual(splitTableLocator("crm.orders", "postgres", {}), { base: "", table: "crm.orders" });
 * deepStrictEqual(splitTableLocator("postgres://h/db", "postgres", {}), undefined);
 * ```
 * @module
 */
import type { Dataset, OpenContext, OpenOptions, Target } from "../adapter_kit/importer.ts";
import type { SqlImporter, SqlOpenContext } from "../adapter_kit/sql.ts";
import type { LoadOptions } from "../app/modes.ts";
import { openAsSource } from "../app/registry.ts";
import { DEFAULT_STATE, WatermarkState } from "../app/state.ts";
import { sourceQuery } from "../pipeline/query.ts";

/** The database part and the table of a SQL source locator; undefined when it names no table. */
export function splitTableLocator(
  locator: string,
  adapter: string,
  options: OpenOptions,
): { base: string; table: string } | undefined {
  const hash = locator.lastIndexOf("#");
  if (hash >= 0) return { base: locator.slice(0, hash), table: locator.slice(hash + 1) };
  if (typeof options.table === "string") return { base: locator, table: options.table };
  if (adapter === "sqlite" || locator.includes("://")) return undefined;
  return { base: "", table: locator };
}

/**
 * The source an incremental pair run reads, and its load options: a pushed-down query past the
 * saved watermark when there is one, else `source` itself (closed when replaced).
 */
export async function incrementalSource(
  importer: SqlImporter,
  locator: string,
  ctx: OpenContext,
  source: Dataset,
  target: Target,
  load: LoadOptions,
): Promise<{ source: Dataset; load: LoadOptions }> {
  const split = splitTableLocator(locator, importer.name, ctx.options);
  if (load.mode !== "incremental" || ctx.options.where !== undefined || !split) {
    return { source, load };
  }
  // Labels are complete once described (a PostgreSQL table learns its connection and schema).
  await source.describe();
  await target.describe();
  const stateName = `pair:${source.label}`;
  const state = new WatermarkState(load.state ?? DEFAULT_STATE);
  let after: unknown;
  try {
    after = state.get({ pipeline: stateName, target: target.label, column: load.updateKey! });
  } finally {
    state.close();
  }
  if (after === undefined) return { source, load };
  const query = sourceQuery({ table: split.table }, importer.dialect, {
    column: load.updateKey!,
    after,
  });
  const context: SqlOpenContext = { ...ctx, query };
  const pushed = await openAsSource(importer, split.base, context);
  await source.close();
  return { source: pushed, load: { ...load, stateName, prefiltered: true } };
}
