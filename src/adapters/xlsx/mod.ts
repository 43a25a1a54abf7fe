/**
 * Excel workbooks (.xlsx): one worksheet is a dataset, its header row names the fields. Reading
 * streams the sheet (dsync's own ZIP reader inflates one part at a time, exceljs's SAX helper
 * parses it, dsync turns the cells into values), so a large sheet is never loaded whole. Writing
 * goes through exceljs and replaces the workbook atomically (temporary file + rename): an
 * existing book keeps its other sheets, column widths and the formatting of untouched cells; a
 * new book gets a bold, frozen header row and real Excel types. docs/types.md ("Excel (xlsx)")
 * has the value rules.
 *
 * The adapter's modules, bottom up: `zip.ts` (the archive), `cells.ts` (cell values, serial
 * dates), `exceljs.ts` (the lazy loader), `book.ts` (workbook parts, sheet list, shared strings,
 * styles), `sheet_rows.ts` (streaming one sheet), `writer.ts` (writing with exceljs),
 * `sheet.ts` (the dataset), `options.ts` (locator and options).
 *
 * exceljs is imported lazily, on first use, so that start-up (`dsync --version`) stays fast and
 * runs without a workbook (`dsync csv:sqlite`) never load it.
 *
 * @example
 * ```sh
 * dsync xlsx:sqlite Q3.xlsx#Customers app.db#customers --key customer_id
 * dsync sqlite:xlsx app.db#users report.xlsx#Users
 * ```
 * @module
 */
import { defaultTargetPath } from "../../adapter_kit/files.ts";
import type { Importer } from "../../adapter_kit/importer.ts";
import { parseLocator, xlsxOptions } from "./options.ts";
import { XlsxSheet } from "./sheet.ts";

/** The `xlsx` adapter. */
export const xlsxImporter: Importer = {
  name: "xlsx",
  aliases: ["excel"],
  description: "Excel workbook (.xlsx): one worksheet, header row names the fields",
  locator: "BOOK.xlsx or BOOK.xlsx#Sheet",
  transactional: true,
  options: [
    {
      flags: "--sheet <name|index>",
      description: "worksheet by name, or by position (1 = first); BOOK.xlsx#Sheet also works",
    },
    { flags: "--header-row <n>", description: "row holding the field names", defaultValue: "1" },
    {
      flags: "--excel-errors <mode>",
      description: "error cells (#N/A, #DIV/0!, …): fail, or read them as null",
      defaultValue: "fail",
    },
  ],
  openSource: (locator, ctx) => {
    const [path, sheet] = parseLocator(locator);
    return Promise.resolve(new XlsxSheet(path, "source", sheet, xlsxOptions(ctx)));
  },
  openTarget: (locator, ctx) => {
    const [path, sheet] = parseLocator(locator ?? defaultTargetPath(ctx.sourceName, "xlsx"));
    return Promise.resolve(new XlsxSheet(path, "target", sheet, xlsxOptions(ctx)));
  },
};
