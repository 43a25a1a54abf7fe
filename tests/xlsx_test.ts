/**
 * The Excel adapter, driven as a user drives it (the CLI in a subprocess) and checked with other
 * programs: books that LibreOffice wrote (tests/fixtures, made by scripts/make_xlsx_fixtures.sh)
 * are read, and books that dsync wrote are read back with exceljs directly and converted to CSV
 * by LibreOffice (`soffice --headless --convert-to csv`). LibreOffice is needed: .ci/run installs
 * it (Debian package libreoffice-calc-nogui).
 */
import ExcelJS from "exceljs";
import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import {
  checksum,
  dsync,
  parseCsvSimple,
  parseNdjson,
  ROOT,
  sqliteExec,
  sqliteRows,
  tempDir,
} from "./helpers.ts";
import { libreOfficeCsv } from "./libreoffice.ts";

const FIXTURES = `${ROOT}tests/fixtures`;

// ---------------------------------------------------------------------------------------------
// Independent readers

/** Cell values of a sheet as exceljs reads them, header row first (empty cells are null). */
async function excelRows(path: string, sheet?: string): Promise<unknown[][]> {
  const book = new ExcelJS.Workbook();
  await book.xlsx.readFile(path);
  const ws = sheet === undefined ? book.worksheets[0] : book.getWorksheet(sheet);
  if (!ws) throw new Error(`no sheet ${sheet} in ${path}`);
  const rows: unknown[][] = [];
  ws.eachRow((row) => {
    const values = (row.values as unknown[]).slice(1);
    rows.push(Array.from(values, (v) => v ?? null));
  });
  return rows;
}

/** Writes a book with exceljs: `rows` under `header`, dates as real Excel dates. */
async function writeBook(
  path: string,
  sheets: Record<string, unknown[][]>,
  dateFormat = "yyyy-mm-dd",
): Promise<void> {
  const book = new ExcelJS.Workbook();
  for (const [name, rows] of Object.entries(sheets)) {
    const ws = book.addWorksheet(name);
    for (const values of rows) {
      const row = ws.addRow(values);
      row.eachCell((cell) => {
        if (cell.value instanceof Date) cell.numFmt = dateFormat;
      });
    }
  }
  await book.xlsx.writeFile(path);
}

function summaryOf(stderr: string): string {
  return /[+]\d+ ~\d+ -\d+/.exec(stderr)?.[0] ?? stderr;
}

// ---------------------------------------------------------------------------------------------
// Every pair with xlsx on one side

type Rec = {
  id: number;
  name: string;
  score: number;
  born: string | null;
  ok: boolean;
  code: string;
};

const ORIGINAL: Rec[] = [
  { id: 1, name: "Ann", score: 1.5, born: "2024-01-02", ok: true, code: "007" },
  { id: 2, name: 'Bob "the builder", Jr.', score: 20, born: "1999-12-31", ok: false, code: "12" },
  { id: 3, name: "Zoë\nnew line", score: -3.25, born: null, ok: true, code: "x" },
  { id: 10, name: "Ten", score: 0, born: "2000-02-29", ok: false, code: "0010" },
];
const MODIFIED: Rec[] = [
  ORIGINAL[0],
  { ...ORIGINAL[1], name: "Bob", born: "2001-01-01" },
  ORIGINAL[2],
  { id: 11, name: "Eleven", score: 11.125, born: "2011-11-11", ok: true, code: "011" },
];
const COLUMNS = ["id", "name", "score", "born", "ok", "code"] as const;
const EXT: Record<string, string> = {
  csv: "csv",
  ndjson: "ndjson",
  json: "json",
  sqlite: "db",
  xlsx: "xlsx",
};

