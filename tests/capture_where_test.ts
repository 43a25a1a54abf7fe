/**
 * `--strategy changes` with `--where` (and `where:` in pipelines): only the changed rows that
 * match the condition are fetched, and a changed key whose row does not match is deleted only
 * where a full `--where` sync would delete it — inside the partition of a target read through
 * the same condition — never as an unscoped delete. Checked with psql and sqlite3.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { client, dsync, mariadbDatabase, type RunResult, tempDir } from "./helpers.ts";
import { withPostgres } from "../scripts/pg_server.ts";
import { withMysql } from "../scripts/mysql_server.ts";
import { redisCli, uniqueName, withRedis } from "./store_servers.ts";

const sqlite3 = (file: string, sql: string) => client("sqlite3", [file], sql);

function counts(r: RunResult): string {
  return /\s(\+\d+ ~\d+ -\d+)/.exec(r.stderr)?.[1] ?? `no summary in: ${r.stderr}`;
}

const SEED =
  "INSERT INTO users VALUES (1, 'A', 'Ann'), (2, 'A', 'Bob'), (3, 'B', 'Cy'), (6, 'A', 'Fay');";
/** 1 stays in A; 2 moves out of A; 3 changes in B; 4 is new in A; 5 new in B; 6 deleted in A. */
const CHANGES = [
  "UPDATE users SET name = 'Anne' WHERE id = 1;",
  "UPDATE users SET region = 'B' WHERE id = 2;",
  "UPDATE users SET name = 'Cyril' WHERE id = 3;",
  "INSERT INTO users VALUES (4, 'A', 'Dan'), (5, 'B', 'Eve');",
  "DELETE FROM users WHERE id = 6;",
].join("\n");

