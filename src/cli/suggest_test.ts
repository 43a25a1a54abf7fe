import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { closest, editDistance } from "./suggest.ts";

Deno.test("editDistance counts a swap of neighbours as one edit", () => {
  assertEquals(editDistance("cvs", "csv"), 1);
  assertEquals(editDistance("sqlit", "sqlite"), 1);
  assertEquals(editDistance("abc", "xyz"), 3);
});

Deno.test("closest finds near words only", () => {
  const names = ["csv", "ndjson", "json", "sqlite", "postgres", "pg"];
  assertEquals(closest("cvs", names), "csv");
  assertEquals(closest("sqllite", names), "sqlite");
  assertEquals(closest("postgers", names), "postgres");
  assertEquals(closest("redis", names), undefined);
});