function csvCell(v: unknown): string {
  if (v === null) return "";
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function dateOf(text: string): Date {
  return new Date(`${text}T00:00:00Z`);
}

async function writeSource(kind: string, path: string, recs: Rec[]): Promise<string> {
  switch (kind) {
    case "csv":
      await Deno.writeTextFile(
        path,
        COLUMNS.join(",") + "\n" +
          recs.map((r) => COLUMNS.map((c) => csvCell(r[c])).join(",")).join("\n") + "\n",
      );
      return path;
    case "ndjson":
      await Deno.writeTextFile(path, recs.map((r) => JSON.stringify(r)).join("\n") + "\n");
      return path;
    case "json":
      await Deno.writeTextFile(path, JSON.stringify(recs, null, 1));
      return path;
    case "xlsx":
      await writeBook(path, {
        Recs: [
          [...COLUMNS],
          ...recs.map((r) => COLUMNS.map((c) => c === "born" && r.born ? dateOf(r.born) : r[c])),
        ],
      });
      return `${path}#Recs`;
    default: {
      await Deno.remove(path).catch(() => {});
      const db = new DatabaseSync(path);
      db.exec(
        "CREATE TABLE recs (id INTEGER PRIMARY KEY, name TEXT, score REAL, born DATE, ok BOOLEAN, code TEXT)",
      );
      const insert = db.prepare("INSERT INTO recs VALUES (?, ?, ?, ?, ?, ?)");
      for (const r of recs) insert.run(r.id, r.name, r.score, r.born, r.ok ? 1 : 0, r.code);
      db.close();
      return `${path}#recs`;
    }
  }
}

/** One value as comparable text, whatever the datastore made of it. */
function norm(column: string, v: unknown): string {
  if (v === null || v === undefined || v === "") return "∅";
  if (column === "ok") return String(v === true || v === 1 || v === "true" || v === "TRUE");
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  if (column === "id" || column === "score") return String(Number(v));
  return String(v);
}

async function readTarget(kind: string, path: string): Promise<string[]> {
  let recs: Record<string, unknown>[];
  switch (kind) {
    case "csv": {
      const [header, ...rows] = parseCsvSimple(await Deno.readTextFile(path));
      recs = rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
      break;
    }
    case "ndjson":
      recs = parseNdjson(await Deno.readTextFile(path));
      break;
    case "json":
      recs = JSON.parse(await Deno.readTextFile(path));
      break;
    case "xlsx": {
      const [header, ...rows] = await excelRows(path, "Recs");
      recs = rows.map((r) => Object.fromEntries(header.map((h, i) => [String(h), r[i]])));
      break;
    }
    default:
      recs = sqliteRows(path, "recs", "id");
  }
  return recs.map((r) => COLUMNS.map((c) => norm(c, r[c])).join("|")).sort();
}

const expected = (recs: Rec[]) =>
  recs.map((r) => COLUMNS.map((c) => norm(c, r[c])).join("|")).sort();

const KINDS = ["csv", "ndjson", "json", "sqlite", "xlsx"];
for (const source of KINDS) {
  for (const target of KINDS) {
    if (source !== "xlsx" && target !== "xlsx") continue;
    Deno.test(`${source}:${target} loads, is idempotent, applies exactly the changes`, async () => {
      await using dir = await tempDir();
      const src = await writeSource(source, `${dir.path}/in.${EXT[source]}`, ORIGINAL);
      const tgtFile = `${dir.path}/out.${EXT[target]}`;
      const tgt = target === "sqlite"
        ? `${tgtFile}#recs`
        : target === "xlsx"
        ? `${tgtFile}#Recs`
        : tgtFile;
      const pair = `${source}:${target}`;
      const run = (...extra: string[]) => dsync([pair, src, tgt, "--key", "id", ...extra]);

      const first = await run();
      assertEquals(first.code, 0, first.stderr);
      assertEquals(parseNdjson(first.stdout).map((c) => c.op), Array(4).fill("create"));
      assertEquals(await readTarget(target, tgtFile), expected(ORIGINAL));

      const sum = await checksum(tgtFile);
      const second = await run();
      assertEquals(second.code, 0, second.stderr);
      assertEquals(second.stdout, "");
      assertEquals(summaryOf(second.stderr), "+0 ~0 -0");
      assertEquals(await checksum(tgtFile), sum, "a run without changes rewrote the target");

      await writeSource(source, `${dir.path}/in.${EXT[source]}`, MODIFIED);
      const plan = await run("--delete", "-n");
      assertEquals(plan.code, 0, plan.stderr);
      const changes = parseNdjson(plan.stdout);
      assertEquals(
        changes.map((c) => `${c.op} ${Number((c.key as { id: unknown }).id)}`),
        ["create 11", "update 2", "delete 10"],
      );
      assertEquals(
        Object.keys(changes[1].after as Record<string, unknown>).sort(),
        ["born", "name"],
      );
      assertEquals(await checksum(tgtFile), sum, "a dry run changed the target");

      const applied = await run("--delete");
      assertEquals(applied.code, 0, applied.stderr);
      assertEquals(summaryOf(applied.stderr), "+1 ~1 -1");
      assertEquals(await readTarget(target, tgtFile), expected(MODIFIED));
      const again = await run("--delete");
      assertEquals(again.stdout, "", again.stderr);
      assertEquals(summaryOf(again.stderr), "+0 ~0 -0");
    });
  }
}

Deno.test("excel is an alias of xlsx; dsync adapters lists the adapter and its options", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a.csv`, "id,n\n1,2\n");
  const r = await dsync(["csv:excel", `${dir.path}/a.csv`, `${dir.path}/a.xlsx`]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(await excelRows(`${dir.path}/a.xlsx`), [["id", "n"], [1, 2]]);
  const list = await dsync(["adapters"]);
  assertMatch(list.stdout, /xlsx/);
  assertMatch(list.stdout, /excel/);
  const help = await dsync(["xlsx:csv", "--help"]);
  for (const option of ["--sheet", "--header-row", "--excel-errors"]) {
    assertMatch(help.stdout, new RegExp(option));
  }
});

// ---------------------------------------------------------------------------------------------
// Reading books LibreOffice wrote

async function readBook(locator: string, ...options: string[]) {
  const r = await dsync(["xlsx:ndjson", locator, "-", "-q", "--key", "id", ...options]);
  return { ...r, records: r.code === 0 ? parseNdjson(r.stdout) : [] };
}

Deno.test("LibreOffice book: numbers, text, dates, times, booleans, formulas, links, rich text", async () => {
  const r = await readBook(`${FIXTURES}/lo_types.xlsx#Types`);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.records, [
    {
      id: 1,
      code: "007",
      price: 19.99,
      qty: 3,
      born: "2024-01-02",
      at: "2024-01-02T10:30:00",
      start: "08:15:00",
      ok: true,
      total: 59.97,
      link: "Example",
      rich: "plain bold end",
      pct: 0.25,
    },
    {
      id: 2,
      code: "Zoë\nline two",
      price: 0.1,
      qty: -7,
      born: "1999-12-31",
      at: "1999-12-31T23:59:59",
      start: "23:00:00",
      ok: false,
      total: -0.7,
      link: "no link",
      rich: "ab",
      pct: 1,
    },
    {
      id: 3,
      code: "",
      price: null,
      qty: 0,
      born: null,
      at: null,
      start: null,
      ok: false,
      total: null,
      link: null,
      rich: null,
      pct: null,
    },
  ]);
  // the same sheet by position and by name in another case
  for (const options of [["--sheet", "2"], ["--sheet", "types"]]) {
    const other = await readBook(`${FIXTURES}/lo_types.xlsx`, ...options);
    assertEquals(other.records, r.records, other.stderr);
  }
});

