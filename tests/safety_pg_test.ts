/**
 * Safe by default (issue 15), the PostgreSQL cases: partitioned deletes with `--where`, wrong,
 * black-holed and frozen servers, the implicit default database, unreachable is exit 4. dsync
 * runs as a subprocess; the server is checked with psql. Each test has its own schema.
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { dsync, type RunResult, tempDir } from "./helpers.ts";
import { startThrowaway, withPostgres } from "../scripts/pg_server.ts";
import postgres from "postgres";

const server = await withPostgres();
const URL_ = server.url;

/** Runs psql on the test server; returns its unaligned, tuples-only output. */
async function psql(sql: string): Promise<string> {
  const out = await new Deno.Command("psql", {
    args: [URL_, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`psql: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim();
}

/** A fresh schema, dropped on dispose. */
async function schema() {
  const name = `dsync_safety_${crypto.randomUUID().slice(0, 8)}`;
  await psql(`create schema ${name}`);
  return {
    name,
    async [Symbol.asyncDispose]() {
      await psql(`drop schema ${name} cascade`);
    },
  };
}

function run(args: string[], cwd: string, env: Record<string, string> = {}): Promise<RunResult> {
  return dsync(args, { cwd, env: { DATABASE_URL: URL_, ...env } });
}

Deno.test("--where with --delete deletes only inside the partition (pg:pg); refused where the target cannot be scoped", async () => {
  await using dir = await tempDir();
  await using s = await schema();
  await psql(`
    create table ${s.name}.src (id int primary key, region text, name text);
    create table ${s.name}.dst (id int primary key, region text, name text);
    insert into ${s.name}.src values (1,'eu','a'), (2,'eu','b2'), (5,'us','e');
    insert into ${s.name}.dst values (1,'eu','a'), (2,'eu','b'), (3,'eu','c'), (4,'us','d'), (6,'us','f');
    create table ${s.name}.other (id int primary key, name text);
    insert into ${s.name}.other values (1,'a'), (2,'b'), (3,'c');`);
  const args = [
    "pg:pg",
    `${s.name}.src`,
    `${s.name}.dst`,
    "--where",
    "region = 'eu'",
    "--delete",
    "--max-delete",
    "100%",
  ];
  const r = await run(args, dir.path);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stderr, /\+0 ~1 -1/);
  assertEquals(
    await psql(
      `select string_agg(id || ':' || region || ':' || name, ' ' order by id) from ${s.name}.dst`,
    ),
    "1:eu:a 2:eu:b2 4:us:d 6:us:f",
  );
  const again = await run(args, dir.path);
  assertMatch(again.stderr, /\+0 ~0 -0/);
  // The condition names a column the target lacks: refused, nothing read or written.
  const before = await psql(`select string_agg(id || name, ',' order by id) from ${s.name}.other`);
  const missing = await run(
    ["pg:pg", `${s.name}.src`, `${s.name}.other`, "--where", "region = 'eu'", "--delete"],
    dir.path,
  );
  assertEquals(missing.code, 2, missing.stderr);
  assertMatch(
    missing.stderr,
    /refused: --delete with --where: .*other cannot be scoped by the same condition \(column "region" does not exist\)/,
  );
  assertEquals(
    await psql(`select string_agg(id || name, ',' order by id) from ${s.name}.other`),
    before,
  );
  // A SQLite target cannot evaluate a PostgreSQL condition: refused.
  await Deno.writeTextFile(`${dir.path}/seed.csv`, "id,region,name\n3,eu,c\n4,us,d\n");
  assertEquals((await run(["csv:sqlite", "seed.csv", "t.db#dst", "-q"], dir.path)).code, 0);
  const sqlite = await run(
    ["pg:sqlite", `${s.name}.src`, "t.db#dst", "--where", "region = 'eu'", "--delete"],
    dir.path,
  );
  assertEquals(sqlite.code, 2, sqlite.stderr);
  assertMatch(
    sqlite.stderr,
    /refused: --delete with --where: sqlite:t\.db#dst cannot be read through the same condition, so every record outside the partition would be deleted/,
  );
  // The target mirrors the filtered source: said explicitly, records outside it are deleted.
  const mirror = await run(
    ["pg:sqlite", `${s.name}.src`, "t.db#dst", "--where", "region = 'eu'", "--delete"].concat(
      ["--delete-outside-where", "--max-delete", "100%", "-q"],
    ),
    dir.path,
  );
  assertEquals(mirror.code, 0, mirror.stderr);
  const ids = await new Deno.Command("sqlite3", {
    args: [
      `${dir.path}/t.db`,
      "select group_concat(id || region) from (select * from dst order by id)",
    ],
  }).output();
  assertEquals(new TextDecoder().decode(ids.stdout).trim(), "1eu,2eu");
  // Without --delete a partitioned sync is fine anywhere.
  const plain = await run(
    ["pg:sqlite", `${s.name}.src`, "t.db#dst", "--where", "region = 'eu'", "-q"],
    dir.path,
  );
  assertEquals(plain.code, 0, plain.stderr);
});

/** A port nothing listens on (bound, then released). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("wrong server on the port: an HTTP server fails at once (exit 4) naming host:port and what it answered", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a.csv`, "id,name\n1,a\n");
  let requests = 0;
  await using http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    requests++;
    return new Response("hello");
  });
  const url = `postgres://app:pg-secret-1@127.0.0.1:${http.addr.port}/shop#users`;
  const started = performance.now();
  const r = await dsync(["csv:pg", "a.csv", url], { cwd: dir.path });
  const seconds = (performance.now() - started) / 1000;
  assertEquals(r.code, 4, r.stderr);
  // A bound against a hang, not a speed test: the message says how it ended (loaded CI is slow).
  assertOk(seconds < 30, `took ${seconds} s`);
  assertMatch(
    r.stderr,
    new RegExp(
      `^dsync: pg:app@127\\.0\\.0\\.1:${http.addr.port}/shop#users: 127\\.0\\.0\\.1:${http.addr.port} is not a PostgreSQL server: it answered "HTTP/1\\.1 400 Bad Request"\n`,
    ),
  );
  assertOk(!r.stderr.includes("pg-secret-1"), r.stderr);
  assertOk(requests <= 1, `${requests} connections: no reconnect loop`);
});

