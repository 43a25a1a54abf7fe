/**
 * First loads streamed into the write session (src/engine/stream_creates.ts): with
 * DSYNC_SPILL_RECORDS=64 the sample is 4 creates, so a few hundred rows stream. Streamed or not,
 * the table must be the same (types inferred from every value), and errors, limits and files out
 * of key order must leave the target untouched, as without streaming. The run without streaming
 * is the same command with the change set printed as a table (`--format table`), which holds the
 * plan. A change set printed as JSON (ndjson, json) streams too: its creates are kept as the text
 * printed once the plan is complete, and must be the held plan's, byte for byte.
 */
import postgres from "postgres";
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, ROOT, type RunResult, sqliteExec, sqliteRows, tempDir } from "./helpers.ts";
import { withPostgres } from "../scripts/pg_server.ts";

const SMALL_SAMPLE = { DSYNC_SPILL_RECORDS: "64" };
const STREAMED = /(\d+) creates written as they were read/;

/** 300 rows: integers, floats, booleans, dates, zip codes; `late(id)` gives the last column. */
function csv(late: (id: number) => string, order = (ids: number[]) => ids): string {
  const ids = order(Array.from({ length: 300 }, (_, i) => i + 1));
  const lines = ids.map((id) =>
    [
      id,
      `${id}.5`,
      id % 2 ? "true" : "false",
      `2024-01-${String(id % 28 + 1).padStart(2, "0")}`,
      id % 7 ? String(id).padStart(5, "0") : "",
      `"n ${id}, x"`,
      late(id),
    ].join(",")
  );
  return ["id,amount,flag,day,zip,name,late", ...lines].join("\n") + "\n";
}

/** The schema and every row with SQLite's own types. */
function sqliteState(path: string): unknown {
  const schema = sqliteRows(path, "sqlite_master", "name").map((r) => r.sql);
  const rows = sqliteRows(path, "t", "id");
  return { schema, rows: JSON.stringify(rows, (_k, v) => typeof v === "bigint" ? `${v}n` : v) };
}

async function loadBoth(dir: string, text: string, extra: string[] = []) {
  await Deno.writeTextFile(`${dir}/s.csv`, text);
  const streamed = await dsync(
    ["csv:sqlite", "s.csv", "a.db#t", "--format", "summary", "-v", ...extra],
    { cwd: dir, env: SMALL_SAMPLE },
  );
  const held = await dsync(["csv:sqlite", "s.csv", "b.db#t", "--format", "table", ...extra], {
    cwd: dir,
    env: SMALL_SAMPLE,
  });
  return { streamed, held };
}

Deno.test("stream: a first load is written as it is read, the table as without streaming", async () => {
  await using dir = await tempDir();
  const { streamed, held } = await loadBoth(dir.path, csv((id) => String(id * 3)));
  assertEquals([streamed.code, held.code], [0, 0], streamed.stderr + held.stderr);
  assertEquals(STREAMED.exec(streamed.stderr)?.[1], "300", streamed.stderr);
  assertEquals(JSON.parse(streamed.stdout).create, 300);
  assertEquals(sqliteState(`${dir.path}/a.db`), sqliteState(`${dir.path}/b.db`));
  // Idempotent: the second run plans nothing.
  const again = await dsync(["csv:sqlite", "s.csv", "a.db#t", "--format", "summary"], {
    cwd: dir.path,
    env: SMALL_SAMPLE,
  });
  assertEquals(JSON.parse(again.stdout).create, 0, again.stderr);
});