Deno.test("a 1904-based book reads its dates right", async () => {
  const r = await readBook(`${FIXTURES}/lo_1904.xlsx`);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.records, [
    { id: 1, day: "2024-01-02", at: "2024-01-02T06:00:00" },
    { id: 2, day: "1904-01-01", at: "1999-12-31T23:59:59" },
  ]);
});

Deno.test("error cells stop the run naming the cell, unless --excel-errors null", async () => {
  const r = await readBook(`${FIXTURES}/lo_errors.xlsx`);
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /lo_errors\.xlsx: Errors!B3: error value #DIV\/0!/);
  assertMatch(r.stderr, /--excel-errors null/);
  const nulls = await readBook(`${FIXTURES}/lo_errors.xlsx`, "--excel-errors", "null");
  assertEquals(nulls.code, 0, nulls.stderr);
  assertEquals(nulls.records, [{ id: 1, ratio: 0.5 }, { id: 2, ratio: null }, {
    id: 3,
    ratio: null,
  }]);
  const bad = await readBook(`${FIXTURES}/lo_errors.xlsx`, "--excel-errors", "zero");
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr, /--excel-errors zero: expected fail or null/);
});

Deno.test("--sheet INDEX and --header-row: title rows, empty rows and empty columns are skipped", async () => {
  const r = await dsync([
    "xlsx:ndjson",
    `${FIXTURES}/lo_report.xlsx`,
    "-",
    "--sheet",
    "2",
    "--header-row",
    "3",
    "--key",
    "sku",
  ]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(parseNdjson(r.stdout), [
    { sku: "A-1", price: 10, note: "first" },
    { sku: "A-2", price: 12.5, note: null },
    { sku: "B-1", price: 99.99, note: "last" },
  ]);
  const wrongRow = await dsync([
    "xlsx:ndjson",
    `${FIXTURES}/lo_report.xlsx#Prices`,
    "-",
    "--header-row",
    "2",
  ]);
  assertEquals(wrongRow.code, 2);
  assertMatch(wrongRow.stderr, /sheet 'Prices': row 2 is empty, so there is no header/);
  const zero = await dsync(["xlsx:ndjson", `${FIXTURES}/lo_report.xlsx`, "-", "--header-row", "0"]);
  assertEquals(zero.code, 2);
  assertMatch(zero.stderr, /--header-row 0/);
});

Deno.test("duplicate and empty header names are input errors naming the cell", async () => {
  const dup = await readBook(`${FIXTURES}/lo_dup_header.xlsx`);
  assertEquals(dup.code, 2);
  assertMatch(dup.stderr, /Dup!C1: header names 'name' twice \(also Dup!B1\)/);
  const gap = await readBook(`${FIXTURES}/lo_gap_header.xlsx`);
  assertEquals(gap.code, 2);
  assertMatch(gap.stderr, /Gap!B1: header cell is empty/);
});

// ---------------------------------------------------------------------------------------------
// Values: Excel's own rules

Deno.test("Excel dates: the 1900 leap-year bug, times of day, timestamps", async () => {
  await using dir = await tempDir();
  const book = new ExcelJS.Workbook();
  const ws = book.addWorksheet("D");
  ws.addRow(["id", "v"]);
  const serials: [number, string][] = [
    [1, "yyyy-mm-dd"],
    [59, "yyyy-mm-dd"],
    [61, "yyyy-mm-dd"],
    [45293.5, "yyyy-mm-dd hh:mm"],
    [0.5, "hh:mm"],
    [45293.25, "dd/mm/yyyy"],
    [45293.0000057870, "yyyy-mm-dd hh:mm:ss.000"],
  ];
  serials.forEach(([value, format], i) => {
    const row = ws.addRow([i + 1, value]);
    row.getCell(2).numFmt = format;
  });
  await book.xlsx.writeFile(`${dir.path}/d.xlsx`);
  const r = await readBook(`${dir.path}/d.xlsx`);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.records.map((x) => x.v), [
    "1900-01-01",
    "1900-02-28",
    "1900-03-01",
    "2024-01-02T12:00:00",
    "12:00:00",
    "2024-01-02T06:00:00",
    "2024-01-02T00:00:00.5",
  ]);

  ws.addRow([99, 60]).getCell(2).numFmt = "yyyy-mm-dd";
  await book.xlsx.writeFile(`${dir.path}/d.xlsx`);
  const bug = await readBook(`${dir.path}/d.xlsx`);
  assertEquals(bug.code, 2);
  assertMatch(bug.stderr, /D!B9: date serial 60: 1900-02-29 does not exist/);
});

