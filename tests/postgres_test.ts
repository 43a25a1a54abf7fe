/**
 * The PostgreSQL adapter against a real server (scripts/pg_server.ts: the one at DATABASE_URL /
 * PG* when it answers, else a throwaway cluster). Each test works in its own schema, created and
 * dropped by the test; dsync runs as a subprocess and results are read with postgres.js.
 */
import postgres from "postgres";
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import {
  csv,
  dsync,
  parseCsvSimple,
  parseNdjson,
  type RunResult,
  sqliteExec,
  sqliteRows,
  tempDir,
} from "./helpers.ts";
import { withPostgres } from "../scripts/pg_server.ts";

const server = await withPostgres();
const URL_ = server.url;

type Sql = ReturnType<typeof postgres>;

/** A fresh schema (with a hostile name when asked) and a connection; both go on dispose. */
async function pgSchema(name = `dsync_t_${crypto.randomUUID().slice(0, 8)}`) {
  const sql = postgres(URL_, { max: 1, onnotice: () => {}, connection: { TimeZone: "UTC" } });
  await sql.unsafe(`create schema ${ident(name)}`);
  return {
    sql,
    name,
    /** `"schema"."table"` */
    q: (table: string) => `${ident(name)}.${ident(table)}`,
    async [Symbol.asyncDispose]() {
      await sql.unsafe(`drop schema ${ident(name)} cascade`);
      await sql.end();
    },
  };
}

function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** dsync with DATABASE_URL set to the test server. */
function run(args: string[], cwd: string, env: Record<string, string> = {}): Promise<RunResult> {
  return dsync(args, { cwd, env: { DATABASE_URL: URL_, ...env } });
}

/** Rows as `col=value|...` text, every value in PostgreSQL's own text form, ordered by `order`. */
async function rowsText(sql: Sql, table: string, order = "1"): Promise<string[]> {
  const rows = await sql.unsafe(`select t::text as r from ${table} t order by ${order}`);
  return rows.map((r) => r.r as string);
}

/** A checksum of a whole table's contents and physical row versions: any write changes it. */
async function tableState(sql: Sql, table: string): Promise<string> {
  const [row] = await sql.unsafe(
    `select md5(coalesce(string_agg(t::text || ctid::text || xmin::text, ',' order by ctid), '')) as h from ${table} t`,
  );
  return row.h as string;
}

const USERS = csv(["id", "name", "email", "score"], [
  [1, "Ann", "ann@x.org", 1.5],
  [2, 'Bob "B", Jr.', "bob@x.org", 20],
  [3, "Zoë\nnew line", "zoe@x.org", -3.25],
]);
const USERS2 = csv(["id", "name", "email", "score"], [
  [1, "Ann", "ann@new.org", 1.5],
  [2, 'Bob "B", Jr.', "bob@x.org", 21],
  [4, "Di", "di@x.org", 0],
]);

Deno.test("csv:postgres creates and loads; a second run writes nothing; --delete syncs exactly", async () => {
  await using dir = await tempDir();
  await using pg = await pgSchema();
  await Deno.writeTextFile(`${dir.path}/users.csv`, USERS);
  await Deno.writeTextFile(`${dir.path}/users2.csv`, USERS2);
  const table = `${pg.name}.users`;
  const first = await run(["csv:postgres", "users.csv", table], dir.path);
  assertEquals(first.code, 0, first.stderr);
  assertMatch(first.stderr, /\+3 ~0 -0/);
  const columns = await pg.sql`
    select column_name, data_type from information_schema.columns
    where table_schema = ${pg.name} and table_name = 'users' order by ordinal_position`;
  assertEquals(columns.map((c) => `${c.column_name}:${c.data_type}`), [
    "id:bigint",
    "name:text",
    "email:text",
    "score:double precision",
  ]);
  const [pk] = await pg.sql`
    select string_agg(a.attname, ',') as k from pg_index i
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
    where i.indrelid = ${pg.q("users")}::regclass and i.indisprimary`;
  assertEquals(pk.k, "id");
  assertEquals(await rowsText(pg.sql, pg.q("users")), [
    "(1,Ann,ann@x.org,1.5)",
    '(2,"Bob ""B"", Jr.",bob@x.org,20)',
    '(3,"Zoë\nnew line",zoe@x.org,-3.25)',
  ]);

  const state = await tableState(pg.sql, pg.q("users"));
  const again = await run(["pg:csv", table, "-"], dir.path).then(() =>
    run(["csv:pg", "users.csv", table], dir.path)
  );
  assertEquals(again.code, 0, again.stderr);
  assertMatch(again.stderr, /\+0 ~0 -0/);
  assertEquals(again.stdout, "");
  assertEquals(await tableState(pg.sql, pg.q("users")), state, "a second run wrote nothing");

  const plan = await run(["csv:pg", "users2.csv", table, "--delete", "-n"], dir.path);
  assertEquals(plan.code, 0, plan.stderr);
  assertEquals(parseNdjson(plan.stdout), [
    {
      op: "create",
      key: { id: 4 },
      after: { id: 4, name: "Di", email: "di@x.org", score: 0 },
    },
    {
      op: "update",
      key: { id: 1 },
      before: { email: "ann@x.org" },
      after: { email: "ann@new.org" },
    },
    { op: "update", key: { id: 2 }, before: { score: 20 }, after: { score: 21 } },
    {
      op: "delete",
      key: { id: 3 },
      before: { id: 3, name: "Zoë\nnew line", email: "zoe@x.org", score: -3.25 },
    },
  ]);
  assertEquals(await tableState(pg.sql, pg.q("users")), state, "a dry run wrote nothing");
  const sync = await run(["csv:pg", "users2.csv", table, "--delete"], dir.path);
  assertEquals(sync.code, 0, sync.stderr);
  assertMatch(sync.stderr, /\+1 ~2 -1/);
  assertEquals(await rowsText(pg.sql, pg.q("users")), [
    "(1,Ann,ann@new.org,1.5)",
    '(2,"Bob ""B"", Jr.",bob@x.org,21)',
    "(4,Di,di@x.org,0)",
  ]);
  const last = await run(
    ["csv:pg", "users2.csv", table, "--delete", "-n", "--exit-code"],
    dir.path,
  );
  assertEquals(last.code, 0, last.stderr);
});

