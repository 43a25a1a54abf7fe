/**
 * exceljs, loaded on first use: the library itself (for writing workbooks), its SAX helper (for
 * streaming a sheet's XML) and its parser of xl/styles.xml. Nothing imports exceljs statically,
 * so a run that touches no workbook (`dsync csv:sqlite`, `dsync --version`) never loads it.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { loadExcel } from "./exceljs.ts";
 * const { ExcelJS, parseSax } = await loadExcel();
 * strictEqual(typeof ExcelJS.Workbook, "function");
 * strictEqual(typeof parseSax, "function");
 * strictEqual(await loadExcel(), await loadExcel()); // imported once
 * ```
 * @module
 */
import { importPackage } from "../../adapter_kit/packages.ts";

type ExcelJsModule = typeof import("exceljs");

/** One event of exceljs's SAX helper: a tag opened or closed, or a run of text. */
export interface SaxEvent {
  eventType: "opentag" | "text" | "closetag";
  value: { name: string; attributes: Record<string, string> } & string;
}

/** exceljs's style manager, as far as dsync uses it. */
interface StyleManager {
  parseStream(stream: AsyncIterable<string>): Promise<unknown>;
  getStyleModel(id: number): { numFmt?: string } | null;
  model: { styles: unknown[] };
}

/** The parts of exceljs dsync uses. */
export interface ExcelLib {
  ExcelJS: ExcelJsModule;
  /** exceljs's SAX helper: batches of events for each chunk of text. */
  parseSax: (iterable: AsyncIterable<string>) => AsyncIterable<SaxEvent[]>;
  /** exceljs's parser of xl/styles.xml, which knows the built-in number formats. */
  newStyles: () => StyleManager;
}

let excelLib: Promise<ExcelLib> | undefined;

/** exceljs and its helpers, imported once, on the first call. */
export function loadExcel(): Promise<ExcelLib> {
  excelLib ??= (async () => {
    const ExcelJS = ((await importPackage("exceljs")) as { default: ExcelJsModule }).default;
    const sax = await importPackage("exceljs/lib/utils/parse-sax.js") as {
      default: ExcelLib["parseSax"];
    };
    const styles = await importPackage("exceljs/lib/xlsx/xform/style/styles-xform.js") as {
      default: new () => StyleManager;
    };
    return { ExcelJS, parseSax: sax.default, newStyles: () => new styles.default() };
  })();
  return excelLib;
}
