/**
 * The sorted-merge strategy: when both sides come in key order it pairs them in one pass; when a
 * side is not sorted it falls back to the hash join. Either way the plan, the target and the
 * errors are the same as the hash join's (DSYNC_STRATEGY=hash-join forces the hash join).
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, parseNdjson, sqliteExec, sqliteRows, tempDir } from "./helpers.ts";

const HASH = { DSYNC_STRATEGY: "hash-join" };

function csv(rows: (string | number)[][]): string {
  return ["id,name,score", ...rows.map((r) => r.join(","))].join("\n") + "\n";
}

/** Runs the same sync with the merge and with the hash join on two copies of a target. */
async function bothWays(dir: string, args: (db: string) => string[]) {
  // `merge`: both sides read by dsync, never a join inside SQLite (tests/join_diff_test.ts).
  const merge = await dsync([...args("m.db"), "-v"], {
    cwd: dir,
    env: { DSYNC_STRATEGY: "merge" },
  });
  const hash = await dsync([...args("h.db"), "-v"], { cwd: dir, env: HASH });
  return { merge, hash };
}

Deno.test("sorted CSV into SQLite: one merge pass, same plan and table as the hash join", async () => {
  await using dir = await tempDir();
  const ids = Array.from({ length: 3000 }, (_, i) => i + 1);
  await Deno.writeTextFile(`${dir.path}/old.csv`, csv(ids.map((id) => [id, `n${id}`, id % 7])));
  const next = ids.filter((id) => id % 97 !== 0)
    .map((id) => [id, id % 50 === 0 ? `changed${id}` : `n${id}`, id % 7])
    .concat([[3001, "new", 1], [3002, "new2", 2]]);
  await Deno.writeTextFile(`${dir.path}/new.csv`, csv(next));
  for (const db of ["m.db", "h.db"]) {
    sqliteExec(
      `${dir.path}/${db}`,
      "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score INTEGER)",
    );
    const r = await dsync(["csv:sqlite", "old.csv", `${db}#t`, "-q"], { cwd: dir.path });
    assertEquals(r.code, 0, r.stderr);
  }
  const plans = await bothWays(dir.path, (db) => ["csv:sqlite", "new.csv", `${db}#t`, "--delete"]);
  assertMatch(plans.merge.stderr, /paired by a sorted merge/);
  assertMatch(plans.hash.stderr, /paired by a hash join/);
  assertEquals([plans.merge.code, plans.hash.code], [0, 0], plans.merge.stderr);
  assertEquals(plans.merge.stdout, plans.hash.stdout);
  const plan = parseNdjson(plans.merge.stdout);
  assertEquals(
    ["create", "update", "delete"].map((op) => plan.filter((c) => c.op === op).length),
    [2, 60, 30],
  );
  const update = plan.find((c) => c.op === "update")!;
  assertEquals(update.before, { name: "n50" });
  assertEquals(
    sqliteRows(`${dir.path}/m.db`, "t", "id"),
    sqliteRows(`${dir.path}/h.db`, "t", "id"),
  );
  const again = await dsync(["csv:sqlite", "new.csv", "m.db#t", "--delete", "-n"], {
    cwd: dir.path,
  });
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
});

Deno.test("a CSV out of key order falls back to the hash join, same result", async () => {
  await using dir = await tempDir();
  const ids = Array.from({ length: 500 }, (_, i) => i + 1);
  // Sorted for 400 records, then one out of order: the merge has begun when it finds out.
  const order = [...ids.slice(0, 400), 450, ...ids.slice(400).filter((id) => id !== 450)];
  await Deno.writeTextFile(`${dir.path}/s.csv`, csv(order.map((id) => [id, `n${id}`, 1])));
  for (const db of ["m.db", "h.db"]) {
    sqliteExec(
      `${dir.path}/${db}`,
      "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score INTEGER)",
    );
    sqliteExec(`${dir.path}/${db}`, "INSERT INTO t VALUES (2, 'old', 1), (999, 'gone', 1)");
  }
  const plans = await bothWays(dir.path, (db) => ["csv:sqlite", "s.csv", `${db}#t`, "--delete"]);
  assertMatch(plans.merge.stderr, /paired by a hash join/);
  assertEquals(plans.merge.stdout, plans.hash.stdout);
  assertEquals(
    sqliteRows(`${dir.path}/m.db`, "t", "id"),
    sqliteRows(`${dir.path}/h.db`, "t", "id"),
  );
  assertEquals(sqliteRows(`${dir.path}/m.db`, "t", "id").length, 500);
});

