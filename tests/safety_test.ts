/**
 * Safe by default (issue 15): the mass-delete guard, partitioned deletes, wrong or frozen
 * servers, implicit default databases and targets, exit codes for unreachable stores, and
 * `dsync run` paths. dsync runs as a subprocess; targets are checked with sqlite3 and psql.
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { dsync, tempDir } from "./helpers.ts";

/** Runs the sqlite3 command-line shell on `db` and returns its output, trimmed. */
export async function sqlite3(db: string, sql: string): Promise<string> {
  const out = await new Deno.Command("sqlite3", {
    args: [db, sql],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) throw new Error(`sqlite3: ${new TextDecoder().decode(out.stderr)}`);
  return text;
}

/** `n` CSV rows `id,name` (ids 1..n) under a header. */
function users(n: number, from = 1): string {
  const rows = Array.from({ length: n }, (_, i) => `${from + i},u${from + i}`);
  return ["id,name", ...rows].join("\n") + "\n";
}

Deno.test("--delete from a header-only CSV is refused (exit 3), nothing deleted; --max-delete 100% allows it", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/all.csv`, users(10));
  await Deno.writeTextFile(`${dir.path}/empty.csv`, "id,name\n");
  const load = await dsync(["csv:sqlite", "all.csv", "t.db#t", "-q"], { cwd: dir.path });
  assertEquals(load.code, 0, load.stderr);
  const r = await dsync(["csv:sqlite", "empty.csv", "t.db#t", "--delete"], { cwd: dir.path });
  assertEquals(r.code, 3, r.stderr);
  assertMatch(
    r.stderr,
    /refused: the source is empty and --delete would delete all 10 of 10 target records; nothing applied/,
  );
  assertMatch(r.stderr, /--max-delete 10 \(or --max-delete 100%\)/);
  assertEquals(await sqlite3(`${dir.path}/t.db`, "select count(*) from t"), "10");
  const forced = await dsync(
    ["csv:sqlite", "empty.csv", "t.db#t", "--delete", "--max-delete", "100%", "-q"],
    { cwd: dir.path },
  );
  assertEquals(forced.code, 0, forced.stderr);
  assertEquals(await sqlite3(`${dir.path}/t.db`, "select count(*) from t"), "0");
});

Deno.test("--delete of more than half the target is refused by default; a dry run shows the plan and says so", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/all.csv`, users(10));
  await Deno.writeTextFile(`${dir.path}/few.csv`, users(4));
  await Deno.writeTextFile(`${dir.path}/half.csv`, users(5));
  assertEquals((await dsync(["csv:sqlite", "all.csv", "t.db#t", "-q"], { cwd: dir.path })).code, 0);
  const r = await dsync(["csv:sqlite", "few.csv", "t.db#t", "--delete"], { cwd: dir.path });
  assertEquals(r.code, 3, r.stderr);
  assertMatch(
    r.stderr,
    /refused: 6 deletes \(60% of 10 target records\) exceed the default --max-delete 50% \(5\); nothing applied/,
  );
  assertEquals(await sqlite3(`${dir.path}/t.db`, "select count(*) from t"), "10");
  const dry = await dsync(["csv:sqlite", "few.csv", "t.db#t", "--delete", "-n"], { cwd: dir.path });
  assertEquals(dry.code, 0, dry.stderr);
  assertEquals(dry.stdout.trim().split("\n").length, 6);
  assertMatch(dry.stderr, /without --dry-run this would be refused: 6 deletes/);
  const explicit = await dsync(
    ["csv:sqlite", "few.csv", "t.db#t", "--delete", "--max-delete", "6", "-q"],
    { cwd: dir.path },
  );
  assertEquals(explicit.code, 0, explicit.stderr);
  assertEquals(await sqlite3(`${dir.path}/t.db`, "select group_concat(id) from t"), "1,2,3,4");
  // Exactly half is within the guard.
  await Deno.writeTextFile(`${dir.path}/eight.csv`, users(8));
  await dsync(["csv:sqlite", "all.csv", "u.db#t", "-q"], { cwd: dir.path });
  const half = await dsync(["csv:sqlite", "half.csv", "u.db#t", "--delete", "-q"], {
    cwd: dir.path,
  });
  assertEquals(half.code, 0, half.stderr);
  assertEquals(await sqlite3(`${dir.path}/u.db`, "select count(*) from t"), "5");
  // No minimum count: a small table is guarded by the same share (2 of 3 refused, 1 of 2 not).
  await Deno.writeTextFile(`${dir.path}/three.csv`, users(3));
  await Deno.writeTextFile(`${dir.path}/one.csv`, users(1));
  await Deno.writeTextFile(`${dir.path}/two.csv`, users(2));
  await dsync(["csv:sqlite", "three.csv", "s.db#t", "-q"], { cwd: dir.path });
  const small = await dsync(["csv:sqlite", "one.csv", "s.db#t", "--delete"], { cwd: dir.path });
  assertEquals(small.code, 3, small.stderr);
  assertMatch(
    small.stderr,
    /refused: 2 deletes \(66\.7% of 3 target records\) exceed the default --max-delete 50% \(1\)/,
  );
  const oneOfTwo = await dsync(["csv:sqlite", "two.csv", "s.db#t", "--delete", "-q"], {
    cwd: dir.path,
  });
  assertEquals(oneOfTwo.code, 0, oneOfTwo.stderr);
  assertEquals(await sqlite3(`${dir.path}/s.db`, "select group_concat(id) from t"), "1,2");
});

