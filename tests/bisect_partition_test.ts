/**
 * Checksum bisection by a partition field (synctool's `md5sum_hash` partitions: a partition
 * column, start, end, initial interval): segments are ranges of a timestamp, date or integer
 * field instead of the key. The plans must be byte for byte the full read's, with changes that
 * move rows between partitions, into and out of NULL, and outside the start…end window; PostgreSQL
 * against SQLite, MySQL and another PostgreSQL database, on the command line and in `dsync run`.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { parseNdjson, psqlAt, tempDir } from "./helpers.ts";
import {
  mariadb,
  mysqlDatabase,
  pgDatabase,
  runAt,
  samePlans,
  type Servers,
  shareRead,
} from "./bisect_helpers.ts";
import { withPostgres } from "../scripts/pg_server.ts";
import { withMysql } from "../scripts/mysql_server.ts";

const server = await withPostgres();
const mysqlServer = await withMysql();
const servers: Servers = { pg: server.url, mysql: mysqlServer.url };
const ROWS = 3000;

const TABLE = `(id bigint PRIMARY KEY, kind text, amount numeric(10,2), at timestamptz,
  day date, seq int)`;

/** 3000 rows over about 15 days, every 97th `at` NULL. */
const ROWS_SQL = `INSERT INTO e SELECT i, 'k' || (i % 7), i * 0.5,
  CASE WHEN i % 97 = 0 THEN NULL ELSE TIMESTAMPTZ '2024-01-01 00:00:00+00' + i * INTERVAL '7 minutes 0.5 second' END,
  DATE '2024-01-01' + (i / 100), i * 3
FROM generate_series(1, ${ROWS}) i;`;

/**
 * Updates, rows moved to another day, into and out of NULL, two values swapped between rows,
 * deletes, and creates inside the window, before it, after it and with no partition value.
 */
const CHANGES_SQL = `
UPDATE e SET amount = amount + 1 WHERE id % 211 = 5;
UPDATE e SET at = at + INTERVAL '3 days', day = day + 3 WHERE id IN (10, 1500);
UPDATE e SET at = NULL WHERE id = 20;
UPDATE e SET at = TIMESTAMPTZ '2024-01-05 12:00:00+00' WHERE id = 97;
UPDATE e SET kind = CASE id WHEN 100 THEN 'k3' ELSE 'k2' END WHERE id IN (100, 101);
DELETE FROM e WHERE id % 401 = 3;
INSERT INTO e VALUES (5001, 'new', 1, '2024-01-07 10:00:00+00', '2024-01-07', 1),
  (5002, 'before', 2, '2023-06-01 00:00:00+00', '2023-06-01', 2),
  (5003, 'after', 3, '2025-01-01 00:00:00+00', '2025-01-01', 3),
  (5004, 'none', 4, NULL, NULL, 4);`;

const psql = (sql: string, url: string) => psqlAt(url, sql);
const run = (args: string[], cwd: string) => runAt(servers, args, cwd);

