/**
 * Change capture (`dsync capture install|remove`) and `--strategy changes` end to end, on real
 * SQLite files, a throwaway PostgreSQL and the MySQL/MariaDB server (scripts/mysql_server.ts).
 * Every result is read with the store's own client: sqlite3, psql, mariadb.
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import {
  client,
  dsync,
  mariadbDatabase,
  parseNdjson,
  ROOT,
  type RunResult,
  tempDir,
} from "./helpers.ts";
import { startThrowaway, withPostgres } from "../scripts/pg_server.ts";
import { withMysql } from "../scripts/mysql_server.ts";

const sqlite3 = (file: string, sql: string) => client("sqlite3", [file], sql);

/** `dsync sqlite:sqlite src.db#users tgt.db#users --strategy changes ARGS` by `run`. */
function changes(run: (...args: string[]) => Promise<RunResult>, ...args: string[]) {
  return run("sqlite:sqlite", "src.db#users", "tgt.db#users", "--strategy", "changes", ...args);
}

/** A sqlite source `src.db#users` seeded with three users; `tgt.db` beside it. */
async function seeded(dir: string) {
  const src = `${dir}/src.db`, tgt = `${dir}/tgt.db`;
  await sqlite3(src, `CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT); ${SEED}`);
  const run = (...args: string[]) => dsync(args, { cwd: dir });
  return { src, tgt, run };
}

/** The summary line's counts: `+C ~U -D`. */
function counts(stderr: string): string {
  return /\s(\+\d+ ~\d+ -\d+)/.exec(stderr)?.[1] ?? `no summary in: ${stderr}`;
}

/** The same changes on any of the three databases: insert, update, delete, a key change. */
const CHANGES = [
  "UPDATE users SET name = 'Anne' WHERE id = 1;",
  "DELETE FROM users WHERE id = 3;",
  "INSERT INTO users VALUES (4, 'Dan', 'd@x');",
  "UPDATE users SET id = 5 WHERE id = 2;",
].join("\n");
const SEED = "INSERT INTO users VALUES (1, 'Ann', 'a@x'), (2, 'Bob', 'b@x'), (3, 'Eve', 'e@x');";
const AFTER = ["1|Anne|a@x", "4|Dan|d@x", "5|Bob|b@x"];

