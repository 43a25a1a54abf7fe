/**
 * The sqlite locator: `FILE.db#TABLE`, or `FILE.db` with `--table`.
 *
 * @module
 */
import { UsageError } from "../../model/errors.ts";
import { splitFileLocator } from "../../adapter_kit/files.ts";
import type { OpenContext } from "../../adapter_kit/importer.ts";

/** Splits `file.db#table`; the table may also come from `--table`. */
export function parseLocator(locator: string, ctx: OpenContext): [string, string | undefined] {
  const { path, name } = splitFileLocator(locator, "table");
  return [path, name ?? (ctx.options.table as string | undefined) ?? undefined];
}

/** The refusal of a locator that names no table. */
export function whichTable(locator: string, path: string): UsageError {
  return new UsageError(
    `sqlite locator '${locator}': which table? write ${path}#TABLE or use --table`,
  );
}

/** A source's file and table (refused without a table). */
export function sourceLocator(locator: string, ctx: OpenContext): [string, string] {
  const [path, table] = parseLocator(locator, ctx);
  if (!table) throw whichTable(locator, path);
  return [path, table];
}
