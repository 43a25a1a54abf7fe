/**
 * Two writers at once on one target: a sync (and `dsync apply`) reads the target under the
 * writer lock it writes under, so a commit of another writer between the read and the write
 * cannot be lost; a writer that keeps the lock too long is reported (exit 4). The other writer
 * here is the test itself, holding a transaction open while dsync starts.
 */
import postgres from "postgres";
import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, parseNdjson, tempDir } from "./helpers.ts";
import { withPostgres } from "../scripts/pg_server.ts";

const server = await withPostgres();

/** Output of the sqlite3 CLI for `sql` on `path`. */
async function sqlite3(path: string, sql: string): Promise<string> {
  const out = await new Deno.Command("sqlite3", { args: [path, sql] }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

async function psql(sql: string): Promise<string> {
  const out = await new Deno.Command("psql", {
    args: [server.url, "-XAtqc", sql],
    stderr: "inherit",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("sqlite: a sync started while another writer holds the lock plans against its commit", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/t.db`;
  await Deno.writeTextFile(`${dir.path}/s.csv`, "id,name\n1,source\n2,two\n");
  assertEquals((await dsync(["csv:sqlite", "s.csv", "t.db#t"], { cwd: dir.path })).code, 0);
  const other = new DatabaseSync(db);
  other.exec("BEGIN IMMEDIATE; UPDATE t SET name = 'other' WHERE id = 1");
  const running = dsync(["csv:sqlite", "s.csv", "t.db#t"], { cwd: dir.path });
  await delay(1500);
  other.exec("COMMIT");
  other.close();
  const r = await running;
  assertEquals(r.code, 0, r.stderr);
  // Read before the other commit, dsync would plan nothing and leave 'other' behind.
  assertEquals(await sqlite3(db, "SELECT name FROM t ORDER BY id"), "source\ntwo");
  assertEquals(parseNdjson(r.stdout).map((c) => c.op), ["update"]);
});

Deno.test("sqlite: a writer that keeps the lock is reported, nothing written (exit 4)", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/t.db`;
  await Deno.writeTextFile(`${dir.path}/s.csv`, "id,name\n1,a\n");
  assertEquals((await dsync(["csv:sqlite", "s.csv", "t.db#t"], { cwd: dir.path })).code, 0);
  await Deno.writeTextFile(`${dir.path}/s.csv`, "id,name\n1,b\n");
  const other = new DatabaseSync(db);
  other.exec("BEGIN IMMEDIATE");
  const running = dsync(["csv:sqlite", "s.csv", "t.db#t"], { cwd: dir.path });
  const r = await running;
  other.exec("ROLLBACK");
  other.close();
  assertEquals(r.code, 4, r.stderr);
  assertMatch(r.stderr, /^dsync: sqlite:t\.db#t: target is locked by another writer/);
  assertEquals(r.stderr.split("\n").filter((l) => l && !l.startsWith("  ")).length, 1, r.stderr);
  assertEquals(await sqlite3(db, "SELECT name FROM t"), "a");
});

Deno.test("sqlite: dsync apply checks and writes under one lock; an edited plan without before is a conflict", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/t.db`;
  await Deno.writeTextFile(`${dir.path}/s.csv`, "id,name\n1,a\n2,b\n");
  assertEquals((await dsync(["csv:sqlite", "s.csv", "t.db#t"], { cwd: dir.path })).code, 0);
  const plan = '{"op":"update","key":{"id":1},"before":{"name":"a"},"after":{"name":"planned"}}\n';
  const other = new DatabaseSync(db);
  other.exec("BEGIN IMMEDIATE; UPDATE t SET name = 'moved' WHERE id = 1");
  const running = dsync(["apply", "sqlite", "t.db#t"], { cwd: dir.path, stdin: plan });
  await delay(1500);
  other.exec("COMMIT");
  other.close();
  const r = await running;
  // Checked before the other commit, the plan would overwrite 'moved' with exit 0.
  assertEquals(r.code, 5, r.stderr);
  assertMatch(r.stderr, /'name' is now "moved"/);
  assertEquals(await sqlite3(db, "SELECT name FROM t WHERE id = 1"), "moved");

  for (
    const line of [
      '{"op":"update","key":{"id":2},"before":{},"after":{"name":"x"}}',
      '{"op":"update","key":{"id":2},"after":{"name":"x"}}',
      '{"op":"delete","key":{"id":2}}',
    ]
  ) {
    const c = await dsync(["apply", "sqlite", "t.db#t"], { cwd: dir.path, stdin: line });
    assertEquals(c.code, 5, c.stderr);
    assertMatch(c.stderr, /no "before" values to check the record against/);
    assertEquals(await sqlite3(db, "SELECT name FROM t WHERE id = 2"), "b");
  }
  const forced = await dsync(["apply", "sqlite", "t.db#t", "--force"], {
    cwd: dir.path,
    stdin: '{"op":"update","key":{"id":2},"after":{"name":"x"}}',
  });
  assertEquals(forced.code, 0, forced.stderr);
  assertEquals(await sqlite3(db, "SELECT name FROM t WHERE id = 2"), "x");
});

Deno.test("postgres: a sync started while another transaction writes the table plans against its commit", async () => {
  await using dir = await tempDir();
  const schema = `dsync_lock_${crypto.randomUUID().slice(0, 8)}`;
  await psql(`create schema ${schema}`);
  const sql = postgres(server.url, { max: 1, onnotice: () => {} });
  try {
    const target = `${server.url}#${schema}.t`;
    await Deno.writeTextFile(`${dir.path}/s.csv`, "id,name\n1,source\n2,two\n");
    assertEquals((await dsync(["csv:pg", "s.csv", target], { cwd: dir.path })).code, 0);
    await sql.begin(async (tx) => {
      await tx.unsafe(`update ${schema}.t set name = 'other' where id = 1`);
      const running = dsync(["csv:pg", "s.csv", target], { cwd: dir.path });
      await delay(2000);
      return { running }; // not awaited by begin: it commits now
    }).then(async ({ running }) => {
      const r = await running;
      assertEquals(r.code, 0, r.stderr);
      assertEquals(parseNdjson(r.stdout).map((c) => c.op), ["update"]);
    });
    assertEquals(await psql(`select name from ${schema}.t order by id`), "source\ntwo");

    const plan =
      '{"op":"update","key":{"id":2},"before":{"name":"two"},"after":{"name":"planned"}}\n';
    await sql.begin(async (tx) => {
      await tx.unsafe(`update ${schema}.t set name = 'moved' where id = 2`);
      const running = dsync(["apply", "pg", target], { cwd: dir.path, stdin: plan });
      await delay(2000);
      return { running }; // not awaited by begin: it commits now
    }).then(async ({ running }) => {
      const r = await running;
      assertEquals(r.code, 5, r.stderr);
    });
    assertEquals(await psql(`select name from ${schema}.t where id = 2`), "moved");

    await Deno.writeTextFile(`${dir.path}/s.csv`, "id,name\n1,new\n");
    await sql.begin(async (tx) => {
      await tx.unsafe(`lock table ${schema}.t in row exclusive mode`);
      const r = await dsync(["csv:pg", "s.csv", target], { cwd: dir.path });
      assertEquals(r.code, 4, r.stderr);
      assertMatch(r.stderr, /target is locked by another writer/);
    });
    assertEquals(await psql(`select name from ${schema}.t where id = 1`), "source");
  } finally {
    await sql.end();
    await psql(`drop schema ${schema} cascade`);
  }
});