Deno.test("postgres: --strategy changes --where --delete deletes only inside the partition the target is read through; --delete-outside-where deletes the rest", async () => {
  const server = await withPostgres();
  const schema = `dsync_w_${crypto.randomUUID().slice(0, 8)}`;
  const psql = (sql: string) =>
    client("psql", [server.url, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"], sql);
  try {
    await using dir = await tempDir();
    await psql(
      `CREATE SCHEMA ${schema}; CREATE SCHEMA ${schema}_t; SET search_path = ${schema}; CREATE TABLE users (id int PRIMARY KEY, region text, name text); ${SEED}`,
    );
    const src = `${server.url}#${schema}.users`;
    const tgt = `${server.url}#${schema}_t.users`;
    const run = (...args: string[]) => dsync(args, { cwd: dir.path });
    // The target holds region B too (another pipeline loads it).
    assertEquals((await run("pg:pg", src, tgt, "-q")).code, 0);
    assertEquals((await run("capture", "install", src)).code, 0);
    await psql(`SET search_path = ${schema}; ${CHANGES}`);
    const changes = (...args: string[]) =>
      run("pg:pg", src, tgt, "--strategy", "changes", "--where", "region = 'A'", ...args);

    const applied = await changes("--delete");
    assertEquals(applied.code, 0, applied.stderr);
    // 1 updated, 4 created; 2 (now B, still A in the target) and 6 deleted inside the partition;
    // 3 and 5 are outside it: 3 stays as it was, 5 is not created.
    assertEquals(counts(applied), "+1 ~1 -2");
    assertEquals(await psql(`SELECT * FROM ${schema}_t.users ORDER BY id`), [
      "1|A|Anne",
      "3|B|Cy",
      "4|A|Dan",
    ]);
    assertEquals(await psql(`SELECT count(*) FROM ${schema}.dsync_changes`), ["0"]);

    // The target mirrors the filtered source: a changed key outside it is deleted there too.
    await psql(`UPDATE ${schema}.users SET name = 'Cy III' WHERE id = 3`);
    const mirror = await changes("--delete", "--delete-outside-where");
    assertEquals(mirror.code, 0, mirror.stderr);
    assertEquals(counts(mirror), "+0 ~0 -1");
    assertEquals(await psql(`SELECT id FROM ${schema}_t.users ORDER BY id`), ["1", "4"]);
  } finally {
    await psql(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${schema}_t CASCADE`)
      .catch(() => {});
    await server.stop();
  }
});

Deno.test("mysql → sqlite: --strategy changes --where without --delete fetches the matching rows only; with --delete into a target that cannot be scoped it is refused and the changes stay", async () => {
  const server = await withMysql();
  const scratch = await mariadbDatabase(server.url, "dsync_w");
  const { mariadb, url } = scratch;
  try {
    await using dir = await tempDir();
    const tgt = `${dir.path}/tgt.db`;
    await mariadb(`CREATE TABLE users (id int PRIMARY KEY, region text, name text); ${SEED}`);
    const src = `${url.href}#users`;
    const run = (...args: string[]) => dsync(args, { cwd: dir.path });
    assertEquals((await run("mysql:sqlite", src, "tgt.db#users", "-q")).code, 0);
    assertEquals((await run("capture", "install", src)).code, 0);
    await mariadb(CHANGES);
    const changes = (...args: string[]) =>
      run(
        "mysql:sqlite",
        src,
        "tgt.db#users",
        "--strategy",
        "changes",
        "--where",
        "region = 'A'",
        ...args,
      );
    const refused = await changes("--delete");
    assertEquals(refused.code, 2, refused.stderr);
    assertMatch(
      refused.stderr,
      /refused: --delete with --where: sqlite:tgt\.db#users cannot be read/,
    );
    assertEquals(await mariadb("SELECT count(*) FROM dsync_changes"), ["6"]);
    assertEquals(await sqlite3(tgt, "SELECT count(*) FROM users;"), ["4"]);

    const applied = await changes();
    assertEquals(applied.code, 0, applied.stderr);
    assertEquals(counts(applied), "+1 ~1 -0");
    assertEquals(await sqlite3(tgt, "SELECT * FROM users ORDER BY id;"), [
      "1|A|Anne",
      "2|A|Bob",
      "3|B|Cy",
      "4|A|Dan",
      "6|A|Fay",
    ]);
    assertEquals(await mariadb("SELECT count(*) FROM dsync_changes"), ["0"]);
  } finally {
    await scratch[Symbol.asyncDispose]();
  }
});

Deno.test("dsync run: strategy: changes with where: and change_store: (a Redis stream); change_store without strategy changes is refused", async () => {
  await using redis = await withRedis();
  await using dir = await tempDir();
  const key = uniqueName("dsync_cw");
  const src = `${dir.path}/src.db`, tgt = `${dir.path}/tgt.db`;
  await sqlite3(
    src,
    `CREATE TABLE users (id INTEGER PRIMARY KEY, region TEXT, name TEXT); ${SEED}`,
  );
  const config = (strategy: string) =>
    Deno.writeTextFile(
      `${dir.path}/dsync.yaml`,
      `datastores:
  app: { type: sqlite, path: src.db }
  copy: { type: sqlite, path: tgt.db }
pipelines:
  users:
    source: { datastore: app, table: users, where: "region = 'A'" }
    target: { datastore: copy, table: users }
    strategy: ${strategy}
    change_store: redis://${redis.host}:${redis.port}/11#${key}
`,
    );
  const run = (...args: string[]) => dsync(["run", "dsync.yaml", ...args], { cwd: dir.path });
  try {
    await config("full");
    const stray = await run();
    assertEquals(stray.code, 2, stray.stderr);
    assertMatch(
      stray.stderr,
      /dsync\.yaml:9:\d+: pipelines\.users\.change_store: change_store needs strategy: changes/,
    );
    await config("changes");
    assertEquals(
      (await dsync(["sqlite:sqlite", "src.db#users", "tgt.db#users", "-q"], { cwd: dir.path }))
        .code,
      0,
    );
    await sqlite3(
      src,
      "UPDATE users SET name = 'Anne' WHERE id = 1; UPDATE users SET name = 'Cyril' WHERE id = 3;",
    );
    for (const id of [1, 3]) await redisCli(redis, 11, "XADD", key, "*", "key", `{"id":"${id}"}`);
    const applied = await run();
    assertEquals(applied.code, 0, applied.stderr);
    assertEquals(counts(applied), "+0 ~1 -0");
    assertEquals(await sqlite3(tgt, "SELECT name FROM users WHERE id IN (1, 3) ORDER BY id;"), [
      "Anne",
      "Cy",
    ]);
    assertEquals(await redisCli(redis, 11, "XLEN", key), ["0"]);

    // Computed fields are not fetched by key: refused, with what does work.
    await Deno.writeTextFile(
      `${dir.path}/dsync.yaml`,
      (await Deno.readTextFile(`${dir.path}/dsync.yaml`)) + '    map: { label: "{{ name }}" }\n',
    );
    const mapped = await run("--validate");
    assertEquals(mapped.code, 2, mapped.stderr);
    assertMatch(
      mapped.stderr,
      /changes fetches the changed rows by key as the table has them: no map: or enrichment:/,
    );
  } finally {
    await redisCli(redis, 11, "DEL", key);
  }
});

Deno.test("dsync run: strategy: changes runs the on_* handlers after the commit, for exactly the changes applied; handlers: instead is refused", async () => {
  await using dir = await tempDir();
  const src = `${dir.path}/src.db`, tgt = `${dir.path}/tgt.db`, log = `${dir.path}/log.db`;
  await sqlite3(
    src,
    `CREATE TABLE users (id INTEGER PRIMARY KEY, region TEXT, name TEXT); ${SEED}`,
  );
  await sqlite3(log, "CREATE TABLE log (op TEXT, id INTEGER, name TEXT);");
  const config = (extra = "") =>
    Deno.writeTextFile(
      `${dir.path}/dsync.yaml`,
      `datastores:
  app: { type: sqlite, path: src.db }
  copy: { type: sqlite, path: tgt.db }
  audit: { type: sqlite, path: log.db }
pipelines:
  users:
    source: { datastore: app, table: users }
    target: { datastore: copy, table: users }
    strategy: changes
    policy: { delete: true, max_delete: 5 }
    on_change: { datastore: audit, sql: "insert into log values (:_op, :id, :after.name)" }
${extra}`,
    );
  await config();
  const run = (...args: string[]) => dsync(["run", "dsync.yaml", ...args], { cwd: dir.path });
  assertEquals(
    (await dsync(["sqlite:sqlite", "src.db#users", "tgt.db#users", "-q"], { cwd: dir.path })).code,
    0,
  );
  assertEquals((await dsync(["capture", "install", "src.db#users"], { cwd: dir.path })).code, 0);
  await sqlite3(src, CHANGES);
  const applied = await run();
  assertEquals(applied.code, 0, applied.stderr);
  assertEquals(counts(applied), "+2 ~3 -1");
  assertEquals(await sqlite3(tgt, "SELECT id, name FROM users ORDER BY id;"), [
    "1|Anne",
    "2|Bob",
    "3|Cyril",
    "4|Dan",
    "5|Eve",
  ]);
  assertEquals(await sqlite3(log, "SELECT op, id, name FROM log ORDER BY op, id;"), [
    "create|4|Dan",
    "create|5|Eve",
    "delete|6|",
    "update|1|Anne",
    "update|2|Bob",
    "update|3|Cyril",
  ]);
  const again = await run();
  assertEquals(counts(again), "+0 ~0 -0");
  assertEquals(await sqlite3(log, "SELECT count(*) FROM log;"), ["6"]);

  await config("    handlers: instead\n");
  const instead = await run("--validate");
  assertEquals(instead.code, 2, instead.stderr);
  assertMatch(instead.stderr, /changes writes the target: handlers run after_commit, not instead/);
});
