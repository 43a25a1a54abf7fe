/**
 * Streams the rows of one worksheet: the sheet's XML goes through exceljs's SAX helper, one
 * chunk at a time, and each cell becomes a dsync value (or a `BadCell`, reported only if the
 * cell is used), so a large sheet is never loaded whole.
 *
 * The reader is one generator with its state in plain variables: it runs once per cell of the
 * sheet, so it stays one hot loop rather than a parser split into small functions.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import type { WritePlan } from "../../adapter_kit/changes.ts";
 * import { Book } from "./book.ts";
 * import { sheetRows } from "./sheet_rows.ts";
 * import { writeNewBook } from "./writer.ts";
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/Q3.xlsx`;
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
 * await writeNewBook({ path, label: "Q3.xlsx", sheet: "Customers", headerRow: 1 }, plan);
 *
 * const book = await Book.open(path, "Q3.xlsx");
 * deepStrictEqual(await Array.fromAsync(sheetRows(book, "Customers", "Q3.xlsx")), [
 *   { row: 1, cells: ["id", "name"] },
 *   { row: 2, cells: [1, "Ann"] },
 * ]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { InputError } from "../../model/errors.ts";
import { convertValue } from "../../model/values.ts";
import { type Book, unreadable } from "./book.ts";
import {
  BadCell,
  columnName,
  columnOf,
  decodeText,
  type NumberKind,
  serialToIso,
} from "./cells.ts";
import { loadExcel, type SaxEvent } from "./exceljs.ts";

/** One row of a sheet as read: its number and its cells by column (index 0 = column A). */
export interface SheetRow {
  row: number;
  cells: unknown[];
}

/** Streams the rows of one worksheet of an open book. */
export async function* sheetRows(
  book: Book,
  sheet: string,
  label: string,
): AsyncGenerator<SheetRow> {
  const part = book.parts.get(sheet);
  if (part === undefined || !book.zip.has(part)) {
    throw new InputError(`${label}: sheet '${sheet}' is not a worksheet (a chart sheet?)`);
  }
  const lib = await loadExcel();
  const { parseSax } = lib;
  let shared: string[];
  let kinds: NumberKind[];
  try {
    shared = await book.sharedStrings(parseSax);
    kinds = await book.styleKinds(lib);
  } catch (error) {
    throw unreadable(label, error);
  }
  const list = book.list;
  const kindOf = (style: number): NumberKind => kinds[style] ?? "number";
  let inData = false;
  let rowNumber = 0;
  let cells: unknown[] = [];
  let inCell = false;
  let col = 0;
  let ref = "";
  let type = "n";
  let style = 0;
  let formula: string | null = null;
  let value: string | null = null;
  let inline: string | null = null;
  let phonetic = false;
  let capture = false;
  let text = "";

  const cellValue = (): unknown => {
    const missing = () =>
      formula === null ? null : new BadCell(ref, `formula =${formula} has no cached result`, false);
    switch (type) {
      case "s":
        return value === null ? null : shared[Number(value)] ?? "";
      case "inlineStr":
        return inline === null ? null : decodeText(inline);
      case "str":
        return value === null ? missing() : decodeText(value);
      case "b":
        return value === null ? missing() : value === "1" || value === "true";
      case "e":
        return new BadCell(ref, `error value ${value ?? "?"}`, true);
      case "d": {
        if (value === null) return missing();
        try {
          const iso = convertValue(value, "timestamp") as string;
          return iso.endsWith("T00:00:00") ? iso.slice(0, 10) : iso;
        } catch {
          return new BadCell(ref, `date value ${JSON.stringify(value)} is not ISO 8601`, false);
        }
      }
    }
    if (value === null || value.trim() === "") return missing();
    const n = Number(value);
    if (Number.isNaN(n)) return new BadCell(ref, `number ${JSON.stringify(value)}`, false);
    const kind = kindOf(style);
    switch (kind) {
      case "date":
      case "datetime":
      case "time":
        try {
          return serialToIso(n, list.date1904, kind, list.libreOffice);
        } catch (error) {
          return new BadCell(ref, `date serial ${n}: ${(error as Error).message}`, false);
        }
      case "boolean":
        return n === 1 ? true : n === 0 ? false : n;
      default:
        return n;
    }
  };

  const events = parseSax(book.zip.text(part))[Symbol.asyncIterator]();
  try {
    yield* rowsOf(events);
  } finally {
    await events.return?.();
  }

  async function* rowsOf(events: AsyncIterator<SaxEvent[]>): AsyncGenerator<SheetRow> {
    for (;;) {
      let next: IteratorResult<SaxEvent[]>;
      try {
        next = await events.next();
      } catch (error) {
        throw unreadable(label, error);
      }
      if (next.done) break;
      for (const { eventType, value: node } of next.value) {
        if (eventType === "text") {
          if (capture) text += node;
          continue;
        }
        let name = node.name;
        const colon = name.indexOf(":");
        if (colon >= 0) name = name.slice(colon + 1);
        if (eventType === "opentag") {
          switch (name) {
            case "sheetData":
              inData = true;
              break;
            case "row":
              if (!inData) break;
              rowNumber = node.attributes.r ? Number(node.attributes.r) : rowNumber + 1;
              cells = [];
              col = 0;
              break;
            case "c": {
              if (!inData) break;
              const a = node.attributes;
              col = a.r ? columnOf(a.r) : col + 1;
              ref = a.r ?? `${columnName(col)}${rowNumber}`;
              type = a.t ?? "n";
              style = a.s ? Number(a.s) : 0;
              formula = value = inline = null;
              inCell = true;
              break;
            }
            case "f":
            case "v":
              if (inCell) {
                capture = true;
                text = "";
              }
              break;
            case "is":
              if (inCell) inline = "";
              break;
            case "t":
              if (inCell && inline !== null && !phonetic) {
                capture = true;
                text = "";
              }
              break;
            case "rPh":
              phonetic = true;
              break;
          }
        } else {
          switch (name) {
            case "sheetData":
              inData = false;
              break;
            case "f":
              if (inCell) formula = text;
              capture = false;
              break;
            case "v":
              if (inCell) value = text;
              capture = false;
              break;
            case "t":
              if (inCell && inline !== null && !phonetic) inline += text;
              capture = false;
              break;
            case "rPh":
              phonetic = false;
              break;
            case "c":
              if (inCell) {
                const v = cellValue();
                if (v !== null) cells[col - 1] = v;
                inCell = false;
              }
              break;
            case "row":
              if (inData) yield { row: rowNumber, cells };
              break;
          }
        }
      }
    }
  }
}
