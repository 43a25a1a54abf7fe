/**
 * Checksum bisection between two databases (`--strategy hash`): PostgreSQL ↔ SQLite and two
 * PostgreSQL databases. The plan must be byte for byte the one the full read (`--strategy
 * merge`) computes on the same data, with a few hundred differences planted at both ends and in
 * the middle of the key range, over a table of many types with NULLs; and `-v` must show that
 * only a small part of the rows was read, which is what proves that equal rows get equal
 * checksums in both databases.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { parseNdjson, psqlAt, sqliteExec, sqliteRows, tempDir } from "./helpers.ts";
import {
  mariadb as mariadbAt,
  mysqlDatabase as mysqlDatabaseAt,
  pgDatabase,
  runAt,
  samePlans as bisectPlans,
  type Servers,
  shareRead,
} from "./bisect_helpers.ts";
import { withPostgres } from "../scripts/pg_server.ts";
import { withMysql } from "../scripts/mysql_server.ts";

const server = await withPostgres();
const mysqlServer = await withMysql();
const ROWS = 3000;

const servers: Servers = { pg: server.url, mysql: mysqlServer.url };

function psql(sql: string, url = server.url): Promise<string> {
  return psqlAt(url, sql);
}

const database = (name: string) => pgDatabase(servers, name);
const run = (args: string[], cwd: string) => runAt(servers, args, cwd);
const samePlans = (cwd: string, args: string[]) => bisectPlans(servers, cwd, args);

const TABLE = `(id bigint PRIMARY KEY, n integer, big bigint, d numeric(14,3),
  f double precision, r real, s text, v varchar(20), b boolean, dt date, tm time(3),
  ts timestamp, tz timestamptz, by bytea)`;

/** The rows 1…ROWS, every eleventh field NULL, values of every kind (-0, NaN, unicode). */
const ROWS_SQL = `INSERT INTO t SELECT i,
  CASE WHEN i % 11 = 1 THEN NULL ELSE i * 7 - 5000 END,
  9007199254740993 + i,
  CASE WHEN i % 11 = 2 THEN NULL ELSE (i * 1.25)::numeric(14,3) END,
  CASE WHEN i % 500 = 0 THEN '-0'::float8 WHEN i % 501 = 0 THEN 'NaN' ELSE i / 7.0 END,
  CASE WHEN i % 11 = 3 THEN NULL ELSE (i / 3.0)::real END,
  CASE WHEN i % 11 = 4 THEN NULL WHEN i % 13 = 0 THEN '' ELSE 'ünï ' || i || ' ✓ ''q'' |2:x' END,
  'v' || (i % 37),
  CASE WHEN i % 11 = 5 THEN NULL ELSE i % 2 = 0 END,
  DATE '2024-01-01' + (i % 400),
  TIME '10:00:00' + i * INTERVAL '1.5 second',
  TIMESTAMP '2024-01-01 00:00:00' + i * INTERVAL '1 minute 0.25 second',
  CASE WHEN i % 11 = 6 THEN NULL ELSE TIMESTAMPTZ '2024-05-01 10:00:00+02' + i * INTERVAL '1 hour' END,
  CASE WHEN i % 11 = 7 THEN NULL ELSE decode(lpad(to_hex(i), 6, '0'), 'hex') END
FROM generate_series(1, ${ROWS}) i;`;

/**
 * The differences planted in the source: updates of one field each (rotating through the
 * fields, to and from NULL), deletes, and creates in gaps, below the smallest key and past the
 * largest. Returns the SQL for a table `t` in PostgreSQL.
 */
