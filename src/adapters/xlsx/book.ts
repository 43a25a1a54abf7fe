/**
 * A workbook opened for reading: the parts the package's relationships point at (workbook,
 * worksheets, shared strings, styles), the sheet list in tab order, the date system, the shared
 * string table and what each cell style's number format makes of a number.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { findSheet } from "./book.ts";
 * // const book = await Book.open("Q3.xlsx", "Q3.xlsx"); then book.list is the workbook's list
 * const list = { names: ["Summary", "Customers"], date1904: false };
 * strictEqual(findSheet(list, "customers"), "Customers");
 * strictEqual(findSheet(list, "2"), "Customers");
 * strictEqual(findSheet(list, "Orders"), undefined);
 * ```
 * @module
 */
import { DsyncError, InputError } from "../../model/errors.ts";
import { decodeText, type NumberKind, numberKind } from "./cells.ts";
import type { ExcelLib } from "./exceljs.ts";
import { ZipFile } from "./zip.ts";

/** The sheets of a workbook, in tab order, and how to find one by name or position. */
export interface SheetList {
  names: string[];
  date1904: boolean;
  /**
   * LibreOffice wrote the book (`docProps/app.xml`): its 1900-system serials count from
   * 1899-12-30 throughout, without Excel's phantom 1900-02-29.
   */
  libreOffice?: boolean;
}

/** A sheet by exact name, else by name ignoring case, else by 1-based position. */
export function findSheet(list: SheetList, wanted: string): string | undefined {
  const exact = list.names.find((n) => n === wanted);
  if (exact !== undefined) return exact;
  const folded = list.names.find((n) => n.toLowerCase() === wanted.toLowerCase());
  if (folded !== undefined) return folded;
  if (/^\d+$/.test(wanted)) return list.names[Number(wanted) - 1];
  return undefined;
}

/** A workbook opened for reading: its sheets, date system, shared strings and styles. */
export class Book {
  #shared: string[] | undefined;
  #kinds: NumberKind[] | undefined;

  private constructor(
    readonly zip: ZipFile,
    readonly list: SheetList,
    readonly parts: Map<string, string>,
    readonly sharedPart: string | undefined,
    readonly stylesPart: string | undefined,
  ) {}

  /** Opens a workbook and reads its sheet list; an input error when it is not one. */
  static async open(path: string, label: string): Promise<Book> {
    const zip = await ZipFile.open(path, label);
    try {
      const rootRels = zip.has("_rels/.rels") ? await zip.whole("_rels/.rels") : "";
      const main = elements(rootRels, "Relationship")
        .find((r) => /\/officeDocument$/.test(r.Type ?? ""))?.Target;
      const workbookPart = main ? resolvePart("", main) : "xl/workbook.xml";
      if (!zip.has(workbookPart)) {
        throw new InputError(
          `${label}: not an xlsx workbook (a ZIP archive without ${workbookPart})`,
          "save it as an Excel Workbook (.xlsx)",
        );
      }
      const workbook = await zip.whole(workbookPart);
      const relsPart = resolvePart(workbookPart, `_rels/${workbookPart.split("/").pop()}.rels`);
      const rels = zip.has(relsPart) ? elements(await zip.whole(relsPart), "Relationship") : [];
      const target = (type: string) => {
        const rel = rels.find((r) => (r.Type ?? "").endsWith(`/${type}`));
        return rel?.Target ? resolvePart(workbookPart, rel.Target) : undefined;
      };
      const parts = new Map<string, string>();
      const names: string[] = [];
      for (const sheet of elements(workbook, "sheet")) {
        const id = Object.entries(sheet).find(([k]) => k === "r:id" || k.endsWith(":id"))?.[1];
        const rel = rels.find((r) => r.Id === id);
        names.push(sheet.name);
        if (rel?.Target && (rel.Type ?? "").endsWith("/worksheet")) {
          parts.set(sheet.name, resolvePart(workbookPart, rel.Target));
        }
      }
      const pr = elements(workbook, "workbookPr")[0] ?? {};
      const date1904 = pr.date1904 === "1" || pr.date1904 === "true";
      const app = zip.has("docProps/app.xml") ? await zip.whole("docProps/app.xml") : "";
      const libreOffice = /<Application>\s*LibreOffice/.test(app);
      return new Book(
        zip,
        { names, date1904, libreOffice },
        parts,
        target("sharedStrings"),
        target("styles"),
      );
    } catch (error) {
      throw unreadable(label, error);
    }
  }

