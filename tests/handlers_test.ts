/**
 * `on_create`/`on_update`/`on_delete`/`on_change` handlers of `dsync run`, end to end: SQL
 * statements on a real SQLite file and a throwaway PostgreSQL (values bound, never interpolated),
 * HTTP requests to a real local server (tests/http_server.ts), a command reading the change line
 * on stdin; failures reported per change with exit 4 and retried on the next run; `handlers:
 * instead`.
 * @module
 */
import postgres from "postgres";
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, parseNdjson, sqliteExec, sqliteRows, tempDir } from "./helpers.ts";
import { serve } from "./http_server.ts";
import { withPostgres } from "../scripts/pg_server.ts";

const EVIL = "Rob'); DROP TABLE audit; --";

Deno.test("handlers: SQL, HTTP and a command after the commit; a failed call is retried", async () => {
  await using dir = await tempDir();
  let failing = true;
  await using server = serve((req) =>
    failing && req.path === "/hooks/2"
      ? new Response("try later", { status: 500 })
      : new Response("ok")
  );
  sqliteExec(`${dir.path}/audit.db`, "CREATE TABLE audit (op TEXT, id INTEGER, name TEXT)");
  await Deno.writeTextFile(`${dir.path}/users.csv`, "id,name\n1,Ann\n2,Bob\n3,Cy\n");
  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    `datastores:
  users: { type: csv, path: users.csv }
  app: { type: sqlite, path: app.db }
  audit: { type: sqlite, path: audit.db }
pipelines:
  users:
    source: { datastore: users }
    target: { datastore: app, table: users }
    policy: { delete: true, max_delete: 100% }
    on_create:
      datastore: audit
      sql: "INSERT INTO audit (op, id, name) VALUES (:_op, :id, :name)"
    on_update:
      url: "${server.url}/hooks/{{ id }}"
      method: PUT
      headers: ["X-Source: dsync"]
    on_delete:
      command: "cat >> deleted.ndjson"
    on_change:
      - { datastore: audit, sql: "INSERT INTO audit (op, id, name) VALUES ('any', :id, :before.name)" }
`,
  );
  const first = await dsync(["run", "dsync.yaml", "-q"], { cwd: dir.path });
  assertEquals(first.code, 0, first.stderr);
  assertEquals(sqliteRows(`${dir.path}/audit.db`, "audit", "rowid").map((r) => [r.op, r.id]), [
    ["create", 1],
    ["any", 1],
    ["create", 2],
    ["any", 2],
    ["create", 3],
    ["any", 3],
  ]);
  // An update (id 2, a name that is SQL), a delete (id 3), a create (id 4).
  await Deno.writeTextFile(`${dir.path}/users.csv`, `id,name\n1,Ann\n2,"${EVIL}"\n4,Dee\n`);
  const second = await dsync(["run", "dsync.yaml", "-q"], { cwd: dir.path });
  assertEquals(second.code, 4, second.stderr);
  assertMatch(
    second.stderr,
    /pipeline 'users': on_update\[0\] for id=2 failed: PUT http:\/\/127\.0\.0\.1:\d+\/hooks\/2: HTTP 500: try later/,
  );
  assertMatch(second.stderr, /1 handler call failed; sqlite:app\.db#users was written; retried/);
  // The target committed; the other handlers ran.
  assertEquals(sqliteRows(`${dir.path}/app.db`, "users").map((r) => r.name), ["Ann", EVIL, "Dee"]);
  const audit = sqliteRows(`${dir.path}/audit.db`, "audit", "rowid").slice(6);
  assertEquals(audit.map((r) => [r.op, r.id, r.name]), [
    ["create", 4, "Dee"],
    ["any", 4, null],
    ["any", 2, "Bob"],
    ["any", 3, "Cy"],
  ]);
  const deleted = parseNdjson(await Deno.readTextFile(`${dir.path}/deleted.ndjson`));
  assertEquals(deleted, [{ op: "delete", key: { id: 3 }, before: { id: 3, name: "Cy" } }]);

  // The next run has nothing to sync, and makes the call that failed.
  failing = false;
  const third = await dsync(["run", "dsync.yaml"], { cwd: dir.path });
  assertEquals(third.code, 0, third.stderr);
  assertMatch(third.stderr, /\+0 ~0 -0/);
  assertMatch(third.stderr, /handlers: 1 ran/);
  const puts = server.requests.filter((r) => r.method === "PUT");
  assertEquals(puts.length, 2);
  assertEquals(JSON.parse(puts[1].body), {
    op: "update",
    key: { id: 2 },
    before: { name: "Bob" },
    after: { name: EVIL },
  });
  assertEquals(puts[1].headers.get("x-source"), "dsync");
  const fourth = await dsync(["run", "dsync.yaml"], { cwd: dir.path });
  assertEquals(fourth.code, 0, fourth.stderr);
  assertEquals(server.requests.length, 2);
  assertEquals(sqliteRows(`${dir.path}/audit.db`, "audit").length, 10);
});