function changesSql(): string {
  const sets = [
    "n = n + 1",
    "d = NULL",
    "f = f * 2",
    "r = r + 1",
    "s = 'changed ✓'",
    "b = NOT b",
    "dt = dt + 1",
    "tm = tm + INTERVAL '0.001 second'",
    "ts = ts + INTERVAL '1 microsecond'",
    "tz = NULL",
    "by = decode('00', 'hex')",
    "s = NULL",
    "d = 1.5",
    // false → NULL (and NULL stays NULL): a NULL must never checksum as a value.
    "b = NULL",
    "n = NULL, s = ''",
  ];
  const lines: string[] = [];
  for (let i = 1; i <= ROWS; i++) {
    if (i % 17 === 0 || i === 1 || i === ROWS) {
      lines.push(`UPDATE t SET ${sets[i % sets.length]} WHERE id = ${i};`);
    }
  }
  lines.push(`DELETE FROM t WHERE id % 53 = 0 OR id IN (2, ${ROWS - 1});`);
  lines.push(
    `INSERT INTO t SELECT id + ${ROWS} * 2, n, big, d, f, r, s, v, b, dt, tm, ts, tz, by FROM t WHERE id % 97 = 0 OR id = 3;`,
  );
  lines.push(`INSERT INTO t (id, s) VALUES (-5, 'below'), (0, 'zero');`);
  return lines.join("\n");
}

Deno.test("hash: PostgreSQL ↔ SQLite, many types, scattered changes: the full read's plan", async () => {
  await using dir = await tempDir();
  const cwd = dir.path;
  const url = await database("bisect_pg_sqlite");
  await psql(`CREATE TABLE t ${TABLE}; ${ROWS_SQL}`, url);
  // The SQLite copy is made by dsync itself (its column types from PostgreSQL's), then the
  // PostgreSQL side gets the changes.
  const load = await run(["pg:sqlite", `${url}#t`, "copy.db#t", "-q"], cwd);
  assertEquals(load.code, 0, load.stderr);
  // SQLite holds no NaN (it stores NULL): left in, that pair would differ on every run.
  await psql("UPDATE t SET f = 1 WHERE f = 'NaN';", url);
  await run(["pg:sqlite", `${url}#t`, "copy.db#t", "--fields", "id,f", "-q"], cwd);
  await psql(changesSql(), url);
  const hash = await samePlans(cwd, ["pg:sqlite", `${url}#t`, "copy.db#t", "--delete"]);
  assertMatch(hash.stderr, /checksum bisection \(postgres ↔ sqlite\)/);
  const plan = parseNdjson(hash.stdout);
  const ops = (op: string) => plan.filter((c) => c.op === op).length;
  const deleted = Math.floor(ROWS / 53) + 2;
  assertEquals(ops("delete"), deleted);
  assertEquals(ops("create"), Math.floor(ROWS / 97) + 1 + 2);
  // Updates: every 17th row, the first and the last, but for those deleted since, and the
  // rows whose change leaves the value as it was (NULL set to NULL, NaN * 2, -0 * 2).
  assertEquals(ops("update") > 150, true, `${ops("update")} updates`);
  assertEquals(shareRead(hash.stderr) < 0.3, true, hash.stderr);
  // The bytes of the values read: some, and far fewer than the rows read would hold in all.
  assertMatch(hash.stderr, /rows read \([\d.]+%\), [\d.]+ kB of values; paired by/);

  // The other way round, SQLite the source: the same plans again.
  const back = await samePlans(cwd, ["sqlite:pg", "copy.db#t", `${url}#t`, "--delete"]);
  assertMatch(back.stderr, /checksum bisection \(sqlite ↔ postgres\)/);
  assertEquals(parseNdjson(back.stdout).length, plan.length);

  // Applied by bisection, a second run finds nothing and reads (almost) nothing.
  const apply = await run(
    ["pg:sqlite", `${url}#t`, "copy.db#t", "--delete", "--strategy", "hash", "-q"],
    cwd,
  );
  assertEquals(apply.code, 0, apply.stderr);
  const again = await run(
    ["pg:sqlite", `${url}#t`, "copy.db#t", "--delete", "--strategy", "hash", "-n", "-v"],
    cwd,
  );
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
  assertMatch(again.stderr, /, 0 of \d+ rows read \(0%\), 0 B of values;/);
});