Deno.test("text keys: SQL byte order in the merge, the usual key order in the output", async () => {
  await using dir = await tempDir();
  const keys = ["10", "9", "B", "a", "_x", "é", "Z", "100", "ab", "a b"];
  for (const side of ["s.db", "m.db", "h.db"]) {
    sqliteExec(`${dir.path}/${side}`, "CREATE TABLE t (code TEXT PRIMARY KEY, v INTEGER)");
  }
  const values = keys.map((k, i) => `('${k}', ${i})`).join(", ");
  sqliteExec(`${dir.path}/s.db`, `INSERT INTO t VALUES ${values}`);
  for (const db of ["m.db", "h.db"]) {
    sqliteExec(
      `${dir.path}/${db}`,
      "INSERT INTO t VALUES ('9', 0), ('a', 99), ('zz', 1), ('B', 2)",
    );
  }
  const plans = await bothWays(
    dir.path,
    (db) => ["sqlite:sqlite", "s.db#t", `${db}#t`, "--delete"],
  );
  assertMatch(plans.merge.stderr, /paired by a sorted merge/);
  assertEquals([plans.merge.code, plans.hash.code], [0, 0], plans.merge.stderr);
  assertEquals(plans.merge.stdout, plans.hash.stdout);
  const plan = parseNdjson(plans.merge.stdout);
  assertEquals(
    plan.map((c) => `${c.op} ${(c.key as { code: string }).code}`),
    [
      "create 10",
      "create 100",
      "create Z",
      "create _x",
      "create a b",
      "create ab",
      "create é",
      "update 9",
      "update a",
      "delete zz",
    ],
  );
  assertEquals(
    sqliteRows(`${dir.path}/m.db`, "t", "code"),
    sqliteRows(`${dir.path}/s.db`, "t", "code"),
  );
});

Deno.test("merge: duplicate keys and empty keys stop the run like the hash join", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/dup.csv`,
    csv([[1, "a", 1], [2, "b", 1], [2, "c", 1], [3, "d", 1]]),
  );
  sqliteExec(
    `${dir.path}/t.db`,
    "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score INTEGER)",
  );
  for (const env of [{}, HASH]) {
    const r = await dsync(["csv:sqlite", "dup.csv", "t.db#t"], { cwd: dir.path, env });
    assertEquals(r.code, 2, r.stderr);
    assertMatch(r.stderr, /duplicate key id=2 at dup\.csv:3 and dup\.csv:4/);
  }
  // A new target: nothing to read on that side, the source alone must be in order.
  for (const env of [{}, HASH]) {
    const r = await dsync(["csv:sqlite", "dup.csv", "new.db#t"], { cwd: dir.path, env });
    assertEquals(r.code, 2, r.stderr);
    assertMatch(r.stderr, /duplicate key id="2" at dup\.csv:3 and dup\.csv:4/);
  }
  await Deno.writeTextFile(`${dir.path}/empty.csv`, csv([[1, "a", 1], ["", "b", 1]]));
  for (const env of [{}, HASH]) {
    const r = await dsync(["csv:sqlite", "empty.csv", "t.db#t"], { cwd: dir.path, env });
    assertEquals(r.code, 2, r.stderr);
    assertMatch(r.stderr, /empty\.csv:3: key field 'id' is empty/);
  }
  assertEquals(sqliteRows(`${dir.path}/t.db`, "t", "id"), []);
});

Deno.test("a new target from a sorted file merges; untyped keys that tie fall back safely", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/s.csv`, csv([[1, "a", 1], [2, "b", 2], [10, "c", 3]]));
  const load = await dsync(["csv:sqlite", "s.csv", "n.db#t", "-v"], { cwd: dir.path });
  assertEquals(load.code, 0, load.stderr);
  assertMatch(load.stderr, /paired by a sorted merge/);
  assertEquals(sqliteRows(`${dir.path}/n.db`, "t", "id").length, 3);

  // Different integers beyond 2^53 are ordered by every digit: two records.
  const big = csv([["9007199254740992", "a", 1], ["9007199254740993", "b", 2]]);
  await Deno.writeTextFile(`${dir.path}/big.csv`, big);
  const tie = await dsync(["csv:sqlite", "big.csv", "b.db#t", "-v"], { cwd: dir.path });
  assertEquals(tie.code, 0, tie.stderr);
  assertEquals(parseNdjson(tie.stdout).length, 2);

  // Untyped keys are compared exactly: "1" and "1.0" are two keys under either strategy
  // (issue 14: the same number spelled twice is not one identifier).
  await Deno.writeTextFile(`${dir.path}/dup.csv`, csv([["1", "a", 1], ["1.0", "b", 2]]));
  for (const [db, env] of [["d.db", {}], ["h.db", HASH]] as const) {
    const r = await dsync(["csv:sqlite", "dup.csv", `${db}#t`], { cwd: dir.path, env });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(sqliteRows(`${dir.path}/${db}`, "t", "id").map((row) => row.id), ["1", "1.0"]);
  }
});

