/**
 * JSON string scalars (issue 14) from a SQLite JSON column into Redis (hashes and JSON strings),
 * a NATS KV bucket, a MariaDB JSON column and a ClickHouse `dsync:json` String: the rerun plans
 * nothing and the copy back is the same text. Stored values are checked with redis-cli, the
 * mariadb client and clickhouse-client; each test removes its keys, bucket and database.
 */
import { connect } from "@nats-io/transport-node";
import { Kvm } from "@nats-io/kv";
import { assertEquals } from "./assert.ts";
import { dsync, tempDir } from "./helpers.ts";
import { redisCli, redisHash, uniqueName, withNats, withRedis } from "./store_servers.ts";
import { withMysql } from "../scripts/mysql_server.ts";
import { withClickHouse } from "../scripts/clickhouse_server.ts";
import { withPostgres } from "../scripts/pg_server.ts";

const DB = 5;
const DOCS = `CREATE TABLE t (id INTEGER PRIMARY KEY, doc JSON);
  INSERT INTO t VALUES (1, '"abc"'), (2, '"123"'), (3, '"{}"'), (4, 'true'), (5, '123'),
    (6, '{"a":1}'), (7, '""'), (8, '"true"'), (9, NULL);`;

async function sqlite3(path: string, sql: string): Promise<string> {
  const out = await new Deno.Command("sqlite3", { args: [path, sql] }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

/** Loads `target`, checks the rerun plans nothing and the copy back into SQLite is the same. */
async function roundTrip(dir: string, kind: string, target: string, options: string[] = []) {
  const stored = (file: string) =>
    sqlite3(`${dir}/${file}`, "SELECT id, typeof(doc), doc FROM t ORDER BY id");
  const load = await dsync([`sqlite:${kind}`, "a.db#t", target, ...options], { cwd: dir });
  assertEquals(load.code, 0, load.stderr);
  const again = await dsync([`sqlite:${kind}`, "a.db#t", target, ...options], { cwd: dir });
  assertEquals([again.code, again.stdout], [0, ""], `${kind}: ${again.stderr}`);
  const back = `${kind}_${options.join("")}.db`;
  await sqlite3(`${dir}/${back}`, "CREATE TABLE t (id INTEGER PRIMARY KEY, doc JSON)");
  const copy = await dsync([`${kind}:sqlite`, target, `${back}#t`, "--key", "id", ...options], {
    cwd: dir,
  });
  assertEquals(copy.code, 0, copy.stderr);
  assertEquals(await stored(back), await stored("a.db"), kind);
}

Deno.test("JSON string scalars into Redis hashes and JSON strings: exact, rerun clean", async () => {
  await using redis = await withRedis();
  await using dir = await tempDir();
  await sqlite3(`${dir.path}/a.db`, DOCS);
  const prefix = uniqueName("jsonscalars");
  try {
    for (const mode of ["hash", "json"]) {
      const url = `redis://${redis.host}:${redis.port}/${DB}#${prefix}_${mode}`;
      await roundTrip(dir.path, "redis", url, ["--redis-value", mode]);
    }
    // A hash field holds the JSON text, quotes kept; a JSON record holds the JSON value.
    assertEquals((await redisHash(redis, DB, `${prefix}_hash:1`)).doc, '"abc"');
    assertEquals(await redisCli(redis, DB, "GET", `${prefix}_json:2`), ['{"id":2,"doc":"123"}']);
  } finally {
    const keys = await redisCli(redis, DB, "--scan", "--pattern", `${prefix}_*`);
    if (keys.length) await redisCli(redis, DB, "DEL", ...keys);
  }
});

Deno.test("JSON string scalars into a NATS KV bucket: exact, rerun clean", async () => {
  await using nats = await withNats();
  await using dir = await tempDir();
  await sqlite3(`${dir.path}/a.db`, DOCS);
  const bucket = uniqueName("jsonscalars");
  try {
    await roundTrip(dir.path, "nats", `nats://${nats.host}:${nats.port}/kv/${bucket}`);
  } finally {
    const nc = await connect({ servers: `${nats.host}:${nats.port}` });
    await new Kvm(nc).open(bucket).then((kv) => kv.destroy()).catch(() => {});
    await nc.close();
  }
});

Deno.test("JSON string scalars into a MariaDB JSON column: valid JSON text, exact back, rerun clean", async () => {
  const server = await withMysql();
  const base = new URL(server.url);
  const db = uniqueName("dsync_json");
  const mariadb = async (sql: string) => {
    const out = await new Deno.Command("mariadb", {
      args: [
        "--no-defaults",
        "-h",
        base.hostname,
        "-P",
        base.port || "3306",
        "-u",
        decodeURIComponent(base.username || "root"),
        "-B",
        "-N",
        "-e",
        sql,
      ],
      env: base.password ? { MYSQL_PWD: decodeURIComponent(base.password) } : {},
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout).trim();
  };
  await using dir = await tempDir();
  await sqlite3(`${dir.path}/a.db`, DOCS);
  await mariadb(`CREATE DATABASE ${db}; CREATE TABLE ${db}.t (id INT PRIMARY KEY, doc JSON)`);
  try {
    const url = `mysql://${base.username || "root"}${
      base.password ? ":" + base.password : ""
    }@${base.host}/${db}#t`;
    await roundTrip(dir.path, "mysql", url);
    assertEquals(
      await mariadb(`SELECT doc FROM ${db}.t WHERE id IN (1, 2, 7) ORDER BY id`),
      '"abc"\n"123"\n""',
    );
  } finally {
    await mariadb(`DROP DATABASE IF EXISTS ${db}`);
  }
});

Deno.test("JSON string scalars and an empty blob into ClickHouse String columns: exact, rerun clean", async () => {
  const server = await withClickHouse();
  const db = uniqueName("dsync_json");
  const client = async (sql: string) => {
    const out = await new Deno.Command("clickhouse-client", {
      args: [...server.clientArgs, "--query", sql],
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout).trim();
  };
  await using dir = await tempDir();
  await sqlite3(`${dir.path}/a.db`, DOCS);
  try {
    await client(`CREATE DATABASE ${db}`);
    await client(
      `CREATE TABLE ${db}.t (id Int64, doc Nullable(String) COMMENT 'dsync:json') ` +
        "ENGINE = MergeTree ORDER BY id",
    );
    await roundTrip(dir.path, "clickhouse", `${server.url}/${db}#t`);
    assertEquals(
      await client(`SELECT doc FROM ${db}.t WHERE id IN (1, 2, 7) ORDER BY id`),
      '"abc"\n"123"\n""',
    );
    await sqlite3(
      `${dir.path}/b.db`,
      "CREATE TABLE b (id INTEGER PRIMARY KEY, b BLOB); INSERT INTO b VALUES (1, x''), (2, x'00');",
    );
    await client(
      `CREATE TABLE ${db}.b (id Int64, b Nullable(String) COMMENT 'dsync:bytes') ` +
        "ENGINE = MergeTree ORDER BY id",
    );
    const load = await dsync(["sqlite:clickhouse", "b.db#b", `${server.url}/${db}#b`], {
      cwd: dir.path,
    });
    assertEquals(load.code, 0, load.stderr);
    const again = await dsync(["sqlite:clickhouse", "b.db#b", `${server.url}/${db}#b`], {
      cwd: dir.path,
    });
    assertEquals([again.code, again.stdout], [0, ""], again.stderr);
    assertEquals(await client(`SELECT b FROM ${db}.b ORDER BY id`), "\\\\x\nAA==");
  } finally {
    await client(`DROP DATABASE IF EXISTS ${db}`);
    await server.stop();
  }
});

Deno.test("jsonb string scalars into CSV and NDJSON and back: exact, rerun clean (checked with psql)", async () => {
  const server = await withPostgres();
  const schema = `dsync_js_${crypto.randomUUID().slice(0, 8)}`;
  const psql = async (sql: string) => {
    const out = await new Deno.Command("psql", { args: [server.url, "-XAtqc", sql] }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout).trim();
  };
  await using dir = await tempDir();
  const env = { DATABASE_URL: server.url };
  try {
    await psql(
      `create schema ${schema}; create table ${schema}.a (id int primary key, doc jsonb);
       insert into ${schema}.a values (1, '"abc"'), (2, '"123"'), (3, '"{}"'), (4, 'true'),
         (5, '123'), (6, '{"a": [1, "x"]}'), (7, '""'), (8, '"true"'), (9, null);`,
    );
    for (const [kind, file] of [["csv", "t.csv"], ["ndjson", "t.ndjson"]]) {
      const run = (args: string[]) => dsync(args, { cwd: dir.path, env });
      assertEquals((await run([`pg:${kind}`, `${schema}.a`, file])).code, 0);
      const again = await run([`pg:${kind}`, `${schema}.a`, file]);
      assertEquals([again.code, again.stdout], [0, ""], `${kind}: ${again.stderr}`);
      await psql(`create table ${schema}.${kind} (id int primary key, doc jsonb)`);
      const back = await run([`${kind}:pg`, file, `${schema}.${kind}`]);
      assertEquals(back.code, 0, back.stderr);
      assertEquals(
        await psql(
          `select count(*) from ${schema}.a a join ${schema}.${kind} b using (id)
           where a.doc::text is not distinct from b.doc::text`,
        ),
        "9",
        kind,
      );
    }
  } finally {
    await psql(`drop schema if exists ${schema} cascade`);
    await server.stop();
  }
});
