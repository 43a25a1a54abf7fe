/**
 * One worksheet as a dsync dataset: `describe` finds the sheet and checks its header row, `read`
 * streams its records (with their row numbers), `apply` writes a plan into a new workbook or
 * rewrites the existing one.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import type { WritePlan } from "../../adapter_kit/changes.ts";
 * import { XlsxSheet } from "./sheet.ts";
 * const dir = await Deno.makeTempDir();
 * const target = new XlsxSheet(`${dir}/Q3.xlsx`, "target", "Customers");
 * deepStrictEqual((await target.describe()).exists, false);
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
 * await target.apply(plan);
 * await target.close();
 *
 * const source = new XlsxSheet(`${dir}/Q3.xlsx`, "source", "customers");
 * deepStrictEqual((await source.describe()).fields.map((field) => field.name), ["id", "name"]);
 * deepStrictEqual(await Array.fromAsync(source.read(1000)), [
 *   { rows: [[1, "Ann"]], positions: [2] }, // row 1 is the header
 * ]);
 * await source.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import type { WritePlan } from "../../adapter_kit/changes.ts";
import { fileExists } from "../../adapter_kit/files.ts";
import type { DatasetInfo, Target } from "../../adapter_kit/importer.ts";
import { InputError, UsageError } from "../../model/errors.ts";
import type { Field, Row, RowBatch } from "../../model/types.ts";
import { Book, findSheet, type SheetList } from "./book.ts";
import { BadCell, columnName } from "./cells.ts";
import type { XlsxOptions } from "./options.ts";
import { type SheetRow, sheetRows } from "./sheet_rows.ts";
import { type ExistingSheet, rewriteBook, type SheetPlace, writeNewBook } from "./writer.ts";

/** An Excel worksheet: a source, or a target in a new or existing workbook. */
export class XlsxSheet implements Target {
  readonly label: string;
  readonly #wanted: string | undefined;
  readonly #headerRow: number;
  readonly #errorsAsNull: boolean;
  #info: DatasetInfo | undefined;
  #book: Book | undefined;
  /** The resolved sheet name (undefined: a new book with the default name). */
  #sheet: string | undefined;
  #bookExists = false;
  #date1904 = false;
  /** Column number (1-based) of each field. */
  #columns: number[] = [];

  constructor(
    readonly path: string,
    readonly role: "source" | "target",
    locatorSheet: string | undefined,
    options: XlsxOptions = {},
  ) {
    this.#wanted = locatorSheet ?? options.sheet;
    this.label = this.#wanted === undefined ? path : `${path}#${this.#wanted}`;
    this.#headerRow = options.headerRow ?? 1;
    this.#errorsAsNull = options.errors === "null";
  }

