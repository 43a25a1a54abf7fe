/**
 * The ZIP container of a workbook. exceljs's streaming WorkbookReader reads the archive front to
 * back with unzipper; under Deno it stops early on archives whose entries carry data descriptors
 * (as exceljs's own writer makes them), and it decodes chunks of UTF-8 without carrying split
 * characters over. dsync reads the central directory instead and inflates one part at a time.
 *
 * @example
 * ```ts
 * import { match, ok } from "node:assert/strict";
 * import type { WritePlan } from "../../adapter_kit/changes.ts";
 * import { writeNewBook } from "./writer.ts";
 * import { ZipFile } from "./zip.ts";
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
 * const zip = await ZipFile.open(path, "Q3.xlsx");
 * match(await zip.whole("xl/workbook.xml"), /<sheet [^>]*name="Customers"/);
 * ok(zip.has("xl/worksheets/sheet1.xml"));
 * let sheetXml = "";
 * for await (const chunk of zip.text("xl/worksheets/sheet1.xml")) sheetXml += chunk;
 * match(sheetXml, /<sheetData>/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { InputError } from "../../model/errors.ts";

/** Where a part lies in the archive and how it is stored (from the central directory). */
export interface ZipEntry {
  method: number;
  flags: number;
  compressedSize: number;
  offset: number;
}

/** A ZIP archive on disk, read by random access: parts are streamed, never loaded whole. */
export class ZipFile {
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

  /** Whether the archive holds a part of that name. */
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