Deno.test("sqlite: capture install records changed keys; --strategy changes applies exactly those, then removes them", async () => {
  await using dir = await tempDir();
  const { src, tgt, run } = await seeded(dir.path);
  assertEquals((await run("sqlite:sqlite", "src.db#users", "tgt.db#users")).code, 0);

  // Without capture, the strategy says what to do.
  const none = await changes(run);
  assertEquals(none.code, 2, none.stderr);
  assertMatch(none.stderr, /no change capture installed/);
  assertMatch(none.stderr, /dsync capture install src\.db#users/);

  const install = await run("capture", "install", "src.db#users");
  assertEquals(install.code, 0, install.stderr);
  assertMatch(install.stderr, /capture installed: triggers record the key \(id\)/);
  assertEquals(
    await sqlite3(src, "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name;"),
    ["dsync_capture_users_delete", "dsync_capture_users_insert", "dsync_capture_users_update"],
  );
  await sqlite3(src, CHANGES);
  assertEquals(await sqlite3(src, "SELECT table_name, key, op FROM dsync_changes ORDER BY id;"), [
    'users|{"id":"1"}|update',
    'users|{"id":"3"}|delete',
    'users|{"id":"4"}|insert',
    'users|{"id":"2"}|delete',
    'users|{"id":"5"}|update',
  ]);

  // A dry run plans from the captured keys and keeps them.
  const dry = await changes(run, "--delete", "-n");
  assertEquals(dry.code, 0, dry.stderr);
  assertEquals(
    parseNdjson(dry.stdout).map((c) => `${c.op} ${JSON.stringify(c.key)}`),
    ['create {"id":4}', 'create {"id":5}', 'update {"id":1}', 'delete {"id":2}', 'delete {"id":3}'],
  );
  assertEquals(await sqlite3(src, "SELECT count(*) FROM dsync_changes;"), ["5"]);

  const applied = await changes(run, "--delete", "-v");
  assertEquals(applied.code, 0, applied.stderr);
  assertEquals(counts(applied.stderr), "+2 ~1 -2");
  assertMatch(applied.stderr, /5 captured changes of 5 keys/);
  assertEquals(await sqlite3(tgt, "SELECT * FROM users ORDER BY id;"), AFTER);
  assertEquals(await sqlite3(src, "SELECT count(*) FROM dsync_changes;"), ["0"]);

  // Nothing captured: nothing to do. A change made later is the only one applied.
  const again = await changes(run);
  assertEquals(counts(again.stderr), "+0 ~0 -0");
  await sqlite3(src, "UPDATE users SET email = 'dan@x' WHERE id = 4;");
  // A row changed behind dsync's back in the target, but not captured, is not part of the run.
  await sqlite3(tgt, "UPDATE users SET email = 'stale' WHERE id = 1;");
  const one = await changes(run);
  assertEquals(counts(one.stderr), "+0 ~1 -0");
  assertEquals(parseNdjson(one.stdout), [
    { op: "update", key: { id: 4 }, before: { email: "d@x" }, after: { email: "dan@x" } },
  ]);
  assertEquals(await sqlite3(tgt, "SELECT email FROM users ORDER BY id;"), [
    "stale",
    "dan@x",
    "b@x",
  ]);

  const removed = await run("capture", "remove", "src.db#users");
  assertEquals(removed.code, 0, removed.stderr);
  assertMatch(removed.stderr, /capture removed; dsync_changes dropped/);
  assertEquals(
    await sqlite3(src, "SELECT type, name FROM sqlite_master WHERE name LIKE 'dsync%';"),
    [],
  );
  await sqlite3(src, "INSERT INTO users VALUES (9, 'Ivy', 'i@x');"); // no trigger any more
});

Deno.test("sqlite: a failure to remove the processed changes after the commit is exit 4; the next run re-applies nothing twice", async () => {
  await using dir = await tempDir();
  const { src, tgt, run } = await seeded(dir.path);
  assertEquals((await run("sqlite:sqlite", "src.db#users", "tgt.db#users")).code, 0);
  assertEquals((await run("capture", "install", "src.db#users")).code, 0);
  await sqlite3(src, CHANGES);
  // Another writer holds the source's write lock: dsync can read it, not delete from it.
  const holder = new Deno.Command("sqlite3", { args: [src], stdin: "piped", stdout: "null" })
    .spawn();
  const writer = holder.stdin.getWriter();
  await writer.write(new TextEncoder().encode("BEGIN IMMEDIATE;\nSELECT 1;\n"));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const locked = await changes(run, "--delete");
  await writer.write(new TextEncoder().encode("ROLLBACK;\n"));
  await writer.close();
  await holder.status;
  assertEquals(locked.code, 4, locked.stderr);
  assertMatch(
    locked.stderr,
    /sqlite:tgt\.db#users was written, but the 5 processed changes could not be removed from sqlite:src\.db#users .*locked.*; the next run applies them again/,
  );
  assertEquals(await sqlite3(tgt, "SELECT * FROM users ORDER BY id;"), AFTER);
  assertEquals(await sqlite3(src, "SELECT count(*) FROM dsync_changes;"), ["5"]);

  const next = await changes(run, "--delete");
  assertEquals(next.code, 0, next.stderr);
  assertEquals(counts(next.stderr), "+0 ~0 -0");
  assertEquals(await sqlite3(tgt, "SELECT * FROM users ORDER BY id;"), AFTER);
  assertEquals(await sqlite3(src, "SELECT count(*) FROM dsync_changes;"), ["0"]);
});

Deno.test("--strategy: unknown names, sources that cannot capture, and a key that is not the captured one are usage errors", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a.csv`, "id,name\n1,Ann\n");
  const run = (...args: string[]) => dsync(args, { cwd: dir.path });
  const bogus = await run("csv:sqlite", "a.csv", "t.db#a", "--strategy", "bogus");
  assertEquals(bogus.code, 2);
  assertMatch(bogus.stderr, /--strategy bogus: expected auto, merge, hash, join, changes/);
  const csv = await run("csv:sqlite", "a.csv", "t.db#a", "--strategy", "changes");
  assertEquals(csv.code, 2);
  assertMatch(csv.stderr, /--strategy changes: csv cannot capture changes/);
  assertMatch(csv.stderr, /sqlite, postgres, mysql/);
  const file = await run("capture", "install", "a.csv");
  assertEquals(file.code, 2);
  assertMatch(file.stderr, /csv cannot capture changes/);

  const src = `${dir.path}/s.db`;
  await sqlite3(src, "CREATE TABLE t (id INTEGER PRIMARY KEY, email TEXT); CREATE TABLE n (a, b);");
  const nokey = await run("capture", "install", "s.db#n");
  assertEquals(nokey.code, 2);
  assertMatch(nokey.stderr, /s\.db#n has no primary key.*\n.*--key/);
  assertEquals((await run("capture", "install", "s.db#t")).code, 0);
  await sqlite3(src, "INSERT INTO t VALUES (1, 'a@x');");
  const other = await run(
    "sqlite:sqlite",
    "s.db#t",
    "o.db#t",
    "--strategy",
    "changes",
    "-k",
    "email",
  );
  assertEquals(other.code, 2);
  assertMatch(other.stderr, /the sync's key \(email\) is not the key capture records .* \(id\)/);
  assertEquals(await sqlite3(src, "SELECT count(*) FROM dsync_changes;"), ["1"]);
});

Deno.test("postgres: triggers in the table's schema; --strategy changes into another schema; remove drops trigger, function and table", async () => {
  const server = await withPostgres();
  const schema = `dsync_c_${crypto.randomUUID().slice(0, 8)}`;
  const psql = (sql: string) =>
    client("psql", [server.url, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"], sql);
  try {
    await using dir = await tempDir();
    await psql(
      `CREATE SCHEMA ${schema}; CREATE SCHEMA ${schema}_t; SET search_path = ${schema}; CREATE TABLE users (id int PRIMARY KEY, name text, email text); ${SEED}`,
    );
    const src = `${server.url}#${schema}.users`;
    const tgt = `${server.url}#${schema}_t.users`;
    const run = (...args: string[]) => dsync(args, { cwd: dir.path });
    assertEquals((await run("pg:pg", src, tgt)).code, 0);
    const install = await run("capture", "install", src);
    assertEquals(install.code, 0, install.stderr);
    await psql(`SET search_path = ${schema}; ${CHANGES}`);
    assertEquals(await psql(`SELECT key, op FROM ${schema}.dsync_changes ORDER BY id`), [
      '{"id" : "1"}|update',
      '{"id" : "3"}|delete',
      '{"id" : "4"}|insert',
      '{"id" : "2"}|delete',
      '{"id" : "5"}|update',
    ]);
    const applied = await run("pg:pg", src, tgt, "--strategy", "changes", "--delete");
    assertEquals(applied.code, 0, applied.stderr);
    assertEquals(counts(applied.stderr), "+2 ~1 -2");
    assertEquals(await psql(`SELECT * FROM ${schema}_t.users ORDER BY id`), AFTER);
    assertEquals(await psql(`SELECT count(*) FROM ${schema}.dsync_changes`), ["0"]);

    const removed = await run("capture", "remove", src);
    assertEquals(removed.code, 0, removed.stderr);
    assertEquals(
      await psql(
        `SELECT count(*) FROM pg_trigger WHERE tgrelid = '${schema}.users'::regclass AND NOT tgisinternal`,
      ),
      ["0"],
    );
    assertEquals(
      await psql(
        `SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = '${schema}'`,
      ),
      ["0"],
    );
    assertEquals(await psql(`SELECT to_regclass('${schema}.dsync_changes') IS NULL`), ["t"]);
  } finally {
    await psql(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${schema}_t CASCADE`)
      .catch(() => {});
    await server.stop();
  }
});

Deno.test("mysql: triggers fill dsync_changes; --strategy changes into SQLite; a second captured table keeps the change table on remove", async () => {
  const server = await withMysql();
  const scratch = await mariadbDatabase(server.url, "dsync_c");
  const { mariadb, url, name: db } = scratch;
  try {
    await using dir = await tempDir();
    await mariadb(
      `CREATE TABLE users (id int PRIMARY KEY, name text, email text); ${SEED} CREATE TABLE tags (id int PRIMARY KEY);`,
    );
    const src = `${url.href}#users`;
    const run = (...args: string[]) => dsync(args, { cwd: dir.path });
    assertEquals((await run("mysql:sqlite", src, "t.db#users")).code, 0);
    assertEquals((await run("capture", "install", src)).code, 0);
    assertEquals((await run("capture", "install", `${url.href}#tags`)).code, 0);
    await mariadb(`${CHANGES} INSERT INTO tags VALUES (7);`);
    assertEquals(await mariadb("SELECT table_name, `key`, op FROM dsync_changes ORDER BY id"), [
      'users\t{"id": "1"}\tupdate',
      'users\t{"id": "3"}\tdelete',
      'users\t{"id": "4"}\tinsert',
      'users\t{"id": "2"}\tdelete',
      'users\t{"id": "5"}\tupdate',
      'tags\t{"id": "7"}\tinsert',
    ]);
    const applied = await run(
      "mysql:sqlite",
      src,
      "t.db#users",
      "--strategy",
      "changes",
      "--delete",
    );
    assertEquals(applied.code, 0, applied.stderr);
    assertEquals(counts(applied.stderr), "+2 ~1 -2");
    assertEquals(await sqlite3(`${dir.path}/t.db`, "SELECT * FROM users ORDER BY id;"), AFTER);
    // Only this table's changes were processed.
    assertEquals(await mariadb("SELECT table_name FROM dsync_changes"), ["tags"]);

    const removed = await run("capture", "remove", src);
    assertEquals(removed.code, 0, removed.stderr);
    assertOk(!/dsync_changes dropped/.test(removed.stderr), removed.stderr);
    assertEquals(
      await mariadb(
        `SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '${db}' ORDER BY 1`,
      ),
      ["dsync_capture_tags_delete", "dsync_capture_tags_insert", "dsync_capture_tags_update"],
    );
    assertEquals(await mariadb("SELECT table_name FROM dsync_changes"), ["tags"]);
    const last = await run("capture", "remove", `${url.href}#tags`);
    assertMatch(last.stderr, /1 pending changes dropped; dsync_changes dropped/);
    assertEquals(await mariadb("SHOW TABLES"), ["tags", "users"]);
  } finally {
    await scratch[Symbol.asyncDispose]();
    await server.stop();
  }
});

