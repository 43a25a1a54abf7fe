/**
 * The `nats` adapter against a real NATS server with JetStream (the machine's, or a throwaway
 * `nats-server -js`). What dsync wrote is checked with the test's own NATS.js client (a KV
 * handle, a core subscription, the stream's stored messages and their headers), not with dsync.
 * Every test has its own bucket, stream and subjects, and removes them afterwards.
 */
import { createHash } from "node:crypto";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { DatabaseSync } from "node:sqlite";
import {
  dsync,
  parseCsvSimple,
  parseNdjson,
  ROOT,
  sqliteExec,
  sqliteRows,
  tempDir,
} from "./helpers.ts";
import { silentListener, type StoreServer, uniqueName, withNats } from "./store_servers.ts";
import { serve } from "./http_server.ts";

type Rec = Record<string, unknown>;

const USERS = 'id,name,email\n1,Ann,ann@x.org\n2,Bob,\n3,"Cy Z",""\n';
const USERS2 = "id,name,email\n1,Ann,ann@new.org\n2,Bob,\n4,Di,di@x.org\n";

async function client(server: StoreServer): Promise<
  { nc: NatsConnection; jsm: JetStreamManager } & AsyncDisposable
> {
  const nc = await connect({ servers: `${server.host}:${server.port}` });
  const jsm = await jetstreamManager(nc);
  return { nc, jsm, [Symbol.asyncDispose]: () => nc.close() };
}

/** Every message stored in `stream`, with its subject, body and Nats-Msg-Id. */
async function stored(jsm: JetStreamManager, stream: string) {
  const info = await jsm.streams.info(stream);
  const out: { subject: string; body: Rec; line: string; id: string | undefined }[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (!m) continue;
    const line = new TextDecoder().decode(m.data);
    out.push({
      subject: m.subject,
      body: JSON.parse(line),
      line,
      id: m.header?.get("Nats-Msg-Id"),
    });
  }
  return out;
}

const msgId = (subject: string, previous: number, line: string) =>
  createHash("sha256").update(`${subject}\n${previous}\n${line}`).digest("hex");

Deno.test("csv:nats KV bucket: load, idempotent re-run, update, --delete, nats:csv back", async () => {
  await using server = await withNats();
  await using nats = await client(server);
  await using dir = await tempDir();
  const bucket = uniqueName("users");
  const url = `nats://${server.host}:${server.port}/kv/${bucket}`;
  const kvm = new Kvm(nats.nc);
  try {
    await Deno.writeTextFile(`${dir.path}/users.csv`, USERS);
    await Deno.writeTextFile(`${dir.path}/users2.csv`, USERS2);
    const load = await dsync(["csv:nats", "users.csv", url, "--key", "id"], { cwd: dir.path });
    assertEquals(load.code, 0, load.stderr);
    assertMatch(load.stderr, /\+3 ~0 -0/);
    const kv = await kvm.open(bucket);
    const entry = async (key: string) => {
      const e = await kv.get(key);
      return e && e.operation === "PUT" ? JSON.parse(e.string()) : null;
    };
    assertEquals(await entry("1"), { id: 1, name: "Ann", email: "ann@x.org" });
    assertEquals(await entry("2"), { id: 2, name: "Bob", email: null });
    assertEquals(await entry("3"), { id: 3, name: "Cy Z", email: "" });

    const again = await dsync(["csv:nats", "users.csv", url, "--key", "id"], { cwd: dir.path });
    assertEquals([again.code, again.stdout], [0, ""], again.stderr);

    const update = await dsync(["csv:nats", "users2.csv", url, "--key", "id", "--delete"], {
      cwd: dir.path,
    });
    assertEquals(update.code, 0, update.stderr);
    assertMatch(update.stderr, /\+1 ~1 -1/);
    assertEquals(await entry("1"), { id: 1, name: "Ann", email: "ann@new.org" });
    assertEquals(await entry("3"), null, "deleted as a KV delete");
    assertEquals((await kv.get("3"))?.operation, "DEL");
    assertEquals(await entry("4"), { id: 4, name: "Di", email: "di@x.org" });
    const keys: string[] = [];
    for await (const k of await kv.keys()) keys.push(k);
    assertEquals(keys.sort(), ["1", "2", "4"]);

    const back = await dsync(["nats:csv", url, "-", "--key", "id"], { cwd: dir.path });
    assertEquals(back.code, 0, back.stderr);
    const rows = parseCsvSimple(back.stdout);
    assertEquals(rows[0], ["id", "name", "email"]);
    assertEquals(rows.slice(1).sort((a, b) => Number(a[0]) - Number(b[0])), [
      ["1", "Ann", "ann@new.org"],
      ["2", "Bob", ""],
      ["4", "Di", "di@x.org"],
    ]);
    const none = await dsync(["csv:nats", "users2.csv", url, "--key", "id", "-n"], {
      cwd: dir.path,
    });
    assertEquals(none.stdout, "");
  } finally {
    await kvm.open(bucket).then((kv) => kv.destroy()).catch(() => {});
  }
});