Deno.test("dsync apply and dsync run keep the default mass-delete guard", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/all.csv`, users(10));
  await Deno.writeTextFile(`${dir.path}/few.csv`, users(2));
  assertEquals((await dsync(["csv:sqlite", "all.csv", "t.db#t", "-q"], { cwd: dir.path })).code, 0);
  const plan = await dsync(
    [
      "csv:sqlite",
      "few.csv",
      "t.db#t",
      "--delete",
      "-n",
      "-q",
      "--format",
      "ndjson",
      "-o",
      "p.ndjson",
    ],
    { cwd: dir.path },
  );
  assertEquals(plan.code, 0, plan.stderr);
  const apply = await dsync(["apply", "sqlite", "t.db#t", "p.ndjson"], { cwd: dir.path });
  assertEquals(apply.code, 3, apply.stderr);
  assertMatch(
    apply.stderr,
    /refused: 8 deletes \(80% of 10 target records\) exceed the default --max-delete 50%/,
  );
  assertEquals(await sqlite3(`${dir.path}/t.db`, "select count(*) from t"), "10");
  const applied = await dsync(["apply", "sqlite", "t.db#t", "p.ndjson", "--max-delete", "80%"], {
    cwd: dir.path,
  });
  assertEquals(applied.code, 0, applied.stderr);
  assertEquals(await sqlite3(`${dir.path}/t.db`, "select count(*) from t"), "2");

  await Deno.writeTextFile(`${dir.path}/empty.csv`, "id,name\n");
  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    [
      "datastores:",
      "  in: { type: csv, path: empty.csv }",
      "  db: { type: sqlite, path: t.db }",
      "pipelines:",
      "  wipe:",
      "    source: { datastore: in }",
      "    target: { datastore: db, table: t }",
      "    policy: { delete: true }",
    ].join("\n") + "\n",
  );
  const run = await dsync(["run", "dsync.yaml"], { cwd: dir.path });
  assertEquals(run.code, 3, run.stderr);
  assertMatch(
    run.stderr,
    /pipeline 'wipe': refused: the source is empty and --delete would delete all 2/,
  );
  assertEquals(await sqlite3(`${dir.path}/t.db`, "select count(*) from t"), "2");
});

Deno.test("dsync run: a where: partition with delete is refused where the target cannot be scoped", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/all.csv`, "id,region\n1,eu\n2,eu\n3,us\n4,us\n");
  assertEquals((await dsync(["csv:sqlite", "all.csv", "s.db#t", "-q"], { cwd: dir.path })).code, 0);
  assertEquals((await dsync(["csv:sqlite", "all.csv", "d.db#t", "-q"], { cwd: dir.path })).code, 0);
  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    [
      "datastores:",
      "  src: { type: sqlite, path: s.db }",
      "  dst: { type: sqlite, path: d.db }",
      "pipelines:",
      "  eu:",
      "    source: { datastore: src, table: t, where: \"region = 'eu'\" }",
      "    target: { datastore: dst, table: t }",
      "    key: id",
      "    policy: { delete: true, max_delete: 100% }",
    ].join("\n") + "\n",
  );
  const r = await dsync(["run", "dsync.yaml"], { cwd: dir.path });
  assertEquals(r.code, 2, r.stderr);
  assertMatch(
    r.stderr,
    /pipeline 'eu': refused: --delete with --where: sqlite:d\.db#t cannot be read through the same condition/,
  );
  assertEquals(await sqlite3(`${dir.path}/d.db`, "select count(*) from t"), "4");
});

