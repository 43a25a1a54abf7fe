/**
 * Exact values between SQLite, files and HTTP targets (issue 14): JSON string scalars, SQLite's
 * NUMERIC affinity, NaN in REAL, empty blobs, one JSON type per field and quoted `""` in HTTP
 * and webhook targets. Each test failed before its fix; results are checked with sqlite3, a JSON
 * parser or the receiving server.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { checksum, dsync, parseCsvSimple, parseNdjson, tempDir } from "./helpers.ts";
import { restServer, webhookServer } from "./http_server.ts";

async function sqlite3(path: string, sql: string): Promise<string> {
  const out = await new Deno.Command("sqlite3", { args: [path, sql] }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

/** Runs `args` twice in `cwd`: the first run succeeds, the second plans nothing. */
async function syncTwice(args: string[], cwd: string, what = args[0]): Promise<void> {
  const first = await dsync(args, { cwd });
  assertEquals(first.code, 0, `${what}: ${first.stderr}`);
  const again = await dsync(args, { cwd });
  assertEquals([again.code, again.stdout], [0, ""], `${what}: ${again.stderr}`);
}

/** The file of each file adapter, as the tests name their targets. */
const FILES = [["csv", "t.csv"], ["ndjson", "t.ndjson"], ["json", "t.json"], ["xlsx", "t.xlsx"]];

const JSON_DOCS = `(1, '"abc"'), (2, '"123"'), (3, '"{}"'), (4, 'true'), (5, '123'),
  (6, '{"a":[1,"x"]}'), (7, '""'), (8, '"true"'), (9, NULL), (10, '9223372036854775807')`;

Deno.test("JSON string scalars from a SQLite JSON column into file targets: exact both ways, rerun clean", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/a.db`;
  await sqlite3(
    db,
    `CREATE TABLE t (id INTEGER PRIMARY KEY, doc JSON); INSERT INTO t VALUES ${JSON_DOCS};`,
  );
  const stored = (path: string) => sqlite3(path, "SELECT id, typeof(doc), doc FROM t ORDER BY id");
  for (const [kind, file] of FILES) {
    await syncTwice([`sqlite:${kind}`, "a.db#t", file], dir.path);
    // Back into a JSON column: the same storage class and text as the original.
    await sqlite3(`${dir.path}/${kind}.db`, "CREATE TABLE t (id INTEGER PRIMARY KEY, doc JSON)");
    const back = await dsync([`${kind}:sqlite`, file, `${kind}.db#t`], { cwd: dir.path });
    assertEquals(back.code, 0, `${kind}: ${back.stderr}`);
    assertEquals(await stored(`${dir.path}/${kind}.db`), await stored(db), kind);
  }
  // In CSV a JSON value is its JSON text, as sqlite3 and PostgreSQL's COPY write it.
  const csv = parseCsvSimple(await Deno.readTextFile(`${dir.path}/t.csv`));
  assertEquals(csv.slice(1).map((row) => row[1]), [
    '"abc"',
    '"123"',
    '"{}"',
    "true",
    "123",
    '{"a":[1,"x"]}',
    '""',
    '"true"',
    "",
    "9223372036854775807",
  ]);
  // In NDJSON it is the JSON value itself: the string "123" is no number.
  const text = await Deno.readTextFile(`${dir.path}/t.ndjson`);
  assertEquals(parseNdjson(text).map((row) => row.doc), [
    "abc",
    "123",
    "{}",
    true,
    123,
    { a: [1, "x"] },
    "",
    "true",
    null,
    9223372036854775807,
  ]);
  assertMatch(text, /"doc":9223372036854775807\}/);
});