Deno.test("postgres:csv exports; re-running is idempotent; pg:sqlite and sqlite:pg round trip", async () => {
  await using dir = await tempDir();
  await using pg = await pgSchema();
  await pg.sql.unsafe(`create table ${pg.q("items")} (
    sku varchar(20) primary key, qty int not null, price numeric(10,2), note text)`);
  await pg.sql.unsafe(`insert into ${pg.q("items")} values
    ('A-1', 3, 9.90, 'first'), ('B-2', 0, 100.00, null), ('C-3', -7, 0.05, 'tab\there')`);
  const src = `${pg.name}.items`;
  const exp = await run(["pg:csv", src, "items.csv"], dir.path);
  assertEquals(exp.code, 0, exp.stderr);
  assertEquals(parseCsvSimple(await Deno.readTextFile(`${dir.path}/items.csv`)), [
    ["sku", "qty", "price", "note"],
    ["A-1", "3", "9.9", "first"],
    ["B-2", "0", "100", ""],
    ["C-3", "-7", "0.05", "tab\there"],
  ]);
  const again = await run(["postgres:csv", src, "items.csv"], dir.path);
  assertEquals(again.code, 0, again.stderr);
  assertMatch(again.stderr, /\+0 ~0 -0/);

  const toSqlite = await run(["pg:sqlite", src, "local.db#items"], dir.path);
  assertEquals(toSqlite.code, 0, toSqlite.stderr);
  assertEquals(sqliteRows(`${dir.path}/local.db`, "items", "sku"), [
    { sku: "A-1", qty: 3, price: "9.9", note: "first" },
    { sku: "B-2", qty: 0, price: "100", note: null },
    { sku: "C-3", qty: -7, price: "0.05", note: "tab\there" },
  ]);
  assertMatch((await run(["pg:sqlite", src, "local.db#items"], dir.path)).stderr, /\+0 ~0 -0/);

  sqliteExec(`${dir.path}/local.db`, "UPDATE items SET qty = 4 WHERE sku = 'A-1'");
  sqliteExec(`${dir.path}/local.db`, "INSERT INTO items VALUES ('D-4', 1, '1.25', 'new')");
  const back = await run(["sqlite:pg", "local.db#items", src], dir.path);
  assertEquals(back.code, 0, back.stderr);
  assertMatch(back.stderr, /\+1 ~1 -0/);
  assertEquals(await rowsText(pg.sql, pg.q("items")), [
    "(A-1,4,9.90,first)",
    "(B-2,0,100.00,)",
    '(C-3,-7,0.05,"tab\there")',
    "(D-4,1,1.25,new)",
  ]);
  assertMatch((await run(["sqlite:pg", "local.db#items", src], dir.path)).stderr, /\+0 ~0 -0/);
});

