/**
 * Excel workbooks (.xlsx), on exceljs: one worksheet is a dataset, its header row names the
 * fields. Reading streams the sheet (exceljs's `WorkbookReader` unzips it and caches the shared
 * strings and styles; dsync turns the sheet's cells into values itself, with exceljs's SAX
 * helper), so a large sheet is never loaded whole. Writing rewrites the workbook atomically
 * (temporary file + rename): an existing book keeps its other sheets, column widths and the
 * formatting of untouched cells; a new book gets a bold, frozen header row and real Excel types.
 * docs/types.md ("Excel (xlsx)") has the value rules.
 *
 * exceljs is imported lazily, on first use, so that start-up (`dsync --version`) stays fast.
 *
 * @example
 * ```sh
 * dsync xlsx:sqlite Q3.xlsx#Customers app.db#customers --key customer_id
 * dsync sqlite:xlsx app.db#users report.xlsx#Users
 * ```
 * @module
 */
import type { WritePlan } from "../../adapter_kit/changes.ts";
import { basename, dirname, join } from "node:path";
import { DsyncError, InputError, TargetError, UsageError } from "../../model/errors.ts";
import { fileExists } from "../../adapter_kit/files.ts";
import type { DatasetInfo, Importer, OpenContext, Target } from "../../adapter_kit/importer.ts";
import type { Field, FieldType, Row, RowBatch } from "../../model/types.ts";
import { convertValue, decimalFromNumber } from "../../model/values.ts";
import { take } from "../../adapter_kit/batches.ts";

type ExcelJsModule = typeof import("exceljs");
type Workbook = import("exceljs").Workbook;
type Worksheet = import("exceljs").Worksheet;
type Cell = import("exceljs").Cell;
type CellValue = import("exceljs").CellValue;

/** Options of the xlsx adapter. */
export interface XlsxOptions {
  /** Worksheet name, or 1-based position when no sheet has that name. */
  sheet?: string;
  /** Row holding the field names (1-based). Default 1. */
  headerRow?: number;
  /** What an error cell (`#N/A`, `#DIV/0!`) reads as: `fail` (an input error) or `null`. */
  errors?: "fail" | "null";
}

// ---------------------------------------------------------------------------------------------
// exceljs, loaded on first use

interface SaxEvent {
  eventType: "opentag" | "text" | "closetag";
  value: { name: string; attributes: Record<string, string> } & string;
}

/** exceljs's style manager, as far as dsync uses it. */
interface StyleManager {
  parseStream(stream: AsyncIterable<string>): Promise<unknown>;
  getStyleModel(id: number): { numFmt?: string } | null;
  model: { styles: unknown[] };
}

interface ExcelLib {
  ExcelJS: ExcelJsModule;
  /** exceljs's SAX helper: batches of events for each chunk of text. */
  parseSax: (iterable: AsyncIterable<string>) => AsyncIterable<SaxEvent[]>;
  /** exceljs's parser of xl/styles.xml, which knows the built-in number formats. */
  newStyles: () => StyleManager;
}

let excelLib: Promise<ExcelLib> | undefined;

function loadExcel(): Promise<ExcelLib> {
  excelLib ??= (async () => {
    const ExcelJS = ((await import("exceljs")) as { default: ExcelJsModule }).default;
    const sax = await import("exceljs/lib/utils/parse-sax.js") as {
      default: ExcelLib["parseSax"];
    };
    const styles = await import("exceljs/lib/xlsx/xform/style/styles-xform.js") as {
      default: new () => StyleManager;
    };
    return { ExcelJS, parseSax: sax.default, newStyles: () => new styles.default() };
  })();
  return excelLib;
}

// ---------------------------------------------------------------------------------------------
// The ZIP container. exceljs's streaming WorkbookReader reads the archive front to back with
// unzipper; under Deno it stops early on archives whose entries carry data descriptors (as
// exceljs's own writer makes them), and it decodes chunks of UTF-8 without carrying split
// characters over. dsync reads the central directory instead and inflates one part at a time.

interface ZipEntry {
  method: number;
  flags: number;
  compressedSize: number;
  offset: number;
}

/** A ZIP archive on disk, read by random access: parts are streamed, never loaded whole. */
class ZipFile {
  private constructor(
    readonly label: string,
    readonly path: string,
    readonly entries: Map<string, ZipEntry>,
  ) {}