Deno.test("a JSON string and a JSON number of the same digits are different values", async () => {
  await using dir = await tempDir();
  await sqlite3(
    `${dir.path}/a.db`,
    `CREATE TABLE t (id INTEGER PRIMARY KEY, doc JSON); INSERT INTO t VALUES (1, '"123"');`,
  );
  await sqlite3(
    `${dir.path}/b.db`,
    `CREATE TABLE t (id INTEGER PRIMARY KEY, doc JSON); INSERT INTO t VALUES (1, 123);`,
  );
  const r = await dsync(["sqlite:sqlite", "a.db#t", "b.db#t"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(parseNdjson(r.stdout).map((c) => c.op), ["update"]);
  assertEquals(await sqlite3(`${dir.path}/b.db`, "SELECT typeof(doc), doc FROM t"), 'text|"123"');
});

Deno.test("NDJSON strings into a SQLite JSON column are JSON strings, not JSON text", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/t.db`;
  await sqlite3(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, doc JSON)");
  await Deno.writeTextFile(
    `${dir.path}/a.ndjson`,
    '{"id":1,"doc":"abc"}\n{"id":2,"doc":"{\\"a\\":1}"}\n{"id":3,"doc":{"a":1}}\n',
  );
  const r = await dsync(["ndjson:sqlite", "a.ndjson", "t.db#t"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(
    await sqlite3(db, "SELECT doc, json_valid(doc), json_type(doc) FROM t ORDER BY id"),
    '"abc"|1|text\n"{\\"a\\":1}"|1|text\n{"a":1}|1|object',
  );
  const again = await dsync(["ndjson:sqlite", "a.ndjson", "t.db#t"], { cwd: dir.path });
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
});

Deno.test("SQLite NUMERIC: exact values stored exactly, more digits than it keeps refused before writing", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/t.db`;
  await sqlite3(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, n NUMERIC, d DECIMAL(30,10))");
  await Deno.writeTextFile(
    `${dir.path}/ok.csv`,
    "id,n,d\n1,1e-30,1e-30\n2,1e25,1e25\n3,1234567890123456789,-9223372036854775808\n4,1.50,0.1\n",
  );
  const first = await dsync(["csv:sqlite", "ok.csv", "t.db#t"], { cwd: dir.path });
  assertEquals(first.code, 0, first.stderr);
  assertEquals(
    await sqlite3(db, "SELECT id, typeof(n), n, typeof(d), d FROM t ORDER BY id"),
    [
      "1|real|1.0e-30|real|1.0e-30",
      "2|real|1.0e+25|real|1.0e+25",
      "3|integer|1234567890123456789|integer|-9223372036854775808",
      "4|real|1.5|real|0.1",
    ].join("\n"),
  );
  const again = await dsync(["csv:sqlite", "ok.csv", "t.db#t"], { cwd: dir.path });
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);

  const before = await checksum(db);
  for (const value of ["1234567890.123456789", "12345678901234567890", "0.1000000000000000001"]) {
    await Deno.writeTextFile(`${dir.path}/bad.csv`, `id,n,d\n5,1,1\n6,${value},1\n`);
    const bad = await dsync(["csv:sqlite", "bad.csv", "t.db#t"], { cwd: dir.path });
    assertEquals(bad.code, 2, bad.stderr);
    assertMatch(
      bad.stderr,
      new RegExp(`record id=6 \\(bad\\.csv:3\\): field 'n': ${value} has more digits`),
    );
    assertEquals(await checksum(db), before, "nothing written");
  }
});

Deno.test("SQLite NUMERIC into a new SQLite table: DECIMAL_TEXT keeps the decimal, the rerun is clean", async () => {
  await using dir = await tempDir();
  await sqlite3(
    `${dir.path}/a.db`,
    `CREATE TABLE t (id INTEGER PRIMARY KEY, n NUMERIC);
     INSERT INTO t VALUES (1, 1e-30), (2, 1e25), (3, 0.1), (4, 12345678901234567);`,
  );
  const first = await dsync(["sqlite:sqlite", "a.db#t", "b.db#t"], { cwd: dir.path });
  assertEquals(first.code, 0, first.stderr);
  assertMatch(await sqlite3(`${dir.path}/b.db`, ".schema t"), /"n" DECIMAL_TEXT/);
  assertEquals(
    await sqlite3(`${dir.path}/b.db`, "SELECT typeof(n), n FROM t ORDER BY id"),
    "text|0.000000000000000000000000000001\ntext|10000000000000000000000000\ntext|0.1\n" +
      "text|12345678901234567",
  );
  const again = await dsync(["sqlite:sqlite", "a.db#t", "b.db#t"], { cwd: dir.path });
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
});

Deno.test("NaN into a SQLite REAL column is stored as the text NaN and read back as NaN", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/t.db`;
  await sqlite3(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, r REAL)");
  await Deno.writeTextFile(`${dir.path}/a.csv`, "id,r\n1,NaN\n2,-inf\n3,1.5\n");
  const first = await dsync(["csv:sqlite", "a.csv", "t.db#t"], { cwd: dir.path });
  assertEquals(first.code, 0, first.stderr);
  assertEquals(
    await sqlite3(db, "SELECT typeof(r), r FROM t ORDER BY id"),
    "text|NaN\nreal|-Inf\nreal|1.5",
  );
  const again = await dsync(["csv:sqlite", "a.csv", "t.db#t"], { cwd: dir.path });
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
  const copy = await dsync(["sqlite:sqlite", "t.db#t", "c.db#t"], { cwd: dir.path });
  assertEquals(copy.code, 0, copy.stderr);
  const idle = await dsync(["sqlite:sqlite", "t.db#t", "c.db#t"], { cwd: dir.path });
  assertEquals([idle.code, idle.stdout], [0, ""], idle.stderr);
  const sql = await dsync(["csv:sqlite", "a.csv", "d.db#t", "--format", "sql"], { cwd: dir.path });
  assertMatch(sql.stdout, /VALUES \(1, 'NaN'\)/);
});

Deno.test("an empty BLOB and blobs in an untyped column into file targets: exact, rerun clean", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/a.db`;
  await sqlite3(
    db,
    `CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB, u);
     INSERT INTO t VALUES (1, x'', x''), (2, x'00ff', x'0102'), (3, NULL, 'text');`,
  );
  for (const [kind, file] of FILES) {
    await syncTwice([`sqlite:${kind}`, "a.db#t", file], dir.path);
    await sqlite3(`${dir.path}/${kind}.db`, "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
    const back = await dsync([`${kind}:sqlite`, file, `${kind}.db#t`, "--exclude", "u"], {
      cwd: dir.path,
    });
    assertEquals(back.code, 0, `${kind}: ${back.stderr}`);
    assertEquals(
      await sqlite3(`${dir.path}/${kind}.db`, "SELECT id, typeof(b), hex(b) FROM t ORDER BY id"),
      "1|blob|\n2|blob|00FF\n3|null|",
      kind,
    );
  }
  // No bytes are `\x`, PostgreSQL's hex form: an empty text would be NULL.
  assertEquals(
    parseNdjson(await Deno.readTextFile(`${dir.path}/t.ndjson`)).map((row) => [row.b, row.u]),
    [["\\x", "\\x"], ["AP8=", "AQI="], [null, "text"]],
  );
});