Deno.test("pg:pg between two schemas; -n --exit-code; a new target gets the source's built-in types", async () => {
  await using dir = await tempDir();
  await using a = await pgSchema();
  await using b = await pgSchema();
  await a.sql.unsafe(`create table ${a.q("t")} (
    id int primary key, name varchar(10), iv interval, tags text[], at timestamptz, c char(4))`);
  await a.sql.unsafe(`insert into ${a.q("t")} values
    (1, 'x', '1 day 02:00', '{a,"b c"}', '2024-01-01 10:00:00.123456+02', 'ab'),
    (2, null, null, null, null, null)`);
  const src = `${URL_}#${a.name}.t`;
  const tgt = `${URL_}#${b.name}.t`;
  const diff = await run(["pg:pg", src, tgt, "-n", "--exit-code"], dir.path);
  assertEquals(diff.code, 1, diff.stderr);
  assertEquals(parseNdjson(diff.stdout).length, 2);
  const load = await run(["pg:pg", src, tgt], dir.path);
  assertEquals(load.code, 0, load.stderr);
  const columns = await b.sql`
    select column_name, data_type from information_schema.columns
    where table_schema = ${b.name} order by ordinal_position`;
  assertEquals(columns.map((c) => `${c.column_name}:${c.data_type}`), [
    // The source's built-in types are copied (docs/types.md, "A new table").
    "id:integer",
    "name:character varying",
    "iv:interval",
    "tags:ARRAY",
    "at:timestamp with time zone",
    "c:character",
  ]);
  assertEquals(await rowsText(b.sql, b.q("t")), [
    '(1,x,"1 day 02:00:00","{a,""b c""}","2024-01-01 08:00:00.123456+00","ab  ")',
    "(2,,,,,)",
  ]);
  const same = await run(["pg:pg", src, tgt, "-n", "--exit-code"], dir.path);
  assertEquals(same.code, 0, same.stderr);
  assertEquals(same.stdout, "");
  await a.sql.unsafe(`update ${a.q("t")} set name = 'y' where id = 2`);
  const one = await run(["pg:pg", src, tgt, "-n", "--exit-code"], dir.path);
  assertEquals(one.code, 1, one.stderr);
  assertEquals(parseNdjson(one.stdout), [
    { op: "update", key: { id: 2 }, before: { name: null }, after: { name: "y" } },
  ]);
});

/** One row of every type, as CSV text. */
const TYPE_TABLE = `(
  id bigint primary key, big bigint, num numeric(30,10), ts timestamptz, tsn timestamp(6),
  d date, b boolean, bin bytea, j jsonb, u uuid, txt text, vc varchar(20), small smallint,
  f double precision, r real, tm time, iv interval, arr int[], ch char(5), js json)`;
const TYPE_HEADER = [
  "id",
  "big",
  "num",
  "ts",
  "tsn",
  "d",
  "b",
  "bin",
  "j",
  "u",
  "txt",
  "vc",
  "small",
  "f",
  "r",
  "tm",
  "iv",
  "arr",
  "ch",
  "js",
];
const TYPE_ROWS: unknown[][] = [
  [
    1,
    "9007199254740993",
    "12.3400000000",
    "2024-03-01T12:00:00.123456+02:00",
    "2024-03-01 12:00:00.5",
    "2024-02-29",
    "true",
    "AAEC/w==",
    '{"b": 1, "a": [1, 2.5, "x"]}',
    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    "héllo ✓ 'single' \"double\"\nline two\ttab \\ backslash 🎉",
    "",
    -32768,
    0.1,
    1.5,
    "23:59:59.999999",
    "1 day 02:00:00",
    "{1,2,3}",
    "ab",
    '{"z":null}',
  ],
  [
    2,
    "-9223372036854775808",
    "-0.0000000001",
    "1999-12-31T23:59:59Z",
    "1999-12-31T23:59:59",
    "1970-01-01",
    "f",
    "\\x00ff",
    "[]",
    null,
    "",
    "vc",
    null,
    "-1e-300",
    null,
    "00:00:00",
    null,
    "{}",
    null,
    null,
  ],
];

