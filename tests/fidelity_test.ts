/**
 * Data that must not change on the way: text with NUL characters in SQLite (every read path),
 * PostgreSQL names longer than the server keeps (refused before anything is created).
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, parseNdjson, tempDir } from "./helpers.ts";
import { withPostgres } from "../scripts/pg_server.ts";

async function sqlite3(path: string, sql: string): Promise<string> {
  const out = await new Deno.Command("sqlite3", { args: [path, sql] }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("sqlite: text with NUL characters is read whole; re-syncs plan nothing", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/a.db`;
  await sqlite3(
    db,
    `CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);
     CREATE TABLE k (code TEXT PRIMARY KEY, n INTEGER);
     INSERT INTO t VALUES (1, 'abc' || char(0) || 'def'), (2, 'plain');
     INSERT INTO k VALUES ('x' || char(0) || 'y', 1), ('x', 2);`,
  );
  // rowid-paged read
  const out = await dsync(["sqlite:ndjson", "a.db#t", "out.ndjson"], { cwd: dir.path });
  assertEquals(out.code, 0, out.stderr);
  assertEquals(
    parseNdjson(await Deno.readTextFile(`${dir.path}/out.ndjson`)).map((r) => r.name),
    ["abc\0def", "plain"],
  );
  // into another SQLite table and back: the ORDER BY read of a text key, then nothing to do
  for (const table of ["t", "k"]) {
    const first = await dsync(["sqlite:sqlite", `a.db#${table}`, `b.db#${table}`], {
      cwd: dir.path,
    });
    assertEquals(first.code, 0, first.stderr);
    const again = await dsync(["sqlite:sqlite", `a.db#${table}`, `b.db#${table}`], {
      cwd: dir.path,
    });
    assertEquals(again.code, 0, again.stderr);
    assertEquals(parseNdjson(again.stdout), [], `${table}: ${again.stdout}`);
  }
  assertEquals(
    await sqlite3(`${dir.path}/b.db`, "SELECT hex(name) FROM t ORDER BY id"),
    "61626300646566\n706C61696E",
  );
  assertEquals(
    await sqlite3(`${dir.path}/b.db`, "SELECT hex(code), n FROM k ORDER BY n"),
    "780079|1\n78|2",
  );
});

Deno.test("postgres: names over 63 bytes are refused before anything is created", async () => {
  const server = await withPostgres();
  await using dir = await tempDir();
  const schema = `dsync_long_${crypto.randomUUID().slice(0, 8)}`;
  const psql = async (sql: string) => {
    const out = await new Deno.Command("psql", { args: [server.url, "-XAtqc", sql] }).output();
    return new TextDecoder().decode(out.stdout).trim();
  };
  await psql(`create schema ${schema}`);
  try {
    const long = "t".repeat(60) + "äö"; // 64 bytes
    await Deno.writeTextFile(`${dir.path}/s.csv`, "id,name\n1,a\n");
    const r = await dsync(["csv:pg", "s.csv", `${server.url}#${schema}.${long}`], {
      cwd: dir.path,
    });
    assertEquals(r.code, 2, r.stderr);
    assertMatch(
      r.stderr,
      new RegExp(`the name '${long}' is 64 bytes; PostgreSQL keeps at most 63`),
    );
    await Deno.writeTextFile(`${dir.path}/s.csv`, `id,${"c".repeat(64)}\n1,a\n`);
    const c = await dsync(["csv:pg", "s.csv", `${server.url}#${schema}.t`], { cwd: dir.path });
    assertEquals(c.code, 2, c.stderr);
    assertMatch(c.stderr, /is 64 bytes/);
    assertEquals(
      await psql(`select count(*) from pg_tables where schemaname = '${schema}'`),
      "0",
    );
  } finally {
    await psql(`drop schema ${schema} cascade`);
  }
});
