/**
 * Safe by default (issue 15) for the MySQL/MariaDB, ClickHouse, Redis and NATS adapters: the
 * default mass-delete guard on a MySQL and a Redis target (checked with `mariadb` and
 * `redis-cli`), and a wrong or silent server on the port, as source and as target: exit 4 within
 * `--connect-timeout`, one line naming `host:port`, no password. dsync runs as a subprocess.
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { dsync, tempDir } from "./helpers.ts";
import { withMysql } from "../scripts/mysql_server.ts";
import { redisCli, uniqueName, withRedis } from "./store_servers.ts";

/** `n` CSV rows `id,name` (ids 1..n) under a header. */
function users(n: number): string {
  return ["id,name", ...Array.from({ length: n }, (_, i) => `${i + 1},u${i + 1}`)].join("\n") +
    "\n";
}

/** The locators of each adapter for `host:port`, with a password that must never be shown. */
function locators(where: string): [string, string][] {
  return [
    ["mysql", `mysql://root:pw-s3cret@${where}/shop#t`],
    ["clickhouse", `clickhouse://default:pw-s3cret@${where}/shop#t`],
    ["redis", `redis://app:pw-s3cret@${where}/0#t`],
    ["nats", `nats://app:pw-s3cret@${where}/kv/t`],
  ];
}

/** Runs each adapter as target and as source against `where`; returns one result per run. */
async function eachRole(dir: string, where: string, extra: string[]) {
  const runs = [];
  for (const [name, locator] of locators(where)) {
    for (const args of [[`csv:${name}`, "a.csv", locator], [`${name}:csv`, locator, "out.csv"]]) {
      const started = performance.now();
      const r = await dsync([...args, ...extra], { cwd: dir });
      runs.push({ what: args[0], r, seconds: (performance.now() - started) / 1000 });
    }
  }
  return runs;
}

Deno.test("wrong server on the MySQL/ClickHouse/Redis/NATS port (an HTTP server): exit 4 naming host:port, no password", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a.csv`, users(1));
  let requests = 0;
  await using http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    requests++;
    return new Response("hello");
  });
  const where = `127.0.0.1:${http.addr.port}`;
  const w = where.replaceAll(".", "\\.");
  const expected: Record<string, RegExp> = {
    // MySQL and NATS servers speak first; an HTTP server waits for the client.
    mysql: new RegExp(
      `^dsync: mysql:root@${w}/shop#t: cannot connect to ${w}: connected, but no MySQL/MariaDB greeting within 2 s \\(another service on that port, or a frozen server\\)\n`,
    ),
    clickhouse: new RegExp(
      `^dsync: clickhouse:default@${w}#shop\\.t: ${w} is not a ClickHouse server: /ping answered 200 "hello"\n`,
    ),
    redis: new RegExp(
      `^dsync: redis://${w}/0#t: cannot connect to ${w}: the server on port \\d+ (does not answer as Redis|closed the connection)`,
    ),
    nats: new RegExp(
      `^dsync: nats://${w}: cannot connect to ${w}: connected, but no NATS greeting within 2 s`,
    ),
  };
  for (const { what, r, seconds } of await eachRole(dir.path, where, ["--connect-timeout", "2"])) {
    assertEquals(r.code, 4, `${what}: ${r.stderr}`);
    assertMatch(r.stderr, expected[what.replace(/^csv:|:csv$/g, "")], what);
    assertOk(!r.stderr.includes("pw-s3cret"), r.stderr);
    // A bound against a hang, not a speed test.
    assertOk(seconds < 30, `${what} took ${seconds} s`);
  }
  // ClickHouse's target used to take the 200s as a successful write (exit 0).
  assertOk(requests <= 8, `${requests} requests: no retry loop`);
});

