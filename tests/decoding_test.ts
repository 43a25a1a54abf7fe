/** Text decoding of file sources and targets (issue 14). */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, tempDir } from "./helpers.ts";

/** A valid UTF-8 CSV whose byte 65535 is the first byte of "é": a read chunk ends inside it. */
function csvSplittingAChunk(): string {
  const header = "id,name\n";
  let text = header;
  let id = 1;
  while (text.length < 65535 - 20) text += `${id++},${"x".repeat(10)}\n`;
  const row = `${id++},`;
  text += row + "y".repeat(65535 - text.length - row.length) + "é\n";
  return text + `${id},ü\n`;
}

Deno.test("a UTF-8 CSV with a character across the first read chunk syncs, as source and target", async () => {
  await using dir = await tempDir();
  const text = csvSplittingAChunk();
  assertEquals(new TextEncoder().encode(text)[65535], 0xc3);
  await Deno.writeTextFile(`${dir.path}/a.csv`, text);
  const first = await dsync(["csv:csv", "a.csv", "b.csv"], { cwd: dir.path });
  assertEquals(first.code, 0, first.stderr);
  assertEquals(await Deno.readTextFile(`${dir.path}/b.csv`), text);
  const again = await dsync(["csv:csv", "a.csv", "b.csv"], { cwd: dir.path });
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
  const ndjson = await dsync(["csv:ndjson", "b.csv", "b.ndjson"], { cwd: dir.path });
  assertEquals(ndjson.code, 0, ndjson.stderr);
});

Deno.test("invalid UTF-8 names the file, the byte offset and the line", async () => {
  await using dir = await tempDir();
  const bytes = new TextEncoder().encode("id,name\n1,ok\n2,bad\n");
  bytes[17] = 0xff; // the "d" of "bad", line 3
  await Deno.writeFile(`${dir.path}/a.csv`, bytes);
  const r = await dsync(["csv:csv", "a.csv", "b.csv"], { cwd: dir.path });
  assertEquals(r.code, 2, r.stderr);
  assertMatch(r.stderr, /a\.csv: not valid utf-8 text at byte 17 \(line 3\)/);
  await Deno.writeFile(
    `${dir.path}/c.ndjson`,
    new Uint8Array([...new TextEncoder().encode('{"id":1}\n{"id":"'), 0xe9, 0x22, 0x7d, 10]),
  );
  const j = await dsync(["ndjson:csv", "c.ndjson", "d.csv"], { cwd: dir.path });
  assertEquals(j.code, 2, j.stderr);
  assertMatch(j.stderr, /c\.ndjson: not valid utf-8 text at byte 16 \(line 2\)/);
});

Deno.test("invalid UTF-8 past the first read chunks names its byte and line", async () => {
  await using dir = await tempDir();
  let text = "id,name\n";
  for (let id = 1; id <= 20_000; id++) text += `${id},name ${id}\n`; // ≈ 290 kB, 20,001 lines
  const bytes = new TextEncoder().encode(text + "20001,b\u00e9d\n");
  const at = bytes.length - 4; // the first byte of "é", line 20,002
  bytes[at] = 0xff;
  await Deno.writeFile(`${dir.path}/a.csv`, bytes);
  const r = await dsync(["csv:csv", "a.csv", "b.csv"], { cwd: dir.path });
  assertEquals(r.code, 2, r.stderr);
  assertMatch(r.stderr, new RegExp(`a\\.csv: not valid utf-8 text at byte ${at} \\(line 20002\\)`));
  // Cut inside the "é": the file ends inside a character.
  await Deno.writeFile(
    `${dir.path}/c.csv`,
    new TextEncoder().encode(text + "20001,b\u00e9").slice(0, -1),
  );
  const cut = await dsync(["csv:csv", "c.csv", "d.csv"], { cwd: dir.path });
  assertEquals(cut.code, 2, cut.stderr);
  assertMatch(
    cut.stderr,
    /c\.csv: not valid utf-8 text: the file ends inside a character \(byte \d+, line 20002\)/,
  );
});
