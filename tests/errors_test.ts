/** Bad input: one clear line naming file, line, field and value; exit 2; target untouched. */
import { assertEquals, assertMatch } from "./assert.ts";
import { checksum, dsync, sqliteExec, tempDir } from "./helpers.ts";

async function expectInputError(
  csv: string,
  pattern: RegExp,
  args: string[] = [],
): Promise<void> {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/ok.csv`, "id,name,age\n1,Ann,30\n");
  const load = await dsync(["csv:sqlite", "ok.csv", "t.db#t", "-q"], { cwd: dir.path });
  assertEquals(load.code, 0, load.stderr);
  const before = await checksum(`${dir.path}/t.db`);
  await Deno.writeTextFile(`${dir.path}/bad.csv`, csv);
  const r = await dsync(["csv:sqlite", "bad.csv", "t.db#t", "--delete", ...args], {
    cwd: dir.path,
  });
  assertEquals(r.code, 2, r.stderr);
  assertMatch(r.stderr, pattern);
  assertEquals(r.stderr.includes("    at "), false, "no stack trace without --verbose");
  assertEquals(r.stderr.trim().split("\n").length <= 2, true, r.stderr);
  assertEquals(await checksum(`${dir.path}/t.db`), before, "target must be untouched");
}

Deno.test("unterminated quote", () =>
  expectInputError(
    'id,name,age\n1,Ann,30\n2,"Bob,40\n3,Cy,50\n',
    /bad\.csv:\d+: malformed CSV: .*[Qq]uote/,
  ));

Deno.test("ragged row", () =>
  expectInputError(
    "id,name,age\n1,Ann,30\n2,Bob\n",
    /bad\.csv:3: malformed CSV: .*(length|columns|fields)/i,
  ));

Deno.test("duplicate key names both lines", () =>
  expectInputError(
    "id,name,age\n1,Ann,30\n2,Bob,40\n1,Again,50\n",
    /duplicate key id=1 at bad\.csv:2 and bad\.csv:4/,
  ));

Deno.test("missing key column", () =>
  expectInputError("name,age\nAnn,30\n", /--key: no field 'id'|no field 'id'|no key/));

Deno.test("empty key value", () =>
  expectInputError("id,name,age\n1,Ann,30\n,Bob,40\n", /bad\.csv:3: key field 'id' is empty/));

Deno.test("unconvertible value names file, line, field and value", () =>
  expectInputError(
    "id,name,age\n1,Ann,30\n2,Bob,forty\n",
    /bad\.csv:3: field 'age': cannot convert "forty" to integer/,
  ));

Deno.test("source field missing from the target table", () =>
  expectInputError(
    "id,name,age,shoe\n1,Ann,30,42\n",
    /field 'shoe' of bad\.csv is not in sqlite:t\.db#t/,
  ));

Deno.test("duplicate header name", () =>
  expectInputError("id,name,name\n1,a,b\n", /bad\.csv:1: header names 'name' twice/));

Deno.test("missing file, unknown adapter, bad option → exit 2 with one clear line", async () => {
  await using dir = await tempDir();
  const missing = await dsync(["csv:sqlite", "nope.csv", "t.db#t"], { cwd: dir.path });
  assertEquals(missing.code, 2);
  assertMatch(missing.stderr, /nope\.csv: cannot open/);
  const unknown = await dsync(["csv:oracle", "a.csv", "x"], { cwd: dir.path });
  assertEquals(unknown.code, 2);
  assertMatch(unknown.stderr, /unknown adapter 'oracle'/);
  const option = await dsync(["csv:sqlite", "a.csv", "--frobnicate"], { cwd: dir.path });
  assertEquals(option.code, 2);
  assertMatch(option.stderr, /unknown option '--frobnicate'/);
  const limit = await dsync(["csv:sqlite", "a.csv", "--max-delete", "lots"], { cwd: dir.path });
  assertEquals(limit.code, 2);
  const exists = await Deno.stat(`${dir.path}/t.db`).then(() => true, () => false);
  assertEquals(exists, false, "no target file may be created on error");
});

Deno.test("malformed NDJSON line and non-array JSON are input errors", async () => {
  await using dir = await tempDir();
  const nd = await dsync(["ndjson:csv", "-", "out.csv"], {
    cwd: dir.path,
    stdin: '{"id":1}\n{"id":2,\n',
  });
  assertEquals(nd.code, 2);
  assertMatch(nd.stderr, /stdin\.ndjson:2: not valid JSON/);
  await Deno.writeTextFile(`${dir.path}/o.json`, '{"id":1}');
  const js = await dsync(["json:csv", "o.json", "out.csv"], { cwd: dir.path });
  assertEquals(js.code, 2);
  assertMatch(js.stderr, /o\.json: expected a JSON array of objects/);
  assertEquals(await Deno.stat(`${dir.path}/out.csv`).then(() => true, () => false), false);
});

Deno.test("a target failure mid-apply rolls everything back: exit 4, table as before", async () => {
  await using dir = await tempDir();
  sqliteExec(
    `${dir.path}/t.db`,
    `CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score INTEGER CHECK (score < 100));
     INSERT INTO t VALUES (1, 'keep', 1), (2, 'old', 2);`,
  );
  const before = await checksum(`${dir.path}/t.db`);
  const rows = ["id,name,score", "1,changed,5", "3,new,3"];
  for (let i = 4; i < 600; i++) rows.push(`${i},n${i},${i === 599 ? 100 : 1}`);
  await Deno.writeTextFile(`${dir.path}/in.csv`, rows.join("\n") + "\n");
  const r = await dsync(["csv:sqlite", "in.csv", "t.db#t", "--delete"], { cwd: dir.path });
  assertEquals(r.code, 4, r.stderr);
  assertMatch(
    r.stderr,
    /while creating record id=599: CHECK constraint failed.*rolled back, nothing written/,
  );
  assertEquals(await checksum(`${dir.path}/t.db`), before);
});
