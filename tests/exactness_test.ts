/** Exactness defects of issue 14 beyond keys and JSON: each test failed before its fix. */
import { assertEquals, assertMatch } from "./assert.ts";
import { checksum, dsync, parseNdjson, sqliteExec, tempDir } from "./helpers.ts";

Deno.test('a quoted "" in a numeric CSV column stays "" in an untyped target: the rerun is clean', async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a.csv`, 'id,n\n1,5\n2,""\n3,\n');
  for (const target of ["t.ndjson", "t.json", "t.xlsx"]) {
    const kind = target.split(".")[1];
    const first = await dsync([`csv:${kind}`, "a.csv", target], { cwd: dir.path });
    assertEquals(first.code, 0, first.stderr);
    const again = await dsync([`csv:${kind}`, "a.csv", target], { cwd: dir.path });
    assertEquals([again.code, again.stdout], [0, ""], `${kind}: ${again.stdout}${again.stderr}`);
  }
  const rows = parseNdjson(await Deno.readTextFile(`${dir.path}/t.ndjson`));
  assertEquals(rows.map((r) => r.n), ["5", "", null]);
});

Deno.test("a file target keeps one JSON type per field: a new 73301 is a string next to 02134", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/t.ndjson`, '{"id":1,"zip":"02134"}\n');
  await Deno.writeTextFile(`${dir.path}/a.csv`, "id,zip\n1,02134\n2,73301\n");
  const r = await dsync(["csv:ndjson", "a.csv", "t.ndjson"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(parseNdjson(await Deno.readTextFile(`${dir.path}/t.ndjson`)), [
    { id: 1, zip: "02134" },
    { id: 2, zip: "73301" },
  ]);
  const again = await dsync(["csv:ndjson", "a.csv", "t.ndjson"], { cwd: dir.path });
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
});

Deno.test("1e309 into a REAL column is refused before anything is written, naming the value", async () => {
  await using dir = await tempDir();
  sqliteExec(`${dir.path}/t.db`, "CREATE TABLE t (id INTEGER PRIMARY KEY, x REAL)");
  await Deno.writeTextFile(`${dir.path}/a.csv`, "id,x\n1,1.5\n2,1e309\n");
  const before = await checksum(`${dir.path}/t.db`);
  const r = await dsync(["csv:sqlite", "a.csv", "t.db#t"], { cwd: dir.path });
  assertEquals(r.code, 2, r.stderr);
  assertMatch(r.stderr, /a\.csv:3: field 'x': .*1e309/);
  assertEquals(await checksum(`${dir.path}/t.db`), before);
});

Deno.test("SQLite: the INTEGER key -9223372036854775808 is read and matched (no false create)", async () => {
  await using dir = await tempDir();
  sqliteExec(
    `${dir.path}/t.db`,
    `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
     INSERT INTO t VALUES (-9223372036854775808, 'a'), (1, 'b');`,
  );
  await Deno.writeTextFile(`${dir.path}/a.csv`, "id,v\n-9223372036854775808,a\n1,b\n");
  for (const env of [{}, { DSYNC_STRATEGY: "hash-join" }] as Record<string, string>[]) {
    const r = await dsync(["csv:sqlite", "a.csv", "t.db#t"], { cwd: dir.path, env });
    assertEquals([r.code, r.stdout], [0, ""], r.stderr);
  }
  const out = await dsync(["sqlite:ndjson", "t.db#t", "t.ndjson"], { cwd: dir.path });
  assertEquals(out.code, 0, out.stderr);
  assertMatch(await Deno.readTextFile(`${dir.path}/t.ndjson`), /-9223372036854775808/);
});

Deno.test("xlsx: a timestamp at exactly midnight reads back as that timestamp, not a date", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/a.csv`,
    "id,at\n1,2024-01-02T00:00:00\n2,2024-01-02T10:30:00\n",
  );
  const first = await dsync(["csv:xlsx", "a.csv", "t.xlsx"], { cwd: dir.path });
  assertEquals(first.code, 0, first.stderr);
  const again = await dsync(["csv:xlsx", "a.csv", "t.xlsx"], { cwd: dir.path });
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
});
