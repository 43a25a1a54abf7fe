import { deepStrictEqual } from "node:assert/strict";
import { createHash } from "node:crypto";
import { HashSum, hashToken, md5Tail, segmentSql } from "./checksum.ts";

Deno.test("md5Tail is the last 60 bits of md5, for any length and any text", () => {
  const out = [0, 0];
  const texts = ["", "a", "ünï ✓ 😀", "x".repeat(55), "y".repeat(56), "z".repeat(64)];
  for (let i = 0; i < 300; i++) texts.push(`${i}|${"é😀ab".repeat(i % 50)}|${i * 7919}`);
  for (const text of texts) {
    md5Tail(text, out);
    const hex = createHash("md5").update(text).digest("hex");
    deepStrictEqual(BigInt(out[0]) * 2n ** 30n + BigInt(out[1]), BigInt(`0x${hex.slice(17)}`));
  }
});

Deno.test("tokens: NULL apart from every value, text by code points, floats by their bits", () => {
  deepStrictEqual(hashToken(null, "boolean"), "N");
  deepStrictEqual([hashToken(false, "boolean"), hashToken(true, "boolean")], ["0", "1"]);
  deepStrictEqual(hashToken("😀|", "text"), "2:😀|");
  deepStrictEqual(hashToken("", "text"), "0:");
  deepStrictEqual(hashToken(0.1, "float"), "3fb999999999999a");
  deepStrictEqual(hashToken(-0, "float"), hashToken(0, "float"));
  deepStrictEqual(hashToken(NaN, "float"), "NaN");
  deepStrictEqual(hashToken(new Uint8Array([0, 255]), "bytes"), "00ff");
  deepStrictEqual(hashToken(9007199254740993n, "integer"), "9007199254740993");
});

Deno.test("HashSum sums exactly past 2^53", () => {
  const sum = new HashSum();
  const big = 2 ** 30 - 1;
  for (let i = 0; i < 10_000; i++) sum.add(big, big);
  deepStrictEqual(sum.sum, 10_000n * (BigInt(big) * 2n ** 30n + BigInt(big)));
  deepStrictEqual(sum.count, 10_000);
});

Deno.test("segmentSql: the range, and segments by width or at cuts", () => {
  const params: unknown[] = [];
  const param = (value: unknown) => `$${params.push(value)}`;
  deepStrictEqual(segmentSql("k", { from: 1n, to: 2n ** 63n }, { width: 10n, parts: 3 }, param), {
    where: "k >= $1",
    segment: "((k - $2) / $3)",
  });
  deepStrictEqual(
    segmentSql("k", { to: "m" }, { cuts: ["c", "f"] }, param).segment,
    "CASE WHEN k < $5 THEN 0 WHEN k < $6 THEN 1 ELSE 2 END",
  );
});