Deno.test("stream: a type that widens after the sample starts over: same types as without", async () => {
  await using dir = await tempDir();
  // Integers until record 250, then text: the column is TEXT, its integers written as text.
  const { streamed, held } = await loadBoth(
    dir.path,
    csv((id) => id === 250 ? "n/a" : String(id)),
  );
  assertEquals([streamed.code, held.code], [0, 0], streamed.stderr + held.stderr);
  assertEquals(STREAMED.exec(streamed.stderr), null, "started over without streaming");
  assertEquals(sqliteState(`${dir.path}/a.db`), sqliteState(`${dir.path}/b.db`));
  const schema = sqliteRows(`${dir.path}/a.db`, "sqlite_master", "name")[0].sql as string;
  assertMatch(schema, /"late" TEXT/);
  assertEquals(sqliteRows(`${dir.path}/a.db`, "t", "id")[0].late, "1");
});

/** A load printing its change set as `format`, and the same plan held by a dry run. */
async function printedBoth(dir: string, text: string, format: string) {
  await Deno.writeTextFile(`${dir}/s.csv`, text);
  const args = ["csv:sqlite", "s.csv", "--format", format];
  const streamed = await dsync([...args, "a.db#t", "-v"], { cwd: dir, env: SMALL_SAMPLE });
  const dry = await dsync([...args, "b.db#t", "-n"], { cwd: dir, env: SMALL_SAMPLE });
  assertEquals([streamed.code, dry.code], [0, 0], streamed.stderr + dry.stderr);
  return { streamed, dry };
}

Deno.test("stream: the change set printed as ndjson is the plan's, byte for byte", async () => {
  await using dir = await tempDir();
  const { streamed, dry } = await printedBoth(dir.path, csv((id) => String(id * 3)), "ndjson");
  assertEquals(STREAMED.exec(streamed.stderr)?.[1], "300", streamed.stderr);
  assertEquals(streamed.stdout, dry.stdout);
  const lines = streamed.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
  assertEquals(lines.length, 300);
  assertEquals(lines[299], {
    op: "create",
    key: { id: 300 },
    after: {
      id: 300,
      amount: 300.5,
      flag: false,
      day: "2024-01-21",
      zip: "00300",
      name: "n 300, x",
      late: 900,
    },
  });
  assertEquals(sqliteRows(`${dir.path}/a.db`, "t", "id").length, 300);
});

Deno.test("stream: the change set printed as json: the plan's changes, the summary's counts", async () => {
  await using dir = await tempDir();
  const { streamed, dry } = await printedBoth(dir.path, csv(String), "json");
  assertEquals(STREAMED.exec(streamed.stderr)?.[1], "300", streamed.stderr);
  const [a, b] = [streamed, dry].map((run) => JSON.parse(run.stdout));
  assertEquals(a.changes, b.changes);
  assertEquals([a.summary.create, a.summary.dry_run, b.summary.dry_run], [300, false, true]);
  // The text after the summary is the dry run's, to the byte.
  const changes = (text: string) => text.slice(text.indexOf(`"changes":[`));
  assertEquals(changes(streamed.stdout), changes(dry.stdout));
});

Deno.test("stream: a type that widens after the sample: the ndjson printed once, as held", async () => {
  await using dir = await tempDir();
  const late = (id: number) => id === 250 ? "n/a" : String(id);
  const { streamed, dry } = await printedBoth(dir.path, csv(late), "ndjson");
  assertEquals(STREAMED.exec(streamed.stderr), null, "started over without streaming");
  assertEquals(streamed.stdout, dry.stdout);
  assertEquals(streamed.stdout.trimEnd().split("\n").length, 300);
  assertEquals(JSON.parse(streamed.stdout.split("\n")[0]).after.late, "1");
});