Deno.test("merge with every change list on disk: same plan and table as in memory", async () => {
  await using dir = await tempDir();
  const ids = Array.from({ length: 400 }, (_, i) => i + 1);
  await Deno.writeTextFile(
    `${dir.path}/s.csv`,
    csv(
      ids.filter((id) => id % 9 !== 0).map((id) => [id, id % 5 === 0 ? `new${id}` : `n${id}`, 1]),
    ),
  );
  for (const db of ["m.db", "d.db"]) {
    sqliteExec(
      `${dir.path}/${db}`,
      "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score INTEGER)",
    );
    const rows = ids.map((id) => `(${id}, 'n${id}', ${id === 10 ? "'not a number'" : 1})`);
    sqliteExec(`${dir.path}/${db}`, `INSERT INTO t VALUES ${rows.join(", ")}, (999, x'00ff', 1)`);
  }
  const args = (db: string) => ["csv:sqlite", "s.csv", `${db}#t`, "--delete", "-v"];
  const memory = await dsync(args("m.db"), { cwd: dir.path });
  // A budget of 16 keeps one change of each kind in memory: the rest go to runs on disk.
  const disk = await dsync(args("d.db"), { cwd: dir.path, env: { DSYNC_SPILL_RECORDS: "16" } });
  assertEquals([memory.code, disk.code], [0, 0], memory.stderr + disk.stderr);
  assertMatch(disk.stderr, /paired by a sorted merge; more than 16 records to hold: spilled/);
  assertEquals(disk.stdout, memory.stdout);
  const plan = parseNdjson(disk.stdout);
  assertEquals(
    ["create", "update", "delete"].map((op) => plan.filter((c) => c.op === op).length),
    [0, 72, 45],
  );
  const update10 = plan.find((c) => c.op === "update" && (c.key as { id: number }).id === 10);
  assertEquals(update10?.before, { name: "n10", score: "not a number" });
  const gone = plan.find((c) => (c.key as { id: number }).id === 999);
  assertEquals(gone?.before, { id: 999, name: "AP8=", score: 1 });
  assertEquals(
    sqliteRows(`${dir.path}/d.db`, "t", "id"),
    sqliteRows(`${dir.path}/m.db`, "t", "id"),
  );
});

