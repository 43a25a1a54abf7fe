/**
 * The `redis` adapter against a real Redis (the machine's, or a throwaway `redis-server`): what
 * dsync wrote is checked with `redis-cli`, not with dsync. Each test has its own key prefix in
 * database 5 and removes its keys afterwards.
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { dsync, parseCsvSimple, parseNdjson, sqliteExec, tempDir } from "./helpers.ts";
import { serve } from "./http_server.ts";
import {
  redisCli,
  redisHash,
  silentListener,
  type StoreServer,
  uniqueName,
  withRedis,
} from "./store_servers.ts";

const DB = 5;
const USERS = 'id,name,email,score\n1,Ann,ann@x.org,1.50\n2,Bob,,7\n3,"Cy:z","",\n';
const USERS2 = "id,name,email,score\n1,Ann,ann@new.org,1.50\n2,Bob,bob@x.org,\n4,Di,di@x.org,9\n";

async function cleanup(server: StoreServer, prefix: string): Promise<void> {
  const keys = await redisCli(server, DB, "--scan", "--pattern", `${prefix}:*`);
  if (keys.length) await redisCli(server, DB, "DEL", ...keys);
}

Deno.test("csv:redis hashes: load, idempotent re-run, update with NULL, --delete, redis:csv back", async () => {
  await using redis = await withRedis();
  await using dir = await tempDir();
  const prefix = uniqueName("users");
  const url = `redis://${redis.host}:${redis.port}/${DB}#${prefix}`;
  try {
    await Deno.writeTextFile(`${dir.path}/users.csv`, USERS);
    await Deno.writeTextFile(`${dir.path}/users2.csv`, USERS2);
    const load = await dsync(["csv:redis", "users.csv", url, "--key", "id"], { cwd: dir.path });
    assertEquals(load.code, 0, load.stderr);
    assertMatch(load.stderr, /\+3 ~0 -0/);
    assertEquals(await redisHash(redis, DB, `${prefix}:1`), {
      id: "1",
      name: "Ann",
      email: "ann@x.org",
      score: "1.50",
    });
    // NULL is a missing field; the empty string is kept.
    assertEquals(await redisHash(redis, DB, `${prefix}:2`), { id: "2", name: "Bob", score: "7" });
    assertEquals(await redisHash(redis, DB, `${prefix}:3`), { id: "3", name: "Cy:z", email: "" });

    const again = await dsync(["csv:redis", "users.csv", url, "--key", "id"], { cwd: dir.path });
    assertEquals(again.code, 0, again.stderr);
    assertEquals(again.stdout, "", "a second run plans nothing");
    assertMatch(again.stderr, /\+0 ~0 -0/);

    const update = await dsync(["csv:redis", "users2.csv", url, "--key", "id"], { cwd: dir.path });
    assertEquals(update.code, 0, update.stderr);
    assertMatch(update.stderr, /\+1 ~2 -0 \(1 deletes? skipped/);
    assertEquals(await redisHash(redis, DB, `${prefix}:2`), {
      id: "2",
      name: "Bob",
      email: "bob@x.org",
    });
    assertEquals((await redisHash(redis, DB, `${prefix}:3`)).name, "Cy:z", "no --delete: kept");

    const del = await dsync(["csv:redis", "users2.csv", url, "--key", "id", "--delete"], {
      cwd: dir.path,
    });
    assertEquals(del.code, 0, del.stderr);
    assertMatch(del.stderr, /\+0 ~0 -1/);
    assertEquals(await redisCli(redis, DB, "EXISTS", `${prefix}:3`), ["0"]);
    const keys = (await redisCli(redis, DB, "--scan", "--pattern", `${prefix}:*`)).sort();
    assertEquals(keys, [`${prefix}:1`, `${prefix}:2`, `${prefix}:4`]);

    const back = await dsync(["redis:csv", url, "back.csv", "--key", "id"], { cwd: dir.path });
    assertEquals(back.code, 0, back.stderr);
    const rows = parseCsvSimple(await Deno.readTextFile(`${dir.path}/back.csv`));
    const header = rows[0];
    const records = rows.slice(1).map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])))
      .sort((a, b) => Number(a.id) - Number(b.id));
    assertEquals(records, [
      { id: "1", name: "Ann", email: "ann@new.org", score: "1.50" },
      { id: "2", name: "Bob", email: "bob@x.org", score: "" },
      { id: "4", name: "Di", email: "di@x.org", score: "9" },
    ]);
    const diff = await dsync(["csv:redis", "users2.csv", url, "--key", "id", "-n"], {
      cwd: dir.path,
    });
    assertEquals(diff.stdout, "", "source and Redis agree");
  } finally {
    await cleanup(redis, prefix);
  }
});

Deno.test("redis: composite keys escape ':' in key names; JSON values with --ttl; typed source", async () => {
  await using redis = await withRedis();
  await using dir = await tempDir();
  const prefix = uniqueName("orders");
  const url = `redis://${redis.host}:${redis.port}/${DB}#${prefix}`;
  try {
    await Deno.writeTextFile(
      `${dir.path}/orders.ndjson`,
      '{"region":"EU:west","id":7,"total":12.5,"paid":true,"tags":{"b":1,"a":2}}\n' +
        '{"region":"US","id":8,"total":3,"paid":false,"tags":null}\n',
    );
    const args = ["ndjson:redis", "orders.ndjson", url, "--key", "region,id"];
    const load = await dsync([...args, "--redis-value", "json", "--ttl", "600"], {
      cwd: dir.path,
    });
    assertEquals(load.code, 0, load.stderr);
    const keys = (await redisCli(redis, DB, "--scan", "--pattern", `${prefix}:*`)).sort();
    assertEquals(keys, [`${prefix}:EU\\:west:7`, `${prefix}:US:8`]);
    const [text] = await redisCli(redis, DB, "GET", `${prefix}:EU\\:west:7`);
    assertEquals(JSON.parse(text), {
      region: "EU:west",
      id: 7,
      total: 12.5,
      paid: true,
      tags: { a: 2, b: 1 },
    });
    const [ttl] = await redisCli(redis, DB, "TTL", `${prefix}:US:8`);
    assertOk(Number(ttl) > 500 && Number(ttl) <= 600, `TTL ${ttl}`);
    const again = await dsync([...args, "--redis-value", "json"], { cwd: dir.path });
    assertEquals(again.code, 0, again.stderr);
    assertEquals(again.stdout, "", "idempotent with JSON values");
    // Read as hashes, the same keys are the wrong type: a clear input error.
    const wrong = await dsync(["redis:csv", url, "-", "--key", "region,id"], { cwd: dir.path });
    assertEquals(wrong.code, 2, wrong.stderr);
    assertMatch(wrong.stderr, /does not hold a hash.*\n.*--redis-value json/);

    // Hashes written by others need not hold the key fields: they come from the key name.
    await redisCli(redis, DB, "HSET", `${prefix}k:EU\\:west:7`, "name", "Ann");
    const recovered = await dsync([
      "redis:ndjson",
      `redis://${redis.host}:${redis.port}/${DB}#${prefix}k`,
      "-",
      "--key",
      "region,id",
    ], { cwd: dir.path });
    assertEquals(recovered.code, 0, recovered.stderr);
    assertEquals(parseNdjson(recovered.stdout), [{ region: "EU:west", id: 7, name: "Ann" }]);

    // A typed source: hash fields hold canonical text, and a re-run compares equal.
    sqliteExec(
      `${dir.path}/app.db`,
      "CREATE TABLE t (id INTEGER PRIMARY KEY, big INTEGER, r REAL, ok BOOLEAN, b BLOB, d DECIMAL, j JSON);" +
        "INSERT INTO t VALUES (1, 9007199254740993, 0.1, 1, x'0102', '1.50', '{\"b\":1,\"a\":[1,2]}')," +
        " (2, -5, 1e21, 0, NULL, NULL, NULL);",
    );
    const typed = `redis://${redis.host}:${redis.port}/${DB}#${prefix}t`;
    const sq = await dsync(["sqlite:redis", "app.db#t", typed], { cwd: dir.path });
    assertEquals(sq.code, 0, sq.stderr);
    assertEquals(await redisHash(redis, DB, `${prefix}t:1`), {
      id: "1",
      big: "9007199254740993",
      r: "0.1",
      ok: "true",
      b: "AQI=",
      d: "1.5",
      j: '{"a":[1,2],"b":1}',
    });
    assertEquals(await redisHash(redis, DB, `${prefix}t:2`), {
      id: "2",
      big: "-5",
      r: "1e+21",
      ok: "false",
    });
    const sq2 = await dsync(["sqlite:redis", "app.db#t", typed], { cwd: dir.path });
    assertEquals([sq2.code, sq2.stdout], [0, ""], sq2.stderr);
  } finally {
    await cleanup(redis, prefix);
    await cleanup(redis, prefix + "t");
    await cleanup(redis, prefix + "k");
  }
});

Deno.test("redis: a batch refused by Redis stops the run with exit 4, lists applied and not applied, a re-run converges; no password in messages", async () => {
  await using redis = await withRedis();
  await using dir = await tempDir();
  const prefix = uniqueName("acl");
  const user = uniqueName("dsync_test_user");
  const password = "pw-" + crypto.randomUUID();
  try {
    // A user that may do everything on its prefix except HDEL.
    await redisCli(
      redis,
      DB,
      "ACL",
      "SETUSER",
      user,
      "on",
      `>${password}`,
      `~${prefix}:*`,
      "+@all",
      "-hdel",
    );
    const url = `redis://${user}:${password}@${redis.host}:${redis.port}/${DB}#${prefix}`;
    await Deno.writeTextFile(`${dir.path}/a.csv`, "id,v\n1,a\n2,b\n3,c\n");
    await Deno.writeTextFile(`${dir.path}/b.csv`, "id,v\n1,A\n2,\n3,C\n");
    const load = await dsync(["csv:redis", "a.csv", url, "--key", "id"], { cwd: dir.path });
    assertEquals(load.code, 0, load.stderr);
    const fail = await dsync(["csv:redis", "b.csv", url, "--key", "id", "--batch-size", "1"], {
      cwd: dir.path,
    });
    assertEquals(fail.code, 4, fail.stderr);
    assertOk(!fail.stderr.includes(password), fail.stderr);
    assertOk(!fail.stdout.includes(password));
    const report = parseNdjson(fail.stderr.split("\n").filter((l) => l.startsWith("{")).join("\n"));
    assertEquals(report.map((r) => [r.key, r.result]), [
      [{ id: "1" }, "applied"],
      [{ id: "2" }, "failed"],
      [{ id: "3" }, "not applied"],
    ]);
    assertMatch(fail.stderr, /NOPERM.*'hdel'.*discarded this batch/);
    assertEquals((await redisHash(redis, DB, `${prefix}:1`)).v, "A", "batch 1 applied");
    assertEquals((await redisHash(redis, DB, `${prefix}:2`)).v, "b", "batch 2 not applied");
    assertEquals((await redisHash(redis, DB, `${prefix}:3`)).v, "c", "batch 3 not sent");
    await redisCli(redis, DB, "ACL", "SETUSER", user, "+hdel");
    const rerun = await dsync(["csv:redis", "b.csv", url, "--key", "id"], { cwd: dir.path });
    assertEquals(rerun.code, 0, rerun.stderr);
    assertMatch(rerun.stderr, /\+0 ~2 -0/);
    assertEquals(await redisHash(redis, DB, `${prefix}:2`), { id: "2" });
    const bad = await dsync([
      "redis:csv",
      `redis://${user}:wrong-${password}@${redis.host}:${redis.port}/${DB}#${prefix}`,
      "-",
    ], { cwd: dir.path });
    assertEquals(bad.code, 2, bad.stderr);
    assertOk(!bad.stderr.includes(password), bad.stderr);
    assertMatch(bad.stderr, /cannot connect to [^:]+:\d+: WRONGPASS/);
  } finally {
    await redisCli(redis, DB, "ACL", "DELUSER", user).catch(() => {});
    await cleanup(redis, prefix);
  }
});

Deno.test("redis source: the same column order on every run, key first, whatever order SCAN lists the keys in", async () => {
  await using redis = await withRedis();
  await using dir = await tempDir();
  const prefix = uniqueName("order");
  const url = `redis://${redis.host}:${redis.port}/${DB}#${prefix}`;
  try {
    // Written behind dsync's back: the key field last in each hash, and 'name' only in one of
    // 20 hashes (a NULL is a missing field), so the first hash SCAN returns most likely lacks it.
    for (let i = 1; i <= 20; i++) {
      const fields = i === 7 ? ["name", `n${i}`] : [];
      await redisCli(redis, DB, "HSET", `${prefix}:${i}`, ...fields, "note", `x${i}`, "id", `${i}`);
    }
    const r = await dsync(["redis:csv", url, "out.csv", "--key", "id", "-q"], { cwd: dir.path });
    assertEquals(r.code, 0, r.stderr);
    const header = (await Deno.readTextFile(`${dir.path}/out.csv`)).split("\n")[0];
    assertEquals(header, "id,name,note");
  } finally {
    await cleanup(redis, prefix);
  }
});

Deno.test("redis connect: a port where no Redis answers (silent, an HTTP server, refused) is one line in bounded time, exit 4, no password", async () => {
  await using dir = await tempDir();
  await using http = serve(() => new Response("hello"));
  // Accepts connections and never says a word: the ready check would wait forever.
  await using silent = silentListener();
  const password = "pw-" + crypto.randomUUID();
  await Deno.writeTextFile(`${dir.path}/a.csv`, "id,v\n1,a\n");
  const at = (port: number, auth = `u:${password}@`) => `redis://${auth}127.0.0.1:${port}/0#p`;
  const runs = [
    [["redis:csv", at(silent.port), "-"], /no answer within 10 s/],
    [["csv:redis", "a.csv", at(silent.port)], /no answer within 10 s/],
    [["redis:csv", at(http.port), "-"], /the server on port \d+ (does not answer as Redis|closed)/],
    [["redis:csv", at(http.port, ""), "-"], /the server on port \d+ (does not answer as|closed)/],
    [["redis:csv", at(1), "-"], /connection refused/],
  ] as const;
  for (const [args, why] of runs) {
    const run = await dsync([...args], { cwd: dir.path });
    assertEquals(run.code, 4, run.stderr);
    const lines = run.stderr.trim().split("\n");
    assertEquals(lines.length, 1, run.stderr);
    assertMatch(
      lines[0],
      /^dsync: redis:\/\/127\.0\.0\.1:\d+\/0#p: cannot connect to 127\.0\.0\.1:\d+: /,
    );
    assertMatch(lines[0], why);
    assertOk(!run.stderr.includes(password) && !run.stdout.includes(password), run.stderr);
  }
});

Deno.test("redis --ttl: an update without --ttl keeps the key's expiry (hash and json alike); with --ttl it is set anew", async () => {
  await using redis = await withRedis();
  await using dir = await tempDir();
  const prefix = uniqueName("ttl");
  try {
    await Deno.writeTextFile(`${dir.path}/a.csv`, "id,v\n1,a\n2,b\n");
    await Deno.writeTextFile(`${dir.path}/b.csv`, "id,v\n1,A\n2,b\n");
    for (const form of ["hash", "json"]) {
      const url = `redis://${redis.host}:${redis.port}/${DB}#${prefix}${form}`;
      const args = ["--key", "id", "--redis-value", form];
      const ttl = async (id: number) =>
        Number((await redisCli(redis, DB, "TTL", `${prefix}${form}:${id}`))[0]);
      const load = await dsync(["csv:redis", "a.csv", url, ...args, "--ttl", "600"], {
        cwd: dir.path,
      });
      assertEquals(load.code, 0, load.stderr);
      const update = await dsync(["csv:redis", "b.csv", url, ...args], { cwd: dir.path });
      assertEquals(update.code, 0, update.stderr);
      assertMatch(update.stderr, /\+0 ~1 -0/);
      const [v] = await redisCli(
        redis,
        DB,
        form === "hash" ? "HGET" : "GET",
        `${prefix}${form}:1`,
        ...(form === "hash" ? ["v"] : []),
      );
      assertEquals(form === "hash" ? v : JSON.parse(v).v, "A", form);
      assertOk((await ttl(1)) > 0 && (await ttl(1)) <= 600, `${form}: updated key kept its TTL`);
      assertOk((await ttl(2)) > 0, `${form}: unchanged key kept its TTL`);
      const renew = await dsync(["csv:redis", "a.csv", url, ...args, "--ttl", "9000"], {
        cwd: dir.path,
      });
      assertEquals(renew.code, 0, renew.stderr);
      assertOk((await ttl(1)) > 600, `${form}: --ttl on an update sets the expiry anew`);
      assertOk((await ttl(2)) <= 600, `${form}: an unchanged key is not written`);
    }
  } finally {
    await cleanup(redis, prefix + "hash");
    await cleanup(redis, prefix + "json");
  }
});
