import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { decodeNulText, nulSafeSelect } from "./nul_text.ts";

Deno.test("text with NUL characters reads whole; blobs and other values stay as they are", () => {
  const db = new DatabaseSync(":memory:");
  db.exec(`CREATE TABLE t (a TEXT, b BLOB, c INTEGER);
    INSERT INTO t VALUES ('abc' || char(0) || 'def', x'00ff', 1), ('plain', NULL, 2),
      (char(0), x'', 3), ('é' || char(0) || 'ü', 'x' || char(0), 4)`);
  const statement = db.prepare(`SELECT ${nulSafeSelect(['"a"', '"b"', '"c"']).join(", ")} FROM t`);
  (statement as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(true);
  const rows = statement.all() as unknown as unknown[][];
  rows.forEach((row) => decodeNulText(row));
  assert.deepStrictEqual(rows, [
    ["abc\0def", new Uint8Array([0, 255]), 1],
    ["plain", null, 2],
    ["\0", new Uint8Array([]), 3],
    ["é\0ü", "x\0", 4],
  ]);
  db.close();
});
