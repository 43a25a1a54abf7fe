/**
 * Key identity and `auto` equality (issue 14): untyped keys are compared exactly, and two
 * different texts are never equal, so no record is paired with another's data.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, parseCsvSimple, parseNdjson, tempDir } from "./helpers.ts";

Deno.test("untyped keys 0E0 and 0E8 (airport codes) are two records, from CSV and NDJSON", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a.csv`, "id,name\n0E0,Moriarty\n0E8,Crownpoint\n");
  const first = await dsync(["csv:ndjson", "a.csv", "a.ndjson"], { cwd: dir.path });
  assertEquals(first.code, 0, first.stderr);
  const rows = parseNdjson(await Deno.readTextFile(`${dir.path}/a.ndjson`));
  assertEquals(rows, [{ id: "0E0", name: "Moriarty" }, { id: "0E8", name: "Crownpoint" }]);
  const again = await dsync(["csv:ndjson", "a.csv", "a.ndjson"], { cwd: dir.path });
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
  const back = await dsync(["ndjson:csv", "a.ndjson", "b.csv"], { cwd: dir.path });
  assertEquals(back.code, 0, back.stderr);
  assertEquals(
    await Deno.readTextFile(`${dir.path}/b.csv`),
    "id,name\n0E0,Moriarty\n0E8,Crownpoint\n",
  );
});

Deno.test("keys 1 and 1.0, 100 and 1e2, true and TRUE, 0 and -0 are different untyped keys", async () => {
  await using dir = await tempDir();
  const csv = "id,v\n1,a\n1.0,b\n100,c\n1e2,d\ntrue,e\nTRUE,f\n0,g\n-0,h\n";
  await Deno.writeTextFile(`${dir.path}/a.csv`, csv);
  const r = await dsync(["csv:csv", "a.csv", "b.csv"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(parseCsvSimple(await Deno.readTextFile(`${dir.path}/b.csv`)).length, 9);
  const again = await dsync(["csv:csv", "a.csv", "b.csv"], { cwd: dir.path });
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
});

Deno.test("no false match into a file target: 0E8 is created next to 0E0", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/src.csv`, "id,name\n0E8,Crownpoint\n");
  for (
    const [kind, file, content] of [
      ["csv", "t.csv", "id,name\n0E0,Moriarty\n"],
      ["ndjson", "t.ndjson", '{"id":"0E0","name":"Moriarty"}\n'],
    ]
  ) {
    await Deno.writeTextFile(`${dir.path}/${file}`, content);
    const r = await dsync([`csv:${kind}`, "src.csv", file], { cwd: dir.path });
    assertEquals(r.code, 0, r.stderr);
    const text = await Deno.readTextFile(`${dir.path}/${file}`);
    assertMatch(text, /0E0.*Moriarty/);
    assertMatch(text, /0E8.*Crownpoint/);
  }
});

Deno.test("auto: a code 0E0 changed to 0E8 is an update, not equal", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a.csv`, "id,code\n1,0E8\n2,1.50\n3,TRUE\n");
  await Deno.writeTextFile(`${dir.path}/b.csv`, "id,code\n1,0E0\n2,1.5\n3,true\n");
  const r = await dsync(["csv:csv", "a.csv", "b.csv"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(await Deno.readTextFile(`${dir.path}/b.csv`), "id,code\n1,0E8\n2,1.50\n3,TRUE\n");
});

Deno.test("auto: a CSV number written to JSON as a number still equals its text", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/a.csv`,
    "id,n,f,b\n1,7,0.5,true\n2,9007199254740993,1e-7,false\n",
  );
  assertEquals((await dsync(["csv:json", "a.csv", "a.json"], { cwd: dir.path })).code, 0);
  const text = await Deno.readTextFile(`${dir.path}/a.json`);
  assertMatch(text, /"n":9007199254740993,/);
  const again = await dsync(["csv:json", "a.csv", "a.json"], { cwd: dir.path });
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
});

Deno.test("number-like text that a number would respell stays text in a new typed target", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a.csv`, "id,code\n1,0E0\n2,0E8\n3,1e5\n");
  const r = await dsync(["csv:ndjson", "a.csv", "a.ndjson"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(
    parseNdjson(await Deno.readTextFile(`${dir.path}/a.ndjson`)).map((o) => o.code),
    ["0E0", "0E8", "1e5"],
  );
});

Deno.test("untyped keys: two spellings of one instant are two keys; 0E0/0E8 from JSON and xlsx text cells", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/t.csv`,
    "id,v\n2024-01-02T10:00:00Z,a\n2024-01-02T11:00:00+01:00,b\n2024-01-02 10:00:00,c\n",
  );
  const r = await dsync(["csv:ndjson", "t.csv", "t.ndjson"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(parseNdjson(await Deno.readTextFile(`${dir.path}/t.ndjson`)).length, 3);
  const again = await dsync(["csv:ndjson", "t.csv", "t.ndjson"], { cwd: dir.path });
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);

  await Deno.writeTextFile(
    `${dir.path}/a.json`,
    '[{"id":"0E0","name":"Moriarty"},{"id":"0E8","name":"Crownpoint"}]',
  );
  const book = await dsync(["json:xlsx", "a.json", "a.xlsx"], { cwd: dir.path });
  assertEquals(book.code, 0, book.stderr);
  const back = await dsync(["xlsx:csv", "a.xlsx", "b.csv"], { cwd: dir.path });
  assertEquals(back.code, 0, back.stderr);
  assertEquals(
    await Deno.readTextFile(`${dir.path}/b.csv`),
    "id,name\n0E0,Moriarty\n0E8,Crownpoint\n",
  );
  const idle = await dsync(["json:xlsx", "a.json", "a.xlsx"], { cwd: dir.path });
  assertEquals([idle.code, idle.stdout], [0, ""], idle.stderr);
});