Deno.test("stream: killed mid-load while printing ndjson: no table, no temporary file left", async () => {
  await using dir = await tempDir();
  await using tmp = await tempDir();
  const [header, ...lines] = csv(String).trimEnd().split("\n");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", `${ROOT}main.ts`, "csv:sqlite", "-", "a.db#t", "-v"],
    cwd: dir.path,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { ...SMALL_SAMPLE, TMPDIR: tmp.path, NO_COLOR: "1" },
  }).spawn();
  // Half the records: past the sample, so batches are written and kept as change-set text;
  // the run then waits on stdin and is killed.
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode([header, ...lines.slice(0, 150)].join("\n") + "\n"));
  const deadline = Date.now() + 30_000;
  while (!await Deno.stat(`${dir.path}/a.db`).then(() => true, () => false)) {
    if (Date.now() > deadline) throw new Error("the load never opened its target");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await new Promise((resolve) => setTimeout(resolve, 1500));
  child.kill("SIGKILL");
  await child.output().catch(() => {});
  await writer.close().catch(() => {});
  const left = [];
  for await (const entry of Deno.readDir(tmp.path)) left.push(entry.name);
  assertEquals(left, []);
  const tables = sqliteRows(`${dir.path}/a.db`, "sqlite_master", "name").map((r) => r.name);
  assertEquals(tables, []);
});

Deno.test("stream: a file out of key order is rolled back to the savepoint and hash-joined", async () => {
  await using dir = await tempDir();
  // In order for 200 records (50 batches streamed), then one out of order.
  const order = (ids: number[]) => [...ids.slice(0, 200), ids[299], ...ids.slice(200, 299)];
  const { streamed, held } = await loadBoth(dir.path, csv(String, order));
  assertEquals([streamed.code, held.code], [0, 0], streamed.stderr + held.stderr);
  assertMatch(streamed.stderr, /paired by a hash join/);
  assertEquals(sqliteState(`${dir.path}/a.db`), sqliteState(`${dir.path}/b.db`));
  assertEquals(sqliteRows(`${dir.path}/a.db`, "t", "id").length, 300);
});

/** The database has no table `t` (or no file at all). */
function noTable(path: string): boolean {
  try {
    Deno.statSync(path);
  } catch {
    return true;
  }
  return sqliteRows(path, "sqlite_master", "name").every((r) => r.name !== "t");
}

Deno.test("stream: a bad record late, a late duplicate key: exit 2, nothing written", async () => {
  await using dir = await tempDir();
  for (const late of [(id: number) => id === 280 ? "" : "x"]) {
    // An empty key on line 282 (record 280 after the header).
    const text = csv(late).replace("\n280,", "\n,");
    const { streamed, held } = await loadBoth(dir.path, text);
    assertEquals([streamed.code, held.code], [2, 2], streamed.stderr);
    assertMatch(streamed.stderr, /s\.csv:281: key field 'id' is empty/);
    assertEquals(JSON.parse(streamed.stdout).exit_code, 2);
    assertEquals([noTable(`${dir.path}/a.db`), noTable(`${dir.path}/b.db`)], [true, true]);
  }
  const duplicate = csv(String).replace("\n281,", "\n280,");
  const { streamed } = await loadBoth(dir.path, duplicate);
  assertEquals(streamed.code, 2, streamed.stderr);
  assertMatch(streamed.stderr, /duplicate key id="280" at s\.csv:281 and s\.csv:282/);
  assertEquals(noTable(`${dir.path}/a.db`), true);
});