Deno.test("HTTP: a fetch failure says why (refused, TLS, DNS, no answer) and is exit 4, source or target", async () => {
  await using dir = await tempDir();
  await using http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => Response.json([]),
  );
  using hole = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closed = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const cases: [string, RegExp][] = [
    [`http://127.0.0.1:${closed}/users?token=t0k3n`, /connection failed: connection refused/],
    [`https://127.0.0.1:${http.addr.port}/users`, /connection failed: TLS handshake failed/],
    // .invalid never resolves (RFC 2606).
    ["http://nowhere.invalid/users?token=t0k3n", /connection failed: DNS lookup failed/],
    [
      `http://127.0.0.1:${(hole.addr as Deno.NetAddr).port}/users`,
      /no answer within 1 s after 2 attempts/,
    ],
  ];
  for (const [url, why] of cases) {
    const args = ["--timeout", "1", "--retries", "1", "--retry-delay", "0.01", "-q"];
    const r = await dsync(["http:csv", url, "out.csv", ...args], { cwd: dir.path });
    assertEquals(r.code, 4, r.stderr);
    assertMatch(r.stderr, why);
    assertOk(!r.stderr.includes("t0k3n"), r.stderr);
  }
  await Deno.writeTextFile(`${dir.path}/a.csv`, "id,name\n1,a\n");
  const target = await dsync(["csv:http", "a.csv", `http://127.0.0.1:${closed}/users`], {
    cwd: dir.path,
  });
  assertEquals(target.code, 4, target.stderr);
  assertMatch(target.stderr, /connection refused/);
});