Deno.test("types: every column type loads exactly and a second run changes nothing (csv, ndjson, sqlite, pg sources)", async () => {
  await using dir = await tempDir();
  await using pg = await pgSchema();
  await pg.sql.unsafe(`create table ${pg.q("types")} ${TYPE_TABLE}`);
  await Deno.writeTextFile(`${dir.path}/types.csv`, csv(TYPE_HEADER, TYPE_ROWS));
  const table = `${pg.name}.types`;
  const load = await run(["csv:pg", "types.csv", table], dir.path);
  assertEquals(load.code, 0, load.stderr);
  assertMatch(load.stderr, /\+2 ~0 -0/);
  const [row1, row2] = await pg.sql.unsafe(`select big::text, num::text, ts::text, tsn::text,
      d::text, b, encode(bin, 'hex') as bin, j::text, u::text, txt, vc, small, f, r::text, tm::text,
      iv::text, arr::text, ch::text, js::text from ${pg.q("types")} order by id`);
  assertEquals({ ...row1 }, {
    big: "9007199254740993",
    num: "12.3400000000",
    ts: "2024-03-01 10:00:00.123456+00",
    tsn: "2024-03-01 12:00:00.5",
    d: "2024-02-29",
    b: true,
    bin: "000102ff",
    j: '{"a": [1, 2.5, "x"], "b": 1}',
    u: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    txt: "héllo ✓ 'single' \"double\"\nline two\ttab \\ backslash 🎉",
    vc: "",
    small: -32768,
    f: 0.1,
    r: "1.5",
    tm: "23:59:59.999999",
    iv: "1 day 02:00:00",
    arr: "{1,2,3}",
    ch: "ab",
    js: '{"z":null}',
  });
  assertEquals({ ...row2 }, {
    big: "-9223372036854775808",
    num: "-0.0000000001",
    ts: "1999-12-31 23:59:59+00",
    tsn: "1999-12-31 23:59:59",
    d: "1970-01-01",
    b: false,
    bin: "00ff",
    j: "[]",
    u: null,
    txt: "",
    vc: "vc",
    small: null,
    f: -1e-300,
    r: null,
    tm: "00:00:00",
    iv: null,
    arr: "{}",
    ch: null,
    js: null,
  });
  const state = await tableState(pg.sql, pg.q("types"));
  const again = await run(["csv:pg", "types.csv", table, "-n", "--exit-code"], dir.path);
  assertEquals(again.code, 0, again.stdout + again.stderr);

  // The same values given as instants in another zone, as numbers, with other spellings.
  const respelled = TYPE_ROWS.map((r) => [...r]);
  respelled[0][3] = "2024-03-01T10:00:00.123456Z";
  respelled[0][2] = "12.34";
  respelled[0][6] = "t";
  respelled[0][8] = '{"a":[1,2.5,"x"],"b":1}';
  respelled[1][3] = "2000-01-01T00:59:59+01:00";
  await Deno.writeTextFile(`${dir.path}/respelled.csv`, csv(TYPE_HEADER, respelled));
  const re = await run(["csv:pg", "respelled.csv", table, "-n", "--exit-code"], dir.path);
  assertEquals(re.code, 0, re.stdout + re.stderr);

  // NDJSON: JSON numbers and strings, null vs "".
  const ndjson = [
    {
      id: 1,
      big: 9007199254740993n,
      num: "12.34",
      ts: "2024-03-01T12:00:00.123456+02:00",
      tsn: "2024-03-01T12:00:00.500",
      d: "2024-02-29",
      b: true,
      bin: "AAEC/w==",
      j: { b: 1, a: [1, 2.5, "x"] },
      u: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      txt: TYPE_ROWS[0][10],
      vc: "",
      small: -32768,
      f: 0.1,
      r: 1.5,
      tm: "23:59:59.999999",
      iv: "1 day 02:00:00",
      arr: "{1,2,3}",
      ch: "ab",
      js: { z: null },
    },
    {
      id: 2,
      big: -9223372036854775808n,
      num: -1e-10,
      ts: "1999-12-31T23:59:59Z",
      tsn: "1999-12-31T23:59:59",
      d: "1970-01-01",
      b: false,
      bin: "\\x00ff",
      j: [],
      u: null,
      txt: "",
      vc: "vc",
      small: null,
      f: -1e-300,
      r: null,
      tm: "00:00:00",
      iv: null,
      arr: "{}",
      ch: null,
      js: null,
    },
  ].map((r) =>
    JSON.stringify(r, (_, v) => typeof v === "bigint" ? `@@${v}@@` : v)
      .replace(/"@@(-?\d+)@@"/g, "$1")
  ).join("\n") + "\n";
  await Deno.writeTextFile(`${dir.path}/types.ndjson`, ndjson);
  const nd = await run(["ndjson:pg", "types.ndjson", table, "-n", "--exit-code"], dir.path);
  assertEquals(nd.code, 0, nd.stdout + nd.stderr);
  assertEquals(await tableState(pg.sql, pg.q("types")), state);

  // PostgreSQL → a new table (dsync's types) → second run 0, and back to SQLite and CSV.
  const copy = `${pg.name}.copy`;
  const pgpg = await run(["pg:pg", table, copy], dir.path);
  assertEquals(pgpg.code, 0, pgpg.stderr);
  assertEquals((await run(["pg:pg", table, copy, "-n", "--exit-code"], dir.path)).code, 0);
  assertEquals(
    (await run(["pg:pg", table, `${pg.name}.types`, "-n", "--exit-code"], dir.path)).code,
    0,
  );
  const sq = await run(["pg:sqlite", table, "t.db#types"], dir.path);
  assertEquals(sq.code, 0, sq.stderr);
  const fromSqlite = await run(["sqlite:pg", "t.db#types", table, "-n", "--exit-code"], dir.path);
  assertEquals(fromSqlite.code, 0, fromSqlite.stdout + fromSqlite.stderr);
  const sqliteCopy = await run(["sqlite:pg", "t.db#types", `${pg.name}.from_sqlite`], dir.path);
  assertEquals(sqliteCopy.code, 0, sqliteCopy.stderr);
  assertEquals(
    (await run(
      ["sqlite:pg", "t.db#types", `${pg.name}.from_sqlite`, "-n", "--exit-code"],
      dir.path,
    ))
      .code,
    0,
  );
  const out = await run(["pg:csv", table, "out.csv"], dir.path);
  assertEquals(out.code, 0, out.stderr);
  assertEquals((await run(["csv:pg", "out.csv", table, "-n", "--exit-code"], dir.path)).code, 0);
  const nd2 = await run(["pg:ndjson", table, "out.ndjson"], dir.path);
  assertEquals(nd2.code, 0, nd2.stderr);
  assertMatch(await Deno.readTextFile(`${dir.path}/out.ndjson`), /"big":9007199254740993\b/);
  assertEquals(
    (await run(["ndjson:pg", "out.ndjson", table, "-n", "--exit-code"], dir.path)).code,
    0,
  );
  assertEquals(await tableState(pg.sql, pg.q("types")), state);
});