Deno.test("stream: an empty typed table and a bad value late: exit 2, the table stays empty", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/e.db`;
  sqliteExec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, amount REAL, late INTEGER)");
  const lines = Array.from({ length: 300 }, (_, i) => `${i + 1},${i}.5,${i === 279 ? "x" : i}`);
  await Deno.writeTextFile(`${dir.path}/s.csv`, ["id,amount,late", ...lines].join("\n") + "\n");
  const r = await dsync(["csv:sqlite", "s.csv", "e.db#t", "--format", "summary", "-q"], {
    cwd: dir.path,
    env: SMALL_SAMPLE,
  });
  assertEquals(r.code, 2, r.stderr);
  assertMatch(r.stderr, /s\.csv:281: field 'late'/);
  assertEquals(sqliteRows(db, "t", "id"), []);
  const ok = await dsync([
    "csv:sqlite",
    "s.csv",
    "e.db#t",
    "--format",
    "summary",
    "-v",
    "--exclude",
    "late",
  ], {
    cwd: dir.path,
    env: SMALL_SAMPLE,
  });
  assertEquals(ok.code, 0, ok.stderr);
  assertEquals(STREAMED.exec(ok.stderr)?.[1], "300", ok.stderr);
  assertEquals(sqliteRows(db, "t", "id").length, 300);
});

Deno.test("stream: --max-create is counted as the creates stream: exit 3, rolled back", async () => {
  await using dir = await tempDir();
  for (const limit of [["--max-create", "100"], ["--max-changes", "5%"]]) {
    const { streamed, held } = await loadBoth(dir.path, csv(String), limit);
    assertEquals([streamed.code, held.code], [3, 3], streamed.stderr);
    // The same message as without streaming: the whole count.
    assertEquals(
      streamed.stderr.split("\n")[0].replace(/^dsync: /, ""),
      held.stderr.split("\n")[0].replace(/^dsync: /, ""),
    );
    assertMatch(streamed.stderr, /refused: 300 (creates|changes) exceed/);
    assertEquals([noTable(`${dir.path}/a.db`), noTable(`${dir.path}/b.db`)], [true, true]);
  }
});

Deno.test("stream: a dry run writes nothing and streams nothing", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/s.csv`, csv(String));
  const r = await dsync(["csv:sqlite", "s.csv", "a.db#t", "-n", "--format", "summary", "-v"], {
    cwd: dir.path,
    env: SMALL_SAMPLE,
  });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(STREAMED.exec(r.stderr), null);
  assertEquals(JSON.parse(r.stdout).create, 300);
  assertEquals(noTable(`${dir.path}/a.db`), true);
});

Deno.test("stream: PostgreSQL, new and empty tables; a late bad value rolls everything back", async () => {
  const server = await withPostgres();
  const sql = postgres(server.url, { max: 1, onnotice: () => {} });
  const schema = `dsync_stream_${crypto.randomUUID().slice(0, 8)}`;
  await sql.unsafe(`create schema ${schema}`);
  await using dir = await tempDir();
  const run = (args: string[]): Promise<RunResult> =>
    dsync(args, { cwd: dir.path, env: { ...SMALL_SAMPLE, DATABASE_URL: server.url } });
  const rows = (table: string) =>
    sql.unsafe(`select t::text as r from ${schema}.${table} t order by id`).then((r) =>
      r.map((x) => x.r)
    );
  try {
    await Deno.writeTextFile(`${dir.path}/s.csv`, csv(String));
    const a = await run(["csv:pg", "s.csv", `${schema}.a`, "--format", "summary", "-v"]);
    const b = await run(["csv:pg", "s.csv", `${schema}.b`, "--format", "table"]);
    assertEquals([a.code, b.code], [0, 0], a.stderr + b.stderr);
    assertEquals(STREAMED.exec(a.stderr)?.[1], "300", a.stderr);
    const types = (table: string) =>
      sql`select column_name || ':' || data_type as c from information_schema.columns
        where table_schema = ${schema} and table_name = ${table} order by ordinal_position`
        .then((r) => r.map((x) => x.c));
    assertEquals(await types("a"), await types("b"));
    assertEquals(await rows("a"), await rows("b"));

    // An empty existing table: typed by the table, streamed too.
    await sql.unsafe(`create table ${schema}.e (like ${schema}.a including all)`);
    const e = await run(["csv:pg", "s.csv", `${schema}.e`, "--format", "summary", "-v"]);
    assertEquals(e.code, 0, e.stderr);
    assertEquals(STREAMED.exec(e.stderr)?.[1], "300", e.stderr);
    assertEquals(await rows("e"), await rows("a"));

    // A date the table cannot take at record 290: exit 2, the empty table stays empty.
    await sql.unsafe(`truncate ${schema}.e`);
    await Deno.writeTextFile(`${dir.path}/bad.csv`, csv(String).replace(",2024-01-11,", ",x,"));
    const bad = await run(["csv:pg", "bad.csv", `${schema}.e`, "--format", "summary"]);
    assertEquals(bad.code, 2, bad.stderr);
    assertEquals(await rows("e"), []);
    // A limit passed while a batch is in flight: refused (exit 3), not "connection lost" (4).
    for (const format of ["summary", "ndjson"]) {
      const limited = await run(
        ["csv:pg", "s.csv", `${schema}.c`, "--max-create", "10", "--format", format, "-q"],
      );
      assertEquals(limited.code, 3, limited.stderr);
      assertMatch(limited.stderr, /300 creates exceed --max-create 10; nothing applied/);
      const [{ exists }] = await sql`select to_regclass(${schema + ".c"}) is not null as exists`;
      assertEquals(exists, false);
    }
  } finally {
    await sql.unsafe(`drop schema ${schema} cascade`);
    await sql.end();
    await server.stop();
  }
});