Deno.test("black hole and refused port: bounded by --connect-timeout or the URL's connect_timeout, exit 4", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a.csv`, "id,name\n1,a\n");
  // Listening, never accepting: the kernel completes the handshake, nobody ever answers.
  using hole = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (hole.addr as Deno.NetAddr).port;
  for (
    const [args, bound] of [
      [[`postgres://app:pw-x@127.0.0.1:${port}/shop#t`, "--connect-timeout", "2"], 2],
      [[`postgres://app:pw-x@127.0.0.1:${port}/shop?connect_timeout=3#t`], 3],
    ] as const
  ) {
    const started = performance.now();
    const r = await dsync(["csv:pg", "a.csv", ...args], { cwd: dir.path });
    const seconds = (performance.now() - started) / 1000;
    assertEquals(r.code, 4, r.stderr);
    assertMatch(
      r.stderr,
      new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port}: no answer within ${bound} s`),
    );
    assertOk(seconds >= bound && seconds < bound + 20, `took ${seconds} s for a ${bound} s bound`);
    assertOk(!r.stderr.includes("pw-x"), r.stderr);
  }
  const closed = closedPort();
  const refused = await dsync(["csv:pg", "a.csv", `postgres://app@127.0.0.1:${closed}/shop#t`], {
    cwd: dir.path,
  });
  assertEquals(refused.code, 4, refused.stderr);
  assertMatch(
    refused.stderr,
    new RegExp(`cannot connect to 127\\.0\\.0\\.1:${closed}: connection refused`),
  );
  // A source that cannot be reached is exit 4 too (not 2, which is bad input).
  const source = await dsync(["pg:csv", `postgres://app@127.0.0.1:${closed}/shop#t`, "out.csv"], {
    cwd: dir.path,
  });
  assertEquals(source.code, 4, source.stderr);
});

/** Holds an ACCESS EXCLUSIVE lock on `table` until the returned function is called. */
async function lockTable(url: string, table: string): Promise<() => Promise<void>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  let release!: () => void;
  const held = new Promise<void>((resolve) => release = resolve);
  let locked!: () => void;
  const ready = new Promise<void>((resolve) => locked = resolve);
  const tx = sql.begin(async (tx) => {
    await tx.unsafe(`lock table ${table} in access exclusive mode`);
    locked();
    await held;
  });
  // A frozen and resumed server may drop this connection too: the lock is then gone with it.
  const done = tx.then(() => {}, () => {});
  await ready;
  return async () => {
    release();
    await done;
    await sql.end().catch(() => {});
  };
}

