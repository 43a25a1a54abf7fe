/**
 * Excel dates before 1900-03-01 (issue 14), checked with LibreOffice: Excel counts serials 1-59
 * from 1900-01-01 and has a phantom 1900-02-29 at 60, LibreOffice counts every serial from
 * 1899-12-30. dsync writes those dates as text, which both read alike, and reads a book that
 * LibreOffice wrote by LibreOffice's rule.
 */
import { assertEquals } from "./assert.ts";
import { dsync, parseNdjson, sqliteExec, tempDir } from "./helpers.ts";
import { libreOfficeBook, libreOfficeCsv } from "./libreoffice.ts";

Deno.test("dates from 1900-01-01 to 1900-02-28 written by dsync read the same in LibreOffice", async () => {
  await using dir = await tempDir();
  sqliteExec(
    `${dir.path}/a.db`,
    `CREATE TABLE t (id INTEGER PRIMARY KEY, d DATE, ts TIMESTAMP);
     INSERT INTO t VALUES (1, '1900-01-01', '1900-01-01 06:00:00'),
       (2, '1900-02-28', '1900-02-28 00:00:00'), (3, '1900-03-01', '1900-03-01 00:00:00'),
       (4, '2024-01-02', '2024-01-02 12:30:00');`,
  );
  const first = await dsync(["sqlite:xlsx", "a.db#t", "t.xlsx"], { cwd: dir.path });
  assertEquals(first.code, 0, first.stderr);
  const again = await dsync(["sqlite:xlsx", "a.db#t", "t.xlsx"], { cwd: dir.path });
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
  const shown = Object.values(await libreOfficeCsv(`${dir.path}/t.xlsx`))[0];
  assertEquals(shown.slice(1).map((row) => [row[1], row[2].replace("T", " ")]), [
    ["1900-01-01", "1900-01-01 06:00:00"],
    ["1900-02-28", "1900-02-28 00:00:00"],
    ["1900-03-01", "1900-03-01 00:00:00"],
    ["2024-01-02", "2024-01-02 12:30:00"],
  ]);
});

Deno.test("a LibreOffice book: its serials 2 and 60 are 1900-01-01 and 1900-02-28", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/lo.csv`,
    "id,d\n1,1900-01-01\n2,1900-02-28\n3,1900-03-01\n4,1899-12-31\n5,2024-01-02\n",
  );
  const book = await libreOfficeBook(`${dir.path}/lo.csv`);
  const r = await dsync(["xlsx:ndjson", book, "-"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(parseNdjson(r.stdout).map((row) => row.d), [
    "1900-01-01",
    "1900-02-28",
    "1900-03-01",
    "1899-12-31",
    "2024-01-02",
  ]);
});
