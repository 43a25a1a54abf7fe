/**
 * Control characters in Excel cells round-trip through the `_xHHHH_` escapes, and rewriting a
 * book (a record added) leaves the untouched cells as they were: re-runs plan nothing.
 */
import { assertEquals } from "./assert.ts";
import { dsync, parseNdjson, tempDir } from "./helpers.ts";

const VALUES = ["a\x7Fb", "a\x1Bb", "a\r\nb", "a_x0041_b", "tab\there", "nul\x00?"];

Deno.test("xlsx: DEL, ESC, CR LF and literal _xHHHH_ survive writes, rewrites and re-reads", async () => {
  await using dir = await tempDir();
  const lines = VALUES.map((v, i) => JSON.stringify({ id: i + 1, v }));
  await Deno.writeTextFile(`${dir.path}/a.ndjson`, lines.join("\n") + "\n");
  const first = await dsync(["ndjson:xlsx", "a.ndjson", "b.xlsx#S"], { cwd: dir.path });
  assertEquals(first.code, 0, first.stderr);
  const again = await dsync(["ndjson:xlsx", "a.ndjson", "b.xlsx#S"], { cwd: dir.path });
  assertEquals(parseNdjson(again.stdout), [], "a new book reads back as written");
  // A rewrite of the existing book (one record more) must not touch the other cells.
  lines.push(JSON.stringify({ id: 99, v: "new" }));
  await Deno.writeTextFile(`${dir.path}/a.ndjson`, lines.join("\n") + "\n");
  const rewrite = await dsync(["ndjson:xlsx", "a.ndjson", "b.xlsx#S"], { cwd: dir.path });
  assertEquals(parseNdjson(rewrite.stdout).map((c) => c.op), ["create"]);
  const third = await dsync(["ndjson:xlsx", "a.ndjson", "b.xlsx#S"], { cwd: dir.path });
  assertEquals(parseNdjson(third.stdout), [], "the rewritten book reads back as written");
  const out = await dsync(["xlsx:ndjson", "b.xlsx#S", "-"], { cwd: dir.path });
  assertEquals(parseNdjson(out.stdout).map((r) => r.v), [...VALUES, "new"]);
});