Deno.test("csv:nats change events on JetStream: acks, deterministic Nats-Msg-Id, no re-publish, updates and deletes by op subject", async () => {
  await using server = await withNats();
  await using nats = await client(server);
  await using dir = await tempDir();
  const stream = uniqueName("EVENTS");
  const root = uniqueName("ev");
  const url = `nats://${server.host}:${server.port}/${root}.users.{op}`;
  const seen: string[] = [];
  const sub = nats.nc.subscribe(`${root}.>`, { callback: (_e, m) => void seen.push(m.subject) });
  await nats.nc.flush();
  try {
    await nats.jsm.streams.add({ name: stream, subjects: [`${root}.users.*`] });
    await Deno.writeTextFile(`${dir.path}/users.csv`, USERS);
    await Deno.writeTextFile(`${dir.path}/users2.csv`, USERS2);
    const plan = await dsync(["csv:nats", "users.csv", url, "--key", "id", "-n"], {
      cwd: dir.path,
    });
    assertEquals(plan.code, 0, plan.stderr);
    const load = await dsync(["csv:nats", "users.csv", url, "--key", "id"], { cwd: dir.path });
    assertEquals(load.code, 0, load.stderr);
    assertMatch(load.stderr, new RegExp(`3 published, 3 acked by stream ${stream}`));
    let messages = await stored(nats.jsm, stream);
    assertEquals(messages.map((m) => m.subject), Array(3).fill(`${root}.users.create`));
    assertEquals(
      messages.map((m) => m.line + "\n").join(""),
      plan.stdout,
      "the NDJSON change lines",
    );
    assertEquals(messages.map((m) => m.id), messages.map((m) => msgId(m.subject, 0, m.line)));

    const again = await dsync(["csv:nats", "users.csv", url, "--key", "id"], { cwd: dir.path });
    assertEquals([again.code, again.stdout], [0, ""], again.stderr);
    assertEquals((await stored(nats.jsm, stream)).length, 3, "a second run publishes nothing");

    const update = await dsync(["csv:nats", "users2.csv", url, "--key", "id", "--delete"], {
      cwd: dir.path,
    });
    assertEquals(update.code, 0, update.stderr);
    messages = await stored(nats.jsm, stream);
    assertEquals(messages.slice(3).map((m) => [m.subject, m.body]), [
      [`${root}.users.create`, {
        op: "create",
        key: { id: 4 },
        after: { id: 4, name: "Di", email: "di@x.org" },
      }],
      [`${root}.users.update`, {
        op: "update",
        key: { id: 1 },
        before: { email: "ann@x.org" },
        after: { email: "ann@new.org" },
      }],
      [`${root}.users.delete`, {
        op: "delete",
        key: { id: 3 },
        before: { id: 3, name: "Cy Z", email: "" },
      }],
    ]);
    // The update's id is based on the sequence of record 1's previous event (its create, seq 1).
    assertEquals(messages[4].id, msgId(messages[4].subject, 1, messages[4].line));
    await nats.nc.flush();
    assertEquals(seen.length, 6, "a subscriber saw each published change once");
    // The server itself treats a re-publish with that id as a duplicate.
    const js = jetstream(nats.nc);
    const ack = await js.publish(messages[4].subject, messages[4].line, { msgID: messages[4].id! });
    assertEquals(ack.duplicate, true);
    assertEquals((await stored(nats.jsm, stream)).length, 6);

    // The stream read back as a source: the records its events describe.
    const back = await dsync([
      "nats:ndjson",
      `nats://${server.host}:${server.port}/${root}.users.>`,
      "-",
    ], {
      cwd: dir.path,
    });
    assertEquals(back.code, 0, back.stderr);
    assertEquals(parseNdjson(back.stdout).sort((a, b) => Number(a.id) - Number(b.id)), [
      { id: 1, name: "Ann", email: "ann@new.org" },
      { id: 2, name: "Bob", email: null },
      { id: 4, name: "Di", email: "di@x.org" },
    ]);
  } finally {
    sub.unsubscribe();
    await nats.jsm.streams.delete(stream).catch(() => {});
  }
});