const ZIPS = 'id,n,zip\n1,5,02134\n2,"",73301\n3,,00501\n';

Deno.test('HTTP target: a quoted "" stays "", one JSON type per field; the rerun sends nothing', async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a.csv`, ZIPS);
  await using rest = restServer([{ id: 1, n: "5", zip: "02134" }]);
  const first = await dsync(["csv:http", "a.csv", `${rest.url}/users`], { cwd: dir.path });
  assertEquals(first.code, 0, first.stderr);
  assertEquals([...rest.store.values()], [
    { id: 1, n: "5", zip: "02134" },
    { id: 2, n: "", zip: "73301" },
    { id: 3, n: null, zip: "00501" },
  ]);
  const sent = rest.requests.length;
  const again = await dsync(["csv:http", "a.csv", `${rest.url}/users`], { cwd: dir.path });
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
  assertEquals(rest.requests.slice(sent).map((r) => r.method), ["GET"]);
});

Deno.test('webhook target: "02134" then 73301 are both strings; a quoted "" is sent as ""', async () => {
  await using dir = await tempDir();
  const secret = "whsec-" + crypto.randomUUID();
  await using hook = webhookServer(secret);
  const run = (file: string) =>
    dsync(["csv:webhook", file, `${hook.url}/hook`, "--state", "hook.db"], {
      cwd: dir.path,
      env: { DSYNC_WEBHOOK_SECRET: secret },
    });
  await Deno.writeTextFile(`${dir.path}/one.csv`, "id,n,zip\n1,,02134\n");
  await Deno.writeTextFile(`${dir.path}/a.csv`, ZIPS.replace("1,5,", "1,,"));
  assertEquals((await run("one.csv")).code, 0);
  const r = await run("a.csv");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(hook.batches.flatMap((b) => b.changes).map((c) => c.after), [
    { id: 1, n: null, zip: "02134" },
    { id: 2, n: "", zip: "73301" },
    { id: 3, n: null, zip: "00501" },
  ]);
  const before = hook.requests.length;
  const again = await run("a.csv");
  assertEquals([again.code, again.stdout, hook.requests.length], [0, "", before], again.stderr);
});

Deno.test("dsync apply: JSON string scalars in a saved change set are JSON strings", async () => {
  await using dir = await tempDir();
  await sqlite3(
    `${dir.path}/a.db`,
    `CREATE TABLE t (id INTEGER PRIMARY KEY, doc JSON); INSERT INTO t VALUES ${JSON_DOCS};`,
  );
  await sqlite3(`${dir.path}/b.db`, "CREATE TABLE t (id INTEGER PRIMARY KEY, doc JSON)");
  const plan = await dsync(["sqlite:sqlite", "a.db#t", "b.db#t", "-n"], { cwd: dir.path });
  assertEquals(plan.code, 0, plan.stderr);
  await Deno.writeTextFile(`${dir.path}/plan.ndjson`, plan.stdout);
  const applied = await dsync(["apply", "sqlite", "b.db#t", "plan.ndjson"], { cwd: dir.path });
  assertEquals(applied.code, 0, applied.stderr);
  const stored = (file: string) =>
    sqlite3(`${dir.path}/${file}`, "SELECT id, typeof(doc), doc FROM t ORDER BY id");
  assertEquals(await stored("b.db"), await stored("a.db"));
});

Deno.test("HTTP target: integers beyond 2^53 nested in JSON are sent digit for digit", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/a.ndjson`,
    '{"id":1,"meta":{"big":9223372036854775807,"list":[9007199254740993]}}\n{"id":2,"meta":null}\n',
  );
  await using rest = restServer();
  const r = await dsync(["ndjson:http", "a.ndjson", `${rest.url}/users`], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  const posts = rest.requests.filter((q) => q.method === "POST").map((q) => q.body);
  assertEquals(posts.length, 2);
  assertMatch(posts[0], /"big":9223372036854775807,"list":\[9007199254740993\]/);
});