Deno.test("dsync run: strategy: changes syncs the captured rows; the config refuses what it cannot read", async () => {
  await using dir = await tempDir();
  const { src, tgt } = await seeded(dir.path);
  const config = (strategy: string, extra = "") =>
    Deno.writeTextFile(
      `${dir.path}/dsync.yaml`,
      `datastores:
  app: { type: sqlite, path: src.db }
  copy: { type: sqlite, path: tgt.db }
  files: { type: csv, path: users.csv }
pipelines:
  users:
    source: { datastore: app, table: users${extra} }
    target: { datastore: copy, table: users }
    strategy: ${strategy}
    policy: { delete: true }
`,
    );
  const run = (...args: string[]) => dsync(["run", "dsync.yaml", ...args], { cwd: dir.path });
  await config("full");
  assertEquals((await run()).code, 0);
  assertEquals((await dsync(["capture", "install", "src.db#users"], { cwd: dir.path })).code, 0);
  await sqlite3(src, CHANGES);
  await config("changes");
  const applied = await run();
  assertEquals(applied.code, 0, applied.stderr);
  assertEquals(counts(applied.stderr), "+2 ~1 -2");
  assertEquals(await sqlite3(tgt, "SELECT * FROM users ORDER BY id;"), AFTER);
  assertEquals(await sqlite3(src, "SELECT count(*) FROM dsync_changes;"), ["0"]);

  await config("changes", ", fields: [id, name]");
  const shaped = await run("--validate");
  assertEquals(shaped.code, 2);
  assertMatch(
    shaped.stderr,
    /strategy.*changes reads the captured table as it is: no source fields:/,
  );
  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    (await Deno.readTextFile(`${dir.path}/dsync.yaml`)).replace(
      "{ datastore: app, table: users, fields: [id, name] }",
      "{ datastore: files }",
    ),
  );
  const file = await run("--validate");
  assertEquals(file.code, 2);
  assertMatch(
    file.stderr,
    /changes needs a source that captures changes \(sqlite, postgres, mysql\); csv does not/,
  );
});

