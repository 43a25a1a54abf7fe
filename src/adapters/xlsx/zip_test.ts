/**
 * Unit tests of the ZIP part reader: archives built here byte by byte (stored, deflated and
 * data-descriptor entries), a LibreOffice fixture, and damaged files of every kind the reader
 * names.
 *
 * @module
 */
import assert from "node:assert/strict";
import { crc32, deflateRawSync } from "node:zlib";
import { InputError } from "../../model/errors.ts";
import { ZipFile } from "./zip.ts";

/** One entry of an archive to build. */
interface Part {
  name: string;
  data: Uint8Array;
  /** 0 stored, 8 deflated, or any other method number (for the unsupported case). */
  method: number;
  /** General purpose flags: bit 0 encrypted, bit 3 sizes in a data descriptor. */
  flags?: number;
}

/** A ZIP archive of the parts, as `zip` writes one (no ZIP64). */
function buildZip(parts: Part[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const directory: Uint8Array[] = [];
  let offset = 0;
  for (const part of parts) {
    const name = new TextEncoder().encode(part.name);
    const body = part.method === 8 ? new Uint8Array(deflateRawSync(part.data)) : part.data;
    const crc = crc32(part.data);
    const flags = part.flags ?? 0;
    const descriptor = (flags & 8) !== 0;
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 20, true);
    local.setUint16(6, flags, true);
    local.setUint16(8, part.method, true);
    local.setUint32(14, descriptor ? 0 : crc, true);
    local.setUint32(18, descriptor ? 0 : body.length, true);
    local.setUint32(22, descriptor ? 0 : part.data.length, true);
    local.setUint16(26, name.length, true);
    const entry = [new Uint8Array(local.buffer), name, body];
    if (descriptor) {
      const dd = new DataView(new ArrayBuffer(16));
      dd.setUint32(0, 0x08074b50, true);
      dd.setUint32(4, crc, true);
      dd.setUint32(8, body.length, true);
      dd.setUint32(12, part.data.length, true);
      entry.push(new Uint8Array(dd.buffer));
    }
    const central = new DataView(new ArrayBuffer(46));
    central.setUint32(0, 0x02014b50, true);
    central.setUint16(4, 20, true);
    central.setUint16(6, 20, true);
    central.setUint16(8, flags, true);
    central.setUint16(10, part.method, true);
    central.setUint32(16, crc, true);
    central.setUint32(20, body.length, true);
    central.setUint32(24, part.data.length, true);
    central.setUint16(28, name.length, true);
    central.setUint32(42, offset, true);
    directory.push(new Uint8Array(central.buffer), name);
    for (const c of entry) {
      chunks.push(c);
      offset += c.length;
    }
  }
  const cdSize = directory.reduce((n, c) => n + c.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, parts.length, true);
  end.setUint16(10, parts.length, true);
  end.setUint32(12, cdSize, true);
  end.setUint32(16, offset, true);
  const all = [...chunks, ...directory, new Uint8Array(end.buffer)];
  const out = new Uint8Array(all.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of all) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);

/** Writes bytes to a temporary file, runs `body` on its path, removes the file. */
async function withFile(bytes: Uint8Array, body: (path: string) => Promise<void>): Promise<void> {
  const path = await Deno.makeTempFile({ suffix: ".xlsx" });
  try {
    await Deno.writeFile(path, bytes);
    await body(path);
  } finally {
    await Deno.remove(path);
  }
}

/** Rejects with an InputError whose message matches. */
async function rejectsInput(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof InputError, `an InputError, got ${error}`);
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("stored, deflated and data-descriptor parts read back part by part", async () => {
  const sheet = `<sheetData>${"<row><c><v>1</v></c></row>".repeat(5000)}</sheetData>`;
  const zip = buildZip([
    { name: "[Content_Types].xml", data: text("<Types/>"), method: 0 },
    { name: "xl/worksheets/sheet1.xml", data: text(sheet), method: 8 },
    { name: "xl/sharedStrings.xml", data: text("<sst>ÄÖÜ €</sst>"), method: 8, flags: 8 },
    { name: "empty.xml", data: new Uint8Array(0), method: 0 },
  ]);
  await withFile(zip, async (path) => {
    const file = await ZipFile.open(path, "book.xlsx");
    assert.deepEqual([...file.entries.keys()], [
      "[Content_Types].xml",
      "xl/worksheets/sheet1.xml",
      "xl/sharedStrings.xml",
      "empty.xml",
    ]);
    assert.equal(file.has("xl/workbook.xml"), false);
    assert.equal(await file.whole("[Content_Types].xml"), "<Types/>");
    assert.equal(await file.whole("xl/worksheets/sheet1.xml"), sheet);
    assert.equal(await file.whole("xl/sharedStrings.xml"), "<sst>ÄÖÜ €</sst>");
    assert.equal(await file.whole("empty.xml"), "");
    // The same part again, and a part abandoned after its first chunk: each read has its own
    // file handle, so neither disturbs the other.
    for await (const _ of file.text("xl/worksheets/sheet1.xml")) break;
    assert.equal(await file.whole("[Content_Types].xml"), "<Types/>");
  });
});

Deno.test("a stored part over many 64 KiB reads keeps characters split across reads", async () => {
  // "€" is three bytes; 65535 one-byte characters put the first one across the 64 KiB read.
  const content = "a".repeat(65535) + "€".repeat(50000) + "z";
  const zip = buildZip([{ name: "big.xml", data: text(content), method: 0 }]);
  await withFile(zip, async (path) => {
    const file = await ZipFile.open(path, "big.xlsx");
    const chunks: string[] = [];
    for await (const chunk of file.text("big.xml")) chunks.push(chunk);
    assert.ok(chunks.length > 1, "streamed in more than one chunk");
    assert.equal(chunks.join(""), content);
  });
});