Deno.test("nats events: a publish refused halfway stops with exit 4 and a report; the re-run publishes only the rest, no duplicates", async () => {
  await using server = await withNats();
  await using nats = await client(server);
  await using dir = await tempDir();
  const stream = uniqueName("LIMITED");
  const root = uniqueName("lim");
  const url = `nats://${server.host}:${server.port}/${root}.users.{op}`;
  try {
    // The stream takes 2 messages, then refuses new ones.
    await nats.jsm.streams.add({
      name: stream,
      subjects: [`${root}.users.*`],
      max_msgs: 2,
      discard: "new" as never,
    });
    await Deno.writeTextFile(
      `${dir.path}/users.csv`,
      "id,name\n1,a\n2,b\n3,c\n4,d\n",
    );
    const fail = await dsync(["csv:nats", "users.csv", url, "--key", "id", "--batch-size", "1"], {
      cwd: dir.path,
    });
    assertEquals(fail.code, 4, fail.stderr);
    const report = parseNdjson(fail.stderr.split("\n").filter((l) => l.startsWith("{")).join("\n"));
    assertEquals(report.map((r) => [r.key, r.result]), [
      [{ id: 1 }, "applied"],
      [{ id: 2 }, "applied"],
      [{ id: 3 }, "failed"],
      [{ id: 4 }, "not applied"],
    ]);
    assertMatch(fail.stderr, /2 of 4 changes published and acked, 2 not/);
    assertEquals((await stored(nats.jsm, stream)).length, 2);

    const info = await nats.jsm.streams.info(stream);
    await nats.jsm.streams.update(stream, { ...info.config, max_msgs: -1 });
    const rerun = await dsync(["csv:nats", "users.csv", url, "--key", "id"], { cwd: dir.path });
    assertEquals(rerun.code, 0, rerun.stderr);
    assertMatch(rerun.stderr, /\+2 ~0 -0/);
    const messages = await stored(nats.jsm, stream);
    assertEquals(messages.map((m) => (m.body.key as Rec).id), [1, 2, 3, 4], "each record once");
    assertEquals(new Set(messages.map((m) => m.id)).size, 4);
  } finally {
    await nats.jsm.streams.delete(stream).catch(() => {});
  }
});

