/**
 * The floor of `node:sqlite` for a first load: the rows of a bench CSV file, already parsed and
 * typed in memory, inserted into a new table of the bench schema in one transaction, timed alone
 * (no CSV parsing, no dsync). `deno run -A scripts/sqlite_floor.ts FILE.csv [ROWS_PER_INSERT]`:
 * 1 runs a prepared one-row INSERT per record with its values as arguments; N > 1 multi-row
 * INSERTs of N rows, one parameter array spread into each (dsync's shape, N = 200).
 *
 * @example
 * ```sh
 * deno run -A scripts/gen_data.ts 1000000 /tmp/1m.csv
 * deno run -A scripts/sqlite_floor.ts /tmp/1m.csv 200
 * ```
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { CsvReader } from "../src/adapters/csv/reader.ts";

const [file, perInsert = "200"] = Deno.args;
const n = Number(perInsert);
const reader = new CsvReader();
reader.feed(await Deno.readTextFile(file));
reader.finish();
const records: (string | null)[][] = [];
reader.take(records, []);
// The values dsync binds for the bench columns: integer, text, text, float, integer, date
// text, boolean as 0/1, text or NULL.
const rows = records.slice(1).map((r) => [
  Number(r[0]),
  r[1],
  r[2],
  Number(r[3]),
  Number(r[4]),
  r[5],
  r[6] === "true" ? 1 : 0,
  r[7],
]);
const path = await Deno.makeTempFile({ suffix: ".db" });
await Deno.remove(path);
const db = new DatabaseSync(path);
db.exec(
  `CREATE TABLE "t" ("id" INTEGER, "name" TEXT, "email" TEXT, "amount" REAL, "qty" INTEGER, "created" DATE, "active" BOOLEAN, "note" TEXT, PRIMARY KEY ("id"))`,
);
const width = 8;
const started = performance.now();
db.exec("BEGIN");
if (n === 1) {
  const insert = db.prepare(`INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  for (const r of rows) {
    insert.run(r[0]!, r[1], r[2], r[3]!, r[4]!, r[5], r[6]!, r[7]);
  }
} else {
  const insertOf = (count: number) =>
    db.prepare(`INSERT INTO t VALUES ` + Array(count).fill("(?, ?, ?, ?, ?, ?, ?, ?)").join(", "));
  const full = insertOf(n);
  const values = new Array(n * width);
  let v = 0;
  for (const r of rows) {
    for (let i = 0; i < width; i++) values[v++] = r[i];
    if (v === values.length) {
      full.run(...(values as never[]));
      v = 0;
    }
  }
  if (v) insertOf(v / width).run(...(values.slice(0, v) as never[]));
}
db.exec("COMMIT");
const ms = performance.now() - started;
db.close();
await Deno.remove(path);
console.log(`${rows.length} rows, ${n} per INSERT: ${ms.toFixed(0)} ms`);