Deno.test("sqlite → CSV file: a target without its own queries is read and filtered to the captured keys; the rest of the file stays", async () => {
  await using dir = await tempDir();
  const { src, run } = await seeded(dir.path);
  await sqlite3(src, "INSERT INTO users VALUES (6, 'Fay', 'f@x');"); // not changed later
  assertEquals((await run("sqlite:csv", "src.db#users", "users.csv")).code, 0);
  assertEquals((await run("capture", "install", "src.db#users")).code, 0);
  await sqlite3(src, CHANGES);
  const applied = await run(
    "sqlite:csv",
    "src.db#users",
    "users.csv",
    "--strategy",
    "changes",
    "--delete",
  );
  assertEquals(applied.code, 0, applied.stderr);
  assertEquals(counts(applied.stderr), "+2 ~1 -2");
  assertEquals(
    (await Deno.readTextFile(`${dir.path}/users.csv`)).trim().split("\n").sort(),
    ["1,Anne,a@x", "4,Dan,d@x", "5,Bob,b@x", "6,Fay,f@x", "id,name,email"],
  );
});

Deno.test("sqlite: a composite key is recorded field by field and fetched with (a = ? AND b = ?) OR …; a text key with quotes is bound, not spelled", async () => {
  await using dir = await tempDir();
  const src = `${dir.path}/src.db`;
  await sqlite3(
    src,
    "CREATE TABLE lines (shop TEXT, n INTEGER, qty INTEGER, PRIMARY KEY (shop, n)); INSERT INTO lines VALUES ('a', 1, 5), ('a', 2, 6), ('b''s', 1, 7);",
  );
  const run = (...args: string[]) => dsync(args, { cwd: dir.path });
  assertEquals((await run("sqlite:sqlite", "src.db#lines", "tgt.db#lines")).code, 0);
  assertEquals((await run("capture", "install", "src.db#lines")).code, 0);
  await sqlite3(
    src,
    "UPDATE lines SET qty = 70 WHERE shop = 'b''s'; DELETE FROM lines WHERE shop = 'a' AND n = 2; INSERT INTO lines VALUES ('a', 3, 8);",
  );
  assertEquals(await sqlite3(src, "SELECT key FROM dsync_changes ORDER BY id;"), [
    `{"shop":"b's","n":"1"}`,
    `{"shop":"a","n":"2"}`,
    `{"shop":"a","n":"3"}`,
  ]);
  const applied = await run(
    "sqlite:sqlite",
    "src.db#lines",
    "tgt.db#lines",
    "--strategy",
    "changes",
    "--delete",
  );
  assertEquals(applied.code, 0, applied.stderr);
  assertEquals(counts(applied.stderr), "+1 ~1 -1");
  assertEquals(await sqlite3(`${dir.path}/tgt.db`, "SELECT * FROM lines ORDER BY shop, n;"), [
    "a|1|5",
    "a|3|8",
    "b's|1|70",
  ]);
});