Deno.test("hash: two PostgreSQL databases, and text and composite keys", async () => {
  await using dir = await tempDir();
  const cwd = dir.path;
  const [a, b] = [await database("bisect_a"), await database("bisect_b")];
  for (const url of [a, b]) await psql(`CREATE TABLE t ${TABLE}; ${ROWS_SQL}`, url);
  await psql(changesSql(), a);
  const hash = await samePlans(cwd, ["pg:pg", `${a}#t`, `${b}#t`, "--delete"]);
  assertMatch(hash.stderr, /checksum bisection \(postgres, two databases\)/);
  assertEquals(shareRead(hash.stderr) < 0.3, true, hash.stderr);
  // A partition: the source read through --where, the target's deletes kept inside it.
  const part = await samePlans(cwd, [
    "pg:pg",
    `${a}#t`,
    `${b}#t`,
    "--delete",
    "--where",
    "id BETWEEN 100 AND 1500",
  ]);
  const keys = parseNdjson(part.stdout).map((c) => (c.key as { id: number }).id);
  assertEquals(keys.length > 50 && keys.every((id) => id >= 100 && id <= 1500), true);

  // A text key (sampled boundaries) and a composite key, PostgreSQL → SQLite.
  const keyed = `CREATE TABLE k (code text, part int, val text, PRIMARY KEY (code, part));
    INSERT INTO k SELECT 'c' || lpad((i / 3)::text, 5, '0') || CASE WHEN i % 7 = 0 THEN ' é' ELSE '' END,
      i % 3, 'v' || i FROM generate_series(1, ${ROWS}) i;`;
  await psql(keyed, a);
  assertEquals((await run(["pg:sqlite", `${a}#k`, "k.db#k", "-q"], cwd)).code, 0);
  await psql(
    "UPDATE k SET val = 'x' WHERE part = 1 AND code LIKE '%7'; DELETE FROM k WHERE code LIKE '%33';" +
      "INSERT INTO k VALUES ('a', 0, 'first'), ('zz', 9, 'last'), ('c00500 ', 0, 'space');",
    a,
  );
  const text = await samePlans(cwd, ["pg:sqlite", `${a}#k`, "k.db#k", "--delete"]);
  assertEquals(parseNdjson(text.stdout).length > 100, true);
  assertEquals(shareRead(text.stderr) < 0.5, true, text.stderr);
});

