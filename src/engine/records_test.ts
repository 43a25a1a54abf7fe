/** Key order and key text: what both pairing strategies rely on. */
import { assertEquals } from "../../tests/assert.ts";
import { compareKeys } from "./records.ts";

Deno.test("compareKeys: numbers (and numeric text) numerically and first, then text by code unit", () => {
  const keys: unknown[][] = [["b"], ["10"], [9], ["a"], [2n], ["B"], [-1], ["é"], ["2.5"]];
  keys.sort(compareKeys);
  assertEquals(keys, [[-1], [2n], ["2.5"], [9], ["10"], ["B"], ["a"], ["b"], ["é"]]);
});

Deno.test("compareKeys: element by element for composite keys; equal keys compare 0", () => {
  assertEquals(compareKeys([1, "b"], [1, "a"]), 1);
  assertEquals(compareKeys([1, "a"], [2, "a"]), -1);
  assertEquals(compareKeys(["x", 3], ["x", 3]), 0);
  assertEquals(compareKeys([9007199254740993n], [9007199254740992n]), 1);
});

Deno.test("compareKeys: numeric ties that are different keys are ordered by their text, never 0", () => {
  assertEquals(compareKeys(["0E0"], ["0E8"]), -1);
  assertEquals(compareKeys(["0E8"], ["0E0"]), 1);
  assertEquals(compareKeys(["1.0"], [1]), 1);
  assertEquals(compareKeys(["1"], [1]), 0);
});