Deno.test("formulas: the cached result; none is an input error naming the cell", async () => {
  await using dir = await tempDir();
  const book = new ExcelJS.Workbook();
  const ws = book.addWorksheet("F");
  ws.addRow(["id", "v"]);
  ws.addRow([1, { formula: "A2*2", result: 2 }]);
  ws.addRow([2, { formula: "A3>1", result: true }]);
  ws.addRow([3, { formula: '"x"&A4', result: "x3" }]);
  await book.xlsx.writeFile(`${dir.path}/f.xlsx`);
  const r = await readBook(`${dir.path}/f.xlsx`);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.records, [{ id: 1, v: 2 }, { id: 2, v: true }, { id: 3, v: "x3" }]);

  ws.addRow([4, { formula: "A5*2" }]);
  await book.xlsx.writeFile(`${dir.path}/f.xlsx`);
  const none = await readBook(`${dir.path}/f.xlsx`);
  assertEquals(none.code, 2);
  assertMatch(none.stderr, /F!B5: formula =A5\*2 has no cached result/);
});

Deno.test("a value in a column without a header is an input error, not dropped", async () => {
  await using dir = await tempDir();
  await writeBook(`${dir.path}/x.xlsx`, { S: [["id", "a"], [1, 2], [2, 3, "stray"]] });
  const r = await readBook(`${dir.path}/x.xlsx`);
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /S!C3: a value in a column without a header/);
});

