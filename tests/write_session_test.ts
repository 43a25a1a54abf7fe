/**
 * The write session over time: a slow source does not lose the PostgreSQL target's transaction
 * to the server's idle bound, and `--lock-timeout` bounds the wait for another writer's lock
 * (SQLite, PostgreSQL). The other writer is the test itself; results are checked with psql and
 * sqlite3.
 */
import postgres from "postgres";
import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { dsync, tempDir } from "./helpers.ts";
import { serve } from "./http_server.ts";
import { withPostgres } from "../scripts/pg_server.ts";

const server = await withPostgres();

async function psql(sql: string): Promise<string> {
  const out = await new Deno.Command("psql", {
    args: [server.url, "-XAtqc", sql],
    stderr: "inherit",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

async function sqlite3(path: string, sql: string): Promise<string> {
  const out = await new Deno.Command("sqlite3", { args: [path, sql] }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

/** A fresh schema, dropped on dispose. */
async function schema() {
  const name = `dsync_session_${crypto.randomUUID().slice(0, 8)}`;
  await psql(`create schema ${name}`);
  return {
    name,
    async [Symbol.asyncDispose]() {
      await psql(`drop schema ${name} cascade`);
    },
  };
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("postgres: a source slower than --statement-timeout does not lose the write session", async () => {
  await using dir = await tempDir();
  await using s = await schema();
  await psql(
    `create table ${s.name}.t (id int primary key, name text);
     insert into ${s.name}.t select g, 'old' || g from generate_series(1, 3000) g;`,
  );
  // NDJSON that stalls 3.5 s twice mid-body: longer than the 1 s bound on the server.
  const lines = Array.from(
    { length: 3000 },
    (_, i) => JSON.stringify({ id: i + 1, name: `n${i}` }),
  );
  await using http = serve(() => {
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        for (const part of [lines.slice(0, 1000), lines.slice(1000, 2000), lines.slice(2000)]) {
          controller.enqueue(encoder.encode(part.join("\n") + "\n"));
          if (part[0] !== lines[2000]) await delay(3500);
        }
        controller.close();
      },
    });
    return new Response(body, { headers: { "content-type": "application/x-ndjson" } });
  });
  const r = await dsync([
    "http:pg",
    `${http.url}/users`,
    `${server.url}#${s.name}.t`,
    "--statement-timeout",
    "1",
    "--format",
    "summary",
  ], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(JSON.parse(r.stdout).update, 3000);
  assertEquals(
    await psql(`select count(*) filter (where name like 'n%') from ${s.name}.t`),
    "3000",
  );
});

Deno.test("--lock-timeout: a SQLite target waits that long for another writer, then exit 4", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/t.db`;
  await Deno.writeTextFile(`${dir.path}/s.csv`, "id,name\n1,a\n");
  assertEquals((await dsync(["csv:sqlite", "s.csv", "t.db#t"], { cwd: dir.path })).code, 0);
  await Deno.writeTextFile(`${dir.path}/s.csv`, "id,name\n1,b\n");
  const other = new DatabaseSync(db);
  other.exec("BEGIN IMMEDIATE");
  try {
    const started = performance.now();
    const r = await dsync(["csv:sqlite", "s.csv", "t.db#t", "--lock-timeout", "500ms"], {
      cwd: dir.path,
    });
    const seconds = (performance.now() - started) / 1000;
    assertEquals(r.code, 4, r.stderr);
    assertMatch(r.stderr, /target is locked by another writer \(waited 0\.5 s\); nothing written/);
    assertOk(seconds < 4, `took ${seconds} s`);
    // A longer wait outlasts the other writer: the run goes through.
    const waiting = dsync(["csv:sqlite", "s.csv", "t.db#t", "--lock-timeout", "1m"], {
      cwd: dir.path,
    });
    await delay(6000);
    other.exec("ROLLBACK");
    const done = await waiting;
    assertEquals(done.code, 0, done.stderr);
  } finally {
    if (other.isTransaction) other.exec("ROLLBACK");
    other.close();
  }
  assertEquals(await sqlite3(db, "SELECT name FROM t"), "b");
  const bad = await dsync(["csv:sqlite", "s.csv", "t.db#t", "--lock-timeout", "soon"], {
    cwd: dir.path,
  });
  assertEquals(bad.code, 2, bad.stderr);
  assertMatch(bad.stderr, /--lock-timeout soon: expected a duration/);
});

Deno.test("--lock-timeout: a PostgreSQL target waits that long for another writer, then exit 4", async () => {
  await using dir = await tempDir();
  await using s = await schema();
  const target = `${server.url}#${s.name}.t`;
  await Deno.writeTextFile(`${dir.path}/s.csv`, "id,name\n1,a\n");
  assertEquals((await dsync(["csv:pg", "s.csv", target], { cwd: dir.path })).code, 0);
  await Deno.writeTextFile(`${dir.path}/s.csv`, "id,name\n1,b\n");
  const sql = postgres(server.url, { max: 1, onnotice: () => {} });
  try {
    let waiting: Promise<{ code: number; stderr: string }> | undefined;
    await sql.begin(async (tx) => {
      await tx.unsafe(`lock table ${s.name}.t in row exclusive mode`);
      const started = performance.now();
      const r = await dsync(["csv:pg", "s.csv", target, "--lock-timeout", "1s"], {
        cwd: dir.path,
      });
      const seconds = (performance.now() - started) / 1000;
      assertEquals(r.code, 4, r.stderr);
      assertMatch(r.stderr, /target is locked by another writer \(waited 1 s\); nothing written/);
      assertOk(seconds < 4.5, `took ${seconds} s`);
      waiting = dsync(["csv:pg", "s.csv", target, "--lock-timeout", "30s"], { cwd: dir.path });
      await delay(7000);
    });
    const done = await waiting!;
    assertEquals(done.code, 0, done.stderr);
  } finally {
    await sql.end();
  }
  assertEquals(await psql(`select name from ${s.name}.t`), "b");
});

Deno.test("lock_timeout on a datastore of a config file bounds the wait the same way", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/s.csv`, "id,name\n1,a\n");
  assertEquals((await dsync(["csv:sqlite", "s.csv", "t.db#t"], { cwd: dir.path })).code, 0);
  await Deno.writeTextFile(`${dir.path}/s.csv`, "id,name\n1,b\n");
  await Deno.writeTextFile(
    `${dir.path}/c.yaml`,
    `datastores:
  src: { type: csv, path: s.csv }
  db: { type: sqlite, path: t.db, lock_timeout: 500ms }
pipelines:
  p:
    source: { datastore: src }
    target: { datastore: db, table: t }
`,
  );
  const other = new DatabaseSync(`${dir.path}/t.db`);
  other.exec("BEGIN IMMEDIATE");
  try {
    const r = await dsync(["run", "c.yaml"], { cwd: dir.path });
    assertEquals(r.code, 4, r.stderr);
    assertMatch(
      r.stderr,
      /pipeline 'p': sqlite:t\.db#t: target is locked by another writer \(waited 0\.5 s\)/,
    );
  } finally {
    other.exec("ROLLBACK");
    other.close();
  }
  assertEquals(await sqlite3(`${dir.path}/t.db`, "SELECT name FROM t"), "a");
});
