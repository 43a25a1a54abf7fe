/** Bugs found in review, each pinned by a test that failed before its fix. */
import { assertEquals, assertMatch } from "./assert.ts";
import { ConversionError } from "../src/model/errors.ts";
import { canonical, convertValue } from "../src/model/values.ts";
import { sqliteType } from "../src/adapters/sqlite/dialect.ts";
import { dsync, parseNdjson, tempDir } from "./helpers.ts";

function fails(value: unknown, type: Parameters<typeof convertValue>[1]): boolean {
  try {
    convertValue(value, type);
    return false;
  } catch (error) {
    return error instanceof ConversionError;
  }
}

Deno.test("a zone written as ±HH is hours, not hours and minutes", () => {
  assertEquals(convertValue("2024-01-02T10:30:00+05", "timestamptz"), "2024-01-02T05:30:00Z");
  assertEquals(convertValue("2024-01-02T10:30:00-0130", "timestamptz"), "2024-01-02T12:00:00Z");
});

Deno.test("'e5' and other digitless numbers are not floats", () => {
  for (const text of ["e5", ".", "+", "-e3", "."]) assertEquals(fails(text, "float"), true, text);
  assertEquals(convertValue(".5", "float"), 0.5);
});

Deno.test("a date with a zone is the UTC date, and must be midnight there", () => {
  assertEquals(convertValue("2024-01-02T00:00:00Z", "date"), "2024-01-02");
  assertEquals(fails("2024-01-02T00:00:00+05:00", "date"), true);
});

Deno.test("TIME WITH TIME ZONE columns are times; integers out of 64-bit range fail", () => {
  assertEquals(sqliteType("TIME WITH TIME ZONE"), "time");
  assertEquals(sqliteType("TIMESTAMP WITH TIME ZONE"), "timestamptz");
  assertEquals(fails(1e30, "integer"), true);
  assertEquals(convertValue(2 ** 60, "integer"), 2n ** 60n);
});

Deno.test("auto: a JSON value equals its text with sorted keys; safe bigints are plain numbers", () => {
  assertEquals(canonical('{"a":1,"b":[1,2]}', "auto"), canonical({ b: [1, 2], a: 1 }, "auto"));
  assertEquals(convertValue(5n, "auto"), 5);
});

Deno.test("nested JSON into CSV is idempotent", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/m.json`,
    JSON.stringify([{ id: 1, meta: { a: [1, "x"] } }]),
  );
  assertEquals((await dsync(["json:csv", "m.json", "m.csv"], { cwd: dir.path })).code, 0);
  const again = await dsync(["json:csv", "m.json", "m.csv"], { cwd: dir.path });
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
});

Deno.test("--exit-code counts differences the policy leaves out", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/old.csv`, "id,v\n1,a\n");
  await Deno.writeTextFile(`${dir.path}/new.csv`, "id,v\n1,a\n2,b\n");
  const r = await dsync(["csv:csv", "old.csv", "new.csv", "-n", "--exit-code"], { cwd: dir.path });
  assertEquals(r.code, 1, r.stderr);
});

Deno.test("default target name is the source table, not its database file", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/u.csv`, "id\n1\n");
  await dsync(["csv:sqlite", "u.csv", "app.db#users", "-q"], { cwd: dir.path });
  const r = await dsync(["sqlite:csv", "app.db#users"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(await Deno.readTextFile(`${dir.path}/users.csv`), "id\n1\n");
});

Deno.test("--map before the positionals does not swallow them; repeatable", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/u.csv`, "id,a,b\n1,x,y\n");
  const r = await dsync(["csv:ndjson", "--map", "a=A", "--map", "b=B", "u.csv", "-n"], {
    cwd: dir.path,
  });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(parseNdjson(r.stdout)[0].after, { id: 1, A: "x", B: "y" });
});

Deno.test("messages: stdout target label, plural-aware counts, dsync: prefix on option errors", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/u.csv`, "id\n1\n");
  const out = await dsync(["csv:csv", "u.csv", "-"], { cwd: dir.path });
  assertMatch(out.stderr, /u\.csv → stdout\.csv/);
  await Deno.writeTextFile(`${dir.path}/t.csv`, "id\n1\n2\n");
  const one = await dsync(["csv:csv", "u.csv", "t.csv", "-n"], { cwd: dir.path });
  assertMatch(one.stderr, /\(1 delete skipped: no --delete\)/);
  const bad = await dsync(["csv:csv", "u.csv", "--nope"], { cwd: dir.path });
  assertMatch(bad.stderr, /^dsync: unknown option '--nope'/);
});

Deno.test("adapter options given as <value...> are repeatable and leave positionals alone", async () => {
  const help = await dsync(["http:csv", "--help"]);
  assertMatch(help.stdout, /-H, --header <header>/);
});

Deno.test("auto: a date and time in another spelling stays that text (CSV → JSON idempotent)", async () => {
  // Untyped text is compared exactly (issue 14): another spelling is another text.
  assertEquals(
    canonical("2024-01-02 10:00", "auto") === canonical("2024-01-02T10:00:00", "auto"),
    false,
  );
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/t.csv`, "id,at\n1,2024-01-02 10:00\n");
  assertEquals((await dsync(["csv:json", "t.csv", "t.json"], { cwd: dir.path })).code, 0);
  const again = await dsync(["csv:json", "t.csv", "t.json"], { cwd: dir.path });
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
  assertEquals(JSON.parse(await Deno.readTextFile(`${dir.path}/t.json`)), [{
    id: 1,
    at: "2024-01-02 10:00",
  }]);
});

Deno.test("JSON integers beyond 2^53 stay exact: nested in ndjson, and JSON text typed as json", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/a.ndjson`,
    '{"id":1,"doc":{"n":12345678901234567890123}}\n',
  );
  const r = await dsync(["ndjson:ndjson", "a.ndjson", "b.ndjson"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /"doc":\{"n":12345678901234567890123\}/);
  assertEquals(
    await Deno.readTextFile(`${dir.path}/b.ndjson`),
    '{"id":1,"doc":{"n":12345678901234567890123}}\n',
  );
  assertEquals(convertValue('{"n": 9007199254740993, "x": 0.5}', "json"), {
    n: 9007199254740993n,
    x: 0.5,
  });
  assertEquals(canonical(convertValue("[9007199254740993]", "json"), "json"), "[9007199254740993]");
});