Deno.test("handlers: instead of writing the target; each change handled once", async () => {
  await using dir = await tempDir();
  let down = true;
  await using server = serve((req) =>
    down && req.path.includes("Bob") ? new Response("no", { status: 503 }) : new Response("ok")
  );
  await Deno.writeTextFile(`${dir.path}/users.csv`, "id,name\n1,Ann\n2,Bob\n");
  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    `datastores:
  users: { type: csv, path: users.csv }
  app: { type: sqlite, path: app.db }
pipelines:
  users:
    source: { datastore: users }
    target: { datastore: app, table: users }
    handlers: instead
    on_create:
      url: "${server.url}/new?name={{ name }}"
      body: '{"id": {{ id }}, "who": "{{ name | upper }}"}'
`,
  );
  const first = await dsync(["run", "dsync.yaml"], { cwd: dir.path });
  assertEquals(first.code, 4, first.stderr);
  assertMatch(first.stderr, /on_create\[0\] for id=2 failed: .*HTTP 503/);
  assertMatch(first.stderr, /the target is not written: handlers: instead/);
  // app.db was not written (not even created)
  assertEquals(await Deno.stat(`${dir.path}/app.db`).then(() => true, () => false), false);
  down = false;
  const second = await dsync(["run", "dsync.yaml"], { cwd: dir.path });
  assertEquals(second.code, 0, second.stderr);
  assertMatch(second.stderr, /handlers: 1 ran, 1 ran before/);
  assertEquals(
    server.requests.map((r) => [r.path, r.body]),
    [
      ["/new?name=Ann", '{"id": 1, "who": "ANN"}'],
      ["/new?name=Bob", '{"id": 2, "who": "BOB"}'],
      ["/new?name=Bob", '{"id": 2, "who": "BOB"}'],
    ],
  );
  const third = await dsync(["run", "dsync.yaml"], { cwd: dir.path });
  assertEquals(third.code, 0, third.stderr);
  assertEquals(server.requests.length, 3);
});

Deno.test("handlers: a statement on PostgreSQL binds the change's values", async () => {
  const server = await withPostgres();
  try {
    await using dir = await tempDir();
    const schema = `dsync_h_${crypto.randomUUID().slice(0, 8)}`;
    const sql = postgres(server.url, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(
        `create schema "${schema}"; create table "${schema}".audit (id bigint, name text, note text)`,
      );
      await Deno.writeTextFile(`${dir.path}/users.csv`, `id,name\n1,"${EVIL}"\n`);
      await Deno.writeTextFile(
        `${dir.path}/dsync.yaml`,
        `datastores:
  users: { type: csv, path: users.csv }
  app: { type: sqlite, path: app.db }
  pg: { type: postgres, url: "${server.url}" }
pipelines:
  users:
    source: { datastore: users }
    target: { datastore: app, table: users }
    on_create:
      datastore: pg
      sql: "insert into ${schema}.audit (id, name, note) values (:id::bigint, :name, ':name is text')"
`,
      );
      const r = await dsync(["run", "dsync.yaml", "-q"], { cwd: dir.path });
      assertEquals(r.code, 0, r.stderr);
      const rows = await sql.unsafe(`select id::text, name, note from "${schema}".audit`);
      assertEquals([...rows], [{ id: "1", name: EVIL, note: ":name is text" }]);
      await sql.unsafe(`drop schema "${schema}" cascade`);
    } finally {
      await sql.end();
    }
  } finally {
    await server.stop();
  }
});