/** A throwaway PostgreSQL with wal_level=logical, `users` seeded and `copy` a copy of it. */
async function logicalServer() {
  // Logical decoding reads only WAL already flushed: with the throwaway's synchronous_commit=off a
  // change committed a moment ago may not be decodable yet (the next run gets it).
  const server = await startThrowaway(undefined, {
    settings: { wal_level: "logical", synchronous_commit: "on" },
  });
  const psql = (sql: string) =>
    client("psql", [server.url, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"], sql);
  await psql(
    `CREATE TABLE users (id int PRIMARY KEY, name text, email text); ${SEED} CREATE TABLE copy (LIKE users INCLUDING ALL); INSERT INTO copy SELECT * FROM users;`,
  );
  const src = `${server.url}#public.users`;
  const tgt = `${server.url}#public.copy`;
  return { server, psql, src, tgt };
}

/** `dsync capture follow SRC`, running: its stderr so far, and how to stop it. */
async function follow(src: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", `${ROOT}main.ts`, "capture", "follow", src],
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let said = "";
  while (!said.includes("following")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`capture follow ended: ${said}`);
    said += value;
  }
  return {
    async stop(signal: Deno.Signal): Promise<{ code: number; stderr: string }> {
      child.kill(signal);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        said += value;
      }
      return { code: (await child.status).code, stderr: said };
    },
  };
}

