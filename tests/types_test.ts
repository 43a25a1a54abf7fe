/** Type round trips end to end: CSV → SQLite → CSV/NDJSON, idempotent at every step. */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, parseCsvSimple, parseNdjson, sqliteExec, sqliteRows, tempDir } from "./helpers.ts";

const CSV = [
  "id,big,amount,zip,note,flag,day,at,empty",
  '1,9007199254740993,1.50,02134,"comma, ""quote""\nnewline",true,2024-01-02,2024-01-02T03:04:05Z,',
  '2,-9223372036854775808,0.1,00501,日本語 ünïcödé 🎉,false,2024-02-29,2024-02-29T22:59:59.5Z,""',
  "3,42,12345678901234567890.125,10001,,true,2024-12-31,2024-12-31T00:00:00Z,x",
].join("\n") + "\n";

Deno.test("CSV → new SQLite table: types inferred, big integers exact, zip codes kept", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/t.csv`, CSV);
  const r = await dsync(["csv:sqlite", "t.csv", "t.db#t"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  const rows = sqliteRows(`${dir.path}/t.db`, "t", "id");
  assertEquals(rows[0].big, 9007199254740993n);
  assertEquals(rows[1].big, -9223372036854775808n);
  assertEquals(rows[0].zip, "02134");
  assertEquals(rows[0].note, 'comma, "quote"\nnewline');
  assertEquals(rows[1].note, "日本語 ünïcödé 🎉");
  assertEquals(rows[2].note, null);
  assertEquals(rows[0].empty, null);
  assertEquals(rows[1].empty, "");
  assertEquals(rows[0].flag, 1);
  assertEquals(rows[1].at, "2024-02-29T22:59:59.5Z");
  assertEquals(rows[2].amount, "12345678901234567890.125");
  const plan = parseNdjson(r.stdout);
  assertEquals((plan[0].after as Record<string, unknown>).big, "9007199254740993");

  const again = await dsync(["csv:sqlite", "t.csv", "t.db#t"], { cwd: dir.path });
  assertEquals([again.code, again.stdout], [0, ""], again.stderr);
});

Deno.test("SQLite → CSV → SQLite round trip keeps every value, empty vs NULL included", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/a.db`;
  sqliteExec(
    db,
    `CREATE TABLE t (id INTEGER PRIMARY KEY, big BIGINT, price DECIMAL(30,4), ok BOOLEAN, d DATE,
       ts TIMESTAMP, data JSON, bin BLOB, s TEXT);
     INSERT INTO t VALUES (1, 9223372036854775807, '1.2300', 1, '2024-01-02', '2024-01-02 03:04:05',
       '{"b":1,"a":"x"}', x'00ff10', '');
     INSERT INTO t VALUES (2, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL);`,
  );
  const out = await dsync(["sqlite:csv", "a.db#t", "t.csv"], { cwd: dir.path });
  assertEquals(out.code, 0, out.stderr);
  const csv = parseCsvSimple(await Deno.readTextFile(`${dir.path}/t.csv`));
  assertEquals(csv[1], [
    "1",
    "9223372036854775807",
    "1.23",
    "true",
    "2024-01-02",
    "2024-01-02T03:04:05",
    '{"a":"x","b":1}',
    "AP8Q",
    "",
  ]);
  const text = await Deno.readTextFile(`${dir.path}/t.csv`);
  assertEquals(text.split("\n")[1].endsWith(',""'), true, 'empty string must be written as ""');
  assertEquals(text.split("\n")[2], "2,,,false,,,,,");

  const back = await dsync(["csv:sqlite", "t.csv", "a.db#t"], { cwd: dir.path });
  assertEquals([back.code, back.stdout], [0, ""], back.stderr);
  const idle = await dsync(["sqlite:csv", "a.db#t", "t.csv"], { cwd: dir.path });
  assertEquals([idle.code, idle.stdout], [0, ""], idle.stderr);
});

