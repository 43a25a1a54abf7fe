import assert from "node:assert/strict";
import { afterValues, copyRows, copyValue } from "./copy.ts";
import type { CreateChange } from "../../adapter_kit/changes.ts";

Deno.test("copyValue: NULL, escapes of backslash, tab, newline and carriage return", () => {
  assert.equal(copyValue(null, "text"), "\\N");
  assert.equal(copyValue(undefined, "integer"), "\\N");
  assert.equal(copyValue("\\N", "text"), "\\\\N");
  assert.equal(copyValue("a\\b", "text"), "a\\\\b");
  assert.equal(copyValue("a\tb\nc\rd", "text"), "a\\tb\\nc\\rd");
  assert.equal(copyValue("", "text"), "");
  assert.equal(copyValue("Zoë \u{1F600}", "text"), "Zoë \u{1F600}");
});

Deno.test("copyValue: booleans, numbers and bigints", () => {
  assert.equal(copyValue(true, "boolean"), "t");
  assert.equal(copyValue(false, "boolean"), "f");
  assert.equal(copyValue(9007199254740993n, "integer"), "9007199254740993");
  assert.equal(copyValue(-9223372036854775808n, "integer"), "-9223372036854775808");
  assert.equal(copyValue(1.5, "float"), "1.5");
  assert.equal(copyValue(-0, "float"), "0");
  assert.equal(copyValue(NaN, "float"), "NaN");
  assert.equal(copyValue(Infinity, "float"), "Infinity");
  assert.equal(copyValue(-Infinity, "float"), "-Infinity");
  assert.equal(copyValue("12.50", "decimal"), "12.50");
});

Deno.test("copyValue: bytea as escaped hex; bytes into a text column as base64", () => {
  const bytes = new Uint8Array([0, 1, 0xab, 0xff]);
  assert.equal(copyValue(bytes, "bytes"), "\\\\x0001abff");
  assert.equal(copyValue(new Uint8Array(), "bytes"), "\\\\x");
  assert.equal(copyValue(bytes, "text"), "AAGr/w==");
});

Deno.test("copyValue: json as stable JSON text, escaped for COPY", () => {
  assert.equal(copyValue({ b: 1, a: [true, null] }, "json"), '{"a":[true,null],"b":1}');
  assert.equal(copyValue({ s: "x\ty" }, "json"), '{"s":"x\\\\ty"}');
  assert.equal(copyValue(["a\\b"], "json"), '["a\\\\\\\\b"]');
});

Deno.test("copyRows: tab-separated lines in field order, one chunk when small", () => {
  const creates = [
    { after: [1n, "Ann", null] },
    { after: [2n, "B\tb", true] },
  ] as unknown as CreateChange[];
  const fields = [{ type: "integer" as const }, { type: "text" as const }, {
    type: "boolean" as const,
  }];
  const progress: number[] = [];
  const chunks = [...copyRows(fields, afterValues(creates), (n) => progress.push(n))];
  assert.deepStrictEqual(chunks, ["1\tAnn\t\\N\n2\tB\\tb\tt\n"]);
  assert.deepStrictEqual(progress, []);
  assert.deepStrictEqual([...copyRows(fields, [])], []);
});

Deno.test("copyRows: chunks of about 1 MiB, progress after each full chunk", () => {
  const row = ["x".repeat(1023)];
  const rows = Array.from({ length: 2048 }, () => row);
  const progress: number[] = [];
  const chunks = [...copyRows([{ type: "text" }], rows, (n) => progress.push(n))];
  assert.equal(chunks.length, 2);
  assert.equal(chunks[0].length, 1 << 20);
  assert.equal(chunks.join(""), ("x".repeat(1023) + "\n").repeat(2048));
  assert.deepStrictEqual(progress, [1024, 2048]);
});
