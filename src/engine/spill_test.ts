/** SortedSpool and SpillFile on their own: runs on disk, run extension, every value kind. */
import { assertEquals, assertOk } from "../../tests/assert.ts";
import { shuffled } from "../../tests/helpers.ts";
import { SortedSpool, SpillFile } from "./spill.ts";

Deno.test("SortedSpool: runs on disk merge back in order, any number of times", () => {
  const values = shuffled(Array.from({ length: 5000 }, (_, i) => i));
  const spool = new SortedSpool<number[]>((a, b) => a[0] - b[0], { memoryRecords: 300 });
  for (const v of values) spool.push([v, v * 2]);
  assertOk(spool.spilled);
  assertEquals(spool.length, 5000);
  for (let pass = 0; pass < 2; pass++) {
    const out = [...spool].map((r) => r[0]);
    assertEquals(out, Array.from({ length: 5000 }, (_, i) => i));
  }
  spool.close();
});

Deno.test("SortedSpool: records in order extend one run; a later out-of-order one still sorts", () => {
  const spool = new SortedSpool<number[]>((a, b) => a[0] - b[0], { memoryRecords: 100 });
  for (let v = 0; v < 1000; v++) spool.push([v]);
  for (const v of [5, 2000, 3, 1500]) spool.push([v]);
  const out = [...spool].map((r) => r[0]);
  assertEquals(out.length, 1004);
  assertEquals(out, [...out].sort((a, b) => a - b));
  assertEquals(out.slice(0, 8), [0, 1, 2, 3, 3, 4, 5, 5]);
  spool.close();
});

Deno.test("SpillFile: every kind of record value reads back as written", () => {
  const row = [
    null,
    true,
    -0.5,
    9223372036854775807n,
    '日本語 "quoted" \u0000',
    new Uint8Array([0, 1, 255]),
    [1, "two", { three: 3 }],
    { $b: "not a bigint", nested: [null] },
    Infinity,
  ];
  const file = new SpillFile<[string, number, unknown[]]>(2);
  for (let i = 0; i < 5; i++) file.push([`k${i}`, i, row]);
  const back = [...file.chunks()].flat();
  assertEquals(back.length, 5);
  for (const [key, i, values] of back) {
    assertEquals([key, i], [`k${i}`, i]);
    assertEquals(values, row);
  }
  file.close();
});