Deno.test("hostile names: schema, table and columns with mixed case, spaces, quotes, dots and unicode", async () => {
  await using dir = await tempDir();
  await using pg = await pgSchema(`My "Schema" ü.${crypto.randomUUID().slice(0, 4)}`);
  const table = `Order Items "x".ü`;
  const locator = `${ident(pg.name)}.${ident(table)}`;
  await Deno.writeTextFile(
    `${dir.path}/items.csv`,
    csv(["Id", "Full Name", 'quote"col', "naïve;drop table x"], [
      [1, "Ann", "q", "x'); drop table users; --"],
      [2, "Bob", "", ""],
    ]),
  );
  const load = await run(["csv:pg", "items.csv", locator, "--key", "Id"], dir.path);
  assertEquals(load.code, 0, load.stderr);
  assertEquals(await rowsText(pg.sql, pg.q(table)), [
    `(1,Ann,q,"x'); drop table users; --")`,
    '(2,Bob,"","")',
  ]);
  const again = await run(
    ["csv:pg", "items.csv", `${URL_}#${locator}`, "-n", "--exit-code"],
    dir.path,
  );
  assertEquals(again.code, 0, again.stderr);
  assertMatch(again.stderr, /"My ""Schema"" ü\.[0-9a-f]{4}"\."Order Items ""x""\.ü"/);
  const exp = await run(["pg:csv", locator, "out.csv"], dir.path);
  assertEquals(exp.code, 0, exp.stderr);
  assertEquals(
    await Deno.readTextFile(`${dir.path}/out.csv`),
    await Deno.readTextFile(`${dir.path}/items.csv`),
  );
  await Deno.writeTextFile(
    `${dir.path}/items2.csv`,
    csv(["Id", "Full Name", 'quote"col', "naïve;drop table x"], [[2, "Bobby", "", ""]]),
  );
  const upd = await run(["csv:pg", "items2.csv", locator, "--delete"], dir.path);
  assertEquals(upd.code, 0, upd.stderr);
  assertEquals(await rowsText(pg.sql, pg.q(table)), ['(2,Bobby,"","")']);
});

Deno.test("target default: the source's name in the default schema (search_path); PG* variables", async () => {
  await using dir = await tempDir();
  await using pg = await pgSchema();
  await Deno.writeTextFile(`${dir.path}/people.csv`, USERS);
  const url = new URL(URL_);
  url.searchParams.set("search_path", pg.name);
  const r = await run(["csv:pg", "people.csv"], dir.path, { DATABASE_URL: url.href });
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stderr, new RegExp(`#${pg.name}\\.people `));
  assertEquals((await rowsText(pg.sql, pg.q("people"))).length, 3);
  const env = {
    DATABASE_URL: "",
    PGHOST: url.hostname,
    PGPORT: url.port || "5432",
    PGUSER: decodeURIComponent(url.username) || "postgres",
    PGDATABASE: url.pathname.slice(1),
    PGPASSWORD: decodeURIComponent(url.password),
  };
  const viaEnv = await run(
    ["pg:csv", `${pg.name}.people`, "people.csv", "-n", "--exit-code"],
    dir.path,
    env,
  );
  assertEquals(viaEnv.code, 0, viaEnv.stderr);
});