Deno.test("stream: the type matrix streamed (sample of 1) gives the table the plan gives", async () => {
  await using dir = await tempDir();
  const text = [
    "id,big,amount,zip,note,flag,day,at,empty,num,obj",
    '1,9007199254740993,1.50,02134,"comma, ""quote""\nnewline",true,2024-01-02,2024-01-02T03:04:05Z,,1,"{""a"":1}"',
    '2,-9223372036854775808,0.1,00501,日本語 ünïcödé 🎉,false,2024-02-29,2024-02-29T22:59:59.5Z,"",2.5,[1]',
    "3,42,12345678901234567890.125,10001,,true,2024-12-31,2024-12-31T00:00:00Z,x,1e5,",
    "4,7,2,,TRUE,false,2024-01-01,2024-01-01T00:00:00,,-0,null",
  ].join("\n") + "\n";
  await Deno.writeTextFile(`${dir.path}/s.csv`, text);
  const env = { DSYNC_SPILL_RECORDS: "16" };
  const streamed = await dsync(["csv:sqlite", "s.csv", "a.db#t", "--format", "summary", "-v"], {
    cwd: dir.path,
    env,
  });
  const held = await dsync(["csv:sqlite", "s.csv", "b.db#t", "--format", "table"], {
    cwd: dir.path,
    env,
  });
  assertEquals([streamed.code, held.code], [0, 0], streamed.stderr + held.stderr);
  // Types widen after the first record (amount, at, num, flag…): started over, or written.
  assertEquals(sqliteState(`${dir.path}/a.db`), sqliteState(`${dir.path}/b.db`));
  const rows = sqliteRows(`${dir.path}/a.db`, "t", "id");
  assertEquals([rows[0].big, rows[0].zip, rows[1].empty, rows[0].empty], [
    9007199254740993n,
    "02134",
    "",
    null,
  ]);
});

Deno.test("a target that has records: its creates are planned as usual, none lost (nothing streams)", async () => {
  await using dir = await tempDir();
  // A run that would stream (--format summary prints no change set) into a table that is not
  // empty: the merge keeps its creates; the stream, never handed one, must not replace them.
  sqliteExec(`${dir.path}/t.db`, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)");
  sqliteExec(`${dir.path}/t.db`, "INSERT INTO t VALUES (900, 'old')");
  const rows = Array.from({ length: 300 }, (_, i) => `${i + 1},n${i + 1}`);
  await Deno.writeTextFile(`${dir.path}/a.csv`, ["id,name", ...rows, "900,old"].join("\n") + "\n");
  const r = await dsync(["csv:sqlite", "a.csv", "t.db#t", "--format", "summary"], {
    cwd: dir.path,
    env: SMALL_SAMPLE,
  });
  assertEquals(r.code, 0, r.stderr);
  assertEquals([JSON.parse(r.stdout).create, JSON.parse(r.stdout).skipped.create], [300, 0]);
  assertEquals(sqliteRows(`${dir.path}/t.db`, "t", "id").length, 301);
});