Deno.test("hash by partition: PostgreSQL ↔ SQLite, by a timestamp, with and without a window", async () => {
  await using dir = await tempDir();
  const cwd = dir.path;
  const url = await pgDatabase(servers, "bisect_part_lite");
  await psql(`CREATE TABLE e ${TABLE}; ${ROWS_SQL}`, url);
  assertEquals((await run(["pg:sqlite", `${url}#e`, "copy.db#e", "-q"], cwd)).code, 0);
  await psql(CHANGES_SQL, url);
  const args = ["pg:sqlite", `${url}#e`, "copy.db#e", "--delete"];
  const daily = await samePlans(servers, cwd, args, [
    "--partition-column",
    "at",
    "--partition-interval",
    "1d",
  ]);
  assertMatch(daily.stderr, /checksum bisection \(postgres ↔ sqlite\).*; segments by at\n/);
  const plan = parseNdjson(daily.stdout);
  const ops = (op: string) => plan.filter((c) => c.op === op).length;
  assertEquals([ops("create"), ops("delete")], [4, Math.floor((ROWS - 3) / 401) + 1]);
  assertEquals(shareRead(daily.stderr) < 0.5, true, daily.stderr);
  // A window narrower than the data: what lies before and after it is checked as a whole.
  const window = await samePlans(servers, cwd, args, [
    "--partition-column",
    "at",
    "--partition-start",
    "2024-01-03",
    "--partition-end",
    "2024-01-10T12:00:00Z",
    "--partition-interval",
    "21600",
  ]);
  assertEquals(parseNdjson(window.stdout).length, plan.length);
  // SQLite the source, by the integer field: the same changes, backwards.
  const back = await samePlans(servers, cwd, ["sqlite:pg", "copy.db#e", `${url}#e`, "--delete"], [
    "--partition-column",
    "seq",
  ]);
  assertMatch(back.stderr, /checksum bisection \(sqlite ↔ postgres\).*; segments by seq\n/);
  assertEquals(parseNdjson(back.stdout).length, plan.length);
  assertEquals(shareRead(back.stderr) < 0.5, true, back.stderr);

  // Options that do not fit: exit 2, one line each, nothing read into the target.
  for (
    const [extra, message] of [
      [["--partition-column", "kind"], /partition field 'kind' is compared as text/],
      [["--partition-column", "nope"], /partition field 'nope' is not a compared field/],
      [
        ["--partition-column", "at", "--partition-start", "soon"],
        /partition start 'soon': expected a date or time/,
      ],
      [
        ["--partition-column", "day", "--partition-interval", "1x"],
        /partition interval '1x': expected seconds/,
      ],
      [["--partition-interval", "1d"], /^dsync: --partition-interval needs --partition-column/],
    ] as const
  ) {
    const r = await run([...args, "--strategy", "hash", ...extra, "-n"], cwd);
    assertEquals(r.code, 2, r.stderr);
    assertMatch(r.stderr, message);
  }
  const merge = await run([...args, "--strategy", "merge", "--partition-column", "at"], cwd);
  assertEquals(merge.code, 2);
  assertMatch(merge.stderr, /--partition-column needs --strategy hash/);
});

