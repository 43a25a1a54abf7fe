/**
 * The join diff inside one database: SQLite tables in one file or two (ATTACH), PostgreSQL
 * tables in two schemas of one database. The plan must be byte for byte the one the hash join
 * (DSYNC_STRATEGY=hash-join, both sides read into dsync) computes on the same data, `-v` must name
 * the join, and the target after apply is read back with the store's own client.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, parseNdjson, type RunResult, tempDir } from "./helpers.ts";
import { psqlAt } from "./helpers.ts";
import { withPostgres } from "../scripts/pg_server.ts";

const HASH = { DSYNC_STRATEGY: "hash-join" };

/** Runs `sqlite3 FILE` with `sql` on stdin; returns its output. */
async function sqlite3(path: string, sql: string): Promise<string> {
  const out = await new Deno.Command("sqlite3", { args: [path], stdin: "piped", stdout: "piped" })
    .spawn();
  const writer = out.stdin.getWriter();
  await writer.write(new TextEncoder().encode(sql));
  await writer.close();
  const result = await out.output();
  if (!result.success) throw new Error(`sqlite3 ${path} failed`);
  return new TextDecoder().decode(result.stdout);
}

/** Every row of `table` as SQLite's own `quote()` of each column, in key order. */
function quotedRows(path: string, table: string): Promise<string> {
  const columns = ["id", "n", "big", "d", "f", "s", "b", "dt", "ts", "tz", "bl"]
    .map((c) => `quote(${c})`).join(" || ',' || ");
  return sqlite3(path, `SELECT ${columns} FROM "${table}" ORDER BY id;`);
}

const COLUMNS = "(id INTEGER PRIMARY KEY, n INTEGER, big INTEGER, d DECIMAL(12,3), f REAL, " +
  "s TEXT, b BOOLEAN, dt DATE, ts TIMESTAMP, tz TIMESTAMPTZ, bl BLOB)";

/** One row of the many-types table as SQL values. */
function rowSql(id: number): string {
  const nul = id % 11 === 0;
  const v = (text: string) => nul ? "NULL" : text;
  return `(${id}, ${v(String(id * 3 - 100))}, ${v(String(9007199254740993n + BigInt(id)))}, ` +
    `${v(`'${id}.${id % 3 === 0 ? "50" : "25"}0'`)}, ${v(String(id / 8))}, ` +
    `${v(`'ünï ${id} ✓ ''q'''`)}, ${v(String(id % 2))}, ${
      v(`'2024-0${1 + id % 9}-1${id % 9}'`)
    }, ` +
    `${v(`'2024-05-0${1 + id % 9}T10:0${id % 10}:00'`)}, ${
      v(`'2024-05-0${1 + id % 9}T10:00:0${id % 10}Z'`)
    }, ${v(`X'${(id % 256).toString(16).padStart(2, "0")}ff'`)})`;
}

/** The same 200 rows; then the source gets creates, updates of every kind, and deletes. */
function manyTypesSql(table: string, source: boolean): string {
  const ids = Array.from({ length: 200 }, (_, i) => i + 1);
  let sql = `CREATE TABLE "${table}" ${COLUMNS};\n` +
    `INSERT INTO "${table}" VALUES ${ids.map(rowSql).join(",\n")};\n`;
  if (!source) return sql;
  sql += `INSERT INTO "${table}" VALUES ${[201, 202, 220].map(rowSql).join(", ")};
UPDATE "${table}" SET s = 'changed ✓' WHERE id = 5;
UPDATE "${table}" SET n = n + 1, f = f * 2, b = 1 - b, bl = X'00' WHERE id = 7;
UPDATE "${table}" SET d = NULL, tz = NULL WHERE id = 9;
UPDATE "${table}" SET d = '1.5', n = 4 WHERE id = 22;
UPDATE "${table}" SET big = 9223372036854775807, dt = '2024-02-29' WHERE id = 30;
UPDATE "${table}" SET d = '31.2500' WHERE id = 31;
UPDATE "${table}" SET ts = '2024-05-05 10:01:00' WHERE id = 31;
UPDATE "${table}" SET s = 'ünï 40 ✓ ''q''' WHERE id = 40;
DELETE FROM "${table}" WHERE id IN (3, 100, 199);
`;
  return sql;
}

const server = await withPostgres();

async function run(args: string[], cwd: string, env: Record<string, string> = {}) {
  return await dsync(args, { cwd, env: { DATABASE_URL: server.url, ...env } });
}

/** Runs `psql` on the test server with `sql` on stdin; returns its unaligned output. */
function psql(sql: string): Promise<string> {
  return psqlAt(server.url, sql);
}

