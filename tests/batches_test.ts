/** Batch reads of the in-process adapters: capped batches, the same rows whatever the size asked. */
import { assertEquals, assertOk } from "./assert.ts";
import { LOCAL_BATCH_ROWS } from "../src/adapter_kit/batches.ts";
import type { Dataset } from "../src/adapter_kit/importer.ts";
import type { Row } from "../src/model/types.ts";
import { CsvFile } from "../src/adapters/csv/mod.ts";
import { SqliteTable } from "../src/adapters/sqlite/table.ts";
import { sqliteExec, tempDir } from "./helpers.ts";

async function readAll(dataset: Dataset, batchSize: number) {
  const rows: Row[] = [], positions: number[] = [], sizes: number[] = [];
  for await (const batch of dataset.read(batchSize)) {
    rows.push(...batch.rows);
    positions.push(...batch.positions);
    sizes.push(batch.rows.length);
  }
  return { rows, positions, sizes };
}

Deno.test("CSV and SQLite reads: batches of at most LOCAL_BATCH_ROWS, the same rows for any size asked", async () => {
  await using dir = await tempDir();
  const count = 2 * LOCAL_BATCH_ROWS + 7;
  const lines = Array.from({ length: count }, (_, i) => `${i + 1},"n ${i}"`);
  await Deno.writeTextFile(`${dir.path}/t.csv`, `id,name\n${lines.join("\n")}\n`);
  sqliteExec(
    `${dir.path}/t.db`,
    `CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);
     INSERT INTO t VALUES ${lines.map((l) => `(${l.replaceAll('"', "'")})`).join(",")};`,
  );
  const datasets = [
    new CsvFile(`${dir.path}/t.csv`, "source"),
    new SqliteTable(`${dir.path}/t.db`, "t", "source"),
  ];
  for (const dataset of datasets) {
    const small = await readAll(dataset, 100);
    const large = await readAll(dataset, 5 * LOCAL_BATCH_ROWS);
    assertOk(small.sizes.every((n) => n <= 100), dataset.label);
    assertEquals(large.sizes, [LOCAL_BATCH_ROWS, LOCAL_BATCH_ROWS, 7], dataset.label);
    assertEquals(large.rows, small.rows, dataset.label);
    assertEquals(large.positions, small.positions, dataset.label);
    assertEquals(small.rows.length, count, dataset.label);
    await dataset.close();
  }
});
