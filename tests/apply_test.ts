/** Plan → review → apply: `dsync apply` applies exactly a saved plan, or nothing on conflict. */
import { assertEquals, assertMatch } from "./assert.ts";
import { checksum, dsync, parseCsvSimple, sqliteExec, sqliteRows, tempDir } from "./helpers.ts";

const V1 = "id,name,score\n1,Ann,1.5\n2,Bob,2\n3,Cy,3\n";
const V2 = "id,name,score\n1,Ann,1.5\n2,Robert,2.5\n4,Di,4\n";

async function planned(dir: string) {
  await Deno.writeTextFile(`${dir}/v1.csv`, V1);
  await Deno.writeTextFile(`${dir}/v2.csv`, V2);
  assertEquals((await dsync(["csv:sqlite", "v1.csv", "t.db#t", "-q"], { cwd: dir })).code, 0);
  const plan = await dsync([
    "csv:sqlite",
    "v2.csv",
    "t.db#t",
    "-n",
    "--delete",
    "-o",
    "plan.ndjson",
  ], { cwd: dir });
  assertEquals(plan.code, 0, plan.stderr);
}

Deno.test("apply a jq-filtered plan from stdin: exactly those changes", async () => {
  await using dir = await tempDir();
  await planned(dir.path);
  const lines = (await Deno.readTextFile(`${dir.path}/plan.ndjson`)).split("\n").filter((l) =>
    l && !l.includes('"op":"delete"')
  );
  const r = await dsync(["apply", "sqlite", "t.db#t", "-"], {
    cwd: dir.path,
    stdin: lines.join("\n") + "\n",
  });
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stderr, /\+1 ~1 -0/);
  assertEquals(sqliteRows(`${dir.path}/t.db`, "t", "id"), [
    { id: 1, name: "Ann", score: 1.5 },
    { id: 2, name: "Robert", score: 2.5 },
    { id: 3, name: "Cy", score: 3 },
    { id: 4, name: "Di", score: 4 },
  ]);
});

Deno.test("apply gives the same target as a direct sync", async () => {
  await using dir = await tempDir();
  await planned(dir.path);
  await Deno.copyFile(`${dir.path}/t.db`, `${dir.path}/direct.db`);
  const a = await dsync(["apply", "sqlite", "t.db#t", "plan.ndjson"], { cwd: dir.path });
  assertEquals(a.code, 0, a.stderr);
  const d = await dsync(["csv:sqlite", "v2.csv", "direct.db#t", "--delete", "-q"], {
    cwd: dir.path,
  });
  assertEquals(d.code, 0, d.stderr);
  assertEquals(
    sqliteRows(`${dir.path}/t.db`, "t", "id"),
    sqliteRows(`${dir.path}/direct.db`, "t", "id"),
  );
});

Deno.test("a record that moved on is a conflict: nothing applied, all listed, exit 5; --force applies", async () => {
  await using dir = await tempDir();
  await planned(dir.path);
  sqliteExec(
    `${dir.path}/t.db`,
    "UPDATE t SET score = 99 WHERE id = 2; INSERT INTO t VALUES (4, 'Dee', 1)",
  );
  const before = await checksum(`${dir.path}/t.db`);
  const r = await dsync(["apply", "sqlite", "t.db#t", "plan.ndjson"], { cwd: dir.path });
  assertEquals(r.code, 5, r.stderr);
  assertMatch(r.stderr, /2 conflicts/);
  assertMatch(r.stderr, /create \{"id":4\}: the record exists already/);
  assertMatch(r.stderr, /update \{"id":2\}: 'score' is now 99/);
  assertEquals(await checksum(`${dir.path}/t.db`), before);
  const f = await dsync(["apply", "sqlite", "t.db#t", "plan.ndjson", "--force"], { cwd: dir.path });
  assertEquals(f.code, 0, f.stderr);
  assertEquals(
    sqliteRows(`${dir.path}/t.db`, "t", "id").map((r) => `${r.id}:${r.name}:${r.score}`),
    [
      "1:Ann:1.5",
      "2:Robert:2.5",
      "4:Di:4",
    ],
  );
});

Deno.test("malformed plan lines are input errors naming the line", async () => {
  await using dir = await tempDir();
  await planned(dir.path);
  const before = await checksum(`${dir.path}/t.db`);
  for (
    const [bad, pattern] of [
      [
        '{"op":"create","key":{"id":9},"after":{"id":9}}\n{"op":"upsert","key":{"id":1}}',
        /stdin:2: "op" must be/,
      ],
      [
        '{"op":"update","key":{"id":1},"before":3,"after":{"name":"x"}}',
        /stdin:1: "before" must be an object/,
      ],
      ["not json", /stdin:1: not valid JSON/],
      [
        '{"op":"create","key":{"id":"x"},"after":{"id":"x"}}',
        /stdin:1: field 'id': cannot convert "x" to integer/,
      ],
    ] as const
  ) {
    const r = await dsync(["apply", "sqlite", "t.db#t"], { cwd: dir.path, stdin: bad });
    assertEquals(r.code, 2, r.stderr);
    assertMatch(r.stderr, pattern);
  }
  assertEquals(await checksum(`${dir.path}/t.db`), before);
});

Deno.test("apply honours limits and rewrites a CSV target atomically", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/v1.csv`, V1);
  await Deno.writeTextFile(`${dir.path}/v2.csv`, V2);
  await Deno.copyFile(`${dir.path}/v1.csv`, `${dir.path}/t.csv`);
  const plan = await dsync(["csv:csv", "v2.csv", "t.csv", "-n", "--delete"], { cwd: dir.path });
  const limited = await dsync(["apply", "csv", "t.csv", "--max-delete", "0"], {
    cwd: dir.path,
    stdin: plan.stdout,
  });
  assertEquals(limited.code, 3, limited.stderr);
  const r = await dsync(["apply", "csv", "t.csv"], { cwd: dir.path, stdin: plan.stdout });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(parseCsvSimple(await Deno.readTextFile(`${dir.path}/t.csv`)), parseCsvSimple(V2));
});