/** The plan by the join and by the hash join: same bytes, both exit 0. */
async function samePlans(cwd: string, args: string[]): Promise<RunResult> {
  const join = await run([...args, "-n", "--format", "ndjson", "-v"], cwd);
  const hash = await run([...args, "-n", "--format", "ndjson", "-v"], cwd, HASH);
  assertEquals([join.code, hash.code], [0, 0], join.stderr + hash.stderr);
  assertMatch(hash.stderr, /paired by a hash join/);
  assertEquals(join.stdout, hash.stdout);
  return join;
}

Deno.test("sqlite: join diff over two files (ATTACH), same plan as the hash join", async () => {
  await using dir = await tempDir();
  const cwd = dir.path;
  await sqlite3(`${cwd}/src.db`, manyTypesSql("t", true));
  for (const db of ["j.db", "h.db"]) await sqlite3(`${cwd}/${db}`, manyTypesSql("t", false));
  const args = (db: string) => ["sqlite:sqlite", "src.db#t", `${db}#t`, "--delete"];
  const join = await samePlans(cwd, args("j.db"));
  assertMatch(join.stderr, /paired by a join inside sqlite \(two files, ATTACH\)/);
  const plan = parseNdjson(join.stdout);
  // id 40 is set to the value it had and id 31's decimal and timestamp are the same values
  // spelt differently: no change for either.
  assertEquals(
    plan.map((c) => `${c.op} ${(c.key as { id: number }).id}`),
    [
      "create 201",
      "create 202",
      "create 220",
      "update 5",
      "update 7",
      "update 9",
      "update 22",
      "update 30",
      "delete 3",
      "delete 100",
      "delete 199",
    ],
  );
  assertEquals(plan[4].after, { n: -78, f: 1.75, b: false, bl: "AA==" });
  assertEquals(plan[5].before, { d: "9.5", tz: "2024-05-01T10:00:09Z" });
  assertEquals(plan[5].after, { d: null, tz: null });
  assertEquals(plan[7].after, { big: "9223372036854775807", dt: "2024-02-29" });

  // The policy and the field options change the same things either way.
  for (
    const extra of [
      ["--no-create"],
      ["--no-update", "--exclude", "s"],
      ["--fields", "n,d,s"],
      ["--max-delete", "1"],
    ]
  ) {
    const a = await run([...args("j.db"), ...extra, "-n", "--format", "ndjson"], cwd);
    const b = await run([...args("j.db"), ...extra, "-n", "--format", "ndjson"], cwd, HASH);
    const untimed = (r: RunResult) => [r.code, r.stdout, r.stderr.replace(/\d+\.\d s/, "")];
    assertEquals(untimed(a), untimed(b), extra.join(" "));
  }

  // Applied: the two targets hold the same rows, and a second run plans nothing.
  assertEquals((await run([...args("j.db"), "-q"], cwd)).code, 0);
  assertEquals((await run([...args("h.db"), "-q"], cwd, HASH)).code, 0);
  const rows = await quotedRows(`${cwd}/j.db`, "t");
  assertEquals(rows, await quotedRows(`${cwd}/h.db`, "t"));
  assertMatch(rows, /^5,.*'changed ✓'/m);
  assertEquals(rows.split("\n").filter(Boolean).length, 200);
  const again = await run([...args("j.db"), "-n", "-v"], cwd);
  assertEquals(again.code, 0, again.stderr);
  assertEquals(again.stdout, "");
  assertMatch(again.stderr, /join inside sqlite[\s\S]*\+0 ~0 -0/);
});

Deno.test("sqlite: join diff in one file, with --map, same plan as the hash join", async () => {
  await using dir = await tempDir();
  const cwd = dir.path;
  await sqlite3(
    `${cwd}/one.db`,
    manyTypesSql("src", true) + manyTypesSql("dst", false) +
      `ALTER TABLE src RENAME COLUMN s TO label;`,
  );
  const join = await samePlans(cwd, [
    "sqlite:sqlite",
    "one.db#src",
    "one.db#dst",
    "--map",
    "label=s",
    "--delete",
  ]);
  assertMatch(join.stderr, /paired by a join inside sqlite \(one file\)/);
  assertEquals(parseNdjson(join.stdout).length, 11);
});