/** Waits until a dsync session waits on a lock; returns its backend's pid. */
async function waitingBackend(url: string, schemaName: string): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (let i = 0; i < 100; i++) {
      const rows = await sql`select pid from pg_stat_activity
        where application_name = 'dsync' and wait_event_type = 'Lock' and query like ${`%${schemaName}%`}`;
      if (rows.length) return rows[0].pid as number;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error("dsync never waited on the lock");
  } finally {
    await sql.end();
  }
}

Deno.test("statement timeout: a target blocked on the server is cancelled there, exit 4, nothing written", async () => {
  await using dir = await tempDir();
  await using s = await schema();
  await psql(
    `create table ${s.name}.t (id int primary key, name text); insert into ${s.name}.t values (1, 'old');`,
  );
  await Deno.writeTextFile(`${dir.path}/a.csv`, "id,name\n1,new\n2,b\n");
  const unlock = await lockTable(URL_, `${s.name}.t`);
  try {
    const started = performance.now();
    const r = await run(["csv:pg", "a.csv", `${s.name}.t`, "--statement-timeout", "1"], dir.path);
    const seconds = (performance.now() - started) / 1000;
    assertEquals(r.code, 4, r.stderr);
    assertMatch(r.stderr, /canceling statement due to statement timeout/);
    // Not the 5 s writer-lock wait (its message differs); the bound only catches a hang.
    assertOk(seconds < 30, `took ${seconds} s`);
  } finally {
    await unlock();
  }
  assertEquals(
    await psql(`select string_agg(id || name, ',' order by id) from ${s.name}.t`),
    "1old",
  );
});

/** SIGCONT to `pid`; a child of the cluster may have ended meanwhile (ESRCH). */
function resume(pid: number): void {
  try {
    Deno.kill(pid, "SIGCONT");
  } catch {
    // gone
  }
}

/** The pids of `postmaster` and its children, from /proc. */
async function clusterPids(backend: number): Promise<number[]> {
  const parentOf = async (pid: number) =>
    Number((await Deno.readTextFile(`/proc/${pid}/stat`)).replace(/^.*\) /, "").split(" ")[1]);
  const postmaster = await parentOf(backend);
  const pids = [postmaster];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      if (await parentOf(Number(entry.name)) === postmaster) pids.push(Number(entry.name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

Deno.test("frozen server (SIGSTOP) mid-run: the client gives up after the bound, exit 4", async () => {
  const frozen = await startThrowaway();
  let stopped: number[] = [];
  try {
    await using dir = await tempDir();
    const admin = postgres(frozen.url, { max: 1, onnotice: () => {} });
    await admin.unsafe("create schema frz; create table frz.t (id int primary key, name text)");
    await admin.end();
    const unlock = await lockTable(frozen.url, "frz.t");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-lock", new URL("../main.ts", import.meta.url).pathname, "csv:pg"]
        .concat(["-", `${frozen.url}#frz.t`, "--statement-timeout", "3"]),
      cwd: dir.path,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("id,name\n1,a\n"));
    await writer.close();
    const backend = await waitingBackend(frozen.url, "frz");
    stopped = await clusterPids(backend);
    const started = performance.now();
    for (const pid of stopped) Deno.kill(pid, "SIGSTOP");
    const out = await child.output();
    const seconds = (performance.now() - started) / 1000;
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 4, stderr);
    // Inside the write session postgres.js reports the socket the watchdog closed as a lost
    // connection; the message still says why it was lost.
    assertMatch(
      stderr,
      /^dsync: pg:.*#frz\.t: no answer from 127\.0\.0\.1:\d+ for 8 s \(server frozen or network lost\); rolled back, nothing written\n/,
    );
    assertEquals(stderr.split("\n").filter((l) => l && !l.startsWith("  ")).length, 1, stderr);
    assertOk(seconds < 40, `took ${seconds} s`);
    for (const pid of stopped) resume(pid);
    stopped = [];
    await unlock();
  } finally {
    for (const pid of stopped) resume(pid);
    await frozen.stop();
  }
});