Deno.test("a default file target that exists already is not overwritten: refused, exit 2, until named", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/in.csv`, users(3));
  assertEquals(
    (await dsync(["csv:sqlite", "in.csv", "app.db#users", "-q"], { cwd: dir.path })).code,
    0,
  );
  const first = await dsync(["sqlite:csv", "app.db#users", "-q"], { cwd: dir.path });
  assertEquals(first.code, 0, first.stderr);
  assertEquals(await Deno.readTextFile(`${dir.path}/users.csv`), users(3));
  const precious = "id,name\nnot,from dsync\n";
  await Deno.writeTextFile(`${dir.path}/users.csv`, precious);
  for (const [pair, file] of [["sqlite:csv", "users.csv"], ["sqlite:json", "users.json"]]) {
    await Deno.writeTextFile(`${dir.path}/${file}`, file.endsWith("json") ? "[]" : precious);
    const r = await dsync([pair, "app.db#users"], { cwd: dir.path });
    assertEquals(r.code, 2, r.stderr);
    assertMatch(
      r.stderr,
      new RegExp(
        `no TARGET given, and the default target ${
          file.replace(".", "\\.")
        } exists already: not overwriting a file that was not named`,
      ),
    );
  }
  assertEquals(await Deno.readTextFile(`${dir.path}/users.csv`), precious);
  assertEquals(await Deno.readTextFile(`${dir.path}/users.json`), "[]");
  // Named, it is synced as any target.
  const named = await dsync(["sqlite:csv", "app.db#users", "users.csv", "-q"], { cwd: dir.path });
  assertEquals(named.code, 0, named.stderr);
  assertEquals(await Deno.readTextFile(`${dir.path}/users.csv`), precious + users(3).slice(8));
  // csv:csv with no TARGET would have the source as its default target.
  const self = await dsync(["csv:csv", "users.csv"], { cwd: dir.path });
  assertEquals(self.code, 2, self.stderr);
});

Deno.test("dsync run: relative paths and .dsync/state.db resolve against the config file's folder; --state overrides", async () => {
  await using dir = await tempDir();
  const proj = `${dir.path}/proj`;
  await Deno.mkdir(`${proj}/data`, { recursive: true });
  await Deno.mkdir(`${dir.path}/elsewhere`);
  await Deno.writeTextFile(`${proj}/data/users.csv`, users(3));
  await sqlite3(
    `${proj}/data/orders.db`,
    "create table orders (id integer primary key, item text, updated_at text not null);" +
      "insert into orders values (1, 'pen', '2024-05-01'), (2, 'ink', '2024-05-02');",
  );
  await Deno.writeTextFile(
    `${proj}/dsync.yaml`,
    [
      "datastores:",
      "  csv: { type: csv, path: data/users.csv }",
      "  src: { type: sqlite, path: data/orders.db }",
      "  dst: { type: sqlite, path: out.db }",
      "pipelines:",
      "  users:",
      "    source: { datastore: csv }",
      "    target: { datastore: dst, table: users }",
      "  orders:",
      "    source: { datastore: src, table: orders }",
      "    target: { datastore: dst, table: orders }",
      "    key: id",
      "    strategy: incremental",
      "    watermark: updated_at",
    ].join("\n") + "\n",
  );
  const first = await dsync(["run", "proj/dsync.yaml"], { cwd: dir.path });
  assertEquals(first.code, 0, first.stderr);
  assertMatch(first.stderr, /data\/users\.csv → sqlite:proj\/out\.db#users {2}\+3 ~0 -0/);
  assertEquals(await sqlite3(`${proj}/out.db`, "select count(*) from users"), "3");
  assertEquals(await sqlite3(`${proj}/out.db`, "select group_concat(item) from orders"), "pen,ink");
  assertEquals(
    await sqlite3(`${proj}/.dsync/state.db`, "select pipeline || '=' || value from watermarks"),
    'orders={"value":"2024-05-02"}',
  );
  const strays = [];
  for await (const entry of Deno.readDir(dir.path)) strays.push(entry.name);
  assertEquals(strays.sort(), ["elsewhere", "proj"], "nothing written in the current folder");
  // From another folder: the same files and the same watermark, nothing to do.
  await sqlite3(`${proj}/data/orders.db`, "insert into orders values (3, 'pad', '2024-05-03')");
  const again = await dsync(["run", "../proj/dsync.yaml"], { cwd: `${dir.path}/elsewhere` });
  assertEquals(again.code, 0, again.stderr);
  assertMatch(again.stderr, /#users {2}\+0 ~0 -0/);
  assertMatch(again.stderr, /#orders {2}\+1 ~0 -0/, "only the row past the watermark");
  assertEquals(
    await sqlite3(`${proj}/.dsync/state.db`, "select value from watermarks"),
    '{"value":"2024-05-03"}',
  );
  // --state names another file, relative to the current folder as any command-line path.
  const other = await dsync(["run", "../proj/dsync.yaml", "--state", "st.db"], {
    cwd: `${dir.path}/elsewhere`,
  });
  assertEquals(other.code, 0, other.stderr);
  assertMatch(other.stderr, /#orders {2}\+0 ~0 -0/);
  assertEquals(
    await sqlite3(`${dir.path}/elsewhere/st.db`, "select value from watermarks"),
    '{"value":"2024-05-03"}',
  );
});

export { assertOk };