Deno.test("integers in a sheet equal INTEGER columns; dates equal DATE columns (no false updates)", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/t.db`;
  sqliteExec(
    db,
    `CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, x REAL, d DATE, ts TIMESTAMP, b BOOLEAN, s TEXT);
     INSERT INTO t VALUES (1, 7, 1.5, '2024-01-02', '2024-01-02T10:30:00', 1, '007');`,
  );
  const book = new ExcelJS.Workbook();
  const ws = book.addWorksheet("T");
  ws.addRow(["id", "n", "x", "d", "ts", "b", "s"]);
  const row = ws.addRow([
    1,
    7,
    1.5,
    new Date("2024-01-02T00:00:00Z"),
    new Date("2024-01-02T10:30:00Z"),
    true,
    "007",
  ]);
  row.getCell(4).numFmt = "yyyy-mm-dd";
  row.getCell(5).numFmt = "yyyy-mm-dd hh:mm:ss";
  ws.addRow([2, 8, 2, null, null, false, "08"]);
  await book.xlsx.writeFile(`${dir.path}/t.xlsx`);
  const r = await dsync(["xlsx:sqlite", `${dir.path}/t.xlsx`, `${db}#t`]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(summaryOf(r.stderr), "+1 ~0 -0");
  assertEquals(sqliteRows(db, "t", "id")[1], {
    id: 2,
    n: 8,
    x: 2,
    d: null,
    ts: null,
    b: 0,
    s: "08",
  });
  const again = await dsync(["xlsx:sqlite", `${dir.path}/t.xlsx`, `${db}#t`]);
  assertEquals(summaryOf(again.stderr), "+0 ~0 -0");
});

Deno.test("composite keys; text that looks like numbers and awkward characters round-trip", async () => {
  await using dir = await tempDir();
  const records = [
    { region: "EU", sku: "007", text: "a\r\nb", tab: "x\ty", esc: "lit_x0041_", ctl: "bell\u0007" },
    { region: "EU", sku: "7", text: "", tab: "=1+1", esc: "'quoted", ctl: null },
    { region: "US", sku: "007", text: "ünï©ødé 😀", tab: " padded ", esc: "1e5", ctl: "TRUE" },
  ];
  const src = `${dir.path}/in.ndjson`;
  await Deno.writeTextFile(src, records.map((r) => JSON.stringify(r)).join("\n"));
  const book = `${dir.path}/out.xlsx`;
  const first = await dsync(["ndjson:xlsx", src, book, "--key", "region,sku"]);
  assertEquals(first.code, 0, first.stderr);
  const back = await dsync(["xlsx:ndjson", book, "-", "--key", "region,sku"]);
  const byKey = (r: Record<string, unknown>) => `${r.region}/${r.sku}`;
  assertEquals(
    parseNdjson(back.stdout).sort((a, b) => byKey(a).localeCompare(byKey(b))),
    records.toSorted((a, b) => byKey(a).localeCompare(byKey(b))),
  );
  const again = await dsync(["ndjson:xlsx", src, book, "--key", "region,sku"]);
  assertEquals(summaryOf(again.stderr), "+0 ~0 -0");

  records[1].text = "changed";
  await Deno.writeTextFile(src, records.map((r) => JSON.stringify(r)).join("\n"));
  const update = await dsync(["ndjson:xlsx", src, book, "--key", "region,sku"]);
  assertEquals(parseNdjson(update.stdout), [{
    op: "update",
    key: { region: "EU", sku: "7" },
    before: { text: "" },
    after: { text: "changed" },
  }]);
  const rows = await excelRows(book);
  assertEquals(rows.find((r) => r[1] === "7")?.slice(0, 3), ["EU", "7", "changed"]);
});

// ---------------------------------------------------------------------------------------------
// Writing

