/**
 * Change stores end to end: `dsync capture follow --change-store URL` moves the changes the
 * triggers recorded into a Redis stream or a NATS JetStream subject, and `--strategy changes
 * --change-store URL` applies exactly those keys, removing the entries only after the target
 * committed. Checked with redis-cli, the test's own NATS.js client and sqlite3.
 */
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, type RunResult, tempDir } from "./helpers.ts";
import { redisCli, uniqueName, withNats, withRedis } from "./store_servers.ts";
import { RedisChangeStore } from "../src/adapters/redis/change_store.ts";
import { parseRedisLocator } from "../src/adapters/redis/locator.ts";
import { NatsChangeStore } from "../src/adapters/nats/change_store.ts";
import { parseNatsLocator } from "../src/adapters/nats/locator.ts";

async function sqlite3(file: string, sql: string): Promise<string[]> {
  const out = await new Deno.Command("sqlite3", { args: [file, sql], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "");
}

/** The summary line's counts: `+C ~U -D`. */
function counts(r: RunResult): string {
  return /\s(\+\d+ ~\d+ -\d+)/.exec(r.stderr)?.[1] ?? `no summary in: ${r.stderr}`;
}

const DB = 11;

/** src.db#users captured, tgt.db#users loaded from it; `run` in that directory. */
async function captured(dir: string) {
  const src = `${dir}/src.db`, tgt = `${dir}/tgt.db`;
  await sqlite3(
    src,
    "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 'Ann'), (2, 'Bob'), (3, 'Eve');",
  );
  const run = (...args: string[]) => dsync(args, { cwd: dir });
  assertEquals((await run("sqlite:sqlite", "src.db#users", "tgt.db#users", "-q")).code, 0);
  const install = await run("capture", "install", "src.db#users");
  assertEquals(install.code, 0, install.stderr);
  return { src, tgt, run };
}

const CHANGES =
  "UPDATE users SET name = 'Anne' WHERE id = 1; DELETE FROM users WHERE id = 3; INSERT INTO users VALUES (4, 'Dan');";
const AFTER = ["1|Anne", "2|Bob", "4|Dan"];

Deno.test("redis change store: follow moves dsync_changes into a stream; changes applies those keys, XDEL after the commit; a failed target keeps them; an entry written by another program counts", async () => {
  await using redis = await withRedis();
  await using dir = await tempDir();
  const key = uniqueName("dsync_cs");
  const url = `redis://${redis.host}:${redis.port}/${DB}#${key}`;
  const { src, tgt, run } = await captured(dir.path);
  try {
    await sqlite3(src, CHANGES);
    const follow = await run("capture", "follow", "src.db#users", "--change-store", url, "--once");
    assertEquals(follow.code, 0, follow.stderr);
    assertMatch(follow.stderr, /3 changes moved into redis:/);
    assertEquals(await sqlite3(src, "SELECT count(*) FROM dsync_changes;"), ["0"]);
    const entries = await redisCli(redis, DB, "XRANGE", key, "-", "+");
    // id, then the field/value pairs: key JSON, op
    assertEquals(entries.filter((_l, i) => i % 5 !== 0), [
      "key",
      '{"id":"1"}',
      "op",
      "update",
      "key",
      '{"id":"3"}',
      "op",
      "delete",
      "key",
      '{"id":"4"}',
      "op",
      "insert",
    ]);

    // A target that refuses the write: exit 4, the entries stay.
    await sqlite3(
      tgt,
      "CREATE TRIGGER no_dan BEFORE INSERT ON users WHEN NEW.name = 'Dan' BEGIN SELECT RAISE(ABORT, 'no Dan'); END;",
    );
    const changes = (...args: string[]) =>
      run(
        "sqlite:sqlite",
        "src.db#users",
        "tgt.db#users",
        "--strategy",
        "changes",
        "--change-store",
        url,
        "--delete",
        ...args,
      );
    const refused = await changes();
    assertEquals(refused.code, 4, refused.stderr);
    assertEquals(await redisCli(redis, DB, "XLEN", key), ["3"]);
    assertEquals(await sqlite3(tgt, "SELECT * FROM users ORDER BY id;"), [
      "1|Ann",
      "2|Bob",
      "3|Eve",
    ]);

    await sqlite3(tgt, "DROP TRIGGER no_dan;");
    const applied = await changes("-v");
    assertEquals(applied.code, 0, applied.stderr);
    assertMatch(applied.stderr, /3 captured changes of 3 keys in redis:\/\/.*\(stream\)/);
    assertEquals(counts(applied), "+1 ~1 -1");
    assertEquals(await sqlite3(tgt, "SELECT * FROM users ORDER BY id;"), AFTER);
    assertEquals(await redisCli(redis, DB, "XLEN", key), ["0"]);

    // Entries removed after a crash would come again: applied twice, nothing changes twice.
    for (const id of ["1", "3", "4"]) {
      await redisCli(redis, DB, "XADD", key, "*", "key", `{"id":"${id}"}`);
    }
    const again = await changes();
    assertEquals(again.code, 0, again.stderr);
    assertEquals(counts(again), "+0 ~0 -0");
    assertEquals(await redisCli(redis, DB, "XLEN", key), ["0"]);

    // Another program writes the id (no op): its row is fetched and synced.
    await sqlite3(src, "UPDATE users SET name = 'Bobby' WHERE id = 2;");
    await sqlite3(src, "DELETE FROM dsync_changes;");
    await redisCli(redis, DB, "XADD", key, "*", "key", '{"id":2}');
    const external = await changes();
    assertEquals(external.code, 0, external.stderr);
    assertEquals(counts(external), "+0 ~1 -0");
    assertEquals(await sqlite3(tgt, "SELECT name FROM users WHERE id = 2;"), ["Bobby"]);

    // An entry without the key field: exit 2, one line naming it; the target untouched.
    await redisCli(redis, DB, "XADD", key, "*", "id", "2");
    const bad = await changes();
    assertEquals(bad.code, 2, bad.stderr);
    assertMatch(bad.stderr, /^dsync: redis:\/\/.*: entry \d+-\d+ has no field key\n/);
    assertEquals(await redisCli(redis, DB, "XLEN", key), ["1"]);

    // --change-store belongs to --strategy changes; a URL of no store is a usage error.
    const stray = await run("sqlite:sqlite", "src.db#users", "tgt.db#users", "--change-store", url);
    assertEquals(stray.code, 2, stray.stderr);
    assertMatch(stray.stderr, /--change-store is where --strategy changes takes/);
    const wrong = await changes("--change-store", "postgres://h/db");
    assertEquals(wrong.code, 2, wrong.stderr);
    assertMatch(wrong.stderr, /expected a change store URL/);
  } finally {
    await redisCli(redis, DB, "DEL", key);
  }
});

Deno.test("redis change store: an entry added after the run read the stream stays when the run removes what it read", async () => {
  await using redis = await withRedis();
  const key = uniqueName("dsync_cs");
  const store = new RedisChangeStore(
    parseRedisLocator(`redis://${redis.host}:${redis.port}/${DB}#${key}`),
  );
  try {
    await store.add([{ key: '{"id":"1"}', op: "update" }, { key: '{"id":"2"}', op: "insert" }]);
    const read = await store.read();
    assertEquals(read.map((e) => e.key), ['{"id":"1"}', '{"id":"2"}']);
    await redisCli(redis, DB, "XADD", key, "*", "key", '{"id":"1"}', "op", "update");
    await store.remove(read.map((e) => e.id));
    const left = await redisCli(redis, DB, "XRANGE", key, "-", "+");
    assertEquals(left.slice(1), ["key", '{"id":"1"}', "op", "update"]);
  } finally {
    await store.close();
    await redisCli(redis, DB, "DEL", key);
  }
});

Deno.test("nats change store: follow publishes dsync_changes on a subject (stream created); changes applies and purges exactly what it read; a message published meanwhile stays", async () => {
  await using server = await withNats();
  await using dir = await tempDir();
  const subject = `${uniqueName("dsync_cs")}.users`;
  const streamName = `DSYNC_CHANGES_${subject.replace(/[^\w-]/g, "_").toUpperCase()}`;
  const url = `nats://${server.host}:${server.port}/${subject}`;
  const nc = await connect({ servers: `${server.host}:${server.port}` });
  const jsm = await jetstreamManager(nc);
  const bodies = async () => {
    const info = await jsm.streams.info(streamName);
    const out: string[] = [];
    for (let seq = info.state.first_seq; info.state.messages && seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(streamName, { seq }).catch(() => undefined);
      if (m) out.push(new TextDecoder().decode(m.data));
    }
    return out;
  };
  const { src, tgt, run } = await captured(dir.path);
  try {
    const empty = await run(
      "sqlite:sqlite",
      "src.db#users",
      "tgt.db#users",
      "--strategy",
      "changes",
      "--change-store",
      url,
    );
    assertEquals(empty.code, 0, empty.stderr);
    assertEquals(counts(empty), "+0 ~0 -0");

    await sqlite3(src, CHANGES);
    const follow = await run("capture", "follow", "src.db#users", "--change-store", url, "--once");
    assertEquals(follow.code, 0, follow.stderr);
    assertEquals(await bodies(), ['{"id":"1"}', '{"id":"3"}', '{"id":"4"}']);
    assertEquals(await sqlite3(src, "SELECT count(*) FROM dsync_changes;"), ["0"]);

    const applied = await run(
      "sqlite:sqlite",
      "src.db#users",
      "tgt.db#users",
      "--strategy",
      "changes",
      "--change-store",
      url,
      "--delete",
    );
    assertEquals(applied.code, 0, applied.stderr);
    assertEquals(counts(applied), "+1 ~1 -1");
    assertEquals(await sqlite3(tgt, "SELECT * FROM users ORDER BY id;"), AFTER);
    assertEquals(await bodies(), []);

    // Read, then a message arrives, then the read ones are removed: the new one stays.
    const store = new NatsChangeStore(parseNatsLocator(url), subject);
    try {
      await store.add([{ key: '{"id":"1"}', op: "update" }]);
      const read = await store.read();
      assertEquals(read.map((e) => e.key), ['{"id":"1"}']);
      const js = (await import("@nats-io/jetstream")).jetstream(nc);
      await js.publish(subject, '{"id":"2"}');
      await store.remove(read.map((e) => e.id));
      assertEquals(await bodies(), ['{"id":"2"}']);
    } finally {
      await store.close();
    }

    const wildcard = await run("capture", "follow", "src.db#users", "--change-store", `${url}.>`);
    assertEquals(wildcard.code, 2, wildcard.stderr);
    assertMatch(wildcard.stderr, /a change store is one subject \(no wildcards\)/);
  } finally {
    await jsm.streams.delete(streamName).catch(() => {});
    await nc.close();
  }
});
