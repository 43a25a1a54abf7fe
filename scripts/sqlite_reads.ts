/**
 * How fast `node:sqlite` hands a table to JavaScript, by statement shape (issue 17, item 4):
 * `iterate()`, pages of `all()` by rowid (what src/adapters/sqlite/table.ts reads with), one
 * `all()`, and the rowid and key alone. Two rounds; the table is the bench's `t`.
 *
 * @example
 * ```sh
 * deno run -A scripts/gen_data.ts 1000000 base.csv
 * deno run -A main.ts csv:sqlite base.csv a.db#t --format summary -q
 * deno run -A scripts/sqlite_reads.ts a.db
 * ```
 * @module
 */
import { DatabaseSync } from "node:sqlite";
const db = new DatabaseSync(Deno.args[0], { readOnly: true });
const cols = "id, name, email, amount, qty, created, active, note";
function timeIt(name: string, f: () => number) {
  const t = performance.now();
  const n = f();
  console.log(`${name}: ${(performance.now() - t).toFixed(0)} ms, ${n} rows`);
}
for (let rep = 0; rep < 2; rep++) {
  timeIt("iterate()", () => {
    const s = db.prepare(`SELECT rowid, ${cols} FROM t`);
    s.setReturnArrays(true);
    let n = 0;
    for (const _ of s.iterate()) n++;
    return n;
  });
  for (const page of [500, 5000]) {
    timeIt(`all() pages of ${page} by rowid`, () => {
      const s = db.prepare(`SELECT rowid, ${cols} FROM t WHERE rowid > ? ORDER BY rowid LIMIT ?`);
      s.setReturnArrays(true);
      let n = 0, last: unknown = -9223372036854775808n;
      for (;;) {
        const rows = s.all(last as bigint, page) as unknown as unknown[][];
        if (!rows.length) break;
        n += rows.length;
        last = rows[rows.length - 1][0];
      }
      return n;
    });
  }
  timeIt("all() whole table", () => {
    const s = db.prepare(`SELECT rowid, ${cols} FROM t`);
    s.setReturnArrays(true);
    return (s.all() as unknown[]).length;
  });
  timeIt("rowid + key only, pages of 500", () => {
    const s = db.prepare(`SELECT rowid, id FROM t WHERE rowid > ? ORDER BY rowid LIMIT ?`);
    s.setReturnArrays(true);
    let n = 0, last: unknown = -9223372036854775808n;
    for (;;) {
      const rows = s.all(last as bigint, 500) as unknown as unknown[][];
      if (!rows.length) break;
      n += rows.length;
      last = rows[rows.length - 1][0];
    }
    return n;
  });
}