Deno.test("a LibreOffice workbook: its parts are listed and read", async () => {
  const path = new URL("../../../tests/fixtures/lo_types.xlsx", import.meta.url).pathname;
  const file = await ZipFile.open(path, "lo_types.xlsx");
  assert.ok(file.has("xl/workbook.xml"));
  assert.ok(file.has("[Content_Types].xml"));
  assert.match(await file.whole("[Content_Types].xml"), /^<\?xml[^]*<Types /);
  assert.match(await file.whole("xl/workbook.xml"), /<sheet [^>]*name="/);
});

Deno.test("damaged files: each one input error naming the file", async () => {
  const good = buildZip([{ name: "a.xml", data: text("<a/>"), method: 8 }]);
  await withFile(
    new Uint8Array(0),
    (path) =>
      rejectsInput(
        ZipFile.open(path, "e.xlsx"),
        /^e\.xlsx: not an xlsx workbook: the file is empty$/,
      ),
  );
  await withFile(
    text("name,age\nAda,36\n"),
    (path) =>
      rejectsInput(
        ZipFile.open(path, "c.xlsx"),
        /^c\.xlsx: not an xlsx workbook: not a ZIP archive$/,
      ),
  );
  await withFile(
    good.subarray(0, good.length - 30),
    (path) =>
      rejectsInput(
        ZipFile.open(path, "t.xlsx"),
        /^t\.xlsx: .*the ZIP archive is truncated or corrupt$/,
      ),
  );
  // The end record points at a central directory that is not there.
  const badDirectory = good.slice();
  new DataView(badDirectory.buffer).setUint32(badDirectory.length - 6, 3, true);
  await withFile(
    badDirectory,
    (path) => rejectsInput(ZipFile.open(path, "d.xlsx"), /^d\.xlsx: .*corrupt ZIP directory$/),
  );
  // A directory entry pointing into another part's data, not at a local header.
  const shifted = buildZip([
    { name: "x.xml", data: text("<x/>"), method: 0 },
    { name: "a.xml", data: text("<a/>"), method: 8 },
  ]);
  const view = new DataView(shifted.buffer);
  const cdOffset = view.getUint32(shifted.length - 6, true);
  view.setUint32(cdOffset + 46 + "x.xml".length + 42, 31, true);
  await withFile(shifted, async (path) => {
    const file = await ZipFile.open(path, "l.xlsx");
    await rejectsInput(file.whole("a.xml"), /^l\.xlsx: .*corrupt ZIP entry a\.xml$/);
    assert.equal(await file.whole("x.xml"), "<x/>");
  });
  // A part cut short: its first 500 bytes, then the directory (moved up to follow them).
  const long = buildZip([{ name: "long.xml", data: text("b".repeat(1000)), method: 0 }]);
  const directory = long.subarray(long.length - (46 + "long.xml".length + 22));
  const cut = new Uint8Array([...long.subarray(0, 500), ...directory]);
  new DataView(cut.buffer).setUint32(cut.length - 6, 500, true);
  await withFile(cut, async (path) => {
    const file = await ZipFile.open(path, "s.xlsx");
    await assert.rejects(
      file.whole("long.xml"),
      /^Error: long\.xml ends early \(truncated file\)$/,
    );
  });
  await withFile(good, async (path) => {
    const file = await ZipFile.open(path, "m.xlsx");
    await rejectsInput(
      file.whole("xl/workbook.xml"),
      /^m\.xlsx: not an xlsx workbook \(no xl\/workbook\.xml\)$/,
    );
  });
});

Deno.test("encrypted entries and unknown compression are refused by name", async () => {
  const zip = buildZip([
    { name: "secret.xml", data: text("<s/>"), method: 0, flags: 1 },
    { name: "bzip.xml", data: text("<b/>"), method: 12 },
  ]);
  await withFile(zip, async (path) => {
    const file = await ZipFile.open(path, "p.xlsx");
    await rejectsInput(file.whole("secret.xml"), /^p\.xlsx: the workbook is encrypted/);
    await rejectsInput(file.whole("bzip.xml"), /^p\.xlsx: bzip\.xml uses an unsupported ZIP/);
  });
});

Deno.test("OLE2 files: a legacy .xls, or a password-protected workbook", async () => {
  const ole = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
  await withFile(
    new Uint8Array([...ole, ...new Uint8Array(504)]),
    (path) =>
      rejectsInput(ZipFile.open(path, "old.xls"), /^old\.xls: .*an OLE2 file \(a legacy \.xls/),
  );
  const path = new URL("../../../tests/fixtures/lo_password.xlsx", import.meta.url).pathname;
  await rejectsInput(
    ZipFile.open(path, "pw.xlsx"),
    /^pw\.xlsx: the workbook is password-protected/,
  );
  await rejectsInput(ZipFile.open("/nonexistent/book.xlsx", "no.xlsx"), /^no\.xlsx: cannot open: /);
});

Deno.test("ZIP64 archives are refused", async () => {
  const zip = buildZip([{ name: "a.xml", data: text("<a/>"), method: 0 }]);
  new DataView(zip.buffer).setUint32(zip.length - 6, 0xffffffff, true);
  await withFile(
    zip,
    (path) =>
      rejectsInput(ZipFile.open(path, "big.xlsx"), /^big\.xlsx: ZIP64 workbooks .* not supported$/),
  );
});