Deno.test("a new book: bold frozen header, column widths, real types; LibreOffice reads it", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/app.db`;
  sqliteExec(
    db,
    `CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, born DATE, seen TIMESTAMP,
       at TIME, active BOOLEAN, balance DECIMAL, big INTEGER, zone TIMESTAMPTZ);
     INSERT INTO users VALUES
       (1, 'Ann Long-Name Example', '1990-05-17', '2024-01-02T10:30:00', '08:15:00', 1, '12.50',
        9007199254740993, '2024-01-02T10:30:00Z'),
       (2, 'Bob', NULL, '2024-01-02T10:30:00.25', '23:59:59', 0, 3, 5, NULL);`,
  );
  const book = `${dir.path}/report.xlsx`;
  const r = await dsync(["sqlite:xlsx", `${db}#users`, `${book}#Users`]);
  assertEquals(r.code, 0, r.stderr);
  const again = await dsync(["sqlite:xlsx", `${db}#users`, `${book}#Users`]);
  assertEquals(summaryOf(again.stderr), "+0 ~0 -0");

  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(book);
  const ws = wb.getWorksheet("Users")!;
  assertEquals(ws.getRow(1).getCell(1).font?.bold, true);
  assertEquals(ws.views[0]?.state, "frozen");
  assertEquals((ws.views[0] as { ySplit?: number }).ySplit, 1);
  assertOk((ws.getColumn(2).width ?? 0) >= "Ann Long-Name Example".length, "name column width");
  assertOk((ws.getColumn(1).width ?? 0) < 12, "id column stays narrow");
  const ann = ws.getRow(2);
  assertEquals(ann.getCell(1).value, 1);
  assertEquals(ann.getCell(3).value, new Date("1990-05-17T00:00:00Z"));
  assertEquals(ann.getCell(3).numFmt, "yyyy-mm-dd");
  assertEquals(ann.getCell(4).value, new Date("2024-01-02T10:30:00Z"));
  assertEquals(ann.getCell(6).value, true);
  assertEquals(ann.getCell(7).value, 12.5);
  assertEquals(ann.getCell(8).value, "9007199254740993", "beyond 2^53: text, exact");
  assertEquals(ann.getCell(9).value, "2024-01-02T10:30:00Z", "zoned time: ISO text");
  assertEquals(ws.getRow(3).getCell(7).value, 3);

  const csv = await libreOfficeCsv(book);
  assertEquals(csv.Users, [
    ["id", "name", "born", "seen", "at", "active", "balance", "big", "zone"],
    [
      "1",
      "Ann Long-Name Example",
      "1990-05-17",
      "2024-01-02 10:30:00",
      "08:15:00",
      "TRUE",
      "12.5",
      "9007199254740993",
      "2024-01-02T10:30:00Z",
    ],
    [
      "2",
      "Bob",
      "",
      "2024-01-02 10:30:00.250",
      "23:59:59",
      "FALSE",
      "3",
      "5",
      "",
    ],
  ]);
});

Deno.test("an existing LibreOffice book: other sheets, widths and formatting kept; changes in place", async () => {
  await using dir = await tempDir();
  const book = `${dir.path}/book.xlsx`;
  await Deno.copyFile(`${FIXTURES}/lo_existing.xlsx`, book);
  const before = new ExcelJS.Workbook();
  await before.xlsx.readFile(book);
  const widths = [1, 2].map((c) => before.getWorksheet("Data")!.getColumn(c).width);

  const src = `${dir.path}/new.csv`;
  await Deno.writeTextFile(
    src,
    "id,name,joined,score\n1,Ann,2020-01-01,1.5\n2,Bob,2021-02-03,2.5\n4,Di,2023-04-05,4\n5,Eve,2024-05-06,5\n",
  );
  const r = await dsync(["csv:xlsx", src, `${book}#Data`, "--delete"]);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(summaryOf(r.stderr), "+1 ~1 -1");
  const again = await dsync(["csv:xlsx", src, `${book}#Data`, "--delete"]);
  assertEquals(summaryOf(again.stderr), "+0 ~0 -0");

  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(book);
  assertEquals(wb.worksheets.map((w) => w.name), ["Summary", "Data"]);
  const summary = wb.getWorksheet("Summary")!;
  assertEquals(summary.getCell("A1").value, "Keep me");
  assertEquals(summary.getCell("A1").font?.bold, true);
  assertEquals(
    (summary.getCell("A1").fill as { fgColor?: { argb?: string } }).fgColor?.argb,
    "FFFFFF00",
  );
  const data = wb.getWorksheet("Data")!;
  assertEquals([1, 2].map((c) => data.getColumn(c).width), widths);
  assertEquals(data.getCell("B3").value, "Bob");
  assertEquals(
    (data.getCell("B3").fill as { fgColor?: { argb?: string } }).fgColor?.argb,
    "FFFFFF00",
    "the untouched highlighted cell keeps its fill",
  );
  assertEquals(data.getCell("D3").value, 2.5, "updated in place");
  assertEquals(data.getCell("C5").value, new Date("2024-05-06T00:00:00Z"), "created: a date");
  assertEquals(data.rowCount, 5, "the deleted row is gone, not blanked");

  const csv = await libreOfficeCsv(book);
  assertEquals(csv.Summary, [["Keep me", "42"]]);
  assertEquals(csv.Data, [
    ["id", "name", "joined", "score"],
    ["1", "Ann", "2020-01-01", "1.5"],
    ["2", "Bob", "2021-02-03", "2.5"],
    ["4", "Di", "2023-04-05", "4"],
    ["5", "Eve", "2024-05-06", "5"],
  ]);
});