Deno.test("nats events without a stream: core NATS publish, said to be at most once", async () => {
  await using server = await withNats();
  await using nats = await client(server);
  await using dir = await tempDir();
  const root = uniqueName("core");
  const got: string[] = [];
  const sub = nats.nc.subscribe(`${root}.>`, {
    callback: (_e, m) => void got.push(`${m.subject} ${m.string()}`),
  });
  await nats.nc.flush();
  try {
    await Deno.writeTextFile(`${dir.path}/users.csv`, "id,name\n1,a\n");
    const run = await dsync(
      ["csv:nats", "users.csv", `nats://${server.host}:${server.port}/${root}.{table}.{op}`],
      { cwd: dir.path },
    );
    assertEquals(run.code, 0, run.stderr);
    assertMatch(run.stderr, /core NATS.*at most once/);
    const deadline = Date.now() + 3000;
    while (got.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assertEquals(got, [
      `${root}.users.create {"op":"create","key":{"id":1},"after":{"id":1,"name":"a"}}`,
    ]);
    const bad = await dsync(["nats:csv", `nats://tok3n-secret@127.0.0.1:1/x.>`, "-"], {
      cwd: dir.path,
    });
    assertEquals(bad.code, 4, bad.stderr);
    assertMatch(
      bad.stderr,
      /^dsync: nats:\/\/127\.0\.0\.1:1: cannot connect to 127\.0\.0\.1:1: connection refused/,
    );
    assertOk(!bad.stderr.includes("tok3n-secret"), bad.stderr);
  } finally {
    sub.unsubscribe();
  }
});

Deno.test("dsync apply from a JetStream feed: durable consumer resumes, acks after commit, a conflict stops unacked, redelivered changes are skipped", async () => {
  await using server = await withNats();
  await using nats = await client(server);
  await using dir = await tempDir();
  const stream = uniqueName("FEED");
  const root = uniqueName("feed");
  const events = `nats://${server.host}:${server.port}/${root}.users.{op}`;
  const feed = `nats://${server.host}:${server.port}/${root}.users.>`;
  const db = `${dir.path}/app.db`;
  try {
    await Deno.writeTextFile(`${dir.path}/users.csv`, USERS);
    await Deno.writeTextFile(`${dir.path}/users2.csv`, USERS2);
    const publish = await dsync(
      ["csv:nats", "users.csv", events, "--key", "id", "--stream", stream, "-q"],
      { cwd: dir.path },
    );
    assertEquals(publish.code, 0, publish.stderr);
    const first = await dsync(["apply", "sqlite", "app.db#users", feed], { cwd: dir.path });
    assertEquals(first.code, 0, first.stderr);
    assertMatch(first.stderr, /\+3 ~0 -0 .*\(3 acked\)/);
    assertEquals(sqliteRows(db, "users", "id"), [
      { id: 1, name: "Ann", email: "ann@x.org" },
      { id: 2, name: "Bob", email: null },
      { id: 3, name: "Cy Z", email: "" },
    ]);
    const again = await dsync(["apply", "sqlite", "app.db#users", feed], { cwd: dir.path });
    assertEquals(again.code, 0, again.stderr);
    assertMatch(again.stderr, /\+0 ~0 -0 .*\(0 acked\)/, "the durable consumer resumes");
    // Another consumer gets every event again: the target shows them, so they are skipped.
    const replay = await dsync(
      ["apply", "sqlite", "app.db#users", feed, "--durable", "replay"],
      { cwd: dir.path },
    );
    assertEquals(replay.code, 0, replay.stderr);
    assertMatch(replay.stderr, /\+0 ~0 -0 .*\(3 acked, 3 applied already\)/);

    const more = await dsync(
      ["csv:nats", "users2.csv", events, "--key", "id", "--delete", "-q"],
      { cwd: dir.path },
    );
    assertEquals(more.code, 0, more.stderr);
    sqliteExec(db, "UPDATE users SET email = 'moved@x.org' WHERE id = 1");
    const conflict = await dsync(["apply", "sqlite", "app.db#users", feed], { cwd: dir.path });
    assertEquals(conflict.code, 5, conflict.stderr);
    assertMatch(conflict.stderr, /'email' is now "moved@x.org"/);
    assertEquals(sqliteRows(db, "users", "id").length, 3, "nothing of the batch applied");
    sqliteExec(db, "UPDATE users SET email = 'ann@x.org' WHERE id = 1");
    const resumed = await dsync(["apply", "sqlite", "app.db#users", feed], { cwd: dir.path });
    assertEquals(resumed.code, 0, resumed.stderr);
    assertMatch(resumed.stderr, /\+1 ~1 -1 .*\(3 acked\)/, "the unacked batch came again");
    assertEquals(sqliteRows(db, "users", "id"), [
      { id: 1, name: "Ann", email: "ann@new.org" },
      { id: 2, name: "Bob", email: null },
      { id: 4, name: "Di", email: "di@x.org" },
    ]);
  } finally {
    await nats.jsm.streams.delete(stream).catch(() => {});
  }
});

Deno.test("dsync apply from a JetStream feed killed (kill -9) between two batches: the restart applies the rest, each event once", async () => {
  await using server = await withNats();
  await using nats = await client(server);
  await using dir = await tempDir();
  const stream = uniqueName("KILLED");
  const root = uniqueName("kill");
  const feed = `nats://${server.host}:${server.port}/${root}.users.>`;
  const db = `${dir.path}/app.db`;
  const total = 5000; // five batches of 1000 events
  try {
    const rows = Array.from({ length: total }, (_, i) => `${i + 1},name ${i + 1}`);
    await Deno.writeTextFile(`${dir.path}/users.csv`, `id,name\n${rows.join("\n")}\n`);
    const publish = await dsync(
      [
        "csv:nats",
        "users.csv",
        `nats://${server.host}:${server.port}/${root}.users.{op}`,
        "--key",
        "id",
        "--stream",
        stream,
        "-q",
      ],
      { cwd: dir.path },
    );
    assertEquals(publish.code, 0, publish.stderr);

    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-lock",
        `${ROOT}main.ts`,
        "apply",
        "sqlite",
        "app.db#users",
        feed,
        "--lock-timeout",
        "10m",
      ],
      cwd: dir.path,
      stdout: "null",
      stderr: "null",
      env: { NO_COLOR: "1" },
    }).spawn();
    const count = () => {
      try {
        return sqliteRows(db, "users").length;
      } catch {
        return 0; // the first batch has not created the table yet
      }
    };
    while (count() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // Hold the write lock: dsync cannot commit another batch, and waits for it (--lock-timeout).
    const lock = new DatabaseSync(db);
    lock.exec("PRAGMA busy_timeout = 60000; BEGIN EXCLUSIVE");
    const committed = Number((lock.prepare("SELECT count(*) AS n FROM users").get() as Rec).n);
    child.kill("SIGKILL");
    const status = await child.status;
    lock.exec("ROLLBACK");
    lock.close();
    assertEquals(status.signal, "SIGKILL", "killed in the middle, not finished");
    assertOk(committed > 0 && committed < total, `${committed} of ${total} committed`);
    const before = await nats.jsm.consumers.info(stream, (await firstConsumer(nats.jsm, stream))!);
    // Acknowledged: what was committed, or one batch less when the kill came between a commit
    // and its acknowledgement; that batch comes again and is found applied already.
    const floor = before.ack_floor.stream_seq;
    assertOk(floor === committed || floor === committed - 1000, `ack floor ${floor}`);

    const restart = await dsync(["apply", "sqlite", "app.db#users", feed], { cwd: dir.path });
    assertEquals(restart.code, 0, restart.stderr);
    const already = floor < committed ? `, ${committed - floor} applied already` : "";
    assertMatch(
      restart.stderr,
      new RegExp(`\\+${total - committed} ~0 -0 .*\\(${total - floor} acked${already}\\)`),
    );
    const result = sqliteRows(db, "users", "id");
    assertEquals(result.length, total);
    assertEquals(result.map((r) => `${r.id},${r.name}`), rows);
    const after = await nats.jsm.consumers.info(stream, before.name);
    assertEquals([after.ack_floor.stream_seq, after.num_pending, after.num_ack_pending], [
      total,
      0,
      0,
    ]);
  } finally {
    await nats.jsm.streams.delete(stream).catch(() => {});
  }
});