Deno.test("silent server (connected, never answers) on each port: bounded by --connect-timeout, exit 4", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a.csv`, users(1));
  // Listening, never accepting: the kernel completes the handshake, nobody ever answers.
  using hole = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const where = `127.0.0.1:${(hole.addr as Deno.NetAddr).port}`;
  const w = where.replaceAll(".", "\\.");
  for (const { what, r, seconds } of await eachRole(dir.path, where, ["--connect-timeout", "1"])) {
    assertEquals(r.code, 4, `${what}: ${r.stderr}`);
    assertMatch(
      r.stderr,
      new RegExp(`cannot connect to ${w}: (no answer|connected, but no .*) within 1 s`),
    );
    assertEquals(r.stderr.split("\n").filter((l) => l && !l.startsWith("  ")).length, 1, r.stderr);
    assertOk(!r.stderr.includes("pw-s3cret"), r.stderr);
    assertOk(seconds >= 1 && seconds < 30, `${what} took ${seconds} s for a 1 s bound`);
  }
});

Deno.test("nothing listening on the port, or an unknown host: exit 4 saying which, for every server adapter", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a.csv`, users(1));
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const where = `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  listener.close();
  for (const { what, r } of await eachRole(dir.path, where, [])) {
    assertEquals(r.code, 4, `${what}: ${r.stderr}`);
    assertMatch(
      r.stderr,
      new RegExp(`cannot connect to ${where.replaceAll(".", "\\.")}: connection refused`),
      what,
    );
  }
  // .invalid never resolves (RFC 2606).
  for (const { what, r } of await eachRole(dir.path, "nowhere.invalid:4000", [])) {
    assertEquals(r.code, 4, `${what}: ${r.stderr}`);
    assertMatch(
      r.stderr,
      /cannot connect to nowhere\.invalid:4000: (unknown host|DNS lookup failed)/,
      what,
    );
    assertOk(!r.stderr.includes("pw-s3cret"), r.stderr);
  }
});

Deno.test("the default mass-delete guard holds on a MySQL and a Redis target (checked with mariadb and redis-cli)", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/all.csv`, users(10));
  await Deno.writeTextFile(`${dir.path}/few.csv`, users(4));
  await Deno.writeTextFile(`${dir.path}/empty.csv`, "id,name\n");
  const mysql = await withMysql();
  const db = uniqueName("dsync_guard");
  const base = new URL(mysql.url);
  const mariadb = async (sql: string) => {
    const out = await new Deno.Command("mariadb", {
      args: ["--no-defaults", "-h", base.hostname, "-P", base.port || "3306", "-u"]
        .concat([decodeURIComponent(base.username || "root"), "-B", "-N", "-e", sql]),
      env: base.password ? { MYSQL_PWD: decodeURIComponent(base.password) } : {},
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout).trim();
  };
  await mariadb(`CREATE DATABASE ${db}`);
  await using redis = await withRedis();
  const prefix = uniqueName("guard");
  try {
    const mysqlTarget = `${mysql.url.replace(/\/[^/]*$/, "")}/${db}#t`;
    const redisTarget = `redis://${redis.host}:${redis.port}/0#${prefix}`;
    const count = {
      mysql: () => mariadb(`SELECT COUNT(*) FROM ${db}.t`),
      redis: async () =>
        String((await redisCli(redis, 0, "--scan", "--pattern", `${prefix}:*`)).length),
    };
    for (const [name, target] of [["mysql", mysqlTarget], ["redis", redisTarget]] as const) {
      const load = await dsync([`csv:${name}`, "all.csv", target, "-q"], { cwd: dir.path });
      assertEquals(load.code, 0, load.stderr);
      assertEquals(await count[name](), "10");
      const few = await dsync([`csv:${name}`, "few.csv", target, "--delete"], { cwd: dir.path });
      assertEquals(few.code, 3, few.stderr);
      assertMatch(
        few.stderr,
        /refused: 6 deletes \(60% of 10 target records\) exceed the default --max-delete 50% \(5\); nothing applied/,
      );
      const empty = await dsync([`csv:${name}`, "empty.csv", target, "--delete"], {
        cwd: dir.path,
      });
      assertEquals(empty.code, 3, empty.stderr);
      assertMatch(empty.stderr, /the source is empty and --delete would delete all 10 of 10/);
      assertEquals(await count[name](), "10", `${name}: nothing deleted`);
      const allowed = await dsync(
        [`csv:${name}`, "few.csv", target, "--delete", "--max-delete", "60%", "-q"],
        { cwd: dir.path },
      );
      assertEquals(allowed.code, 0, allowed.stderr);
      assertEquals(await count[name](), "4");
    }
  } finally {
    await mariadb(`DROP DATABASE IF EXISTS ${db}`);
    const keys = await redisCli(redis, 0, "--scan", "--pattern", `${prefix}:*`);
    if (keys.length) await redisCli(redis, 0, "DEL", ...keys);
    await mysql.stop();
  }
});