Deno.test("a value too long for varchar(n) or out of range is an input error before anything is written", async () => {
  await using dir = await tempDir();
  await using pg = await pgSchema();
  await pg.sql.unsafe(`create table ${pg.q("t")} (
    id int primary key, code varchar(5), small smallint, amount numeric(5,2), r real)`);
  await pg.sql.unsafe(`insert into ${pg.q("t")} values (1, 'abc', 1, 1.5, 1.5)`);
  const state = await tableState(pg.sql, pg.q("t"));
  const cases: [string, RegExp][] = [
    ["1,abcdef,1,1.5,1.5", /record id=1 \(t\.csv:3\): field 'code'.*too long for varchar\(5\)/],
    ["2,ok,32768,1.5,1.5", /record id=2.*field 'small'.*out of range for smallint/],
    ["2,ok,1,1234.5,1.5", /record id=2.*field 'amount'.*out of range for numeric\(5,2\)/],
    ["2,ok,1,1.555,1.5", /record id=2.*field 'amount'.*decimal places/],
    ["2,ok,1,1.5,1.23456789", /record id=2.*field 'r'.*real/],
  ];
  for (const [row, message] of cases) {
    await Deno.writeTextFile(`${dir.path}/t.csv`, `id,code,small,amount,r\n3,fine,1,1,1\n${row}\n`);
    const r = await run(["csv:pg", "t.csv", `${pg.name}.t`], dir.path);
    assertEquals(r.code, 2, r.stderr);
    assertMatch(r.stderr, message);
    assertEquals(await tableState(pg.sql, pg.q("t")), state, "nothing written");
  }
  await Deno.writeTextFile(
    `${dir.path}/t.csv`,
    `id,code,small,amount,r\n1,abcde,-32768,999.99,0.1\n`,
  );
  const fits = await run(["csv:pg", "t.csv", `${pg.name}.t`], dir.path);
  assertEquals(fits.code, 0, fits.stderr);
  assertEquals(await rowsText(pg.sql, pg.q("t")), ["(1,abcde,-32768,999.99,0.1)"]);
});

Deno.test("a server error mid-apply (10k changes) rolls everything back: exit 4 naming the record", async () => {
  await using dir = await tempDir();
  await using pg = await pgSchema();
  await pg.sql.unsafe(`create table ${pg.q("stock")} (
    id int primary key, qty int not null check (qty >= 0), label text not null)`);
  await pg.sql.unsafe(
    `insert into ${pg.q("stock")} select i, i, 'item ' || i from generate_series(1, 10000) i`,
  );
  const state = await tableState(pg.sql, pg.q("stock"));
  const rows = (change: (i: number) => [number, string]) =>
    "id,qty,label\n" +
    Array.from({ length: 12000 }, (_, k) => {
      const [qty, label] = change(k + 1);
      return `${k + 1},${qty},${label}`;
    }).join("\n") + "\n";
  // Updates: the 5000th violates the CHECK constraint.
  await Deno.writeTextFile(
    `${dir.path}/bad_update.csv`,
    rows((i) => [i === 5000 ? -1 : i + 1, `item ${i}`]),
  );
  const upd = await run(["csv:pg", "bad_update.csv", `${pg.name}.stock`, "-q"], dir.path);
  assertEquals(upd.code, 4, upd.stderr);
  assertMatch(upd.stderr, /updating record id=5000.*check constraint.*rolled back/);
  assertEquals(await tableState(pg.sql, pg.q("stock")), state);
  // Creates: the 11000th leaves a NOT NULL column empty (COPY fails on its line).
  await Deno.writeTextFile(
    `${dir.path}/bad_create.csv`,
    rows((i) => [i, i === 11000 ? "" : `item ${i}`]).replace("\n11000,11000,\n", "\n11000,,x\n"),
  );
  const cre = await run(["csv:pg", "bad_create.csv", `${pg.name}.stock`, "-q"], dir.path);
  assertEquals(cre.code, 4, cre.stderr);
  assertMatch(cre.stderr, /creating record id=11000.*null value in column "qty".*rolled back/);
  assertEquals(await tableState(pg.sql, pg.q("stock")), state);
  // Deletes blocked by a foreign key.
  await pg.sql.unsafe(`create table ${pg.q("ref")} (id int references ${pg.q("stock")} (id))`);
  await pg.sql.unsafe(`insert into ${pg.q("ref")} values (7000)`);
  await Deno.writeTextFile(
    `${dir.path}/few.csv`,
    "id,qty,label\n" + Array.from({ length: 5000 }, (_, k) => `${k + 1},${k + 1},item ${k + 1}`)
      .join("\n") +
      "\n",
  );
  const del = await run(["csv:pg", "few.csv", `${pg.name}.stock`, "--delete", "-q"], dir.path);
  assertEquals(del.code, 4, del.stderr);
  assertMatch(del.stderr, /deleting record id=7000.*foreign key/);
  assertEquals(await tableState(pg.sql, pg.q("stock")), state);
  // And the same 10k updates without the bad one go through in one piece.
  await Deno.writeTextFile(`${dir.path}/good.csv`, rows((i) => [i + 1, `item ${i}`]));
  const ok = await run(["csv:pg", "good.csv", `${pg.name}.stock`, "-q"], dir.path);
  assertEquals(ok.code, 0, ok.stderr);
  const [sum] = await pg.sql.unsafe(
    `select count(*)::int as n, sum(qty)::int8 as s from ${pg.q("stock")}`,
  );
  assertEquals([sum.n, Number(sum.s)], [12000, (12000 * 12001) / 2 + 12000]);
});