Deno.test("NDJSON big integers stay exact through SQLite and back", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/e.ndjson`,
    '{"id":1,"ts":"2024-01-01","n":9223372036854775807}\n{"id":1,"ts":"2024-01-02","n":9007199254740993}\n',
  );
  const r = await dsync(["ndjson:sqlite", "-", "e.db#events", "--key", "id,ts"], {
    cwd: dir.path,
    stdin: await Deno.readTextFile(`${dir.path}/e.ndjson`),
  });
  assertEquals(r.code, 0, r.stderr);
  const rows = sqliteRows(`${dir.path}/e.db`, "events", "ts");
  assertEquals(rows.map((x) => String(x.n)), ["9223372036854775807", "9007199254740993"]);
  const out = await dsync(["sqlite:ndjson", "e.db#events", "out.ndjson"], { cwd: dir.path });
  assertEquals(out.code, 0, out.stderr);
  const text = await Deno.readTextFile(`${dir.path}/out.ndjson`);
  assertEquals(text.includes('"n":9007199254740993'), true, text);
});

Deno.test("a CSV of many read chunks loads whole: 100k rows, counted by SQLite", async () => {
  await using dir = await tempDir();
  const lines = ["id,name,amount"];
  for (let i = 1; i <= 100_000; i++) lines.push(`${i},"name ${i}, x",${i}.25`);
  await Deno.writeTextFile(`${dir.path}/big.csv`, lines.join("\n") + "\n");
  const r = await dsync(["csv:sqlite", "big.csv", "big.db#t", "--format", "summary"], {
    cwd: dir.path,
  });
  assertEquals(r.code, 0, r.stderr);
  const rows = sqliteRows(`${dir.path}/big.db`, "t", "id");
  assertEquals(rows.length, 100_000);
  assertEquals(rows[99_999], { id: 100_000, name: "name 100000, x", amount: 100000.25 });
  const again = await dsync(["csv:sqlite", "big.csv", "big.db#t", "--format", "summary"], {
    cwd: dir.path,
  });
  assertEquals(JSON.parse(again.stdout).create + JSON.parse(again.stdout).update, 0);
});

Deno.test("CSV with a BOM, ';' delimiter and latin1 encoding", async () => {
  await using dir = await tempDir();
  await Deno.writeFile(
    `${dir.path}/bom.csv`,
    new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode("id;name\n1;Zoë\n")]),
  );
  const bom = await dsync(["csv:ndjson", "bom.csv", "-", "--delimiter", ";"], { cwd: dir.path });
  assertEquals(bom.code, 0, bom.stderr);
  assertEquals(parseNdjson(bom.stdout), [{ id: 1, name: "Zoë" }]);
  await Deno.writeFile(
    `${dir.path}/l1.csv`,
    new Uint8Array([...new TextEncoder().encode("id,name\n1,Zo"), 0xeb, 10]),
  );
  const latin = await dsync(["csv:ndjson", "l1.csv", "-", "--encoding", "latin1"], {
    cwd: dir.path,
  });
  assertEquals(parseNdjson(latin.stdout), [{ id: 1, name: "Zoë" }]);
  const wrong = await dsync(["csv:ndjson", "l1.csv", "-"], { cwd: dir.path });
  assertEquals(wrong.code, 2, wrong.stderr);
  assertMatch(wrong.stderr, /l1\.csv/);
});

Deno.test("SQLite tables with and without rowid read the same way", async () => {
  await using dir = await tempDir();
  sqliteExec(
    `${dir.path}/r.db`,
    `CREATE TABLE a (k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID;
     CREATE TABLE b (rowid TEXT, k TEXT PRIMARY KEY, v INTEGER);
     INSERT INTO a VALUES ('x', 1), ('y', 2); INSERT INTO b VALUES ('r', 'x', 1), ('s', 'y', 2);`,
  );
  for (const table of ["a", "b"]) {
    const r = await dsync(["sqlite:ndjson", `r.db#${table}`, "-", "--batch-size", "1"], {
      cwd: dir.path,
    });
    assertEquals(r.code, 0, r.stderr);
    assertEquals(parseNdjson(r.stdout).map((record) => record.v), [1, 2], table);
  }
});
