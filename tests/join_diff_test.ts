/**
 * The join diff inside one database: SQLite tables in one file or two (ATTACH), PostgreSQL
 * tables in two schemas of one database. The plan must be byte for byte the one the hash join
 * (DSYNC_STRATEGY=hash, both sides read into dsync) computes on the same data, `-v` must name
 * the join, and the target after apply is read back with the store's own client.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, parseNdjson, type RunResult, tempDir } from "./helpers.ts";

const HASH = { DSYNC_STRATEGY: "hash" };

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

async function run(args: string[], cwd: string, env: Record<string, string> = {}) {
  return await dsync(args, { cwd, env });
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
  const forced = await run(args, cwd, { DSYNC_STRATEGY: "join" });
  assertEquals(forced.code, 2);
  assertMatch(forced.stderr, /DSYNC_STRATEGY=join: no join inside the database: field 'j'/);

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

  // Text keys in a column that also holds a blob: the keys cannot pair in SQL as in dsync.
  const mixed = "CREATE TABLE t (code TEXT PRIMARY KEY, v INTEGER);" +
    "INSERT INTO t VALUES ('a', 1), ('b', 2);";
  await sqlite3(`${cwd}/s3.db`, mixed + "INSERT INTO t VALUES (X'63', 3);");
  await sqlite3(`${cwd}/t3.db`, mixed + "UPDATE t SET v = 9 WHERE code = 'b';");
  const keys = await samePlans(cwd, ["sqlite:sqlite", "s3.db#t", "t3.db#t"]);
  assertMatch(keys.stderr, /no join inside the database \(a source key is not text in every row\)/);
});