Deno.test("sqlite: a type SQL cannot compare exactly, or unclean data, falls back", async () => {
  await using dir = await tempDir();
  const cwd = dir.path;
  const setup = `CREATE TABLE t (id INTEGER PRIMARY KEY, j JSON, n INTEGER);
INSERT INTO t VALUES (1, '{"a":1,"b":2}', 1), (2, '[1]', 2);`;
  await sqlite3(`${cwd}/s.db`, setup + `UPDATE t SET j = '{"b":2, "a":1}', n = 5 WHERE id = 1;`);
  await sqlite3(`${cwd}/t.db`, setup);
  const args = ["sqlite:sqlite", "s.db#t", "t.db#t"];
  const fallback = await samePlans(cwd, args);
  assertMatch(
    fallback.stderr,
    /no join inside the database \(field 'j' is compared as json\); paired by a sorted merge/,
  );
  assertEquals(parseNdjson(fallback.stdout).map((c) => c.after), [{ n: 5 }]);
  for (const env of [{}, { DSYNC_STRATEGY: "join" }] as Record<string, string>[]) {
    const forced = await run(
      Object.keys(env).length ? args : [...args, "--strategy", "join"],
      cwd,
      env,
    );
    assertEquals(forced.code, 2);
    assertMatch(forced.stderr, /^dsync: --strategy join: no join inside the database: field 'j'/);
    assertEquals(await sqlite3(`${cwd}/t.db`, "SELECT n FROM t ORDER BY id;"), "1\n2\n");
  }
  // -v names the strategy; a join asked for where there is one runs.
  const named = await run([...args, "--strategy", "merge", "-n", "-v"], cwd);
  assertMatch(named.stderr, /^dsync: strategy merge: paired by a sorted merge/m);
  const unknown = await run([...args, "--strategy", "changez"], cwd);
  assertEquals(unknown.code, 2);
  assertMatch(unknown.stderr, /--strategy changez: expected auto, merge, hash, join/);

  // A value the target type does not take, equal on both sides: an error either way.
  await sqlite3(
    `${cwd}/s2.db`,
    "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER);" +
      "INSERT INTO t VALUES (1, 'abc'), (2, 2);",
  );
  await sqlite3(
    `${cwd}/t2.db`,
    "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER);" +
      "INSERT INTO t VALUES (1, 'abc'), (2, 3);",
  );
  const bad = ["sqlite:sqlite", "s2.db#t", "t2.db#t", "-v"];
  const a = await run(bad, cwd), b = await run(bad, cwd, HASH);
  assertEquals([a.code, b.code], [2, 2], a.stderr);
  assertMatch(a.stderr, /^dsync: sqlite:s2.db#t:1: field 'n': cannot convert "abc" to integer/);
  assertEquals(a.stderr.split("\n")[0], b.stderr.split("\n")[0]);

  // The same in the cheap checks for columns of one affinity: a real in an INTEGER column, text
  // in a REAL one, a blob in a BOOLEAN one.
  for (const [type, value] of [["INTEGER", "5.5"], ["REAL", "'x'"], ["BOOLEAN", "X'01'"]]) {
    const table = `CREATE TABLE t (id INTEGER PRIMARY KEY, v ${type});`;
    await sqlite3(`${cwd}/s4${type}.db`, table + `INSERT INTO t VALUES (1, ${value}), (2, 0);`);
    await sqlite3(`${cwd}/t4${type}.db`, table + `INSERT INTO t VALUES (1, ${value}), (2, 1);`);
    const args = ["sqlite:sqlite", `s4${type}.db#t`, `t4${type}.db#t`];
    const a = await run(args, cwd), b = await run(args, cwd, HASH);
    assertEquals([a.code, a.stderr.split("\n")[0]], [2, b.stderr.split("\n")[0]], type);
    assertMatch(a.stderr, /field 'v': cannot convert/);
  }

  // Text keys in a column that also holds a blob: the keys cannot pair in SQL as in dsync.
  const mixed = "CREATE TABLE t (code TEXT PRIMARY KEY, v INTEGER);" +
    "INSERT INTO t VALUES ('a', 1), ('b', 2);";
  await sqlite3(`${cwd}/s3.db`, mixed + "INSERT INTO t VALUES (X'63', 3);");
  await sqlite3(`${cwd}/t3.db`, mixed + "UPDATE t SET v = 9 WHERE code = 'b';");
  const keys = await samePlans(cwd, ["sqlite:sqlite", "s3.db#t", "t3.db#t"]);
  assertMatch(keys.stderr, /no join inside the database \(a source key is not text in every row\)/);
});

Deno.test("sqlite: text holding NUL characters is read whole by the join", async () => {
  await using dir = await tempDir();
  const cwd = dir.path;
  // node:sqlite cuts text at its first NUL: read so, 'a\0b' and 'a\0c' would look equal and
  // the update be dropped, and the created text cut short.
  const setup = "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, n INTEGER);" +
    "INSERT INTO t VALUES (1, 'a' || char(0) || 'b', 1), (2, 'x', 2), (3, 'k' || char(0), 3);";
  await sqlite3(
    `${cwd}/s.db`,
    setup + "UPDATE t SET s = 'a' || char(0) || 'c' WHERE id = 1;" +
      "INSERT INTO t VALUES (4, char(0) || 'new' || char(0) || 'er', 4);" +
      "UPDATE t SET n = 9 WHERE id = 3;",
  );
  await sqlite3(`${cwd}/t.db`, setup + "INSERT INTO t VALUES (5, 'gone' || char(0) || '!', 5);");
  const join = await samePlans(cwd, ["sqlite:sqlite", "s.db#t", "t.db#t", "--delete"]);
  assertMatch(join.stderr, /paired by a join inside sqlite/);
  assertEquals(parseNdjson(join.stdout), [
    { op: "create", key: { id: 4 }, after: { id: 4, s: "\0new\0er", n: 4 } },
    { op: "update", key: { id: 1 }, before: { s: "a\0b" }, after: { s: "a\0c" } },
    { op: "update", key: { id: 3 }, before: { n: 3 }, after: { n: 9 } },
    { op: "delete", key: { id: 5 }, before: { id: 5, s: "gone\0!", n: 5 } },
  ]);
  assertEquals((await run(["sqlite:sqlite", "s.db#t", "t.db#t", "--delete", "-q"], cwd)).code, 0);
  const rows = await sqlite3(`${cwd}/t.db`, "SELECT id, hex(s) FROM t ORDER BY id;");
  assertEquals(rows, "1|610063\n2|78\n3|6B00\n4|006E6577006572\n");
});

/** PostgreSQL: the many-types table in schema `s` (the source) and in `j` and `h` (targets). */
function pgSetup(p: string): string {
  const table = (schema: string) =>
    `create table ${schema}.t (id int4 primary key, n int8, d numeric(12,3), f float8, ` +
    `s text, v varchar(40), b bool, dt date, ts timestamp, tz timestamptz, tm time, ` +
    `bl bytea, u uuid);`;
  return `create schema ${p}_s; create schema ${p}_j; create schema ${p}_h;
${table(`${p}_s`)}
insert into ${p}_s.t select i, i * 3 - 100, i + 0.25, i / 8.0, 'ünï ' || i || ' ✓', 'v' || i,
  i % 2 = 0, date '2024-01-01' + i, timestamp '2024-01-01 10:00' + i * interval '61 minutes',
  timestamptz '2024-01-01 10:00Z' + i * interval '1.5 seconds', time '10:00' + i * interval '1 s',
  decode(lpad(to_hex(i), 4, '0'), 'hex'), md5(i::text)::uuid
  from generate_series(1, 200) i;
update ${p}_s.t set n = null, d = null, f = null, s = null, b = null, dt = null, tz = null,
  bl = null where id % 11 = 0;
${table(`${p}_j`)} insert into ${p}_j.t select * from ${p}_s.t;
${table(`${p}_h`)} insert into ${p}_h.t select * from ${p}_s.t;
insert into ${p}_s.t (id, n, d, s, tz) values (201, 1, 1.100, 'new ✓', '2024-06-01 12:00+02'),
  (250, null, null, null, null);
update ${p}_s.t set s = 'changed ✓' where id = 5;
update ${p}_s.t set n = n + 1, f = f * 2, b = not b, bl = '\\x00' where id = 7;
update ${p}_s.t set d = null, tz = null where id = 9;
update ${p}_s.t set n = 4, d = 1.5, dt = '2024-02-29' where id = 22;
update ${p}_s.t set d = 23.250, ts = ts where id = 23;
update ${p}_s.t set f = -0.0 where id = 24;
delete from ${p}_s.t where id in (3, 100, 199);
`;
}

Deno.test("postgres: join diff over two schemas, same plan as the hash join", async () => {
  await using dir = await tempDir();
  const p = `dsync_j_${crypto.randomUUID().slice(0, 8)}`;
  await psql(pgSetup(p));
  try {
    const args = (target: string) => ["pg:pg", `${p}_s.t`, `${p}_${target}.t`, "--delete"];
    const join = await samePlans(dir.path, args("j"));
    assertMatch(join.stderr, /paired by a join inside postgres \(FULL JOIN\)/);
    const plan = parseNdjson(join.stdout);
    assertEquals(
      plan.map((c) => `${c.op} ${(c.key as { id: number }).id}`),
      [
        "create 201",
        "create 250",
        "update 5",
        "update 7",
        "update 9",
        "update 22",
        "update 24",
        "delete 3",
        "delete 100",
        "delete 199",
      ],
    );
    assertEquals(plan[0].after, {
      id: 201,
      n: 1,
      d: "1.1",
      f: null,
      s: "new ✓",
      v: null,
      b: null,
      dt: null,
      ts: null,
      tz: "2024-06-01T10:00:00Z",
      tm: null,
      bl: null,
      u: null,
    });
    assertEquals(plan[4].after, { d: null, tz: null });
    for (
      const extra of [["--no-create"], ["--no-update"], ["--fields", "n,s"], ["--max-update", "2"]]
    ) {
      const a = await run([...args("j"), ...extra, "-n", "--format", "ndjson"], dir.path);
      const b = await run([...args("j"), ...extra, "-n", "--format", "ndjson"], dir.path, HASH);
      const untimed = (r: RunResult) => [r.code, r.stdout, r.stderr.replace(/\d+\.\d s/, "")];
      assertEquals(untimed(a), untimed(b), extra.join(" "));
    }
    assertEquals((await run([...args("j"), "-q"], dir.path)).code, 0);
    assertEquals((await run([...args("h"), "-q"], dir.path, HASH)).code, 0);
    const rows = (schema: string) => psql(`select t::text from ${p}_${schema}.t t order by id;`);
    const applied = await rows("j");
    assertEquals(applied, await rows("h"));
    assertEquals(applied, await rows("s"));
    assertMatch(applied, /^\(5,-85,5\.250,0\.625,"changed ✓"/m);
    const again = await run([...args("j"), "-n", "-v"], dir.path);
    assertEquals([again.code, again.stdout], [0, ""], again.stderr);
    assertMatch(again.stderr, /join inside postgres[\s\S]*\+0 ~0 -0/);
  } finally {
    await psql(`drop schema ${p}_s, ${p}_j, ${p}_h cascade;`);
  }
});

Deno.test("postgres: column types SQL cannot compare exactly fall back, same plan", async () => {
  await using dir = await tempDir();
  const p = `dsync_j_${crypto.randomUUID().slice(0, 8)}`;
  await psql(`create schema ${p}_s; create schema ${p}_t;
create table ${p}_s.t (id int primary key, j jsonb, n int4);
create table ${p}_t.t (id int primary key, j jsonb, n numeric);
insert into ${p}_s.t values (1, '{"a": 1}', 1), (2, '[1]', 2);
insert into ${p}_t.t values (1, '{"a": 1}', 1.0), (2, '[2]', 2);
create table ${p}_s.u (id int primary key, n int4); create table ${p}_t.u (id int primary key, n numeric);
insert into ${p}_s.u values (1, 1), (2, 2); insert into ${p}_t.u values (1, 1.0), (2, 3);
create table ${p}_s.v (id int primary key, d numeric); create table ${p}_t.v (id int primary key, d numeric);
insert into ${p}_s.v values (1, 'NaN'), (2, 2); insert into ${p}_t.v values (1, 'NaN'), (2, 3);`);
  try {
    const json = await samePlans(dir.path, ["pg:pg", `${p}_s.t`, `${p}_t.t`]);
    assertMatch(json.stderr, /no join inside the database \('j' is jsonb in the source and jsonb/);
    assertEquals(parseNdjson(json.stdout).map((c) => c.after), [{ j: [1] }]);
    const mixed = await samePlans(dir.path, ["pg:pg", `${p}_s.u`, `${p}_t.u`]);
    assertMatch(
      mixed.stderr,
      /no join inside the database \('n' is integer in the source and numeric/,
    );
    assertEquals(parseNdjson(mixed.stdout).map((c) => c.after), [{ n: "2" }]);
    // NaN, equal on both sides, is no decimal: an error by either strategy.
    const args = ["pg:pg", `${p}_s.v`, `${p}_t.v`];
    const a = await run(args, dir.path), b = await run(args, dir.path, HASH);
    // The join knows no record number in PostgreSQL: the message names the table only.
    const line = (r: RunResult) => r.stderr.split("\n")[0].replace(/\.v:1:/, ".v:");
    assertEquals([a.code, line(a)], [2, line(b)]);
    assertMatch(a.stderr, /field 'd': .*NaN/);
  } finally {
    await psql(`drop schema ${p}_s, ${p}_t cascade;`);
  }
});

Deno.test("stop the test server", async () => {
  await server.stop();
});
