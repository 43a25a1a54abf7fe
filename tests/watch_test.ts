/**
 * Watch mode end to end: `--watch --every` repeats the sync until SIGTERM/SIGINT, a change made
 * while it runs is picked up within one interval (a file source at once), the first signal ends
 * a wait with exit 0 and lets a running round commit, a failing round backs off and the watch
 * goes on.
 * @module
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { dsync, ROOT, sqliteRows, tempDir } from "./helpers.ts";
import { serve } from "./http_server.ts";

/** A dsync child whose stderr is collected as it comes. */
function spawnWatch(args: string[], cwd: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", ROOT + "main.ts", ...args],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let stderr = "", stdout = "";
  const reading = Promise.all([
    (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) stderr += decoder.decode(chunk, { stream: true });
    })(),
    (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stdout) stdout += decoder.decode(chunk, { stream: true });
    })(),
  ]);
  return {
    child,
    stderr: () => stderr,
    stdout: () => stdout,
    /** Exit code and all of stderr, once it ended. */
    async done() {
      const status = await child.status;
      await reading;
      return { code: status.code, stderr, stdout };
    },
  };
}

/** Polls `check` every 50 ms until it is true; fails after `ms`. Returns the time it took. */
async function within(ms: number, what: string, check: () => boolean): Promise<number> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return performance.now() - start;
}

const rounds = (stderr: string) => stderr.split("\n").filter((l) => / → /.test(l)).length;

Deno.test("watch: a file source's change is synced at once; SIGTERM mid-wait exits 0", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/users.csv`, "id,name\n1,Ann\n2,Bob\n");
  const watch = spawnWatch(
    ["csv:sqlite", "users.csv", "app.db#users", "--watch", "--every", "1h"],
    dir.path,
  );
  await within(20_000, "first round", () => rounds(watch.stderr()) === 1);
  assertEquals(sqliteRows(`${dir.path}/app.db`, "users").length, 2);
  // The interval is an hour: only the file watch can start this round.
  await Deno.writeTextFile(`${dir.path}/users.csv`, "id,name\n1,Ann\n2,Rob\n3,Cy\n");
  await within(5_000, "the change in app.db", () => {
    try {
      return sqliteRows(`${dir.path}/app.db`, "users", "id").map((r) => r.name).join() ===
        "Ann,Rob,Cy";
    } catch {
      return false; // locked while written
    }
  });
  watch.child.kill("SIGTERM");
  const { code, stderr } = await watch.done();
  assertEquals(code, 0, stderr);
  assertEquals(rounds(stderr), 2, stderr);
  // one summary line per round, with its time
  for (const line of stderr.split("\n").filter((l) => / → /.test(l))) {
    assertMatch(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}users\.csv → sqlite:app\.db#users {2}/);
  }
  assertMatch(stderr, /stopped by SIGTERM after 2 rounds/);
});

Deno.test("watch: a changed HTTP source is picked up within one interval", async () => {
  await using dir = await tempDir();
  let people = [{ id: 1, name: "Ann" }];
  await using server = serve(() => Response.json(people));
  const watch = spawnWatch(
    ["http:sqlite", `${server.url}/people`, "app.db#people", "--watch", "--every", "1s"],
    dir.path,
  );
  await within(20_000, "first round", () => rounds(watch.stderr()) >= 1);
  people = [{ id: 1, name: "Ann" }, { id: 2, name: "Bob" }];
  const took = await within(3_000, "Bob in app.db", () => {
    try {
      return sqliteRows(`${dir.path}/app.db`, "people").length === 2;
    } catch {
      return false;
    }
  });
  // one interval, plus the round itself
  assertOk(took < 2_500, `took ${took} ms`);
  watch.child.kill("SIGINT");
  const { code, stderr } = await watch.done();
  assertEquals(code, 0, stderr);
  assertMatch(stderr, /stopped by SIGINT/);
});

Deno.test("watch: SIGTERM during a round lets it finish and commit, then exits 0", async () => {
  await using dir = await tempDir();
  let slow = false;
  let people = [{ id: 1, name: "Ann" }];
  await using server = serve(async () => {
    const answer = people;
    if (slow) await new Promise((r) => setTimeout(r, 1500));
    return Response.json(answer);
  });
  const watch = spawnWatch(
    ["http:sqlite", `${server.url}/people`, "app.db#people", "--watch", "--every", "300ms"],
    dir.path,
  );
  await within(20_000, "first round", () => rounds(watch.stderr()) >= 1);
  slow = true;
  people = [{ id: 1, name: "Ann" }, { id: 2, name: "Bob" }];
  const seen = server.requests.length;
  await within(5_000, "the slow round's request", () => server.requests.length > seen);
  watch.child.kill("SIGTERM");
  const { code, stderr } = await watch.done();
  assertEquals(code, 0, stderr);
  assertEquals(sqliteRows(`${dir.path}/app.db`, "people").map((r) => r.name), ["Ann", "Bob"]);
  assertMatch(stderr, /\+1 ~0 -0/);
  assertMatch(stderr, /stopped by SIGTERM/);
});

Deno.test("watch: a failing round is reported and backed off; the watch goes on", async () => {
  await using dir = await tempDir();
  let calls = 0;
  await using server = serve(() =>
    ++calls === 2
      ? new Response("[{not json", { headers: { "content-type": "application/json" } })
      : Response.json([{ id: calls, name: `n${calls}` }])
  );
  const watch = spawnWatch(
    [
      "http:sqlite",
      `${server.url}/people`,
      "app.db#people",
      "--watch",
      "--every",
      "200ms",
      "--delete",
      "--max-delete",
      "100%",
    ],
    dir.path,
  );
  await within(20_000, "a round after the failure", () => rounds(watch.stderr()) >= 2);
  watch.child.kill("SIGTERM");
  const { code, stderr } = await watch.done();
  assertEquals(code, 0, stderr);
  assertMatch(
    stderr,
    /dsync: \S+Z .*JSON[^\n]*\n(.*\n)?dsync: \S+Z round 2 failed \(exit 2\); next round in 400 ms/,
  );
  assertOk(calls >= 3);
});

Deno.test("watch: dsync run --watch repeats the pipelines; --every needs --watch", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/users.csv`, "id,name\n1,Ann\n");
  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    `datastores:
  files: { type: csv, path: users.csv }
  app: { type: sqlite, path: app.db }
pipelines:
  users:
    source: { datastore: files }
    target: { datastore: app, table: users }
`,
  );
  const bad = await dsync(["run", "dsync.yaml", "--every", "5s"], { cwd: dir.path });
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr, /--every needs --watch/);
  const badDuration = await dsync(["csv:sqlite", "users.csv", "--watch", "--every", "soon"], {
    cwd: dir.path,
  });
  assertEquals(badDuration.code, 2);
  assertMatch(badDuration.stderr, /--every soon: expected a duration/);
  const watch = spawnWatch(["run", "dsync.yaml", "--watch", "--every", "1h"], dir.path);
  await within(20_000, "first round", () => rounds(watch.stderr()) === 1);
  await Deno.writeTextFile(`${dir.path}/users.csv`, "id,name\n1,Ann\n2,Bob\n");
  await within(5_000, "Bob in app.db", () => {
    try {
      return sqliteRows(`${dir.path}/app.db`, "users").length === 2;
    } catch {
      return false;
    }
  });
  watch.child.kill("SIGTERM");
  const { code, stderr } = await watch.done();
  assertEquals(code, 0, stderr);
  assertMatch(stderr, /stopped by SIGTERM after 2 rounds/);
});