Deno.test("updates with many different sets of changed fields (one UPDATE with CASE) and --max-* limits", async () => {
  await using dir = await tempDir();
  await using pg = await pgSchema();
  const cols = ["a", "b", "c", "d", "e", "f"];
  const base = (i: number) => cols.map((c) => `${c}${i}`);
  await Deno.writeTextFile(
    `${dir.path}/v1.csv`,
    csv(["id", ...cols], Array.from({ length: 200 }, (_, i) => [i, ...base(i)])),
  );
  const table = `${pg.name}.wide`;
  assertEquals((await run(["csv:pg", "v1.csv", table], dir.path)).code, 0);
  // Row i changes the fields whose bit is set in i % 64: 63 different sets.
  const v2 = Array.from({ length: 200 }, (_, i) => [
    i,
    ...base(i).map((v, j) => ((i % 64) >> j) & 1 ? v + "!" : v),
  ]);
  await Deno.writeTextFile(`${dir.path}/v2.csv`, csv(["id", ...cols], v2));
  const limited = await run(["csv:pg", "v2.csv", table, "--max-update", "10%"], dir.path);
  assertEquals(limited.code, 3, limited.stderr);
  const r = await run(["csv:pg", "v2.csv", table], dir.path);
  assertEquals(r.code, 0, r.stderr);
  const rows = await pg.sql.unsafe(`select * from ${pg.q("wide")} order by id`);
  assertEquals(rows.map((row) => [Number(row.id), ...cols.map((c) => row[c])]), v2);
  assertEquals((await run(["csv:pg", "v2.csv", table, "-n", "--exit-code"], dir.path)).code, 0);
});

Deno.test("--format sql and dsync apply work on PostgreSQL targets", async () => {
  await using dir = await tempDir();
  await using pg = await pgSchema();
  await Deno.writeTextFile(`${dir.path}/users.csv`, USERS);
  await Deno.writeTextFile(`${dir.path}/users2.csv`, USERS2);
  const table = `${pg.name}.users`;
  const sqlText = await run(["csv:pg", "users.csv", table, "-n", "--format", "sql"], dir.path);
  assertEquals(sqlText.code, 0, sqlText.stderr);
  await pg.sql.unsafe(sqlText.stdout).simple();
  assertEquals((await run(["csv:pg", "users.csv", table, "-n", "--exit-code"], dir.path)).code, 0);
  const plan = await run(["csv:pg", "users2.csv", table, "-n", "--delete"], dir.path);
  await Deno.writeTextFile(`${dir.path}/plan.ndjson`, plan.stdout);
  const applied = await run(["apply", "pg", table, "plan.ndjson"], dir.path);
  assertEquals(applied.code, 0, applied.stderr);
  assertEquals(
    (await run(["csv:pg", "users2.csv", table, "-n", "--exit-code", "--delete"], dir.path)).code,
    0,
  );
});