Deno.test("handlers: malformed handlers are refused with their place in the file", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/users.csv`, "id,name\n1,Ann\n");
  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    `datastores:
  users: { type: csv, path: users.csv }
  app: { type: sqlite, path: app.db }
  ch: { type: clickhouse, url: "clickhouse://default@127.0.0.1:8123/default" }
pipelines:
  users:
    source: { datastore: users }
    target: { datastore: app, table: users }
    on_create: { sql: "insert into t values (:id)" }
    on_update: { datastore: users, sql: "update t set x = 1" }
    on_delete: { url: "http://x/{{ id }", command: "true" }
    on_change: [{ url: "http://x/{{ id | nope }}" }, { datastore: ch, sql: "insert into t values (:id)" }]
`,
  );
  const r = await dsync(["run", "dsync.yaml"], { cwd: dir.path });
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /dsync.yaml:9:\d+: pipelines.users.on_create.sql: sql: needs datastore:/);
  assertMatch(r.stderr, /dsync.yaml:10:\d+: .*a csv datastore cannot run statements\n/);
  assertMatch(r.stderr, /dsync.yaml:11:\d+: .*a handler is one of sql:/);
  assertMatch(r.stderr, /dsync.yaml:12:\d+: .*nope/);
  assertMatch(
    r.stderr,
    /dsync.yaml:12:\d+: .*a clickhouse datastore cannot run statements: ClickHouse before 19 has no bound query parameters/,
  );
});

/** Runs SQL with the `mariadb` client on the local server; tab-separated rows. */
async function mariadb(sql: string): Promise<string[]> {
  const out = await new Deno.Command("mariadb", {
    args: [
      "-h",
      "127.0.0.1",
      "-P",
      "3306",
      "-u",
      "root",
      "--batch",
      "--skip-column-names",
      "-e",
      sql,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`mariadb: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== "");
}

Deno.test("handlers: a statement on MySQL/MariaDB binds the change's values", async () => {
  await using dir = await tempDir();
  const db = `dsync_h_${crypto.randomUUID().slice(0, 8)}`;
  await mariadb(`CREATE DATABASE ${db}; CREATE TABLE ${db}.audit (id BIGINT, name TEXT, op TEXT)`);
  try {
    await Deno.writeTextFile(`${dir.path}/users.csv`, `id,name\n1,"${EVIL}"\n`);
    await Deno.writeTextFile(
      `${dir.path}/dsync.yaml`,
      `datastores:
  users: { type: csv, path: users.csv }
  app: { type: sqlite, path: app.db }
  my: { type: mysql, url: "mysql://root@127.0.0.1:3306/${db}" }
pipelines:
  users:
    source: { datastore: users }
    target: { datastore: app, table: users }
    on_change: { datastore: my, sql: "INSERT INTO audit (id, name, op) VALUES (:id, :name, :_op)" }
`,
    );
    const r = await dsync(["run", "dsync.yaml", "-q"], { cwd: dir.path });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(await mariadb(`SELECT id, name, op FROM ${db}.audit`), [`1\t${EVIL}\tcreate`]);
  } finally {
    await mariadb(`DROP DATABASE ${db}`);
  }
});

Deno.test("handlers: --validate opens the datastores their statements run on", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/users.csv`, "id,name\n1,Ann\n");
  const config = (audit: string) =>
    `datastores:
  users: { type: csv, path: users.csv }
  app: { type: sqlite, path: app.db }
  audit: { type: sqlite, path: ${audit} }
pipelines:
  users:
    source: { datastore: users }
    target: { datastore: app, table: users }
    on_create: { datastore: audit, sql: "insert into audit values (:id)" }
`;
  await Deno.writeTextFile(`${dir.path}/dsync.yaml`, config("missing.db"));
  const bad = await dsync(["run", "--validate", "dsync.yaml"], { cwd: dir.path });
  assertEquals(bad.code, 2, bad.stdout + bad.stderr);
  assertMatch(bad.stdout, /FAIL {2}users: on_create\[0\]/);
  assertMatch(bad.stderr, /pipeline 'users': missing\.db: no such SQLite database/);
  assertEquals(await Deno.stat(`${dir.path}/missing.db`).then(() => true, () => false), false);
  sqliteExec(`${dir.path}/audit.db`, "CREATE TABLE audit (id INTEGER)");
  await Deno.writeTextFile(`${dir.path}/dsync.yaml`, config("audit.db"));
  const good = await dsync(["run", "--validate", "dsync.yaml"], { cwd: dir.path });
  assertEquals(good.code, 0, good.stdout + good.stderr);
  assertMatch(good.stdout, /ok {4}users: on_create\[0\] runs on sqlite:audit\.db/);
});
