/**
 * PostgreSQL exactness (docs/types.md, "PostgreSQL precision"): values PostgreSQL would change are
 * refused before anything is written, values it spells its own way are canonicalised, and a new
 * table copies the source's declared types. Against a real server (scripts/pg_server.ts), each
 * test in its own schema; results read with psql.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, parseNdjson, type RunResult, tempDir } from "./helpers.ts";
import { withPostgres } from "../scripts/pg_server.ts";
import { withMysql } from "../scripts/mysql_server.ts";

const server = await withPostgres();
const URL_ = server.url;

/** psql's unaligned, tuples-only output of `sql`, one string per row. */
async function psql(sql: string): Promise<string[]> {
  const out = await new Deno.Command("psql", {
    args: [URL_, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
    env: { PGTZ: "UTC" },
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`psql: ${err}`);
  const text = new TextDecoder().decode(out.stdout);
  return text === "" ? [] : text.replace(/\n$/, "").split("\n");
}

/** A fresh schema, dropped on dispose. */
async function schema() {
  const name = `dsync_x_${crypto.randomUUID().slice(0, 8)}`;
  await psql(`create schema ${name}`);
  return {
    name,
    async [Symbol.asyncDispose]() {
      await psql(`drop schema ${name} cascade`);
    },
  };
}

function run(args: string[], cwd: string): Promise<RunResult> {
  return dsync(args, { cwd, env: { DATABASE_URL: URL_ } });
}

/** Whether `schema.table` exists. */
async function exists(table: string): Promise<boolean> {
  const [row] = await psql(`select to_regclass('${table}') is not null`);
  return row === "t";
}

Deno.test("a time of 24:00:00 is read (it made the table unreadable) and copied; a rerun is clean", async () => {
  await using s = await schema();
  await using dir = await tempDir();
  await psql(`create table ${s.name}.a (id int primary key, t time)`);
  await psql(`insert into ${s.name}.a values (1, '24:00:00'), (2, '10:30:00')`);
  const out = await run(["pg:ndjson", `${s.name}.a`, "-"], dir.path);
  assertEquals(out.code, 0, out.stderr);
  assertEquals(parseNdjson(out.stdout), [
    { id: 1, t: "24:00:00" },
    { id: 2, t: "10:30:00" },
  ]);
  const first = await run(["pg:pg", `${s.name}.a`, `${s.name}.b`], dir.path);
  assertEquals(first.code, 0, first.stderr);
  assertEquals(await psql(`select t from ${s.name}.b order by id`), ["24:00:00", "10:30:00"]);
  const again = await run(["pg:pg", `${s.name}.a`, `${s.name}.b`], dir.path);
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
  // A whole day is no Excel time of day: the cell is text, which reads back equal.
  for (const _ of [1, 2]) {
    const x = await run(["pg:xlsx", `${s.name}.a`, "a.xlsx"], dir.path);
    assertEquals(x.code, 0, x.stderr);
  }
  const last = await run(["pg:xlsx", `${s.name}.a`, "a.xlsx"], dir.path);
  assertEquals([last.code, last.stdout], [0, ""], last.stderr);
});

Deno.test("a leap second is refused before anything is written (PostgreSQL rolled it over, and every run updated)", async () => {
  await using s = await schema();
  await using dir = await tempDir();
  await psql(`create table ${s.name}.a (id int primary key, ts timestamp, t time)`);
  await psql(`insert into ${s.name}.a values (1, '2016-12-31 12:00', '12:00')`);
  await Deno.writeTextFile(
    `${dir.path}/leap.csv`,
    "id,ts,t\n1,2016-12-31 12:00,12:00\n2,2016-12-31T23:59:60,12:00\n",
  );
  const r = await run(["csv:pg", "leap.csv", `${s.name}.a`], dir.path);
  assertEquals(r.code, 2, r.stderr);
  assertMatch(
    r.stderr,
    /record id=2 \(leap\.csv:3\): field 'ts': "2016-12-31T23:59:60" is a leap second/,
  );
  assertEquals(await psql(`select count(*) from ${s.name}.a`), ["1"]);
  await Deno.writeTextFile(`${dir.path}/t.csv`, "id,t\n1,23:59:60\n");
  await psql(`create table ${s.name}.b (id int primary key, t time)`);
  const t = await run(["csv:pg", "t.csv", `${s.name}.b`], dir.path);
  assertEquals(t.code, 2, t.stderr);
  assertMatch(t.stderr, /record id=1 \(t\.csv:2\): field 't': "23:59:60" is a leap second/);
});

Deno.test("a table dsync creates checks its columns too: 7–9 fractional digits are refused, nothing created", async () => {
  await using s = await schema();
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/ts.csv`,
    "id,ts\n1,2024-01-01T10:00:00.123456\n2,2024-01-01T10:00:00.123456789\n",
  );
  const r = await run(["csv:pg", "ts.csv", `${s.name}.ts`], dir.path);
  assertEquals(r.code, 2, r.stderr);
  assertMatch(
    r.stderr,
    /record id=2 \(ts\.csv:3\): field 'ts': "2024-01-01T10:00:00\.123456789" has more fractional seconds than timestamp keeps \(6 digits\)/,
  );
  assertEquals(await exists(`${s.name}.ts`), false);
  // Six digits fit: created, and the rerun is clean (it used to round and then exit 2 forever).
  await Deno.writeTextFile(`${dir.path}/ts.csv`, "id,ts\n1,2024-01-01T10:00:00.123456\n");
  const ok = await run(["csv:pg", "ts.csv", `${s.name}.ts`], dir.path);
  assertEquals(ok.code, 0, ok.stderr);
  const again = await run(["csv:pg", "ts.csv", `${s.name}.ts`], dir.path);
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
});

Deno.test("an upper-case uuid and a non-canonical array are compared as PostgreSQL spells them: the rerun is clean", async () => {
  await using s = await schema();
  await using dir = await tempDir();
  const t = `${s.name}.u`;
  await psql(`create table ${t} (u uuid primary key, a text[], n int[], us uuid[])`);
  await psql(
    `insert into ${t} values ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{x}', '{1}', '{}')`,
  );
  await Deno.writeTextFile(
    `${dir.path}/u.csv`,
    "u,a,n,us\n" +
      "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11,{x},{1},{}\n" +
      '{a0eebc999c0b4ef8bb6d6bb9bd380a12},"{a, ""b c"", NULL,""NULL""}","{01, +2}",{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}\n',
  );
  const first = await run(["csv:pg", "u.csv", t], dir.path);
  assertEquals(first.code, 0, first.stderr);
  assertMatch(first.stderr, /\+1 ~0 -0/);
  assertEquals(await psql(`select u, a, n, us from ${t} order by u`), [
    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11|{x}|{1}|{}",
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12|{a,"b c",NULL,"NULL"}|{1,2}|{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}',
  ]);
  const again = await run(["csv:pg", "u.csv", t], dir.path);
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
  // Text that is no uuid is refused before anything is written.
  await Deno.writeTextFile(`${dir.path}/bad.csv`, "u,a\nnot-a-uuid,{}\n");
  const bad = await run(["csv:pg", "bad.csv", t], dir.path);
  assertEquals(bad.code, 2, bad.stderr);
  assertMatch(bad.stderr, /\(bad\.csv:2\): field 'u': "not-a-uuid" is not a uuid/);
});

/** `column:type` of each column of `schema.table`, as format_type prints it. */
function columnTypes(table: string): Promise<string[]> {
  return psql(
    `select attname || ':' || format_type(atttypid, atttypmod) from pg_attribute where attrelid = '${table}'::regclass and attnum > 0 and not attisdropped order by attnum`,
  );
}

Deno.test("pg → pg into a new table copies the declared built-in types (uuid, text[], numeric(12,3) became text and numeric)", async () => {
  await using s = await schema();
  await using dir = await tempDir();
  await psql(`create type ${s.name}.mood as enum ('ok', 'sad')`);
  await psql(
    `create table ${s.name}.a (id int primary key, u uuid, tags text[], amount numeric(12,3), code varchar(8), at timestamp(3), clock time(2), small smallint, ratio real, doc json, span interval, mood ${s.name}.mood)`,
  );
  await psql(
    `insert into ${s.name}.a values (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{a,"b c"}', 1.500, 'X1', '2024-01-01 10:00:00.123', '10:00:00.12', 7, 1.5, '{"b":1,"a":[2]}', '1 day 02:00:00', 'sad')`,
  );
  const first = await run(["pg:pg", `${s.name}.a`, `${s.name}.b`], dir.path);
  assertEquals(first.code, 0, first.stderr);
  assertEquals(await columnTypes(`${s.name}.b`), [
    "id:integer",
    "u:uuid",
    "tags:text[]",
    "amount:numeric(12,3)",
    "code:character varying(8)",
    "at:timestamp(3) without time zone",
    "clock:time(2) without time zone",
    "small:smallint",
    "ratio:real",
    "doc:json",
    "span:interval",
    "mood:text", // an enum may not exist in the target database
  ]);
  // The same values, in the same spelling (a json column keeps its text: dsync writes sorted keys).
  const row = (t: string) =>
    `(select (id, u, tags, amount, code, at, clock, small, ratio, doc::jsonb, span, mood::text)::text from ${s.name}.${t})`;
  assertEquals(await psql(`select ${row("a")} = ${row("b")}`), ["t"]);
  const again = await run(["pg:pg", `${s.name}.a`, `${s.name}.b`], dir.path);
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
  // --format sql shows the same CREATE TABLE.
  await psql(`drop table ${s.name}.b`);
  const sql = await run(
    ["pg:pg", `${s.name}.a`, `${s.name}.b`, "--dry-run", "--format", "sql"],
    dir.path,
  );
  assertMatch(sql.stdout, /"u" uuid, "tags" text\[\], "amount" numeric\(12,3\)/);
});

Deno.test("mysql → pg into a new table copies the MySQL types PostgreSQL holds exactly", async () => {
  await using s = await schema();
  await using dir = await tempDir();
  const mysql = await withMysql();
  const db = `dsync_x_${crypto.randomUUID().slice(0, 8)}`;
  const base = new URL(mysql.url);
  const mariadb = async (sql: string) => {
    const out = await new Deno.Command("mariadb", {
      args: [
        "--no-defaults",
        "-h",
        base.hostname,
        "-P",
        base.port || "3306",
        "-u",
        "root",
        "-e",
        sql,
      ],
      env: base.password ? { MYSQL_PWD: decodeURIComponent(base.password) } : {},
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  };
  await mariadb(
    `create database ${db}; create table ${db}.a (id int primary key, amount decimal(12,3), code varchar(8), at datetime(3), small smallint, ratio float, flag tinyint(1), note text)`,
  );
  try {
    await mariadb(
      `insert into ${db}.a values (1, 1.500, 'X1', '2024-01-01 10:00:00.123', 7, 1.5, 1, 'n')`,
    );
    const url = new URL(base.href);
    url.pathname = `/${db}`;
    url.hash = "a";
    const first = await run(["mysql:pg", url.href, `${s.name}.m`], dir.path);
    assertEquals(first.code, 0, first.stderr);
    assertEquals(await columnTypes(`${s.name}.m`), [
      "id:integer",
      "amount:numeric(12,3)",
      "code:character varying(8)",
      "at:timestamp(3) without time zone",
      "small:smallint",
      "ratio:real",
      "flag:boolean",
      "note:text",
    ]);
    const again = await run(["mysql:pg", url.href, `${s.name}.m`], dir.path);
    assertEquals([again.code, again.stdout], [0, ""], again.stderr);
  } finally {
    await mariadb(`drop database ${db}`);
    await mysql.stop();
  }
});

Deno.test("dsync apply finds a uuid key spelled in upper case (it was a conflict: 'no longer exists')", async () => {
  await using s = await schema();
  await using dir = await tempDir();
  await psql(`create table ${s.name}.k (u uuid primary key, n int)`);
  await psql(`insert into ${s.name}.k values ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 1)`);
  await Deno.writeTextFile(
    `${dir.path}/plan.ndjson`,
    '{"op":"update","key":{"u":"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"},"before":{"n":1},"after":{"n":2}}\n',
  );
  const r = await run(["apply", "pg", `${s.name}.k`, "plan.ndjson"], dir.path);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(await psql(`select n from ${s.name}.k`), ["2"]);
});

Deno.test("jsonb string and boolean scalars are created and updated as JSON (exit 4 naming the wrong record); --format sql quotes them", async () => {
  await using s = await schema();
  await using dir = await tempDir();
  await psql(`create table ${s.name}.a (id int primary key, doc jsonb)`);
  await psql(
    `insert into ${s.name}.a values (1, '"abc"'), (2, 'true'), (3, '"123"'), (4, '"{}"'), (5, 'false')`,
  );
  await psql(`create table ${s.name}.b (id int primary key, doc jsonb)`);
  await psql(`insert into ${s.name}.b values (1, '1'), (2, '2'), (3, '3')`);
  const sql = await run(["pg:pg", `${s.name}.a`, `${s.name}.b`, "-n", "--format", "sql"], dir.path);
  assertEquals(sql.code, 0, sql.stderr);
  assertMatch(sql.stdout, /SET "doc" = '"abc"' WHERE "id" = 1;/);
  assertMatch(sql.stdout, /VALUES \(4, '"\{\}"'\);/);
  const r = await run(["pg:pg", `${s.name}.a`, `${s.name}.b`], dir.path);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(await psql(`select id, doc::text, jsonb_typeof(doc) from ${s.name}.b order by id`), [
    '1|"abc"|string',
    "2|true|boolean",
    '3|"123"|string',
    '4|"{}"|string',
    "5|false|boolean",
  ]);
  const again = await run(["pg:pg", `${s.name}.a`, `${s.name}.b`], dir.path);
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
});

Deno.test("1e309 into double precision is refused before anything is written, never stored as Infinity", async () => {
  await using s = await schema();
  await using dir = await tempDir();
  await psql(`create table ${s.name}.f (id int primary key, x double precision)`);
  await Deno.writeTextFile(`${dir.path}/f.csv`, "id,x\n1,1.5\n2,1e309\n3,Infinity\n");
  const r = await run(["csv:pg", "f.csv", `${s.name}.f`], dir.path);
  assertEquals(r.code, 2, r.stderr);
  assertMatch(r.stderr, /f\.csv:3: field 'x': cannot convert "1e309" to float \(beyond the range/);
  assertEquals(await psql(`select count(*) from ${s.name}.f`), ["0"]);
});

Deno.test("stop the throwaway server", async () => {
  await server.stop();
});