Deno.test("passwords never appear in output; connection refused is exit 4 with a clear message", async () => {
  await using dir = await tempDir();
  await using pg = await pgSchema();
  await Deno.writeTextFile(`${dir.path}/users.csv`, USERS);
  const url = new URL(URL_);
  const withPassword = new URL(URL_);
  if (!withPassword.password) withPassword.password = "s3cret";
  const secret = decodeURIComponent(withPassword.password);
  const runs: RunResult[] = [];
  const target = `${withPassword.href}#${pg.name}.users`;
  runs.push(await run(["csv:pg", "users.csv", target, "-v"], dir.path));
  assertOk([0, 2].includes(runs[0].code), runs[0].stderr); // 2 when the server checks passwords
  runs.push(await run(["csv:pg", "users.csv", target, "-v", "-n", "--format", "json"], dir.path));
  runs.push(
    await run(["pg:csv", `${pg.name}.users`, "-", "-v"], dir.path, {
      DATABASE_URL: withPassword.href,
    }),
  );
  runs.push(
    await run(["pg:csv", `${pg.name}.nope`, "-", "-v"], dir.path, {
      DATABASE_URL: withPassword.href,
    }),
  );
  assertEquals(runs[3].code, 2);
  assertMatch(runs[3].stderr, /no such table/);
  const refused = `postgres://${url.username || "postgres"}:${
    encodeURIComponent(secret)
  }@127.0.0.1:1/db#t`;
  runs.push(await run(["csv:pg", "users.csv", refused, "-v"], dir.path));
  assertEquals(runs[4].code, 4, runs[4].stderr);
  assertMatch(runs[4].stderr, /pg:[^ ]*@127\.0\.0\.1:1\/db#public\.t|127\.0\.0\.1:1/);
  assertMatch(runs[4].stderr, /ECONNREFUSED|refused/i);
  runs.push(await run(["csv:pg", "users.csv", "postgres://u:s3cret@[bad/x#t"], dir.path));
  assertEquals(runs[5].code, 2, runs[5].stderr);
  for (const r of runs) {
    assertOk(!r.stdout.includes(secret) && !r.stderr.includes(secret), r.stdout + r.stderr);
    assertOk(!r.stderr.includes("s3cret"), r.stderr);
  }
});

Deno.test("the throwaway server path; wrong password → exit 2, redacted; ~/.pgpass and PGPASSWORD", async () => {
  const { startThrowaway, reachable } = await import("../scripts/pg_server.ts");
  const other = await startThrowaway(undefined, { password: "r1ght-pw" });
  await using dir = await tempDir();
  try {
    assertEquals(await reachable(other.url), false, "a password is required");
    const url = new URL(other.url);
    url.password = "wr0ng-pw";
    await Deno.writeTextFile(`${dir.path}/users.csv`, USERS);
    const wrong = await dsync(["csv:pg", "users.csv", `${url.href}#users`, "-v"], {
      cwd: dir.path,
    });
    assertEquals(wrong.code, 2, wrong.stderr);
    assertMatch(wrong.stderr, /password authentication failed/);
    assertOk(!(wrong.stdout + wrong.stderr).includes("wr0ng-pw"), wrong.stderr);
    const pgpass = `${dir.path}/pgpass`;
    await Deno.writeTextFile(pgpass, `127.0.0.1:${url.port}:*:postgres:r1ght-pw\n`, {
      mode: 0o600,
    });
    const viaPgpass = await dsync(["csv:pg", "users.csv", "users"], {
      cwd: dir.path,
      env: { DATABASE_URL: other.url, PGPASSFILE: pgpass, PGPASSWORD: "" },
    });
    assertEquals(viaPgpass.code, 0, viaPgpass.stderr);
    assertOk(!(viaPgpass.stdout + viaPgpass.stderr).includes("r1ght-pw"));
    const viaEnv = await dsync(["pg:csv", "users", "users.csv", "-n", "--exit-code"], {
      cwd: dir.path,
      env: { DATABASE_URL: other.url, PGPASSWORD: "r1ght-pw", PGPASSFILE: "/nonexistent" },
    });
    assertEquals(viaEnv.code, 0, viaEnv.stderr);
  } finally {
    await other.stop();
  }
  assertEquals(await reachable(other.url, 1), false);
});

Deno.test('pg:pg sorted merge (ORDER BY, text keys COLLATE "C") equals the hash join', async () => {
  await using dir = await tempDir();
  await using a = await pgSchema();
  await using b = await pgSchema();
  for (const s of [a, b]) {
    await s.sql.unsafe(`create table ${s.q("n")} (id bigint primary key, v text)`);
    await s.sql.unsafe(`create table ${s.q("t")} (code varchar(20) primary key, v int)`);
  }
  await a.sql.unsafe(`insert into ${a.q("n")} select g, 'v' || g from generate_series(1, 5000) g`);
  await b.sql.unsafe(`insert into ${b.q("n")} select g, case when g % 100 = 0 then 'old' else
    'v' || g end from generate_series(1, 5003) g where g % 333 <> 0`);
  const codes = ["a", "B", "_x", "10", "9", "é", "Z", "a b", "ab", "A"];
  await a.sql.unsafe(
    `insert into ${a.q("t")} values ${codes.map((c, i) => `('${c}', ${i})`).join(", ")}`,
  );
  await b.sql.unsafe(`insert into ${b.q("t")} values ('B', 0), ('zz', 1), ('_x', 2)`);
  for (const table of ["n", "t"]) {
    const args = [
      "pg:pg",
      `${URL_}#${a.name}.${table}`,
      `${URL_}#${b.name}.${table}`,
      "-n",
      "-v",
      "--delete",
    ];
    // `merge`: both sides read by dsync, not a join inside PostgreSQL (tests/join_diff_test.ts).
    const merge = await run(args, dir.path, { DSYNC_STRATEGY: "merge" });
    const hash = await run(args, dir.path, { DSYNC_STRATEGY: "hash-join" });
    assertEquals([merge.code, hash.code], [0, 0], merge.stderr + hash.stderr);
    assertMatch(merge.stderr, /paired by a sorted merge/);
    assertMatch(hash.stderr, /paired by a hash join/);
    assertEquals(merge.stdout, hash.stdout);
    const plan = parseNdjson(merge.stdout);
    const counts = ["create", "update", "delete"].map((op) =>
      plan.filter((c) => c.op === op).length
    );
    assertEquals(counts, table === "n" ? [15, 50, 3] : [8, 1, 1]);
  }
});

Deno.test("stop the test server", async () => {
  await server.stop();
});