  async describe(): Promise<DatasetInfo> {
    if (this.#info) return this.#info;
    const missing: DatasetInfo = {
      exists: false,
      fields: [],
      primaryKey: [],
      typed: false,
      textual: false,
    };
    if (this.role === "target" && !(await fileExists(this.path))) {
      if (this.#wanted !== undefined && /^\d+$/.test(this.#wanted) && this.#wanted !== "1") {
        throw new UsageError(
          `${this.label}: the workbook does not exist, so it has no sheet ${this.#wanted}`,
          "name the sheet to create: BOOK.xlsx#Name or --sheet Name",
        );
      }
      this.#sheet = this.#wanted === "1" ? undefined : this.#wanted;
      if (this.#sheet !== undefined) checkSheetName(this.#sheet, this.label);
      return this.#info = missing;
    }
    this.#bookExists = true;
    const book = this.#book ??= await Book.open(this.path, this.path);
    this.#date1904 = book.list.date1904;
    const sheet = this.#resolveSheet(book.list);
    if (sheet === undefined) {
      // A target sheet the book lacks (or a book without sheets): it will be added.
      this.#sheet = this.#wanted ?? "Sheet1";
      checkSheetName(this.#sheet, this.label);
      return this.#info = missing;
    }
    this.#sheet = sheet;
    let header: SheetRow | undefined;
    for await (const row of sheetRows(book, sheet, this.path)) {
      if (row.row >= this.#headerRow) {
        if (row.row === this.#headerRow) header = row;
        break;
      }
    }
    const names = header ? this.#header(header) : [];
    if (names.length === 0) {
      if (this.role === "target") return this.#info = missing;
      throw new InputError(
        `${this.path}: sheet '${sheet}': row ${this.#headerRow} is empty, so there is no header`,
        "the header row names the fields; point at it with --header-row N",
      );
    }
    const fields: Field[] = names.map((name) => ({ name, type: "auto" }));
    return this.#info = { exists: true, fields, primaryKey: [], typed: false, textual: false };
  }

  /** The sheet to read: by name, else by position; undefined for a target sheet to add. */
  #resolveSheet(list: SheetList): string | undefined {
    if (this.#wanted === undefined) return list.names[0];
    const name = findSheet(list, this.#wanted);
    if (name !== undefined) return name;
    const index = /^\d+$/.test(this.#wanted);
    if (this.role === "target" && !index) return undefined;
    const sheets = list.names.map((n) => `'${n}'`).join(", ") || "none";
    throw new InputError(
      index
        ? `${this.path} has no sheet ${this.#wanted}: it has ${list.names.length} (${sheets})`
        : `${this.path} has no sheet '${this.#wanted}' (sheets: ${sheets})`,
      "name a sheet with BOOK.xlsx#Sheet or --sheet NAME|INDEX (1 is the first)",
    );
  }

  /** Checks the header row; returns the field names and sets their column numbers. */
  #header(header: SheetRow): string[] {
    const cells = header.cells;
    const first = cells.findIndex((c) => c !== undefined && c !== "");
    if (first < 0) return [];
    let last = cells.length - 1;
    while (last > first && (cells[last] === undefined || cells[last] === "")) last--;
    const names: string[] = [];
    const seen = new Map<string, string>();
    this.#columns = [];
    for (let i = first; i <= last; i++) {
      const ref = `${this.#sheet}!${columnName(i + 1)}${header.row}`;
      const cell = cells[i];
      if (cell instanceof BadCell) {
        throw new InputError(`${this.path}: ${ref}: header cell: ${cell.problem}`);
      }
      const name = cell === undefined ? "" : String(cell).trim();
      if (name === "") {
        throw new InputError(
          `${this.path}: ${ref}: header cell is empty`,
          "every column with data needs a name in the header row (or see --header-row)",
        );
      }
      if (seen.has(name)) {
        throw new InputError(
          `${this.path}: ${ref}: header names '${name}' twice (also ${seen.get(name)})`,
          "field names must be unique",
        );
      }
      seen.set(name, ref);
      names.push(name);
      this.#columns.push(i + 1);
    }
    return names;
  }

  async *read(batchSize: number): AsyncGenerator<RowBatch> {
    const info = await this.describe();
    if (!info.exists) return;
    const columns = this.#columns;
    const lo = columns[0] - 1;
    const hi = columns[columns.length - 1] - 1;
    let rows: Row[] = [];
    let positions: number[] = [];
    for await (const { row, cells } of sheetRows(this.#book!, this.#sheet!, this.path)) {
      if (row <= this.#headerRow) continue;
      let empty = true;
      for (let i = 0; i < cells.length; i++) {
        const cell = cells[i];
        if (cell === undefined) continue;
        if (i < lo || i > hi) {
          if (cell === "") continue;
          throw new InputError(
            `${this.path}: ${this.#sheet}!${
              columnName(i + 1)
            }${row}: a value in a column without a header`,
            "name the column in the header row, or clear the cell",
          );
        }
        if (cell !== "") empty = false;
      }
      if (empty) continue;
      const values = new Array(columns.length);
      for (let f = 0; f < columns.length; f++) {
        const cell = cells[columns[f] - 1];
        values[f] = cell instanceof BadCell ? this.#bad(cell) : cell ?? null;
      }
      rows.push(values);
      positions.push(row);
      if (rows.length >= batchSize) {
        yield { rows, positions };
        rows = [];
        positions = [];
      }
    }
    if (rows.length) yield { rows, positions };
  }

  #bad(cell: BadCell): null {
    if (cell.isError && this.#errorsAsNull) return null;
    throw new InputError(
      `${this.path}: ${this.#sheet}!${cell.ref}: ${cell.problem}`,
      cell.isError
        ? "fix the cell, or read error cells as NULL with --excel-errors null"
        : "open the book in Excel or LibreOffice, recalculate and save it",
    );
  }

  async apply(plan: WritePlan, progress?: (written: number) => void): Promise<void> {
    const info = await this.describe();
    const total = plan.creates.length + plan.updates.length + plan.deletes.length;
    if (total === 0 && info.exists) return;
    if (!this.#bookExists) await writeNewBook(this.#place(this.#sheet ?? "Sheet1"), plan, progress);
    else {
      const existing: ExistingSheet = {
        ...this.#place(this.#sheet!),
        date1904: this.#date1904,
        columns: this.#columns,
        partNames: [...(this.#book?.zip.entries.keys() ?? [])],
        read: (batchSize) => this.read(batchSize),
      };
      await rewriteBook(existing, plan, info);
    }
    progress?.(total);
  }

  #place(sheet: string): SheetPlace {
    return { path: this.path, label: this.label, sheet, headerRow: this.#headerRow };
  }

  close(): Promise<void> {
    this.#book = undefined;
    return Promise.resolve();
  }
}

/** Excel's rules for a sheet name. */
function checkSheetName(name: string, label: string): void {
  if (name === "" || name.length > 31 || /[\\/?*[\]:]/.test(name) || /^'|'$/.test(name)) {
    throw new UsageError(
      `${label}: '${name}' cannot be an Excel sheet name`,
      "1 to 31 characters, none of \\ / ? * [ ] :, not starting or ending with '",
    );
  }
}