  /** The shared string table (rich text as plain text, phonetic runs left out). */
  async sharedStrings(parseSax: ExcelLib["parseSax"]): Promise<string[]> {
    if (this.#shared) return this.#shared;
    const strings: string[] = [];
    if (this.sharedPart && this.zip.has(this.sharedPart)) {
      let current = "";
      let capture = false;
      let phonetic = false;
      for await (const events of parseSax(this.zip.text(this.sharedPart))) {
        for (const { eventType, value } of events) {
          if (eventType === "text") {
            if (capture) current += value;
            continue;
          }
          const name = localName(value.name);
          if (eventType === "opentag") {
            if (name === "si") current = "";
            else if (name === "t" && !phonetic) capture = true;
            else if (name === "rPh") phonetic = true;
          } else if (name === "t") capture = false;
          else if (name === "rPh") phonetic = false;
          else if (name === "si") strings.push(decodeText(current));
        }
      }
    }
    return this.#shared = strings;
  }

  /** What each cell style's number format makes of a number. */
  async styleKinds(lib: ExcelLib): Promise<NumberKind[]> {
    if (this.#kinds) return this.#kinds;
    const kinds: NumberKind[] = [];
    if (this.stylesPart && this.zip.has(this.stylesPart)) {
      const styles = lib.newStyles();
      await styles.parseStream(this.zip.text(this.stylesPart));
      for (let i = 0; i < styles.model.styles.length; i++) {
        kinds.push(numberKind(styles.getStyleModel(i)?.numFmt));
      }
    }
    return this.#kinds = kinds;
  }
}

function localName(name: string): string {
  const colon = name.indexOf(":");
  return colon < 0 ? name : name.slice(colon + 1);
}

/** A reading failure of exceljs or the ZIP/XML layer, as one plain input error. */
export function unreadable(label: string, error: unknown): DsyncError {
  if (error instanceof DsyncError) return error;
  const message = (error as Error)?.message ?? String(error);
  return new InputError(
    `${label}: not a readable xlsx workbook (${message.split("\n")[0]})`,
    "is the file complete? open it in Excel or LibreOffice and save it again as .xlsx",
  );
}

/** Attributes of the XML elements named `element` (any namespace prefix) in a small part. */
function elements(xml: string, element: string): Record<string, string>[] {
  const found: Record<string, string>[] = [];
  const re = new RegExp(`<(?:\\w+:)?${element}\\b([^>]*?)/?>`, "g");
  for (const m of xml.matchAll(re)) {
    const attributes: Record<string, string> = {};
    for (const a of m[1].matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
      attributes[a[1]] = xmlUnescape(a[2] ?? a[3]);
    }
    found.push(attributes);
  }
  return found;
}

function xmlUnescape(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#x[0-9a-fA-F]+|#\d+);/g, (_, e: string) => {
    switch (e) {
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "amp":
        return "&";
      case "quot":
        return '"';
      case "apos":
        return "'";
    }
    return String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
  });
}

/** Resolves a relationship target against the folder of the part that names it. */
function resolvePart(from: string, target: string): string {
  if (target.startsWith("/")) return target.slice(1);
  const parts = from.split("/").slice(0, -1);
  for (const segment of target.split("/")) {
    if (segment === "..") parts.pop();
    else if (segment !== ".") parts.push(segment);
  }
  return parts.join("/");
}