  /** Opens an archive; an input error when it is not one, or is truncated. */
  static async open(path: string, label: string): Promise<ZipFile> {
    await checkSignature(path, label);
    const file = await Deno.open(path);
    try {
      const size = (await file.stat()).size;
      const tailLength = Math.min(size, 65557);
      const tail = await readAt(file, size - tailLength, tailLength);
      const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
      let end = -1;
      for (let i = tail.length - 22; i >= 0; i--) {
        if (view.getUint32(i, true) === 0x06054b50) {
          end = i;
          break;
        }
      }
      if (end < 0) {
        throw new InputError(
          `${label}: not a readable xlsx workbook: the ZIP archive is truncated or corrupt`,
          "is the file complete? open it in Excel or LibreOffice and save it again as .xlsx",
        );
      }
      const count = view.getUint16(end + 10, true);
      const cdSize = view.getUint32(end + 12, true);
      const cdOffset = view.getUint32(end + 16, true);
      if (count === 0xffff || cdOffset === 0xffffffff) {
        throw new InputError(`${label}: ZIP64 workbooks (over 4 GB) are not supported`);
      }
      const cd = await readAt(file, cdOffset, cdSize);
      const cdView = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
      const entries = new Map<string, ZipEntry>();
      const decoder = new TextDecoder();
      let at = 0;
      for (let n = 0; n < count; n++) {
        if (at + 46 > cd.length || cdView.getUint32(at, true) !== 0x02014b50) {
          throw new InputError(`${label}: not a readable xlsx workbook: corrupt ZIP directory`);
        }
        const nameLength = cdView.getUint16(at + 28, true);
        const name = decoder.decode(cd.subarray(at + 46, at + 46 + nameLength));
        entries.set(name, {
          flags: cdView.getUint16(at + 8, true),
          method: cdView.getUint16(at + 10, true),
          compressedSize: cdView.getUint32(at + 20, true),
          offset: cdView.getUint32(at + 42, true),
        });
        at += 46 + nameLength + cdView.getUint16(at + 30, true) + cdView.getUint16(at + 32, true);
      }
      return new ZipFile(label, path, entries);
    } finally {
      file.close();
    }
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** A part's text, streamed in chunks (inflated, decoded as UTF-8). */
  async *text(name: string): AsyncGenerator<string> {
    const entry = this.entries.get(name);
    if (!entry) throw new InputError(`${this.label}: not an xlsx workbook (no ${name})`);
    if (entry.flags & 1) {
      throw new InputError(`${this.label}: the workbook is encrypted; dsync cannot read it`);
    }
    if (entry.method !== 0 && entry.method !== 8) {
      throw new InputError(`${this.label}: ${name} uses an unsupported ZIP compression`);
    }
    // Each part gets its own file handle: a part abandoned half-read (the header row found)
    // may still have a read in flight when the next part is opened.
    const file = await Deno.open(this.path);
    let open = true;
    const release = () => {
      if (open) file.close();
      open = false;
    };
    let position: number;
    try {
      const header = await readAt(file, entry.offset, 30);
      const hv = new DataView(header.buffer, header.byteOffset, header.byteLength);
      if (header.length < 30 || hv.getUint32(0, true) !== 0x04034b50) {
        throw new InputError(
          `${this.label}: not a readable xlsx workbook: corrupt ZIP entry ${name}`,
        );
      }
      position = entry.offset + 30 + hv.getUint16(26, true) + hv.getUint16(28, true);
    } catch (error) {
      release();
      throw error;
    }
    let left = entry.compressedSize;
    const raw = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (left === 0) {
          release();
          return controller.close();
        }
        const chunk = await readAt(file, position, Math.min(left, 1 << 16));
        if (chunk.length === 0) {
          release();
          return controller.error(new Error(`${name} ends early (truncated file)`));
        }
        position += chunk.length;
        left -= chunk.length;
        controller.enqueue(chunk);
      },
      cancel: release,
    });
    const bytes = entry.method === 8
      ? raw.pipeThrough(
        new DecompressionStream("deflate-raw") as TransformStream<
          Uint8Array,
          Uint8Array
        >,
      )
      : raw;
    try {
      yield* bytes.pipeThrough(new TextDecoderStream());
    } finally {
      release();
    }
  }

  /** A small part's whole text. */
  async whole(name: string): Promise<string> {
    let all = "";
    for await (const chunk of this.text(name)) all += chunk;
    return all;
  }
}