Deno.test("hash: two PostgreSQL databases, 64-bit values PostgreSQL's hash functions fold to 32 bits", async () => {
  await using dir = await tempDir();
  const cwd = dir.path;
  const [a, b] = [await database("bisect_fold_a"), await database("bisect_fold_b")];
  // hashint8 and the time and timestamp hashes fold the value's two 32-bit halves into one
  // (lo XOR hi): 0 and 2^32 + 1 hash alike, -1 and 2^32 - 1, and so do two times or
  // timestamps 4294.967297 s apart from 2000-01-01 00:00 on. Each row's change below keeps
  // PostgreSQL's own hash of the value.
  const table =
    `CREATE TABLE w (id bigint PRIMARY KEY, big bigint, tm time, ts timestamp, tz timestamptz);
    INSERT INTO w SELECT i, CASE WHEN i = 2 THEN -1 ELSE 0 END, TIME '00:00', TIMESTAMP '2000-01-01',
      TIMESTAMPTZ '2000-01-01 00:00+00' FROM generate_series(1, ${ROWS}) i;`;
  for (const url of [a, b]) await psql(table, url);
  const later = "INTERVAL '4294.967297 seconds'";
  await psql(
    `UPDATE w SET big = 4294967297 WHERE id = 1; UPDATE w SET big = 4294967295 WHERE id = 2;
     UPDATE w SET tm = tm + ${later} WHERE id = ${ROWS / 2};
     UPDATE w SET ts = ts + ${later} WHERE id = ${ROWS / 2 + 1};
     UPDATE w SET tz = tz + ${later} WHERE id = ${ROWS};`,
    a,
  );
  const hash = await samePlans(cwd, ["pg:pg", `${a}#w`, `${b}#w`]);
  assertMatch(hash.stderr, /rows hashed by PostgreSQL's hash_record_extended/);
  assertEquals(
    parseNdjson(hash.stdout).map((c) => `${c.op} ${(c.key as { id: number }).id}`),
    ["update 1", "update 2", `update ${ROWS / 2}`, `update ${ROWS / 2 + 1}`, `update ${ROWS}`],
  );
});

Deno.test("hash: an empty side (the first cut counts the rows; an empty one is read whole)", async () => {
  await using dir = await tempDir();
  const cwd = dir.path;
  const [a, b] = [await database("bisect_empty_a"), await database("bisect_empty_b")];
  await psql(
    "CREATE TABLE t (id bigint PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (5, 'b');",
    a,
  );
  await psql("CREATE TABLE t (id bigint PRIMARY KEY, v text);", b);
  for (const args of [["pg:pg", `${a}#t`, `${b}#t`], ["pg:pg", `${b}#t`, `${a}#t`, "--delete"]]) {
    const hash = await samePlans(cwd, args);
    assertMatch(hash.stderr, /, 2 of 2 rows read \(100%\)/);
    assertEquals(parseNdjson(hash.stdout).length, 2);
  }
  // Both sides hold rows: the counts come from the first cut's segments.
  await psql("INSERT INTO t VALUES (5, 'b'), (9, 'c');", b);
  const both = await samePlans(cwd, ["pg:pg", `${a}#t`, `${b}#t`, "--delete"]);
  assertMatch(both.stderr, / of 4 rows read/);
  assertEquals(parseNdjson(both.stdout).map((c) => c.op), ["create", "delete"]);
});

Deno.test("hash: values SQL cannot vouch for, and pairs it cannot bisect", async () => {
  await using dir = await tempDir();
  const cwd = dir.path;
  // Text in an INTEGER column, the same on both sides: the full read's error, not a match.
  for (const file of ["s.db", "t.db"]) {
    sqliteExec(
      `${cwd}/${file}`,
      "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER);" +
        "INSERT INTO t VALUES (1, 'abc'), (2, 2);",
    );
  }
  const args = ["sqlite:sqlite", "s.db#t", "t.db#t"];
  const hash = await run([...args, "--strategy", "hash"], cwd);
  const merge = await run([...args, "--strategy", "merge"], cwd);
  assertEquals([hash.code, hash.stderr.split("\n")[0]], [2, merge.stderr.split("\n")[0]]);
  assertMatch(hash.stderr, /field 'n': cannot convert "abc" to integer/);

  // A file is no SQL database: a forced hash is a usage error, nothing written.
  await Deno.writeTextFile(`${cwd}/a.csv`, "id,n\n1,5\n");
  const csv = await run(["csv:sqlite", "a.csv", "t.db#t", "--strategy", "hash"], cwd);
  assertEquals(csv.code, 2);
  assertMatch(
    csv.stderr,
    /^dsync: --strategy hash: no checksum bisection: a\.csv is not a table of a SQL database/,
  );
  // A JSON column cannot be checksummed exactly.
  for (const file of ["j1.db", "j2.db"]) {
    sqliteExec(`${cwd}/${file}`, "CREATE TABLE t (id INTEGER PRIMARY KEY, j JSON);");
  }
  const json = await run(["sqlite:sqlite", "j1.db#t", "j2.db#t", "--strategy", "hash"], cwd);
  assertEquals(json.code, 2);
  assertMatch(json.stderr, /no checksum bisection: field 'j' is compared as json/);
});

Deno.test("hash: strategy: hash in a dsync run pipeline", async () => {
  await using dir = await tempDir();
  const cwd = dir.path;
  const url = await database("bisect_run");
  await psql(`CREATE TABLE t ${TABLE}; ${ROWS_SQL} UPDATE t SET f = 1 WHERE f = 'NaN';`, url);
  assertEquals((await run(["pg:sqlite", `${url}#t`, "copy.db#t", "-q"], cwd)).code, 0);
  await psql(
    "UPDATE t SET s = 'run' WHERE id IN (5, 1500, 2999); DELETE FROM t WHERE id = 7;",
    url,
  );
  await Deno.writeTextFile(
    `${cwd}/dsync.yaml`,
    `datastores:
  pg: { type: postgres, url: "${url}" }
  lite: { type: sqlite, path: copy.db }
pipelines:
  p:
    source: { datastore: pg, table: t }
    target: { datastore: lite, table: t }
    strategy: hash
    policy: { delete: true }
`,
  );
  const plan = await run(["run", "dsync.yaml", "-n", "--format", "ndjson", "-v"], cwd);
  assertEquals(plan.code, 0, plan.stderr);
  assertMatch(plan.stderr, /strategy hash: checksum bisection \(postgres ↔ sqlite\)/);
  assertEquals(
    parseNdjson(plan.stdout).map((c) => `${c.op} ${(c.key as { id: number }).id}`),
    ["update 5", "update 1500", "update 2999", "delete 7"],
  );
  assertEquals(shareRead(plan.stderr) < 0.1, true, plan.stderr);

  // A file source cannot be bisected: the config is refused, naming the line.
  await Deno.writeTextFile(`${cwd}/a.csv`, "id,s\n1,x\n");
  await Deno.writeTextFile(
    `${cwd}/csv.yaml`,
    `datastores:
  f: { type: csv, path: a.csv }
  lite: { type: sqlite, path: copy.db }
pipelines:
  p:
    source: { datastore: f }
    target: { datastore: lite, table: t }
    strategy: hash
`,
  );
  const refused = await run(["run", "csv.yaml", "-n"], cwd);
  assertEquals(refused.code, 2);
  assertMatch(
    refused.stderr,
    /csv\.yaml:8:15: pipelines\.p\.strategy: hash needs SQL tables on both sides; the source csv is not one/,
  );
});

const mariadb = (sql: string) => mariadbAt(servers, sql);
const mysqlDatabase = (name: string, sql: string) => mysqlDatabaseAt(servers, name, sql);

Deno.test("hash: PostgreSQL ↔ MySQL and SQLite ↔ MySQL, many types: the full read's plans", async () => {
  await using dir = await tempDir();
  const cwd = dir.path;
  const url = await database("bisect_pg_mysql");
  // The column types PostgreSQL's compare with (a TIMESTAMP for timestamptz, DOUBLE for real).
  const my = await mysqlDatabase(
    "dsync_bisect_mysql",
    `CREATE TABLE t (id bigint PRIMARY KEY, n int, big bigint, d decimal(14,3), f double,
      r double, s text, v varchar(20), b boolean, dt date, tm time(3), ts datetime(6),
      tz timestamp(6) NULL, \`by\` blob) CHARSET utf8mb4 COLLATE utf8mb4_nopad_bin;`,
  );
  // MySQL holds no NaN: the PostgreSQL side gets none, so the copies are equal before the changes.
  await psql(`CREATE TABLE t ${TABLE}; ${ROWS_SQL} UPDATE t SET f = 1 WHERE f = 'NaN';`, url);
  for (const [pair, target] of [["pg:mysql", `${my}#t`], ["pg:sqlite", "copy.db#t"]]) {
    const load = await run([pair, `${url}#t`, target, "-q"], cwd);
    assertEquals(load.code, 0, load.stderr);
  }
  const same = await run(
    ["pg:mysql", `${url}#t`, `${my}#t`, "--delete", "--strategy", "hash", "-n", "-v"],
    cwd,
  );
  assertEquals([same.code, same.stdout], [0, ""], same.stderr);
  assertMatch(same.stderr, /checksum bisection \(postgres ↔ mysql\).*, 0 of \d+ rows read \(0%\)/);
  const lite = await run(
    ["sqlite:mysql", "copy.db#t", `${my}#t`, "--delete", "--strategy", "hash", "-n", "-v"],
    cwd,
  );
  assertEquals([lite.code, lite.stdout], [0, ""], lite.stderr);
  assertMatch(lite.stderr, /checksum bisection \(sqlite ↔ mysql\).*, 0 of \d+ rows read \(0%\)/);

  await psql(changesSql(), url);
  const hash = await samePlans(cwd, ["pg:mysql", `${url}#t`, `${my}#t`, "--delete"]);
  assertMatch(hash.stderr, /checksum bisection \(postgres ↔ mysql\)/);
  const plan = parseNdjson(hash.stdout);
  assertEquals(plan.filter((c) => c.op === "delete").length, Math.floor(ROWS / 53) + 2);
  assertEquals(shareRead(hash.stderr) < 0.3, true, hash.stderr);
  // MySQL the source: the same changes, backwards.
  const back = await samePlans(cwd, ["mysql:pg", `${my}#t`, `${url}#t`, "--delete"]);
  assertMatch(back.stderr, /checksum bisection \(mysql ↔ postgres\)/);
  assertEquals(parseNdjson(back.stdout).length, plan.length);
  assertEquals(shareRead(back.stderr) < 0.3, true, back.stderr);
  // SQLite ↔ MySQL: the changes go into SQLite too, then the pair is compared both ways.
  assertEquals((await run(["pg:sqlite", `${url}#t`, "copy.db#t", "--delete", "-q"], cwd)).code, 0);
  const sqlite = await samePlans(cwd, ["sqlite:mysql", "copy.db#t", `${my}#t`, "--delete"]);
  assertMatch(sqlite.stderr, /checksum bisection \(sqlite ↔ mysql\)/);
  assertEquals(parseNdjson(sqlite.stdout).length, plan.length);
  assertEquals(shareRead(sqlite.stderr) < 0.3, true, sqlite.stderr);
  const mysqlFirst = await samePlans(cwd, ["mysql:sqlite", `${my}#t`, "copy.db#t", "--delete"]);
  assertEquals(parseNdjson(mysqlFirst.stdout).length, plan.length);
  assertEquals(shareRead(mysqlFirst.stderr) < 0.3, true, mysqlFirst.stderr);

  // A text key (sampled boundaries, cut by byte order) and a composite key, MySQL → PostgreSQL.
  await psql(
    `CREATE TABLE k (code text, part int, val text, PRIMARY KEY (code, part));
    INSERT INTO k SELECT 'c' || lpad((i / 3)::text, 5, '0') || CASE WHEN i % 7 = 0 THEN ' é' ELSE '' END,
      i % 3, 'v' || i FROM generate_series(1, ${ROWS}) i;`,
    url,
  );
  assertEquals((await run(["pg:mysql", `${url}#k`, `${my}#k`, "-q"], cwd)).code, 0);
  await psql(
    "UPDATE k SET val = 'x' WHERE part = 1 AND code LIKE '%7'; DELETE FROM k WHERE code LIKE '%33';" +
      "INSERT INTO k VALUES ('a', 0, 'first'), ('zz', 9, 'last'), ('c00500 ', 0, 'space'), ('c00500é', 1, 'ü');",
    url,
  );
  const text = await samePlans(cwd, ["mysql:pg", `${my}#k`, `${url}#k`, "--delete"]);
  assertMatch(text.stderr, /checksum bisection \(mysql ↔ postgres\)/);
  assertEquals(parseNdjson(text.stdout).length > 100, true);
  assertEquals(shareRead(text.stderr) < 0.5, true, text.stderr);
  await mariadb("DROP DATABASE dsync_bisect_mysql");
});

Deno.test("hash: keys it cannot bisect: a key held twice, an empty key (checked in the database)", async () => {
  await using dir = await tempDir();
  const cwd = dir.path;
  const url = await database("bisect_keys");
  // No primary key: the key field may repeat or be empty; the full read reports both.
  await psql(
    "CREATE TABLE dup (k text, v int); INSERT INTO dup VALUES ('a', 1), ('a', 2), ('b', 3);" +
      "CREATE TABLE e (k text, v int); INSERT INTO e VALUES ('', 1), ('b', 3);",
    url,
  );
  sqliteExec(
    `${cwd}/t.db`,
    "CREATE TABLE dup (k TEXT PRIMARY KEY, v INTEGER); CREATE TABLE e (k TEXT PRIMARY KEY, v INTEGER);",
  );
  for (
    const [table, why] of [["dup", "the source holds a key twice"], ["e", "a source key is empty"]]
  ) {
    const r = await run(
      ["pg:sqlite", `${url}#${table}`, `t.db#${table}`, "--key", "k", "--strategy", "hash"],
      cwd,
    );
    assertEquals(r.code, 2, r.stderr);
    assertMatch(r.stderr, new RegExp(`no checksum bisection: \\S+#public\\.${table}: ${why}\\n`));
  }
  assertEquals(sqliteRows(`${cwd}/t.db`, "dup"), []);
});

Deno.test("stop the test server", async () => {
  await server.stop();
  await mysqlServer.stop();
});
