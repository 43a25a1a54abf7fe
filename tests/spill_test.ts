/**
 * The engine past its memory budget: with DSYNC_SPILL_RECORDS set low, both sides go to
 * partition files on disk and creates are sorted through runs on disk. Spill on or off must give
 * the same plan, the same target and the same errors.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, parseNdjson, shuffled, sqliteExec, sqliteRows, tempDir } from "./helpers.ts";

// The hash join is the strategy that spills; sorted inputs would otherwise be merged.
const SPILL = { DSYNC_SPILL_RECORDS: "50", DSYNC_STRATEGY: "hash-join" };

function csvOf(rows: (string | number)[][]): string {
  return ["id,name,amount,day", ...rows.map((r) => r.join(","))].join("\n") + "\n";
}

Deno.test("spill on and off: identical plans and targets, unsorted source, --delete", async () => {
  await using dir = await tempDir();
  const ids = Array.from({ length: 2000 }, (_, i) => i + 1);
  const rows = (names: (id: number) => string) =>
    shuffled(ids).map((
      id,
    ) => [id, names(id), `${id}.50`, `2024-01-${String(id % 28 + 1).padStart(2, "0")}`]);
  await Deno.writeTextFile(`${dir.path}/old.csv`, csvOf(rows((id) => `n${id}`)));
  // 1 % changed, new keys beyond the old range, some old keys gone.
  const next = rows((id) => id % 100 === 0 ? `changed${id}` : `n${id}`)
    .filter(([id]) => (id as number) % 150 !== 0)
    .concat([[5001, "new", "1.00", "2024-02-01"], [5002, "new2", "2.00", "2024-02-02"]]);
  await Deno.writeTextFile(`${dir.path}/new.csv`, csvOf(shuffled(next, 11)));
  for (const db of ["a.db", "b.db"]) {
    const r = await dsync(["csv:sqlite", "old.csv", `${db}#t`, "-q"], { cwd: dir.path });
    assertEquals(r.code, 0, r.stderr);
  }
  const args = ["csv:sqlite", "new.csv", "--delete", "-q"];
  const plain = await dsync([...args, "a.db#t", "-n"], { cwd: dir.path });
  const spilled = await dsync([...args.slice(0, -1), "b.db#t", "-n", "-v"], {
    cwd: dir.path,
    env: SPILL,
  });
  assertMatch(spilled.stderr, /more than 50 records to hold: spilled to temporary files/);
  assertEquals(plain.code, 0, plain.stderr);
  assertEquals(spilled.code, 0, spilled.stderr);
  const plan = parseNdjson(plain.stdout);
  assertEquals(
    ["create", "update", "delete"].map((op) => plan.filter((c) => c.op === op).length),
    [2, 14, 13],
  );
  assertEquals(spilled.stdout, plain.stdout);

  assertEquals((await dsync([...args, "a.db#t"], { cwd: dir.path })).code, 0);
  assertEquals((await dsync([...args, "b.db#t"], { cwd: dir.path, env: SPILL })).code, 0);
  assertEquals(
    sqliteRows(`${dir.path}/b.db`, "t", "id"),
    sqliteRows(`${dir.path}/a.db`, "t", "id"),
  );
  // Spill files are unlinked on creation: the temporary directory is left as it was.
  await Deno.mkdir(`${dir.path}/tmp`);
  const again = await dsync([...args, "b.db#t", "-n", "-v"], {
    cwd: dir.path,
    env: { ...SPILL, TMPDIR: `${dir.path}/tmp` },
  });
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
  assertMatch(again.stderr, /spilled to temporary files/);
  assertEquals([...Deno.readDirSync(`${dir.path}/tmp`)], []);
});

Deno.test("spill on and off: a new typed table from creates sorted on disk", async () => {
  await using dir = await tempDir();
  const ids = Array.from({ length: 1500 }, (_, i) => i + 1);
  const rows = shuffled(ids).map((id) => [id, `"name, ${id}"`, `${id}.25`, "2024-03-04"]);
  await Deno.writeTextFile(`${dir.path}/s.csv`, csvOf(rows));
  const a = await dsync(["csv:sqlite", "s.csv", "a.db#t"], { cwd: dir.path });
  const b = await dsync(["csv:sqlite", "s.csv", "b.db#t"], { cwd: dir.path, env: SPILL });
  assertEquals([a.code, b.code], [0, 0], a.stderr + b.stderr);
  assertEquals(b.stdout, a.stdout);
  assertEquals(parseNdjson(b.stdout).map((c) => (c.key as { id: number }).id), ids);
  const schema = (db: string) => {
    const out = sqliteRows(`${dir.path}/${db}`, "sqlite_master", "name");
    return out.map((r) => r.sql);
  };
  assertEquals(schema("b.db"), schema("a.db"));
  assertEquals(
    sqliteRows(`${dir.path}/b.db`, "t", "id"),
    sqliteRows(`${dir.path}/a.db`, "t", "id"),
  );
});

Deno.test("spilled: duplicate keys across the spill point still name both records", async () => {
  await using dir = await tempDir();
  const rows = Array.from({ length: 300 }, (_, i) => [i + 1, `n${i}`, "1.00", "2024-01-01"]);
  rows.push([3, "again", "1.00", "2024-01-01"]);
  await Deno.writeTextFile(`${dir.path}/dup.csv`, csvOf(rows));
  const r = await dsync(["csv:sqlite", "dup.csv", "t.db#t"], { cwd: dir.path, env: SPILL });
  assertEquals(r.code, 2, r.stderr);
  assertMatch(r.stderr, /dup\.csv: duplicate key id="3" at dup\.csv:4 and dup\.csv:302/);

  const db = `${dir.path}/dup.db`;
  sqliteExec(db, "CREATE TABLE t (id INTEGER, name TEXT, amount TEXT, day TEXT)");
  const values = Array.from({ length: 300 }, (_, i) => `(${i + 1}, 'n${i}', '1.00', '2024-01-01')`);
  sqliteExec(db, `INSERT INTO t VALUES ${values.join(",")}, (7, 'twice', '1.00', '2024-01-01')`);
  await Deno.writeTextFile(`${dir.path}/ok.csv`, csvOf(rows.slice(0, 300)));
  const t = await dsync(["csv:sqlite", "ok.csv", "dup.db#t", "-k", "id"], {
    cwd: dir.path,
    env: SPILL,
  });
  assertEquals(t.code, 2, t.stderr);
  assertMatch(t.stderr, /duplicate key id=7 \(second at sqlite:dup\.db#t:301\)/);
});