async function readAt(file: Deno.FsFile, position: number, length: number): Promise<Uint8Array> {
  await file.seek(position, Deno.SeekMode.Start);
  const out = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = await file.read(out.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return out.subarray(0, filled);
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

/** A workbook opened for reading: its sheets, date system, shared strings and styles. */
class Book {
  #shared: string[] | undefined;
  #kinds: NumberKind[] | undefined;

  private constructor(
    readonly zip: ZipFile,
    readonly list: SheetList,
    readonly parts: Map<string, string>,
    readonly sharedPart: string | undefined,
    readonly stylesPart: string | undefined,
  ) {}

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
      return new Book(
        zip,
        { names, date1904 },
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

// ---------------------------------------------------------------------------------------------
// Cells

/** What a number format makes of a number cell. */
type NumberKind = "number" | "date" | "datetime" | "time" | "duration" | "boolean";

/** Classifies an Excel number format code (the part for positive numbers). */
export function numberKind(format: string | undefined): NumberKind {
  if (!format) return "number";
  if (/^"TRUE";"TRUE";"FALSE"$/i.test(format)) return "boolean";
  const section = format.split(";")[0]
    .replace(/"[^"]*"/g, "")
    .replace(/\\./g, "")
    .replace(/_.|\*./g, "");
  if (/\[(h+|m+|s+)\]/i.test(section)) return "duration";
  const bare = section.replace(/\[[^\]]*\]/g, "").replace(/AM\/PM|A\/P/gi, "")
    .replace(/General/gi, "").replace(/E[+-]/gi, "");
  const hasTime = /[hs]/i.test(bare);
  const hasDate = /[yde]/i.test(bare) || (/m/i.test(bare) && !hasTime);
  if (hasDate && hasTime) return "datetime";
  if (hasDate) return "date";
  if (hasTime) return "time";
  return "number";
}

const DAY_MS = 86_400_000;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/**
 * The ISO text of an Excel serial date: a date when it is midnight, else a timestamp (to the
 * millisecond); a time of day (`HH:MM:SS`) for a time-formatted value under one day. Serial 60
 * of the 1900 system is 1900-02-29, a day that never was (Lotus 1-2-3's leap-year bug).
 */
export function serialToIso(serial: number, date1904: boolean, kind: NumberKind): string {
  const ms = Math.round(serial * DAY_MS);
  const days = Math.floor(ms / DAY_MS);
  const dayMs = ms - days * DAY_MS;
  const time = `${pad(Math.floor(dayMs / 3_600_000))}:${pad(Math.floor(dayMs / 60_000) % 60)}:${
    pad(Math.floor(dayMs / 1000) % 60)
  }${dayMs % 1000 ? "." + pad(dayMs % 1000, 3).replace(/0+$/, "") : ""}`;
  if (kind === "time" && days === 0) return time;
  if (!date1904 && days === 60) throw new RangeError("1900-02-29 does not exist");
  // 1900 system: serials 1-59 count from 1899-12-31; from 61 on, Lotus's phantom 29 February
  // shifts them by one (so 25569 is 1970-01-01). Serials below 0 follow the later rule.
  const unixDays = date1904 ? days - 24107 : days > 0 && days < 60 ? days - 25568 : days - 25569;
  const d = new Date(unixDays * DAY_MS);
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return dayMs === 0 ? date : `${date}T${time}`;
}

/** The serial of a date in the book's date system, or null when Excel cannot show it. */
export function dateToSerial(y: number, m: number, d: number, date1904: boolean): number | null {
  if (y < 1900 || y > 9999) return null;
  const unixDays = Date.UTC(y, m - 1, d) / DAY_MS;
  if (date1904) return unixDays + 24107 >= 0 ? unixDays + 24107 : null;
  const serial = unixDays + 25569;
  return serial >= 61 ? serial : unixDays + 25568;
}

/** OOXML escapes characters XML cannot hold as `_xHHHH_`; `_x005F_` is a literal `_`. */
function decodeText(text: string): string {
  return text.includes("_x")
    ? text.replace(/_x([0-9A-Fa-f]{4})_/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)))
    : text;
}

function encodeText(text: string): string {
  return text.replace(
    // deno-lint-ignore no-control-regex
    /_(?=x[0-9A-Fa-f]{4}_)|[\0-\x08\x0B\x0C\r\x0E-\x1F\uFFFE\uFFFF]/g,
    (c) => `_x${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}_`,
  );
}

/** A cell that cannot be read (an error value, a formula without a result), kept until used. */
class BadCell {
  constructor(readonly ref: string, readonly problem: string, readonly isError: boolean) {}
}

/** Column number (1-based) of a cell reference such as `AB12`. */
function columnOf(ref: string): number {
  let n = 0;
  for (let i = 0; i < ref.length; i++) {
    const c = ref.charCodeAt(i);
    if (c < 65 || c > 90) break;
    n = n * 26 + c - 64;
  }
  return n;
}

/** Letters of a 1-based column number. */
export function columnName(n: number): string {
  let s = "";
  for (; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

/** One row of a sheet as read: its number and its cells by column (index 0 = column A). */
interface SheetRow {
  row: number;
  cells: unknown[];
}

/** The sheets of a workbook, in tab order, and how to find one by name or position. */
interface SheetList {
  names: string[];
  date1904: boolean;
}

function findSheet(list: SheetList, wanted: string): string | undefined {
  const exact = list.names.find((n) => n === wanted);
  if (exact !== undefined) return exact;
  const folded = list.names.find((n) => n.toLowerCase() === wanted.toLowerCase());
  if (folded !== undefined) return folded;
  if (/^\d+$/.test(wanted)) return list.names[Number(wanted) - 1];
  return undefined;
}

/** Looks at a file's first bytes: an input error unless it is a ZIP archive. */
async function checkSignature(path: string, label: string): Promise<void> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (error) {
    throw new InputError(`${label}: cannot open: ${(error as Error).message.split(":")[0]}`);
  }
  try {
    const head = new Uint8Array(8);
    const n = await file.read(head) ?? 0;
    if (n >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 3 && head[3] === 4) return;
    if (
      n === 8 && [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1].every((b, i) => head[i] === b)
    ) {
      const bytes = await Deno.readFile(path);
      const marker = new Uint8Array([..."EncryptionInfo"].flatMap((c) => [c.charCodeAt(0), 0]));
      throw indexOf(bytes, marker) >= 0
        ? new InputError(
          `${label}: the workbook is password-protected (encrypted); dsync cannot read it`,
          "save a copy without a password (File › Info › Protect Workbook in Excel)",
        )
        : new InputError(
          `${label}: not an xlsx workbook: an OLE2 file (a legacy .xls workbook?)`,
          "save it as an Excel Workbook (.xlsx)",
        );
    }
    throw new InputError(
      `${label}: not an xlsx workbook: ${n === 0 ? "the file is empty" : "not a ZIP archive"}`,
      "save it as an Excel Workbook (.xlsx)",
    );
  } finally {
    file.close();
  }
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** A reading failure of exceljs or the ZIP/XML layer, as one plain input error. */
function unreadable(label: string, error: unknown): DsyncError {
  if (error instanceof DsyncError) return error;
  const message = (error as Error)?.message ?? String(error);
  return new InputError(
    `${label}: not a readable xlsx workbook (${message.split("\n")[0]})`,
    "is the file complete? open it in Excel or LibreOffice and save it again as .xlsx",
  );
}

/** Streams the rows of one worksheet of an open book. */
async function* sheetRows(book: Book, sheet: string, label: string): AsyncGenerator<SheetRow> {
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
          return serialToIso(n, list.date1904, kind);
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

// ---------------------------------------------------------------------------------------------
// Writing values

interface CellOut {
  value: CellValue;
  /** Number format the value needs (dates, times), or undefined for General. */
  format?: string;
  /** Kind of the format, for keeping a cell's own date format. */
  kind?: NumberKind;
}

const DATE_FORMAT = "yyyy-mm-dd";
const DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss";
const TIME_FORMAT = "hh:mm:ss";
const CANONICAL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const CANONICAL_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?$/;
const CANONICAL_TIME = /^(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?$/;
/** Most characters Excel keeps in one cell. */
const CELL_LIMIT = 32767;

function textCell(text: string): CellOut {
  return { value: encodeText(text) };
}

function dateCell(text: string, date1904: boolean, strict: boolean): CellOut | null {
  let m = CANONICAL_DATE.exec(text);
  if (m) {
    if (strict && !sameAfter(text, "date")) return null;
    const serial = dateToSerial(Number(m[1]), Number(m[2]), Number(m[3]), date1904);
    return serial === null ? null : { value: serial, format: DATE_FORMAT, kind: "date" };
  }
  m = CANONICAL_TIMESTAMP.exec(text);
  if (m) {
    if (strict && !sameAfter(text, "timestamp")) return null;
    if (Number(m[6]) > 59) return null;
    const serial = dateToSerial(Number(m[1]), Number(m[2]), Number(m[3]), date1904);
    if (serial === null) return null;
    const ms = ((Number(m[4]) * 60 + Number(m[5])) * 60 + Number(m[6])) * 1000 +
      Math.round(Number(m[7] ?? 0) * 1000);
    return {
      value: serial + ms / DAY_MS,
      format: m[7] ? DATETIME_FORMAT + ".000" : DATETIME_FORMAT,
      kind: "datetime",
    };
  }
  return null;
}

function sameAfter(text: string, type: FieldType): boolean {
  try {
    return convertValue(text, type) === text;
  } catch {
    return false;
  }
}

/**
 * The cell for a value of a field type: numbers as numbers, booleans as booleans, dates, times
 * and timestamps as Excel dates; what Excel cannot hold exactly (64-bit integers, long decimals,
 * sub-millisecond times, dates before 1900, times with a zone) as text that reads back equal.
 */
export function cellFor(value: unknown, type: FieldType, date1904 = false): CellOut | null {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case "boolean":
      return { value };
    case "number":
      return Number.isFinite(value) ? { value } : textCell(String(value));
    case "bigint":
      return value >= -(2n ** 53n) + 1n && value <= 2n ** 53n - 1n
        ? { value: Number(value) }
        : textCell(value.toString());
    case "string":
      break;
    default:
      return textCell(
        type === "json" ? JSON.stringify(value) : convertValue(value, "text") as string,
      );
  }
  const text = value as string;
  switch (type) {
    case "date":
    case "timestamp":
      return dateCell(text, date1904, false) ?? textCell(text);
    case "auto":
      return dateCell(text, date1904, true) ?? textCell(text);
    case "time": {
      const m = CANONICAL_TIME.exec(text);
      if (!m || Number(m[3]) > 59) return textCell(text);
      const ms = ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 +
        Math.round(Number(m[4] ?? 0) * 1000);
      return {
        value: ms / DAY_MS,
        format: m[4] ? TIME_FORMAT + ".000" : TIME_FORMAT,
        kind: "time",
      };
    }
    case "decimal": {
      const n = Number(text);
      return Number.isFinite(n) && decimalFromNumber(n) === text ? { value: n } : textCell(text);
    }
    case "json":
      return textCell(JSON.stringify(text));
    default:
      return textCell(text);
  }
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

// ---------------------------------------------------------------------------------------------
// The dataset

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
    if (!this.#bookExists) await this.#writeNewBook(plan, progress);
    else await this.#rewriteBook(plan, info);
    progress?.(total);
  }

  /** A new workbook, streamed to a temporary file with exceljs's `WorkbookWriter`. */
  async #writeNewBook(plan: WritePlan, progress?: (written: number) => void): Promise<void> {
    const { ExcelJS } = await loadExcel();
    const sheet = this.#sheet ?? "Sheet1";
    await atomicFile(this.path, async (temp) => {
      const book = new ExcelJS.stream.xlsx.WorkbookWriter({
        filename: temp,
        useStyles: true,
        useSharedStrings: true,
      });
      const ws = book.addWorksheet(sheet, {
        views: [{ state: "frozen", ySplit: this.#headerRow }],
      });
      const cells = (values: Row) => plan.fields.map((f, i) => cellFor(values[i], f.type));
      const sample = [...take(plan.creates, 1000)].map((c) => cells(c.after));
      ws.columns = plan.fields.map((f, i) => ({
        width: columnWidth(f.name, sample.map((o) => o[i])),
      }));
      const head = ws.getRow(this.#headerRow);
      plan.fields.forEach((f, i) => {
        const cell = head.getCell(i + 1);
        cell.value = encodeText(f.name);
        cell.font = { bold: true };
      });
      head.commit();
      let r = 0;
      for (const create of plan.creates) {
        const row = ws.getRow(this.#headerRow + 1 + r);
        cells(create.after).forEach((out, i) => {
          if (out) setCell(row.getCell(i + 1), out, `${this.label}: row ${row.number}`);
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

  /** An existing workbook: loaded whole, the sheet changed in place, written back. */
  async #rewriteBook(plan: WritePlan, info: DatasetInfo): Promise<void> {
    const { ExcelJS } = await loadExcel();
    const bytes = await Deno.readFile(this.path);
    const lost = unkeptParts([...(this.#book?.zip.entries.keys() ?? [])]);
    if (lost.length) {
      throw new TargetError(
        `${this.path}: dsync would drop this workbook's ${
          lost.join(", ")
        } when rewriting it; nothing written`,
        "sync into a sheet of a separate workbook, and link it from this one",
      );
    }
    // Where the changed records are: the same reader as the diff, so keys match exactly.
    const rowOf = new Map<string, number>();
    if (info.exists && (plan.updates.length || plan.deletes.length)) {
      const wanted = new Set([...plan.updates, ...plan.deletes].map((c) => c.keyText));
      for await (const batch of this.read(5000)) {
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
      throw unreadable(this.path, error);
    }
    const date1904 = this.#date1904;
    let ws = book.getWorksheet(this.#sheet!);
    let columns = this.#columns;
    if (!info.exists) {
      ws ??= book.addWorksheet(this.#sheet!, {
        views: [{ state: "frozen", ySplit: this.#headerRow }],
      });
      columns = plan.fields.map((_, i) => i + 1);
      const head = ws.getRow(this.#headerRow);
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
    if (!ws) throw new TargetError(`${this.path}: sheet '${this.#sheet}' vanished while writing`);
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
          `${this.label}: row ${rowNumber}`,
        );
      }
    }
    const deleted = [...plan.deletes].map((d) => rowOf.get(d.keyText)).filter((r) =>
      r !== undefined
    );
    if (deleted.length) removeRows(ws, new Set(deleted));

    if (plan.creates.length) {
      let last = ws.rowCount;
      while (last > this.#headerRow && !rowHasValues(ws, last)) last--;
      const model = last > this.#headerRow ? ws.getRow(last) : undefined;
      let r = 0;
      for (const create of plan.creates) {
        const row = ws!.getRow(last + 1 + r++);
        plan.fields.forEach((f, i) => {
          const cell = row.getCell(columnOfField[i]);
          if (model) cell.style = structuredClone(model.getCell(columnOfField[i]).style ?? {});
          setCell(cell, cellFor(create.after[i], f.type, date1904), `${this.label}: new row`);
        });
      }
    }

    await atomicFile(this.path, (temp) => book.xlsx.writeFile(temp));
  }

  close(): Promise<void> {
    this.#book = undefined;
    return Promise.resolve();
  }
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

/**
 * Writes a file atomically: `write` fills a temporary file beside it, which then replaces the
 * file in one rename. On failure the temporary file is removed and the file left as it was.
 */
async function atomicFile(path: string, write: (temp: string) => Promise<void>): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.dsync-${Deno.pid}.tmp`);
  try {
    await write(temp);
    const file = await Deno.open(temp, { read: true, write: true });
    try {
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    if (error instanceof DsyncError) throw error;
    throw new TargetError(`${path}: cannot write: ${(error as Error).message}`);
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

function parseLocator(locator: string): [string, string | undefined] {
  if (locator === "-") {
    throw new UsageError("xlsx: a workbook must be a file, not - (stdin/stdout)");
  }
  const hash = locator.indexOf("#");
  if (hash < 0) return [locator, undefined];
  const sheet = locator.slice(hash + 1);
  if (sheet === "") {
    throw new UsageError(`${locator}: no sheet name after '#'`, "write BOOK.xlsx#Sheet");
  }
  return [locator.slice(0, hash), sheet];
}

function xlsxOptions(ctx: OpenContext): XlsxOptions {
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
    const [path, sheet] = parseLocator(locator ?? `${ctx.sourceName ?? "out"}.xlsx`);
    return Promise.resolve(new XlsxSheet(path, "target", sheet, xlsxOptions(ctx)));
  },
};
