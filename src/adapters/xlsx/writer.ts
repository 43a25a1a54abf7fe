/**
 * Writing a worksheet with exceljs: a new workbook is streamed out with `WorkbookWriter` (bold,
 * frozen header row, column widths from the first rows); an existing one is loaded whole, the
 * sheet changed in place (cells keep their style, deleted rows close up) and written back. Either
 * way the file is replaced atomically (temporary file + rename).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import type { WritePlan } from "../../adapter_kit/changes.ts";
 * import { Book } from "./book.ts";
 * import { writeNewBook } from "./writer.ts";
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/out.xlsx`;
 * const plan: WritePlan = {
 *   fields: [{ name: "id", type: "integer" }, { name: "name", type: "text" }],
 *   keyIndexes: [0],
 *   createTarget: true,
 *   creates: [{ op: "create", key: [1], keyText: "1", after: [1, "Ann"] }],
 *   updates: [],
 *   deletes: [],
 *   targetKey: (row) => String(row[0]),
 *   targetIndexes: [-1, -1],
 * };
 * await writeNewBook({ path, label: "out.xlsx", sheet: "Customers", headerRow: 1 }, plan);
 * deepStrictEqual((await Book.open(path, "out.xlsx")).list.names, ["Customers"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { take } from "../../adapter_kit/batches.ts";
import { atomicReplace } from "../../adapter_kit/files.ts";
import type { WritePlan } from "../../adapter_kit/changes.ts";
import type { DatasetInfo } from "../../adapter_kit/importer.ts";
import { TargetError } from "../../model/errors.ts";
import type { Row, RowBatch } from "../../model/types.ts";
import { unreadable } from "./book.ts";
import { cellFor, type CellOut, encodeText, numberKind } from "./cells.ts";
import { loadExcel } from "./exceljs.ts";

type Workbook = import("exceljs").Workbook;
type Worksheet = import("exceljs").Worksheet;
type Cell = import("exceljs").Cell;

/** Most characters Excel keeps in one cell. */
const CELL_LIMIT = 32767;

/** The sheet a plan is written to. */
export interface SheetPlace {
  /** The workbook file. */
  path: string;
  /** The dataset's name in messages (`BOOK.xlsx#Sheet`). */
  label: string;
  /** The worksheet's name. */
  sheet: string;
  /** Row holding the field names (1-based). */
  headerRow: number;
}

/** A sheet of an existing workbook, as the reader found it. */
export interface ExistingSheet extends SheetPlace {
  /** Whether the book counts dates from 1904. */
  date1904: boolean;
  /** Column number (1-based) of each field of the sheet. */
  columns: number[];
  /** Names of the workbook's ZIP parts, to refuse a rewrite that would drop some. */
  partNames: string[];
  /** The sheet's records and their row numbers, read as the diff read them. */
  read(batchSize: number): AsyncIterable<RowBatch>;
}