Deno.test("watch: --format summary -q writes one JSON line per round on stdout", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/users.csv`, "id,name\n1,Ann\n");
  const watch = spawnWatch(
    [
      "csv:sqlite",
      "users.csv",
      "app.db#users",
      "--watch",
      "--every",
      "200ms",
      "--format",
      "summary",
      "-q",
    ],
    dir.path,
  );
  await within(20_000, "three rounds", () => watch.stdout().split("\n").length > 3);
  watch.child.kill("SIGTERM");
  const { code, stderr, stdout } = await watch.done();
  assertEquals(code, 0, stderr);
  assertEquals(stderr, "");
  const lines = stdout.trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(lines.slice(0, 3).map((l) => [l.status, l.create]), [["ok", 1], ["ok", 0], [
    "ok",
    0,
  ]]);
  for (const line of lines) assertMatch(line.timestamp, /^\d{4}-\d\d-\d\dT/);
});

Deno.test("watch: a second signal interrupts the running round: rolled back, exit 143", async () => {
  await using dir = await tempDir();
  let slow = false;
  let people = [{ id: 1, name: "Ann" }];
  await using server = serve(async () => {
    const answer = people;
    if (slow) await new Promise((r) => setTimeout(r, 2500));
    return Response.json(answer);
  });
  const watch = spawnWatch(
    ["http:sqlite", `${server.url}/people`, "app.db#people", "--watch", "--every", "300ms"],
    dir.path,
  );
  await within(20_000, "first round", () => rounds(watch.stderr()) >= 1);
  slow = true;
  people = [{ id: 1, name: "Ann" }, { id: 2, name: "Bob" }];
  const seen = server.requests.length;
  await within(5_000, "the slow round's request", () => server.requests.length > seen);
  watch.child.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 200));
  watch.child.kill("SIGTERM");
  const { code, stderr } = await watch.done();
  assertEquals(code, 143, stderr);
  assertMatch(stderr, /interrupted by SIGTERM; rolled back, nothing written/);
  assertEquals(sqliteRows(`${dir.path}/app.db`, "people").map((r) => r.name), ["Ann"]);
});

Deno.test("watch: a config file's watch: {every:} makes dsync run repeat the pipelines; a bad duration is exit 2 at its line; --validate runs once", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/users.csv`, "id,name\n1,Ann\n");
  const config = (watch: string) =>
    Deno.writeTextFile(
      `${dir.path}/dsync.yaml`,
      `datastores:
  files: { type: csv, path: users.csv }
  app: { type: sqlite, path: app.db }
watch: ${watch}
pipelines:
  users:
    source: { datastore: files }
    target: { datastore: app, table: users }
`,
    );
  await config("{ every: soon }");
  const bad = await dsync(["run", "dsync.yaml"], { cwd: dir.path });
  assertEquals(bad.code, 2, bad.stderr);
  assertMatch(bad.stderr, /dsync\.yaml:4:\d+: watch\.every: soon: expected a duration/);
  await config("{ every: 300ms }");
  const validate = await dsync(["run", "dsync.yaml", "--validate"], { cwd: dir.path });
  assertEquals(validate.code, 0, validate.stderr);
  // No file changes: the rounds come from the interval alone.
  const watch = spawnWatch(["run", "dsync.yaml"], dir.path);
  await within(30_000, "three rounds", () => rounds(watch.stderr()) >= 3);
  watch.child.kill("SIGTERM");
  const { code, stderr } = await watch.done();
  assertEquals(code, 0, stderr);
  assertMatch(stderr, /stopped by SIGTERM after \d+ rounds/);
  assertEquals(sqliteRows(`${dir.path}/app.db`, "users").length, 1);
});
