/**
 * The xlsx adapter's locator (`BOOK.xlsx#Sheet`) and command-line options, checked into
 * `XlsxOptions`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { parseLocator } from "./options.ts";
 * deepStrictEqual(parseLocator("Q3.xlsx#Customers"), ["Q3.xlsx", "Customers"]);
 * deepStrictEqual(parseLocator("Q3.xlsx"), ["Q3.xlsx", undefined]);
 * ```
 * @module
 */
import type { OpenContext } from "../../adapter_kit/importer.ts";
import { UsageError } from "../../model/errors.ts";
import { splitFileLocator } from "../../adapter_kit/files.ts";

/** Options of the xlsx adapter. */
export interface XlsxOptions {
  /** Worksheet name, or 1-based position when no sheet has that name. */
  sheet?: string;
  /** Row holding the field names (1-based). Default 1. */
  headerRow?: number;
  /** What an error cell (`#N/A`, `#DIV/0!`) reads as: `fail` (an input error) or `null`. */
  errors?: "fail" | "null";
}

/** Splits `BOOK.xlsx#Sheet` into the path and the sheet (undefined when not named). */
export function parseLocator(locator: string): [string, string | undefined] {
  if (locator === "-") {
    throw new UsageError("xlsx: a workbook must be a file, not - (stdin/stdout)");
  }
  const { path, name } = splitFileLocator(locator, "sheet");
  return [path, name];
}

/** The adapter options of a run, checked. */
export function xlsxOptions(ctx: OpenContext): XlsxOptions {
  const o = ctx.options;
  const headerText = o.headerRow === undefined ? "1" : String(o.headerRow);
  const headerRow = Number(headerText);
  if (!/^\d+$/.test(headerText) || headerRow < 1 || headerRow > 1048576) {
    throw new UsageError(`--header-row ${headerText}: expected a row number ≥ 1`);
  }
  const errors = o.excelErrors === undefined ? "fail" : String(o.excelErrors);
  if (errors !== "fail" && errors !== "null") {
    throw new UsageError(`--excel-errors ${errors}: expected fail or null`);
  }
  const sheet = o.sheet === undefined ? undefined : String(o.sheet);
  if (sheet === "") throw new UsageError("--sheet: empty sheet name");
  return { sheet, headerRow, errors };
}