/** The name of the one durable consumer dsync made on `stream`. */
async function firstConsumer(jsm: JetStreamManager, stream: string): Promise<string | undefined> {
  for await (const c of jsm.consumers.list(stream)) if (c.config.durable_name) return c.name;
  return undefined;
}

Deno.test("nats connect: a port where no NATS answers (silent, an HTTP server) is one line in bounded time, exit 4, no password", async () => {
  await using dir = await tempDir();
  await using http = serve(() => new Response("hello"));
  await using silent = silentListener();
  await Deno.writeTextFile(`${dir.path}/a.csv`, "id,v\n1,a\n");
  for (const port of [silent.port, http.port]) {
    for (
      const args of [
        ["nats:csv", `nats://u:s3cret-pw@127.0.0.1:${port}/kv/b`, "-"],
        ["csv:nats", "a.csv", `nats://u:s3cret-pw@127.0.0.1:${port}/dsync.{table}.{op}`],
      ]
    ) {
      const run = await dsync(args, { cwd: dir.path });
      assertEquals(run.code, 4, run.stderr);
      assertEquals(
        run.stderr.split("\n")[0],
        `dsync: nats://127.0.0.1:${port}: cannot connect to 127.0.0.1:${port}: connected, but no NATS greeting within 10 s (another service on that port, or a frozen server)`,
      );
      assertOk(!run.stderr.includes("s3cret-pw") && !run.stdout.includes("s3cret-pw"));
    }
  }
});