/** A new workbook, streamed to a temporary file with exceljs's `WorkbookWriter`. */
export async function writeNewBook(
  place: SheetPlace,
  plan: WritePlan,
  progress?: (written: number) => void,
): Promise<void> {
  const { ExcelJS } = await loadExcel();
  const { path, label, sheet, headerRow } = place;
  await atomicReplace(path, async (temp) => {
    const book = new ExcelJS.stream.xlsx.WorkbookWriter({
      filename: temp,
      useStyles: true,
      useSharedStrings: true,
    });
    const ws = book.addWorksheet(sheet, {
      views: [{ state: "frozen", ySplit: headerRow }],
    });
    const cells = (values: Row) => plan.fields.map((f, i) => cellFor(values[i], f.type));
    const sample = [...take(plan.creates, 1000)].map((c) => cells(c.after));
    ws.columns = plan.fields.map((f, i) => ({
      width: columnWidth(f.name, sample.map((o) => o[i])),
    }));
    const head = ws.getRow(headerRow);
    plan.fields.forEach((f, i) => {
      const cell = head.getCell(i + 1);
      cell.value = encodeText(f.name);
      cell.font = { bold: true };
    });
    head.commit();
    let r = 0;
    for (const create of plan.creates) {
      const row = ws.getRow(headerRow + 1 + r);
      cells(create.after).forEach((out, i) => {
        if (out) setCell(row.getCell(i + 1), out, `${label}: row ${row.number}`);
      });
      row.commit();
      if (++r % 2000 === 0) {
        progress?.(r);
        // let the zip stream drain to the file
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    }
    ws.commit();
    await book.commit();
  });
}

/**
 * exceljs decodes `_xHHHH_` when it loads a book but does not encode again when it writes: an
 * untouched cell would lose its ESC, turn `\r\n` into `\n` and `_x005F_x0041_` into `A`. So
 * every text cell of every sheet is put back in its escaped form before anything is changed
 * (the cells dsync writes come escaped from `cellFor`).
 */
function escapeLoadedText(book: Workbook): void {
  for (const ws of book.worksheets) {
    ws.eachRow({ includeEmpty: false }, (row) => {
      row.eachCell({ includeEmpty: false }, (cell) => {
        if (typeof cell.value === "string") {
          const escaped = encodeText(cell.value);
          if (escaped !== cell.value) cell.value = escaped;
        }
      });
    });
  }
}

/** An existing workbook: loaded whole, the sheet changed in place, written back. */
export async function rewriteBook(
  place: ExistingSheet,
  plan: WritePlan,
  info: DatasetInfo,
): Promise<void> {
  const { path, label, sheet, headerRow, date1904 } = place;
  const { ExcelJS } = await loadExcel();
  const bytes = await Deno.readFile(path);
  const lost = unkeptParts(place.partNames);
  if (lost.length) {
    throw new TargetError(
      `${path}: dsync would drop this workbook's ${
        lost.join(", ")
      } when rewriting it; nothing written`,
      "sync into a sheet of a separate workbook, and link it from this one",
    );
  }
  // Where the changed records are: the same reader as the diff, so keys match exactly.
  const rowOf = new Map<string, number>();
  if (info.exists && (plan.updates.length || plan.deletes.length)) {
    const wanted = new Set([...plan.updates, ...plan.deletes].map((c) => c.keyText));
    for await (const batch of place.read(5000)) {
      batch.rows.forEach((row, i) => {
        const key = plan.targetKey(row);
        if (wanted.has(key)) rowOf.set(key, batch.positions[i]);
      });
    }
  }
  const book: Workbook = new ExcelJS.Workbook();
  try {
    await book.xlsx.load(bytes as unknown as ArrayBuffer);
  } catch (error) {
    throw unreadable(path, error);
  }
  escapeLoadedText(book);
  let ws = book.getWorksheet(sheet);
  let columns = place.columns;
  if (!info.exists) {
    ws ??= book.addWorksheet(sheet, {
      views: [{ state: "frozen", ySplit: headerRow }],
    });
    columns = plan.fields.map((_, i) => i + 1);
    const head = ws.getRow(headerRow);
    plan.fields.forEach((f, i) => {
      const cell = head.getCell(i + 1);
      cell.value = encodeText(f.name);
      cell.font = { ...cell.font, bold: true };
      const width = columnWidth(
        f.name,
        [...take(plan.creates, 1000)].map((c) => cellFor(c.after[i], f.type, date1904)),
      );
      const column = ws!.getColumn(i + 1);
      if (!column.width) column.width = width;
    });
  }
  if (!ws) throw new TargetError(`${path}: sheet '${sheet}' vanished while writing`);
  const columnOfField = plan.fields.map((f, i) => {
    const index = plan.targetIndexes[i] >= 0
      ? plan.targetIndexes[i]
      : info.fields.findIndex((t) => t.name === f.name);
    return index >= 0 ? columns[index] : i + 1;
  });

  for (const update of plan.updates) {
    const rowNumber = rowOf.get(update.keyText);
    if (rowNumber === undefined) continue;
    const row = ws.getRow(rowNumber);
    for (const i of update.changed ?? plan.fields.map((_, i) => i)) {
      setCell(
        row.getCell(columnOfField[i]),
        cellFor(update.after[i], plan.fields[i].type, date1904),
        `${label}: row ${rowNumber}`,
      );
    }
  }
  const deleted = [...plan.deletes].map((d) => rowOf.get(d.keyText)).filter((r) => r !== undefined);
  if (deleted.length) removeRows(ws, new Set(deleted));

  if (plan.creates.length) {
    let last = ws.rowCount;
    while (last > headerRow && !rowHasValues(ws, last)) last--;
    const model = last > headerRow ? ws.getRow(last) : undefined;
    let r = 0;
    for (const create of plan.creates) {
      const row = ws!.getRow(last + 1 + r++);
      plan.fields.forEach((f, i) => {
        const cell = row.getCell(columnOfField[i]);
        if (model) cell.style = structuredClone(model.getCell(columnOfField[i]).style ?? {});
        setCell(cell, cellFor(create.after[i], f.type, date1904), `${label}: new row`);
      });
    }
  }

  await atomicReplace(path, (temp) => book.xlsx.writeFile(temp));
}

/** Writes a value into a cell, keeping the cell's style; fixes the number format if needed. */
function setCell(cell: Cell, out: CellOut | null, where: string): void {
  if (out && typeof out.value === "string" && out.value.length > CELL_LIMIT) {
    throw new TargetError(
      `${where}: ${out.value.length} characters do not fit an Excel cell (at most ${CELL_LIMIT})`,
    );
  }
  cell.value = out ? out.value : null;
  if (!out) return;
  const current = numberKind(cell.numFmt);
  if (out.format) {
    const keep = current === out.kind || (out.kind === "date" && current === "datetime");
    if (!keep) cell.numFmt = out.format;
  } else if (typeof out.value === "number" && current !== "number") {
    cell.numFmt = "General";
  }
}

function displayWidth(out: CellOut | null): number {
  if (!out) return 0;
  switch (out.kind) {
    case "date":
      return 10;
    case "datetime":
      return out.format!.length;
    case "time":
      return out.format!.length;
  }
  if (typeof out.value === "boolean") return 5;
  if (typeof out.value === "number") return Math.min(String(out.value).length, 15);
  return Math.max(...String(out.value).split("\n").map((l) => l.length));
}

function columnWidth(name: string, outs: (CellOut | null)[]): number {
  let width = name.length + 2;
  for (const out of outs) width = Math.max(width, displayWidth(out));
  return Math.min(Math.max(width + 1, 8), 60);
}

function rowHasValues(ws: Worksheet, n: number): boolean {
  const row = ws.findRow(n);
  if (!row) return false;
  let found = false;
  row.eachCell((cell) => {
    if (cell.value !== null && cell.value !== undefined && cell.value !== "") found = true;
  });
  return found;
}

/** Removes rows, moving the rows below up (values, styles, heights) in one pass. */
function removeRows(ws: Worksheet, deleted: Set<number>): void {
  const last = ws.rowCount;
  let to = Math.min(...deleted);
  const first = to;
  for (let from = first; from <= last; from++) {
    if (deleted.has(from)) continue;
    if (from !== to) {
      const source = ws.findRow(from);
      const target = ws.getRow(to);
      const width = Math.max(source?.cellCount ?? 0, target.cellCount);
      for (let c = 1; c <= width; c++) {
        const cell = target.getCell(c);
        const src = source?.findCell(c);
        cell.value = src ? src.value : null;
        cell.style = src ? src.style : {};
      }
      target.height = source?.height as number;
      target.hidden = source?.hidden ?? false;
    }
    to++;
  }
  if (to <= last) ws.spliceRows(to, last - to + 1);
}

/** Parts of a workbook that exceljs does not carry over when it rewrites the book. */
function unkeptParts(names: string[]): string[] {
  const kinds: [RegExp, string][] = [
    [/^xl\/charts\//, "charts"],
    [/^xl\/chartsheets\//, "chart sheets"],
    [/^xl\/pivotTables\//, "pivot tables"],
    [/^xl\/vbaProject\.bin$/, "macros"],
    [/^xl\/slicers\//, "slicers"],
    [/^xl\/externalLinks\//, "links to other workbooks"],
    [/^xl\/(activeX|ctrlProps)\//, "form controls"],
  ];
  return kinds.filter(([re]) => names.some((n) => re.test(n))).map(([, what]) => what);
}