Deno.test("hash by partition: two PostgreSQL databases by a date (PostgreSQL's own hashes)", async () => {
  await using dir = await tempDir();
  const cwd = dir.path;
  const [a, b] = [
    await pgDatabase(servers, "bisect_part_a"),
    await pgDatabase(servers, "bisect_part_b"),
  ];
  for (const url of [a, b]) await psql(`CREATE TABLE e ${TABLE}; ${ROWS_SQL}`, url);
  // The target's integers are narrower: the same family, hashed alike.
  await psql("ALTER TABLE e ALTER COLUMN id TYPE int, ALTER COLUMN seq TYPE smallint;", b);
  const same = await run(
    ["pg:pg", `${a}#e`, `${b}#e`, "--strategy", "hash", "-n", "-v", "--partition-column", "day"],
    cwd,
  );
  assertEquals([same.code, same.stdout], [0, ""], same.stderr);
  assertMatch(
    same.stderr,
    /, 0 of \d+ rows read \(0%\).*rows hashed by PostgreSQL's hash_record_extended; segments by day/,
  );
  // Two rows swapping a value: two updates (a plain sum of the fields' hashes would miss them).
  await psql(
    "UPDATE e SET kind = CASE id WHEN 2500 THEN 'k2' ELSE 'k1' END WHERE id IN (2500, 2501);",
    a,
  );
  const swap = await samePlans(servers, cwd, ["pg:pg", `${a}#e`, `${b}#e`], [
    "--partition-column",
    "day",
  ]);
  assertEquals(
    parseNdjson(swap.stdout).map((c) => `${c.op} ${(c.key as { id: number }).id}`),
    ["update 2500", "update 2501"],
  );
  await psql(CHANGES_SQL, a);
  const hash = await samePlans(servers, cwd, ["pg:pg", `${a}#e`, `${b}#e`, "--delete"], [
    "--partition-column",
    "day",
    "--partition-interval",
    "2d",
  ]);
  assertMatch(hash.stderr, /rows hashed by PostgreSQL's hash_record_extended; segments by day\n/);
  // By the key, the same plan.
  const byKey = await samePlans(servers, cwd, ["pg:pg", `${a}#e`, `${b}#e`, "--delete"]);
  assertMatch(byKey.stderr, /rows hashed by PostgreSQL's hash_record_extended\n/);
  assertEquals(byKey.stdout, hash.stdout);
  // A float column on one side and numeric on the other: md5 of the tokens, as across engines.
  await psql("ALTER TABLE e ALTER COLUMN amount TYPE float8;", a);
  await psql("ALTER TABLE e ALTER COLUMN amount TYPE real;", b);
  const mixed = await run(
    ["pg:pg", `${a}#e`, `${b}#e`, "--strategy", "hash", "-n", "-v", "--partition-column", "day"],
    cwd,
  );
  assertEquals(mixed.code, 0, mixed.stderr);
  assertEquals(/rows hashed by/.test(mixed.stderr), false, mixed.stderr);
});

Deno.test("hash by partition: PostgreSQL ↔ MySQL by a timestamp, and in a dsync run pipeline", async () => {
  await using dir = await tempDir();
  const cwd = dir.path;
  const url = await pgDatabase(servers, "bisect_part_mysql");
  const my = await mysqlDatabase(
    servers,
    "dsync_bisect_part",
    `CREATE TABLE e (id bigint PRIMARY KEY, kind text, amount decimal(10,2), at timestamp(6) NULL,
      day date, seq int) CHARSET utf8mb4 COLLATE utf8mb4_nopad_bin;`,
  );
  await psql(`CREATE TABLE e ${TABLE}; ${ROWS_SQL}`, url);
  assertEquals((await run(["pg:mysql", `${url}#e`, `${my}#e`, "-q"], cwd)).code, 0);
  await psql(CHANGES_SQL, url);
  const hash = await samePlans(servers, cwd, ["pg:mysql", `${url}#e`, `${my}#e`, "--delete"], [
    "--partition-column",
    "at",
    "--partition-interval",
    "6h",
  ]);
  assertMatch(hash.stderr, /checksum bisection \(postgres ↔ mysql\).*; segments by at\n/);
  assertEquals(shareRead(hash.stderr) < 0.5, true, hash.stderr);
  const back = await samePlans(servers, cwd, ["mysql:pg", `${my}#e`, `${url}#e`, "--delete"], [
    "--partition-column",
    "day",
    "--partition-start",
    "2024-01-02",
    "--partition-end",
    "2024-01-12",
  ]);
  assertEquals(parseNdjson(back.stdout).length, parseNdjson(hash.stdout).length);

  // synctool's shape in a pipeline: a partition column, start, end and initial interval.
  await Deno.writeTextFile(
    `${cwd}/dsync.yaml`,
    `datastores:
  pg: { type: postgres, url: "${url}" }
  my: { type: mysql, url: "${my}" }
pipelines:
  events:
    source: { datastore: pg, table: e }
    target: { datastore: my, table: e }
    strategy: hash # synctool: reconciliation: strategy: md5sum_hash
    partition:
      column: at # synctool: partition_column (partition_column_type: datetime)
      start: 2024-01-01
      end: "2024-02-01"
      interval: 86400 # synctool: initial_partition_interval, in seconds
    policy: { delete: true }
`,
  );
  const plan = await run(["run", "dsync.yaml", "-n", "--format", "ndjson", "-v"], cwd);
  assertEquals(plan.code, 0, plan.stderr);
  assertMatch(plan.stderr, /checksum bisection \(postgres ↔ mysql\).*; segments by at\n/);
  assertEquals(plan.stdout, hash.stdout);
  const applied = await run(["run", "dsync.yaml", "-q"], cwd);
  assertEquals(applied.code, 0, applied.stderr);
  const again = await run(["run", "dsync.yaml", "-n", "-v"], cwd);
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
  assertMatch(again.stderr, /, 0 of \d+ rows read \(0%\)/);

  // partition: without strategy: hash, and an interval that is none: refused, naming the line.
  const config = await Deno.readTextFile(`${cwd}/dsync.yaml`);
  await Deno.writeTextFile(`${cwd}/full.yaml`, config.replace("strategy: hash", "strategy: full"));
  const full = await run(["run", "full.yaml", "-n"], cwd);
  assertEquals(full.code, 2);
  assertMatch(
    full.stderr,
    /full\.yaml:9:5: pipelines\.events\.partition: partition needs strategy: hash/,
  );
  await Deno.writeTextFile(`${cwd}/year.yaml`, config.replace("interval: 86400", "interval: 1y"));
  const year = await run(["run", "year.yaml", "-n"], cwd);
  assertEquals(year.code, 2);
  assertMatch(year.stderr, /year\.yaml:13:17: pipelines\.events\.partition\.interval: /);
  await mariadb(servers, "DROP DATABASE dsync_bisect_part");
});

Deno.test("stop the test servers", async () => {
  await server.stop();
  await mysqlServer.stop();
});