Deno.test("nats datastores in dsync run: a change-event stream as a pipeline source, a KV bucket as a target", async () => {
  await using server = await withNats();
  await using nats = await client(server);
  await using dir = await tempDir();
  const stream = uniqueName("PIPE");
  const root = uniqueName("pipe");
  const bucket = uniqueName("pipeb");
  const origin = `nats://${server.host}:${server.port}`;
  try {
    await Deno.writeTextFile(`${dir.path}/users.csv`, USERS);
    await Deno.writeTextFile(`${dir.path}/users2.csv`, USERS2);
    const publish = (file: string) =>
      dsync(
        [
          "csv:nats",
          file,
          `${origin}/${root}.users.{op}`,
          "--key",
          "id",
          "--stream",
          stream,
          "--delete",
        ],
        { cwd: dir.path },
      );
    assertEquals((await publish("users.csv")).code, 0);
    await Deno.writeTextFile(
      `${dir.path}/dsync.yaml`,
      `datastores:
  events: { type: nats, url: "${origin}/${root}.users.>" }
  out: { type: sqlite, path: app.db }
  bucket: { type: nats, url: "${origin}/kv/${bucket}" }
pipelines:
  users:
    source: { datastore: events }
    target: { datastore: out, table: users }
    key: [id]
    policy: { delete: true }
  to_kv:
    source: { datastore: events }
    target: { datastore: bucket }
    key: [id]
    policy: { delete: true }
`,
    );
    const first = await dsync(["run", "dsync.yaml"], { cwd: dir.path });
    assertEquals(first.code, 0, first.stderr);
    assertEquals(sqliteRows(`${dir.path}/app.db`, "users", "id").length, 3);
    assertEquals((await publish("users2.csv")).code, 0, "events: +1 ~1 -1");
    const second = await dsync(["run", "dsync.yaml"], { cwd: dir.path });
    assertEquals(second.code, 0, second.stderr);
    assertMatch(second.stderr, /→ sqlite:app\.db#users +\+1 ~1 -1/);
    const expected = [
      { id: 1, name: "Ann", email: "ann@new.org" },
      { id: 2, name: "Bob", email: null },
      { id: 4, name: "Di", email: "di@x.org" },
    ];
    assertEquals(sqliteRows(`${dir.path}/app.db`, "users", "id"), expected);
    const kv = await new Kvm(nats.nc).open(bucket);
    const entries: Rec[] = [];
    for await (const key of await kv.keys()) {
      entries.push(JSON.parse((await kv.get(key))!.string()));
    }
    assertEquals(entries.sort((a, b) => Number(a.id) - Number(b.id)), expected);
    const third = await dsync(["run", "dsync.yaml"], { cwd: dir.path });
    assertEquals([third.code, third.stdout], [0, ""], third.stderr);
  } finally {
    await nats.jsm.streams.delete(stream).catch(() => {});
    await new Kvm(nats.nc).open(bucket).then((kv) => kv.destroy()).catch(() => {});
  }
});