Deno.test("CSV vs CSV in key order: one merge pass over both files, same plan as the hash join", async () => {
  await using dir = await tempDir();
  const head = "id,name,note\n";
  // Raw text decides: "1.0" and "1" are two keys, an empty cell (NULL) is not `""`, and a quoted
  // value equal to an unquoted one is the same text.
  await Deno.writeTextFile(
    `${dir.path}/old.csv`,
    head + '1,a,x\n1.0,b,\n2,"c",y\n3,d,""\n10,e,z\n11,gone,z\n',
  );
  await Deno.writeTextFile(
    `${dir.path}/new.csv`,
    head + '1,a,x\n1.0,b,""\n2,c,y\n3,d,\n10,E,z\n12,new,z\n',
  );
  const run = (target: string, env: Record<string, string>) =>
    dsync(["csv:csv", "new.csv", target, "--key", "id", "--delete", "-n", "-v"], {
      cwd: dir.path,
      env,
    });
  const merge = await run("old.csv", {});
  const hash = await run("old.csv", HASH);
  assertEquals([merge.code, hash.code], [0, 0], merge.stderr + hash.stderr);
  assertMatch(merge.stderr, /paired by a sorted merge/);
  assertEquals(merge.stdout, hash.stdout);
  assertEquals(
    parseNdjson(merge.stdout).map((c) => [c.op, (c.key as { id: string }).id]),
    [["create", "12"], ["update", "1.0"], ["update", "3"], ["update", "10"], ["delete", "11"]],
  );

  // A target out of key order: the merge gives up and the hash join finds the same plan.
  await Deno.writeTextFile(
    `${dir.path}/shuffled.csv`,
    head + '10,e,z\n1,a,x\n1.0,b,\n2,"c",y\n3,d,""\n11,gone,z\n',
  );
  const fallback = await run("shuffled.csv", {});
  assertEquals(fallback.code, 0, fallback.stderr);
  assertMatch(fallback.stderr, /paired by a hash join/);
  assertEquals(fallback.stdout, merge.stdout);
});

Deno.test("CSV vs CSV compared as text: the same text is skipped, yet every record is checked", async () => {
  await using dir = await tempDir();
  const write = (name: string, text: string) => Deno.writeTextFile(`${dir.path}/${name}`, text);
  const run = (source: string, target: string, ...more: string[]) =>
    dsync(["csv:csv", source, target, "--key", "id", "--delete", "-n", ...more], {
      cwd: dir.path,
    });
  // Different texts of the same cells ("1" quoted or bare) pair and compare equal; a column
  // left out of the comparison does not make an update; a swapped column order is compared by
  // cells: the plan is the hash join's.
  await write("a.csv", 'id,name,note\n"1",Ann,x\n2,"Rob",y\n3,Eve,z\n');
  await write("b.csv", "id,name,note\n1,Ann,x\n2,Rob,Y\n3,Eve,z\n");
  await write("c.csv", "note,id,name\nx,1,Ann\nY,2,Rob\nz,3,Eve\n");
  const cells = await run("a.csv", "b.csv");
  assertEquals(cells.code, 0, cells.stderr);
  assertEquals(parseNdjson(cells.stdout).map((c) => [c.op, (c.key as { id: string }).id]), [
    ["update", "2"],
  ]);
  const excluded = await run("a.csv", "b.csv", "--exclude", "note");
  assertEquals([excluded.code, excluded.stdout], [0, ""], excluded.stderr);
  const swapped = await run("a.csv", "c.csv");
  assertEquals(swapped.code, 0, swapped.stderr);
  assertEquals(swapped.stdout, cells.stdout);
  assertEquals(
    swapped.stdout,
    (await dsync(["csv:csv", "a.csv", "c.csv", "--key", "id", "-n"], {
      cwd: dir.path,
      env: HASH,
    })).stdout,
  );

  // The same bad record on both sides is still an error of the source, at its line.
  const bad = [
    ['id,name\n1,a\n2,"b"x\n', /a2\.csv:3: malformed CSV: text after a closing quote/],
    ["id,name\n1,a\n2,b,c\n", /a2\.csv:3: malformed CSV: 3 fields where the header has 2/],
    ["id,name\n1,a\n,b\n", /a2\.csv:3: key field 'id' is empty/],
    ["id,name\n1,a\n1,a\n", /a2\.csv: duplicate key id="1" at a2\.csv:2 and a2\.csv:3/],
  ] as const;
  for (const [text, message] of bad) {
    await write("a2.csv", text);
    await write("b2.csv", text);
    const r = await run("a2.csv", "b2.csv");
    assertEquals(r.code, 2, r.stderr);
    assertMatch(r.stderr, message);
  }
});