Deno.test("postgres logical decoding (wal_level=logical): a permanent slot keeps the changes made while nothing runs; follow records them; SIGTERM exits 0; remove drops the slot", async () => {
  const { server, psql, src, tgt } = await logicalServer();
  try {
    await using dir = await tempDir();
    const run = (...args: string[]) => dsync(args, { cwd: dir.path });
    const install = await run("capture", "install", "--logical", src);
    assertEquals(install.code, 0, install.stderr);
    assertMatch(install.stderr, /capture installed: a logical replication slot keeps/);
    const [publication] = await psql("SELECT pubname FROM pg_publication");
    assertMatch(publication, /^dsync_capture_users_[0-9a-f]{8}$/);
    assertEquals(await psql("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal"), ["0"]);
    const [slot] = await psql(
      "SELECT slot_name || '|' || plugin || '|' || temporary FROM pg_replication_slots",
    );
    assertMatch(slot, /^dsync_users_[0-9a-f]{8}\|pgoutput\|false$/);

    // Nothing runs while the table changes: the slot keeps it, the next run syncs it.
    await psql(CHANGES);
    const applied = await run("pg:pg", src, tgt, "--strategy", "changes", "--delete", "-v");
    assertEquals(applied.code, 0, applied.stderr);
    assertEquals(counts(applied.stderr), "+2 ~1 -2");
    assertMatch(applied.stderr, /5 captured changes of 5 keys/);
    assertEquals(await psql("SELECT * FROM copy ORDER BY id"), AFTER);
    assertEquals(await psql("SELECT count(*) FROM dsync_changes"), ["0"]);
    const again = await run("pg:pg", src, tgt, "--strategy", "changes", "--delete");
    assertEquals(counts(again.stderr), "+0 ~0 -0");

    // A follower killed outright loses nothing: the next one records what happened meanwhile.
    const killed = await follow(src);
    assertEquals((await killed.stop("SIGKILL")).code, 137);
    await psql(
      "UPDATE users SET email = 'ann@x' WHERE id = 1; INSERT INTO users VALUES (6, 'Fay', 'f@x');",
    );
    const follower = await follow(src);
    await psql("DELETE FROM users WHERE id = 4;");
    const deadline = Date.now() + 15_000;
    while ((await psql("SELECT count(*) FROM dsync_changes"))[0] !== "3") {
      if (Date.now() > deadline) throw new Error("the changes were not recorded");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const stopped = await follower.stop("SIGTERM");
    assertEquals(stopped.code, 0, stopped.stderr);
    assertMatch(stopped.stderr, /stopped; 3 changes recorded/);
    assertOk(!/interrupted/.test(stopped.stderr), stopped.stderr);
    assertEquals(await psql("SELECT key, op FROM dsync_changes ORDER BY id"), [
      '{"id":"1"}|update',
      '{"id":"6"}|insert',
      '{"id":"4"}|delete',
    ]);
    const next = await run("pg:pg", src, tgt, "--strategy", "changes", "--delete");
    assertEquals(next.code, 0, next.stderr);
    assertEquals(counts(next.stderr), "+1 ~1 -1");
    assertEquals(await psql("SELECT * FROM copy ORDER BY id"), [
      "1|Anne|ann@x",
      "5|Bob|b@x",
      "6|Fay|f@x",
    ]);

    const removed = await run("capture", "remove", src);
    assertEquals(removed.code, 0, removed.stderr);
    assertEquals(await psql("SELECT count(*) FROM pg_replication_slots"), ["0"]);
    assertEquals(await psql("SELECT count(*) FROM pg_publication"), ["0"]);
    assertEquals(await psql("SELECT to_regclass('public.dsync_changes') IS NULL"), ["t"]);
  } finally {
    await server.stop();
  }
});

Deno.test("postgres logical decoding: a target that fails after the slot was drained re-applies everything on the next run, once", async () => {
  const { server, psql, src, tgt } = await logicalServer();
  try {
    await using dir = await tempDir();
    const run = (...args: string[]) => dsync(args, { cwd: dir.path });
    assertEquals((await run("capture", "install", "--logical", src)).code, 0);
    await psql(CHANGES);
    await psql("ALTER TABLE copy ADD CONSTRAINT no_anne CHECK (name <> 'Anne')");
    const failed = await run("pg:pg", src, tgt, "--strategy", "changes", "--delete");
    assertEquals(failed.code, 4, failed.stderr);
    assertMatch(failed.stderr, /no_anne/);
    assertEquals(await psql("SELECT * FROM copy ORDER BY id"), [
      "1|Ann|a@x",
      "2|Bob|b@x",
      "3|Eve|e@x",
    ]);
    // The slot moved on, but only once the changes were committed in dsync_changes.
    assertEquals(await psql("SELECT count(*) FROM dsync_changes"), ["5"]);
    const [slot] = await psql("SELECT slot_name FROM pg_replication_slots");
    const [publication] = await psql("SELECT pubname FROM pg_publication");
    assertEquals(
      await psql(
        `SELECT count(*) FROM pg_logical_slot_peek_binary_changes('${slot}', NULL, NULL, 'proto_version', '1', 'publication_names', '${publication}') WHERE get_byte(data, 0) IN (73, 85, 68)`,
      ),
      ["0"],
    );

    await psql("ALTER TABLE copy DROP CONSTRAINT no_anne");
    const applied = await run("pg:pg", src, tgt, "--strategy", "changes", "--delete");
    assertEquals(applied.code, 0, applied.stderr);
    assertEquals(counts(applied.stderr), "+2 ~1 -2");
    assertEquals(await psql("SELECT * FROM copy ORDER BY id"), AFTER);
    const again = await run("pg:pg", src, tgt, "--strategy", "changes", "--delete");
    assertEquals(counts(again.stderr), "+0 ~0 -0");
    assertEquals(await psql("SELECT * FROM copy ORDER BY id"), AFTER);
    assertEquals((await run("capture", "remove", src)).code, 0);
    assertEquals(await psql("SELECT count(*) FROM pg_replication_slots"), ["0"]);
  } finally {
    await server.stop();
  }
});

Deno.test("postgres logical decoding: the same table name in two schemas gets a publication each; each schema's run syncs its own changes; removing one keeps the other", async () => {
  const { server, psql, src, tgt } = await logicalServer();
  try {
    await using dir = await tempDir();
    const run = (...args: string[]) => dsync(args, { cwd: dir.path });
    await psql(
      "CREATE SCHEMA other; CREATE TABLE other.users (LIKE public.users INCLUDING ALL); INSERT INTO other.users SELECT * FROM public.users; CREATE TABLE other.copy (LIKE public.users INCLUDING ALL); INSERT INTO other.copy SELECT * FROM public.users;",
    );
    const src2 = `${server.url}#other.users`, tgt2 = `${server.url}#other.copy`;
    assertEquals((await run("capture", "install", "--logical", src)).code, 0);
    const second = await run("capture", "install", "--logical", src2);
    assertEquals(second.code, 0, second.stderr);
    assertMatch(second.stderr, /capture installed/);
    const published = await psql(
      "SELECT schemaname || '.' || tablename FROM pg_publication_tables WHERE pubname LIKE 'dsync_capture_users_%' ORDER BY 1",
    );
    assertEquals(published, ["other.users", "public.users"]);
    assertEquals(await psql("SELECT count(*) FROM pg_replication_slots"), ["2"]);

    await psql(CHANGES);
    await psql("UPDATE other.users SET name = 'Other' WHERE id = 2;");
    const mine = await run("pg:pg", src, tgt, "--strategy", "changes", "--delete");
    assertEquals(mine.code, 0, mine.stderr);
    assertEquals(counts(mine.stderr), "+2 ~1 -2");
    assertEquals(await psql("SELECT * FROM public.copy ORDER BY id"), AFTER);
    const theirs = await run("pg:pg", src2, tgt2, "--strategy", "changes", "--delete");
    assertEquals(theirs.code, 0, theirs.stderr);
    assertEquals(counts(theirs.stderr), "+0 ~1 -0");
    assertEquals(await psql("SELECT name FROM other.copy ORDER BY id"), ["Ann", "Other", "Eve"]);

    assertEquals((await run("capture", "remove", src)).code, 0);
    await psql("UPDATE other.users SET name = 'Eva' WHERE id = 3;");
    const kept = await run("pg:pg", src2, tgt2, "--strategy", "changes", "--delete");
    assertEquals(kept.code, 0, kept.stderr);
    assertEquals(counts(kept.stderr), "+0 ~1 -0");
    assertEquals(await psql("SELECT name FROM other.copy WHERE id = 3"), ["Eva"]);
    assertEquals((await run("capture", "remove", src2)).code, 0);
    assertEquals(await psql("SELECT count(*) FROM pg_publication"), ["0"]);
    assertEquals(await psql("SELECT count(*) FROM pg_replication_slots"), ["0"]);
  } finally {
    await server.stop();
  }
});
