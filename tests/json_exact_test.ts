/**
 * JSON values keep every digit end to end (issue 14): integers beyond 2^53 and decimals beyond a
 * double, nested in objects and arrays, through files, SQLite JSON and PostgreSQL jsonb.
 */
import postgres from "postgres";
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, sqliteExec, tempDir } from "./helpers.ts";
import { withPostgres } from "../scripts/pg_server.ts";
import { DatabaseSync } from "node:sqlite";

const NESTED = '{"big":9223372036854775807,"list":[9007199254740993,0.1000000000000000001]}';

Deno.test("nested big integers from NDJSON into json, ndjson, csv and sqlite targets: exact, rerun clean", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a.ndjson`, `{"id":1,"meta":${NESTED}}\n`);
  for (
    const [kind, file] of [["json", "t.json"], ["ndjson", "t.ndjson"], ["csv", "t.csv"], [
      "sqlite",
      "t.db#t",
    ]]
  ) {
    const first = await dsync([`ndjson:${kind}`, "a.ndjson", file], { cwd: dir.path });
    assertEquals(first.code, 0, `${kind}: ${first.stderr}`);
    assertMatch(first.stdout, /9223372036854775807/);
    const again = await dsync([`ndjson:${kind}`, "a.ndjson", file], { cwd: dir.path });
    assertEquals([again.code, again.stdout], [0, ""], `${kind}: ${again.stderr}`);
    const back = await dsync([`${kind}:ndjson`, file, `back_${kind}.ndjson`], { cwd: dir.path });
    assertEquals(back.code, 0, back.stderr);
    const text = await Deno.readTextFile(`${dir.path}/back_${kind}.ndjson`);
    assertMatch(text, /9223372036854775807/, kind);
    assertMatch(text, /9007199254740993,0\.1000000000000000001\]/, kind);
  }
});

Deno.test("SQLite JSON column → SQLite: big integers inside JSON are not rounded", async () => {
  await using dir = await tempDir();
  sqliteExec(
    `${dir.path}/a.db`,
    `CREATE TABLE t (id INTEGER PRIMARY KEY, doc JSON); INSERT INTO t VALUES (1, '${NESTED}');`,
  );
  const r = await dsync(["sqlite:sqlite", "a.db#t", "b.db#t"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  const db = new DatabaseSync(`${dir.path}/b.db`);
  const doc = (db.prepare("SELECT doc FROM t").get() as { doc: string }).doc;
  db.close();
  assertMatch(doc, /9223372036854775807/);
  assertMatch(doc, /9007199254740993/);
  const again = await dsync(["sqlite:sqlite", "a.db#t", "b.db#t"], { cwd: dir.path });
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
});

Deno.test("PostgreSQL jsonb → jsonb: big integers exact, JSON string scalars stay strings", async () => {
  const server = await withPostgres();
  const schema = `dsync_j_${crypto.randomUUID().slice(0, 8)}`;
  const sql = postgres(server.url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`create schema ${schema}`);
    await sql.unsafe(`create table ${schema}.a (id int primary key, doc jsonb)`);
    await sql.unsafe(
      `insert into ${schema}.a values (1, '${NESTED}'), (2, '"abc"'), (3, '"123"'), (4, '"{}"'), (5, 'true')`,
    );
    await using dir = await tempDir();
    const env = { DATABASE_URL: server.url };
    const r = await dsync(["pg:pg", `${schema}.a`, `${schema}.b`], { cwd: dir.path, env });
    assertEquals(r.code, 0, r.stderr);
    const rows = await sql.unsafe(
      `select a.id, a.doc::text = b.doc::text as same, b.doc::text as doc from ${schema}.a a join ${schema}.b b using (id) order by 1`,
    );
    assertEquals(rows.map((row) => [row.id, row.same]), [
      [1, true],
      [2, true],
      [3, true],
      [4, true],
      [5, true],
    ], JSON.stringify(rows));
    const again = await dsync(["pg:pg", `${schema}.a`, `${schema}.b`], { cwd: dir.path, env });
    assertEquals([again.code, again.stdout], [0, ""], again.stderr);
  } finally {
    await sql.unsafe(`drop schema if exists ${schema} cascade`);
    await sql.end();
    await server.stop();
  }
});

Deno.test("JSON string scalars into a SQLite JSON column are stored as JSON text", async () => {
  await using dir = await tempDir();
  sqliteExec(
    `${dir.path}/a.db`,
    `CREATE TABLE t (id INTEGER PRIMARY KEY, doc JSON);
     INSERT INTO t VALUES (1, '"abc"'), (2, '"123"'), (3, '{"a":[1]}');`,
  );
  const r = await dsync(["sqlite:sqlite", "a.db#t", "b.db#t"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  const db = new DatabaseSync(`${dir.path}/b.db`);
  const docs = db.prepare("SELECT doc, json_valid(doc) AS ok FROM t ORDER BY id").all();
  db.close();
  assertEquals(docs.map((d) => [d.doc, d.ok]), [['"abc"', 1], ['"123"', 1], ['{"a":[1]}', 1]]);
  const again = await dsync(["sqlite:sqlite", "a.db#t", "b.db#t"], { cwd: dir.path });
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
});