Deno.test("a store that is down is exit 4 (retry later), bad input exit 2 (fix it): pair commands and dsync run", async () => {
  await using dir = await tempDir();
  const down = `postgres://app:pw-down@127.0.0.1:${closedPort()}/shop`;
  await Deno.writeTextFile(`${dir.path}/a.csv`, "id,name\n1,a\n");
  await Deno.writeTextFile(`${dir.path}/bad.csv`, "id,name\n1,a,extra\n");
  const cases: [string[], number][] = [
    [["csv:pg", "a.csv", `${down}#t`], 4],
    [["pg:csv", `${down}#t`, "out.csv"], 4],
    [["pg:sqlite", `${down}#t`, "t.db#t"], 4],
    [["csv:sqlite", "bad.csv", "t.db#t"], 2],
  ];
  for (const [args, code] of cases) {
    const r = await dsync(args, { cwd: dir.path });
    assertEquals(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assertOk(!r.stderr.includes("pw-down"), r.stderr);
  }
  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    [
      "datastores:",
      `  crm: { type: postgres, url: "${down}" }`,
      "  out: { type: csv, path: out.csv }",
      "pipelines:",
      "  export:",
      "    source: { datastore: crm, table: users }",
      "    target: { datastore: out }",
    ].join("\n") + "\n",
  );
  const run = await dsync(["run", "dsync.yaml"], { cwd: dir.path });
  assertEquals(run.code, 4, run.stderr);
  assertMatch(
    run.stderr,
    /^dsync: pipeline 'export': pg:app@127\.0\.0\.1:\d+\/shop#users: cannot connect to 127\.0\.0\.1:\d+: connection refused/,
  );
});

/** The environment without any variable that names a PostgreSQL server. */
function implicitEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(Deno.env.toObject()).filter(([name]) =>
      name !== "DATABASE_URL" && !name.startsWith("PG")
    ),
  );
}

/** Whether libpq's defaults (the OS user's database on localhost:5432) reach a server. */
async function defaultsReachable(): Promise<boolean> {
  if (
    Deno.env.get("DATABASE_URL") || Object.keys(Deno.env.toObject()).some((n) => n.startsWith("PG"))
  ) {
    return false;
  }
  const { reachable } = await import("../scripts/pg_server.ts");
  return await reachable(undefined, 2);
}

Deno.test({
  name: "implicit default database: said on stderr; a new table there needs --create-table",
  ignore: !(await defaultsReachable()),
  fn: async () => {
    await using dir = await tempDir();
    await Deno.writeTextFile(`${dir.path}/users.csv`, "id,name\n1,a\n2,b\n");
    const table = `dsync_implicit_${crypto.randomUUID().slice(0, 8)}`;
    const implicit = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-lock", new URL("../main.ts", import.meta.url).pathname, ...args],
        cwd: dir.path,
        clearEnv: true,
        env: { ...implicitEnv(), NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output().then((o) => ({
        code: o.code,
        stderr: new TextDecoder().decode(o.stderr),
      }));
    const sql = postgres({ max: 1, onnotice: () => {} });
    try {
      const refused = await implicit(["csv:pg", "users.csv", table]);
      assertEquals(refused.code, 2, refused.stderr);
      assertMatch(
        refused.stderr,
        /^dsync: pg: no URL, DATABASE_URL or PG\* variables: connecting to [^ ]+@localhost:5432\/[^ ]+ \(libpq defaults\)\n/,
      );
      assertMatch(
        refused.stderr,
        new RegExp(`${table} does not exist, and nothing named this database`),
      );
      assertMatch(refused.stderr, /add --create-table to create it here/);
      assertEquals((await sql`select to_regclass(${table}) as t`)[0].t, null);
      const created = await implicit(["csv:pg", "users.csv", table, "--create-table"]);
      assertEquals(created.code, 0, created.stderr);
      assertEquals((await sql.unsafe(`select count(*)::int as n from "${table}"`))[0].n, 2);
      // The table exists now: a sync into it needs no acknowledgement, and -q silences the notice.
      const quiet = await implicit(["csv:pg", "users.csv", table, "-q"]);
      assertEquals(quiet, { code: 0, stderr: "" });
    } finally {
      await sql.unsafe(`drop table if exists "${table}"`);
      await sql.end();
    }
  },
});

export { assertOk };