Deno.test("export into a new sheet of an existing book; the other sheets stay", async () => {
  await using dir = await tempDir();
  const book = `${dir.path}/book.xlsx`;
  await Deno.copyFile(`${FIXTURES}/lo_existing.xlsx`, book);
  const db = `${dir.path}/app.db`;
  sqliteExec(
    db,
    "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 'Ann');",
  );
  const r = await dsync(["sqlite:xlsx", `${db}#users`, `${book}#Users`]);
  assertEquals(r.code, 0, r.stderr);
  const again = await dsync(["sqlite:xlsx", `${db}#users`, `${book}#Users`]);
  assertEquals(summaryOf(again.stderr), "+0 ~0 -0");
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(book);
  assertEquals(wb.worksheets.map((w) => w.name), ["Summary", "Data", "Users"]);
  assertEquals(wb.getWorksheet("Users")!.getCell("A1").font?.bold, true);
  assertEquals(await excelRows(book, "Users"), [["id", "name"], [1, "Ann"]]);
  assertEquals((await excelRows(book, "Data")).length, 5);
});

// ---------------------------------------------------------------------------------------------
// Bad input

Deno.test("bad books: not xlsx, corrupt, password-protected, missing sheet: exit 2, nothing written", async () => {
  await using dir = await tempDir();
  const text = `${dir.path}/text.xlsx`;
  await Deno.writeTextFile(text, "id,name\n1,a\n");
  const truncated = `${dir.path}/truncated.xlsx`;
  const bytes = await Deno.readFile(`${FIXTURES}/lo_types.xlsx`);
  await Deno.writeFile(truncated, bytes.subarray(0, bytes.length - 300));
  const corrupt = `${dir.path}/corrupt.xlsx`;
  const damaged = bytes.slice();
  damaged.fill(0x55, 200, 1400);
  await Deno.writeFile(corrupt, damaged);
  const empty = `${dir.path}/empty.xlsx`;
  await Deno.writeFile(empty, new Uint8Array());

  const cases: [string, RegExp][] = [
    [text, /text\.xlsx: not an xlsx workbook: not a ZIP archive/],
    [empty, /empty\.xlsx: not an xlsx workbook: the file is empty/],
    [truncated, /truncated\.xlsx: not a readable xlsx workbook/],
    [corrupt, /corrupt\.xlsx: not a readable xlsx workbook/],
    [`${FIXTURES}/lo_password.xlsx`, /lo_password\.xlsx: the workbook is password-protected/],
    [`${FIXTURES}/lo_types.xlsx#Nope`, /has no sheet 'Nope' \(sheets: 'Notes', 'Types'\)/],
    [`${dir.path}/missing.xlsx`, /missing\.xlsx: cannot open/],
  ];
  const target = `${dir.path}/out.csv`;
  for (const [locator, message] of cases) {
    const r = await dsync(["xlsx:csv", locator, target, "--key", "id"]);
    assertEquals(r.code, 2, `${locator}: ${r.stderr}`);
    assertMatch(r.stderr, message);
    assertEquals(r.stderr.trim().split("\n").length <= 2, true, r.stderr);
    assertEquals(r.stderr.includes("    at "), false, "no stack trace");
    assertEquals(await Deno.stat(target).then(() => true, () => false), false);
  }

  // as a target: refused before anything is written
  const src = `${dir.path}/in.csv`;
  await Deno.writeTextFile(src, "id,name\n1,a\n");
  for (
    const [book, message] of [[text, /not a ZIP archive/], [corrupt, /not a readable/]] as const
  ) {
    const sum = await checksum(book);
    const r = await dsync(["csv:xlsx", src, book]);
    assertEquals(r.code, 2, r.stderr);
    assertMatch(r.stderr, message);
    assertEquals(await checksum(book), sum);
  }
  const leftovers = [...Deno.readDirSync(dir.path)].filter((e) => e.name.endsWith(".tmp"));
  assertEquals(leftovers, []);
});
