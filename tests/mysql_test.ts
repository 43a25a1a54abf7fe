/**
 * The MySQL adapter against a real server (scripts/mysql_server.ts: the one at MYSQL_URL, by
 * default mysql://root@127.0.0.1:3306/, when it answers, else a throwaway MariaDB). Each test
 * works in its own database, created and dropped by the test; dsync runs as a subprocess and
 * results are read with the `mariadb` command-line client.
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import {
  csv,
  dsync,
  parseCsvSimple,
  parseNdjson,
  type RunResult,
  sqliteRows,
  tempDir,
} from "./helpers.ts";
import { withMysql } from "../scripts/mysql_server.ts";
import { withPostgres } from "../scripts/pg_server.ts";
import {
  connectionSettings,
  parseLocator,
  parseMyCnf,
  redactUrl,
} from "../src/adapters/mysql/locator.ts";
import { mysqlDialect } from "../src/adapters/mysql/dialect.ts";
import { columnOf, valueCheck } from "../src/adapters/mysql/values.ts";
import { binaryCollation } from "../src/adapters/mysql/session.ts";

const server = await withMysql();
const BASE = new URL(server.url);

/** Runs the `mariadb` client on `db` (batch mode: tab-separated, `\t \n \\` escaped, NULL). */
async function mariadb(sql: string, db = ""): Promise<string[]> {
  const args = [
    "--no-defaults",
    "-h",
    BASE.hostname,
    "-P",
    BASE.port || "3306",
    "-u",
    decodeURIComponent(BASE.username || "root"),
    "--default-character-set=utf8mb4",
    "-B",
    "-N",
    ...(db ? [db] : []),
  ];
  const child = new Deno.Command("mariadb", {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: BASE.password ? { MYSQL_PWD: decodeURIComponent(BASE.password) } : {},
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(sql));
  await writer.close();
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`mariadb: ${new TextDecoder().decode(out.stderr)}`);
  return text.split("\n").filter((l) => l !== "");
}

function ident(name: string): string {
  return "`" + name.replaceAll("`", "``") + "`";
}

/** A fresh database and its URL; dropped on dispose. */
async function myDb() {
  const name = `dsync_t_${crypto.randomUUID().slice(0, 8)}`;
  await mariadb(`CREATE DATABASE ${name}`);
  const url = new URL(BASE.href);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.href,
    /** Runs SQL in this database with the mariadb client. */
    sql: (text: string) => mariadb(text, name),
    async [Symbol.asyncDispose]() {
      await mariadb(`DROP DATABASE IF EXISTS ${name}`);
    },
  };
}

/** dsync with MYSQL_URL set to the test database. */
function run(
  args: string[],
  cwd: string,
  db: { url: string },
  env: Record<string, string> = {},
): Promise<RunResult> {
  return dsync(args, { cwd, env: { MYSQL_URL: db.url, ...env } });
}

/** `CHECKSUM TABLE` and the rows: any write that changes data changes one of them. */
async function tableState(db: { sql: (s: string) => Promise<string[]> }, table: string) {
  const [sum] = await db.sql(`CHECKSUM TABLE ${ident(table)}`);
  return sum.split("\t")[1] + "|" + (await db.sql(`SELECT * FROM ${ident(table)} ORDER BY 1`))
    .join("|");
}

const USERS = csv(["id", "name", "email", "score"], [
  [1, "Ann", "ann@x.org", 1.5],
  [2, 'Bob "B", Jr.', "bob@x.org", 20],
  [3, "Zoë\nnew line \\ 'q'", "zoe@x.org", -3.25],
]);
const USERS2 = csv(["id", "name", "email", "score"], [
  [1, "Ann", "ann@new.org", 1.5],
  [2, 'Bob "B", Jr.', "bob@x.org", 21],
  [4, "Di", "di@x.org", 0],
]);

Deno.test("mysql: locators, settings, redaction, literals and value checks (no server needed)", () => {
  assertEquals(parseLocator("users"), { url: undefined, table: "users" });
  assertEquals(parseLocator("shop.`Order Items`"), {
    url: undefined,
    database: "shop",
    table: "Order Items",
  });
  assertEquals(parseLocator("mariadb://a:b@h:1/db#t"), { url: "mariadb://a:b@h:1/db", table: "t" });
  assertEquals(redactUrl("mysql://app:s3cret@db:3306/shop"), "mysql://***@db:3306/shop");
  assertEquals(redactUrl("mysql://app@db/shop"), "mysql://***@db/shop");
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  const none = () => ({});
  assertEquals(
    connectionSettings(parseLocator("mysql://u:p%40ss@db:3307/shop#t"), env({}), none),
    {
      host: "db",
      port: 3307,
      socketPath: undefined,
      user: "u",
      password: "p@ss",
      database: "shop",
      ssl: false,
    },
  );
  const fromEnv = connectionSettings(
    parseLocator("crm.people"),
    env({ MYSQL_HOST: "h", MYSQL_TCP_PORT: "3310", MYSQL_PWD: "pw", USER: "me" }),
    none,
  );
  assertEquals([fromEnv.host, fromEnv.port, fromEnv.user, fromEnv.password, fromEnv.database], [
    "h",
    3310,
    "me",
    "pw",
    "crm",
  ]);
  const fromUrlEnv = connectionSettings(
    parseLocator("t"),
    env({ MYSQL_URL: "mysql://x@y:1/z" }),
    () => ({ password: "cnf" }),
  );
  assertEquals([fromUrlEnv.user, fromUrlEnv.database, fromUrlEnv.password], ["x", "z", "cnf"]);
  assertEquals(
    parseMyCnf('[mysqld]\nuser=no\n[client]\nuser = app\npassword="p w"\n# c\nport=3307\n'),
    { user: "app", password: "p w", port: "3307" },
  );
  assertEquals(binaryCollation("10.11.19-MariaDB-0+deb12u1"), "utf8mb4_nopad_bin");
  assertEquals(binaryCollation("8.0.36"), "utf8mb4_0900_bin");
  assertEquals(binaryCollation("5.7.44-log"), "utf8mb4_bin");
  assertEquals(mysqlDialect.quoteIdent("a`b"), "`a``b`");
  assertEquals(mysqlDialect.literal("it's"), "'it''s'");
  assertEquals(mysqlDialect.literal("a\\b"), "_utf8mb4 X'615c62'");
  assertEquals(mysqlDialect.literal(new Uint8Array([0, 255])), "X'00ff'");
  const check = (type: string, value: unknown) => valueCheck(columnOf("c", type))?.(value);
  assertMatch(check("varchar(3)", "abcd")!, /too long for varchar\(3\) \(4 characters\)/);
  assertEquals(check("varchar(3)", "é🎉x"), undefined);
  assertMatch(check("char(3)", "a ")!, /ends in spaces/);
  assertMatch(check("decimal(5,2)", "1.234")!, /decimal places/);
  assertMatch(check("decimal(5,2)", "1234")!, /out of range/);
  assertMatch(check("tinyint unsigned", -1)!, /out of range for tinyint unsigned \(0 to 255\)/);
  assertMatch(check("bigint(20) unsigned", "18446744073709551616")!, /out of range/);
  assertEquals(check("bigint(20) unsigned", "18446744073709551615"), undefined);
  assertMatch(check("enum('a','B')", "b")!, /not a value of enum/);
  assertMatch(check("set('x','y')", "y,x")!, /declared order/);
  assertEquals(check("set('x','y')", "x,y"), undefined);
  assertMatch(check("float", 3.14159265)!, /does not fit a FLOAT/);
  assertEquals(check("float", 0.1), undefined);
  assertMatch(check("double", Infinity)!, /NaN or infinity/);
  assertMatch(check("datetime(3)", "2024-01-01T00:00:00.1234")!, /fractional seconds/);
  assertMatch(check("timestamp", "2040-01-01T00:00:00Z")!, /TIMESTAMP range/);
  assertMatch(check("binary(4)", new Uint8Array(3))!, /pad/);
  assertMatch(check("bit(4)", 16)!, /out of range/);
});

Deno.test("csv:mysql creates and loads; a second run writes nothing; --delete syncs exactly", async () => {
  await using dir = await tempDir();
  await using db = await myDb();
  await Deno.writeTextFile(`${dir.path}/users.csv`, USERS);
  await Deno.writeTextFile(`${dir.path}/users2.csv`, USERS2);
  const first = await run(["csv:mysql", "users.csv"], dir.path, db);
  assertEquals(first.code, 0, first.stderr);
  assertMatch(first.stderr, /→ mysql:root@.*\/dsync_t_\w+#users {2}\+3 ~0 -0/);
  assertEquals(
    await db.sql(
      `SELECT COLUMN_NAME, COLUMN_TYPE, COLUMN_KEY FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '${db.name}' ORDER BY ORDINAL_POSITION`,
    ),
    ["id\tbigint(20)\tPRI", "name\tlongtext\t", "email\tlongtext\t", "score\tdouble\t"],
  );
  assertEquals(
    await db.sql("SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()"),
    [
      "InnoDB",
    ],
  );
  assertEquals(await db.sql("SELECT * FROM users ORDER BY id"), [
    "1\tAnn\tann@x.org\t1.5",
    '2\tBob "B", Jr.\tbob@x.org\t20',
    "3\tZoë\\nnew line \\\\ 'q'\tzoe@x.org\t-3.25",
  ]);
  const state = await tableState(db, "users");
  const again = await run(["csv:mysql", "users.csv", "users"], dir.path, db);
  assertEquals(again.code, 0, again.stderr);
  assertMatch(again.stderr, /\+0 ~0 -0/);
  assertEquals(again.stdout, "");
  assertEquals(await tableState(db, "users"), state, "a second run wrote nothing");

  const plan = await run(["csv:mysql", "users2.csv", "users", "--delete", "-n"], dir.path, db);
  assertEquals(plan.code, 0, plan.stderr);
  assertEquals(parseNdjson(plan.stdout).map((c) => [c.op, c.key]), [
    ["create", { id: 4 }],
    ["update", { id: 1 }],
    ["update", { id: 2 }],
    ["delete", { id: 3 }],
  ]);
  assertEquals(await tableState(db, "users"), state, "a dry run wrote nothing");
  const sync = await run(["csv:mysql", "users2.csv", "users", "--delete"], dir.path, db);
  assertEquals(sync.code, 0, sync.stderr);
  assertMatch(sync.stderr, /\+1 ~2 -1/);
  assertEquals(await db.sql("SELECT * FROM users ORDER BY id"), [
    "1\tAnn\tann@new.org\t1.5",
    '2\tBob "B", Jr.\tbob@x.org\t21',
    "4\tDi\tdi@x.org\t0",
  ]);
  const last = await run(
    ["csv:mysql", "users2.csv", "users", "--delete", "-n", "--exit-code"],
    dir.path,
    db,
  );
  assertEquals(last.code, 0, last.stdout + last.stderr);
});

/** A table with every MySQL type dsync maps, and two rows of CSV for it. */
const TYPE_TABLE = `CREATE TABLE types (
  id INT PRIMARY KEY, flag TINYINT(1), bo BOOLEAN, big BIGINT, ubig BIGINT UNSIGNED,
  num DECIMAL(20,10), f FLOAT, dbl DOUBLE, d DATE, dt DATETIME(6), dt0 DATETIME,
  ts TIMESTAMP(3) NULL DEFAULT NULL, tm TIME(6), vc VARCHAR(10), ch CHAR(3), txt TEXT,
  bin VARBINARY(16), bl BLOB, j JSON, en ENUM('a','B c'), st SET('x','y','z'), bt BIT(12),
  b1 BIT(1), yr YEAR, sm SMALLINT UNSIGNED
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
const TYPE_HEADER = [
  "id",
  "flag",
  "bo",
  "big",
  "ubig",
  "num",
  "f",
  "dbl",
  "d",
  "dt",
  "dt0",
  "ts",
  "tm",
  "vc",
  "ch",
  "txt",
  "bin",
  "bl",
  "j",
  "en",
  "st",
  "bt",
  "b1",
  "yr",
  "sm",
];
const TYPE_ROWS = [
  [
    1,
    "true",
    "false",
    "9223372036854775807",
    "18446744073709551615",
    "12.34",
    "0.1",
    "0.1",
    "2024-02-29",
    "2024-03-01 10:00:00.123456",
    "2024-03-01T10:00:00",
    "2024-03-01T12:00:00.5+02:00",
    "23:59:59.999999",
    "héllo 🎉",
    "ab",
    "quote ' \" back \\ slash\nline\ttab",
    "\\x000102ff",
    "AQI=",
    '{"b":[1,2.5,"x"],"a":123}',
    "B c",
    "x,z",
    "4095",
    "true",
    "2155",
    "65535",
  ],
  [
    2,
    "false",
    "true",
    "-9223372036854775808",
    "0",
    "-0.0000000001",
    "1.5",
    "-1e-300",
    "1000-01-01",
    "1999-12-31 23:59:59",
    "1999-12-31 23:59:59",
    "",
    "00:00:00",
    "",
    "",
    "",
    "",
    "",
    "[]",
    "a",
    "",
    "0",
    "false",
    "",
    "",
  ],
];
const TYPE_SELECT =
  `SELECT id, flag, bo, big, ubig, num, f + 0E0, dbl, d, dt, dt0, ts, tm, vc, ch, txt,
  HEX(bin), HEX(bl), j, en, st, bt + 0, b1 + 0, yr, sm FROM types ORDER BY id`;
const TYPE_EXPECTED = [
  [
    "1",
    "1",
    "0",
    "9223372036854775807",
    "18446744073709551615",
    "12.3400000000",
    "0.10000000149011612",
    "0.1",
    "2024-02-29",
    "2024-03-01 10:00:00.123456",
    "2024-03-01 10:00:00",
    "2024-03-01 10:00:00.500",
    "23:59:59.999999",
    "héllo 🎉",
    "ab",
    "quote ' \" back \\\\ slash\\nline\\ttab",
    "000102FF",
    "0102",
    '{"a":123,"b":[1,2.5,"x"]}',
    "B c",
    "x,z",
    "4095",
    "1",
    "2155",
    "65535",
  ].join("\t"),
  [
    "2",
    "0",
    "1",
    "-9223372036854775808",
    "0",
    "-0.0000000001",
    "1.5",
    "-1e-300",
    "1000-01-01",
    "1999-12-31 23:59:59.000000",
    "1999-12-31 23:59:59",
    "NULL",
    "00:00:00.000000",
    "",
    "",
    "",
    "NULL",
    "NULL",
    "[]",
    "a",
    "",
    "0",
    "0",
    "NULL",
    "NULL",
  ].join("\t"),
];

Deno.test("types: every MySQL type loads exactly, a second run is empty, and mysql:csv/sqlite/mysql round trip", async () => {
  await using dir = await tempDir();
  await using db = await myDb();
  await db.sql(TYPE_TABLE);
  await Deno.writeTextFile(`${dir.path}/types.csv`, csv(TYPE_HEADER, TYPE_ROWS));
  const load = await run(["csv:mysql", "types.csv", "types"], dir.path, db);
  assertEquals(load.code, 0, load.stderr);
  assertMatch(load.stderr, /\+2 ~0 -0/);
  assertEquals(await db.sql(TYPE_SELECT), TYPE_EXPECTED);
  const again = await run(["csv:mysql", "types.csv", "types", "-n", "--exit-code"], dir.path, db);
  assertEquals(again.code, 0, again.stdout + again.stderr);

  // mysql:ndjson shows the exact values dsync reads.
  const out = await run(["mysql:ndjson", "types", "-"], dir.path, db);
  assertEquals(out.code, 0, out.stderr);
  const line = out.stdout.split("\n")[0];
  assertMatch(line, /"big":9223372036854775807,"ubig":"18446744073709551615","num":"12.34",/);
  const first = JSON.parse(line);
  assertEquals([first.flag, first.bo, first.b1, first.bt], [true, false, true, 4095]);
  assertEquals([first.f, first.dbl], [0.1, 0.1]);
  assertEquals([first.dt, first.ts, first.tm], [
    "2024-03-01T10:00:00.123456",
    "2024-03-01T10:00:00.5Z",
    "23:59:59.999999",
  ]);
  assertEquals([first.bin, first.bl], ["AAEC/w==", "AQI="]);

  // mysql:csv and back; mysql:sqlite and back; mysql → a new mysql table and back.
  const exported = await run(["mysql:csv", "types", "types_out.csv"], dir.path, db);
  assertEquals(exported.code, 0, exported.stderr);
  const back = await run(
    ["csv:mysql", "types_out.csv", "types", "-n", "--exit-code"],
    dir.path,
    db,
  );
  assertEquals(back.code, 0, back.stdout + back.stderr);
  // JSON numbers beyond 64 bits are read as text, exactly (the driver does not parse JSON).
  await db.sql(
    `UPDATE types SET j = '{"n": 12345678901234567890123, "x": 0.5}' WHERE id = 2`,
  );
  const exact = await run(["mysql:csv", "types", "-", "--where", "id = 2"], dir.path, db);
  assertMatch(exact.stdout, /"\{""n"":12345678901234567890123,""x"":0\.5\}"/);
  const toSqlite = await run(["mysql:sqlite", "types", "t.db#types"], dir.path, db);
  assertEquals(toSqlite.code, 0, toSqlite.stderr);
  const lite = sqliteRows(`${dir.path}/t.db`, "types", "id");
  assertEquals([lite[0].big, lite[0].ubig, lite[0].num, lite[0].ts], [
    9223372036854775807n,
    "18446744073709551615",
    "12.34",
    "2024-03-01T10:00:00.5Z",
  ]);
  const liteAgain = await run(
    ["mysql:sqlite", "types", "t.db#types", "-n", "--exit-code"],
    dir.path,
    db,
  );
  assertEquals(liteAgain.code, 0, liteAgain.stdout + liteAgain.stderr);
  const fromSqlite = await run(
    ["sqlite:mysql", "t.db#types", "types", "-n", "--exit-code"],
    dir.path,
    db,
  );
  assertEquals(fromSqlite.code, 0, fromSqlite.stdout + fromSqlite.stderr);
  const copy = await run(["sqlite:mysql", "t.db#types", "copy"], dir.path, db);
  assertEquals(copy.code, 0, copy.stderr);
  const copyAgain = await run(["mysql:mysql", "types", "copy", "-n", "--exit-code"], dir.path, db);
  assertEquals(copyAgain.code, 0, copyAgain.stdout + copyAgain.stderr);
  const backToTypes = await run(
    ["mysql:mysql", "copy", "types", "-n", "--exit-code"],
    dir.path,
    db,
  );
  assertEquals(backToTypes.code, 0, backToTypes.stdout + backToTypes.stderr);
  assertMatch(String(lite[1].j), /12345678901234567890123/);
  assertEquals(await db.sql("SELECT j FROM copy WHERE id = 2"), [String(lite[1].j)]);
});

Deno.test("types through LOAD DATA LOCAL INFILE (100+ creates): the same exact values; a second run is empty", async () => {
  await using dir = await tempDir();
  await using db = await myDb();
  await db.sql(TYPE_TABLE);
  const rows = Array.from({ length: 150 }, (_, i) => [i + 1, ...TYPE_ROWS[i % 2].slice(1)]);
  await Deno.writeTextFile(`${dir.path}/types.csv`, csv(TYPE_HEADER, rows));
  const loads = async () =>
    Number((await db.sql("SHOW GLOBAL STATUS LIKE 'Com_load'"))[0].split("\t")[1]);
  const loadsBefore = await loads();
  const load = await run(["csv:mysql", "types.csv", "types"], dir.path, db);
  assertEquals(load.code, 0, load.stderr);
  assertMatch(load.stderr, /\+150 ~0 -0/);
  assertOk(await loads() > loadsBefore, "the creates went through LOAD DATA");
  const got = await db.sql(TYPE_SELECT);
  assertEquals(got.length, 150);
  got.forEach((line, i) => {
    const [id, ...rest] = line.split("\t");
    assertEquals(id, String(i + 1));
    assertEquals(
      rest.join("\t"),
      TYPE_EXPECTED[i % 2].split("\t").slice(1).join("\t"),
      `row ${id}`,
    );
  });
  const again = await run(["csv:mysql", "types.csv", "types", "-n", "--exit-code"], dir.path, db);
  assertEquals(again.code, 0, again.stdout + again.stderr);
  // A new table from a mysql source, loaded the same way, holds the same values.
  const copy = await run(["mysql:mysql", "types", "copy"], dir.path, db);
  assertEquals(copy.code, 0, copy.stderr);
  const same = await run(["mysql:mysql", "copy", "types", "-n", "--exit-code"], dir.path, db);
  assertEquals(same.code, 0, same.stdout + same.stderr);
  assertEquals(await db.sql("SELECT COUNT(*), SUM(big = 9223372036854775807) FROM copy"), [
    "150\t75",
  ]);
});

Deno.test("killing dsync while it writes leaves the table as it was (one transaction)", async () => {
  await using dir = await tempDir();
  await using db = await myDb();
  await db.sql(
    "CREATE TABLE k (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB; INSERT INTO k SELECT seq, 'old' FROM seq_1_to_20000",
  );
  const before = await tableState(db, "k");
  await Deno.writeTextFile(
    `${dir.path}/k.csv`,
    "id,v\n" + Array.from({ length: 60000 }, (_, i) => `${i + 1},new ${i}`).join("\n") + "\n",
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-lock",
      new URL("../main.ts", import.meta.url).pathname,
      "csv:mysql",
      "k.csv",
      "k",
      "--progress",
    ],
    cwd: dir.path,
    env: { MYSQL_URL: db.url, NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Kill it once it has started writing (the progress line shows written records).
  const reader = child.stderr.getReader();
  let seen = "";
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline && !/written|\d+\/\d+/.test(seen)) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += new TextDecoder().decode(value);
  }
  child.kill("SIGKILL");
  await child.status;
  reader.releaseLock();
  await child.stderr.cancel().catch(() => {});
  const after = await tableState(db, "k");
  const [count] = await db.sql("SELECT COUNT(*) FROM k");
  assertOk(after === before || count === "60000", `a half-written table: ${count} rows`);
});

Deno.test("pg:mysql and mysql:pg round trip; a second run is empty", async () => {
  const pg = await withPostgres();
  await using dir = await tempDir();
  await using db = await myDb();
  const { default: postgres } = await import("postgres");
  const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  const schema = `dsync_my_${crypto.randomUUID().slice(0, 8)}`;
  try {
    await sql.unsafe(`create schema ${schema}; create table ${schema}.items (
      sku varchar(20) primary key, qty int not null, price numeric(10,2), big int8, ok boolean,
      at timestamptz, d date, tm time, note text, raw bytea, doc jsonb);
      insert into ${schema}.items values
      ('A-1', 3, 9.90, 9007199254740993, true, '2024-01-02 03:04:05.678+00', '2024-02-29',
       '12:34:56.5', 'tab\there ''q'' \\', '\\x00ff', '{"n": 1234567890123, "s": "x"}'),
      ('b-2', 0, 100.00, null, false, null, null, null, null, null, null),
      ('B-2', -7, 0.05, -1, null, '1999-12-31 23:59:59+00', '1970-01-01', '00:00:00', '', '\\x', '[]')`);
    const env = { DATABASE_URL: pg.url };
    const load = await run(["pg:mysql", `${schema}.items`, "items"], dir.path, db, env);
    assertEquals(load.code, 0, load.stderr);
    assertMatch(load.stderr, /\+3 ~0 -0/);
    assertEquals(
      await db.sql(
        "SELECT sku, qty, price, big, ok, at, d, tm, note, HEX(raw), doc FROM items ORDER BY BINARY sku",
      ),
      [
        'A-1\t3\t9.900000000000000000000000000000\t9007199254740993\t1\t2024-01-02 03:04:05.678000\t2024-02-29\t12:34:56.500000\ttab\\there \'q\' \\\\\t00FF\t{"n":1234567890123,"s":"x"}',
        "B-2\t-7\t0.050000000000000000000000000000\t-1\tNULL\t1999-12-31 23:59:59.000000\t1970-01-01\t00:00:00.000000\t\t\t[]",
        "b-2\t0\t100.000000000000000000000000000000\tNULL\t0\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL",
      ],
    );
    const again = await run(
      ["pg:mysql", `${schema}.items`, "items", "-n", "--exit-code"],
      dir.path,
      db,
      env,
    );
    assertEquals(again.code, 0, again.stdout + again.stderr);
    const back = await run(["mysql:pg", "items", `${schema}.copy`], dir.path, db, env);
    assertEquals(back.code, 0, back.stderr);
    const same = await run(
      ["pg:pg", `${schema}.items`, `${schema}.copy`, "-n", "--exit-code"],
      dir.path,
      db,
      env,
    );
    assertEquals(same.code, 0, same.stdout + same.stderr);
  } finally {
    await sql.unsafe(`drop schema if exists ${schema} cascade`);
    await sql.end();
    await pg.stop();
  }
});

Deno.test("a server error mid-apply rolls everything back: exit 4 naming the record (mariadb sees no change)", async () => {
  await using dir = await tempDir();
  await using db = await myDb();
  await db.sql(`CREATE TABLE stock (id INT PRIMARY KEY, qty INT NOT NULL CHECK (qty >= 0),
    label VARCHAR(40) NOT NULL) ENGINE=InnoDB;
    INSERT INTO stock SELECT seq, seq, CONCAT('item ', seq) FROM seq_1_to_3000;`);
  const state = await tableState(db, "stock");
  const rows = (change: (i: number) => [number | string, string]) =>
    "id,qty,label\n" + Array.from({ length: 4000 }, (_, k) => {
      const [qty, label] = change(k + 1);
      return `${k + 1},${qty},${label}`;
    }).join("\n") + "\n";
  await Deno.writeTextFile(
    `${dir.path}/bad_update.csv`,
    rows((i) => [i === 1500 ? -1 : i + 1, `item ${i}`]),
  );
  const upd = await run(["csv:mysql", "bad_update.csv", "stock", "-q"], dir.path, db);
  assertEquals(upd.code, 4, upd.stderr);
  assertMatch(
    upd.stderr,
    /updating record id=1500: .*CONSTRAINT.*qty.*failed.*\(error 4025\); rolled back, nothing written/,
  );
  assertEquals(await tableState(db, "stock"), state);
  await Deno.writeTextFile(
    `${dir.path}/bad_create.csv`,
    rows((i) => [i === 3500 ? "" : i, `item ${i}`]),
  );
  const cre = await run(["csv:mysql", "bad_create.csv", "stock", "-q"], dir.path, db);
  assertEquals(cre.code, 4, cre.stderr);
  assertMatch(cre.stderr, /creating record id=3500: Column 'qty' cannot be null.*rolled back/);
  assertEquals(await tableState(db, "stock"), state);
  await db.sql(
    "CREATE TABLE ref (id INT, FOREIGN KEY (id) REFERENCES stock (id)) ENGINE=InnoDB; INSERT INTO ref VALUES (2500)",
  );
  await Deno.writeTextFile(
    `${dir.path}/few.csv`,
    "id,qty,label\n" +
      Array.from({ length: 2000 }, (_, k) => `${k + 1},${k + 1},item ${k + 1}`).join("\n") +
      "\n",
  );
  const del = await run(
    ["csv:mysql", "few.csv", "stock", "--delete", "--max-delete", "100%", "-q"],
    dir.path,
    db,
  );
  assertEquals(del.code, 4, del.stderr);
  assertMatch(del.stderr, /deleting record id=2500: .*foreign key constraint fails/);
  assertEquals(await tableState(db, "stock"), state);
  // A new table whose load fails is not left behind.
  await Deno.writeTextFile(`${dir.path}/dup.csv`, "k,v\na,1\nA,2\n");
  await db.sql("CREATE TABLE nn (k VARCHAR(5) PRIMARY KEY) ENGINE=InnoDB");
  const good = await run(
    ["csv:mysql", "bad_update.csv", "fresh", "-q", "--max-create", "0"],
    dir.path,
    db,
  );
  assertEquals(good.code, 3, good.stderr);
  assertEquals(await db.sql("SHOW TABLES LIKE 'fresh'"), []);
  // Without the bad value, the 3000 updates and 1000 creates go through in one piece.
  await Deno.writeTextFile(`${dir.path}/good.csv`, rows((i) => [i + 1, `item ${i}`]));
  const ok = await run(["csv:mysql", "good.csv", "stock", "-q"], dir.path, db);
  assertEquals(ok.code, 0, ok.stderr);
  assertEquals(await db.sql("SELECT COUNT(*), SUM(qty) FROM stock"), [
    `4000\t${(4000 * 4001) / 2 + 4000}`,
  ]);
});

Deno.test("values the column would refuse or change are exit 2 before anything is written", async () => {
  await using dir = await tempDir();
  await using db = await myDb();
  await db.sql(`CREATE TABLE t (id INT PRIMARY KEY, code VARCHAR(5), c CHAR(3), tiny TINYINT,
    amount DECIMAL(5,2), e ENUM('a','b'), s SET('x','y'), dt DATETIME) ENGINE=InnoDB;
    INSERT INTO t VALUES (1, 'abc', 'x', 1, 1.5, 'a', 'x', '2024-01-01 00:00:00')`);
  const state = await tableState(db, "t");
  const cases: [string, RegExp][] = [
    ["2,abcdef,x,1,1,a,x,", /record id=2.*field 'code': "abcdef" is too long for varchar\(5\)/],
    ["2,ok,x ,1,1,a,x,", /record id=2.*field 'c'.*ends in spaces/],
    ["2,ok,x,128,1,a,x,", /record id=2.*field 'tiny': 128 is out of range for tinyint/],
    ["2,ok,x,1,1.555,a,x,", /record id=2.*field 'amount'.*decimal places.*round/],
    ["2,ok,x,1,1,A,x,", /record id=2.*field 'e': "A" is not a value of enum/],
    ['2,ok,x,1,1,a,"y,x",', /record id=2.*field 's'.*not a value of set/],
    ["2,ok,x,1,1,a,x,2024-01-01 00:00:00.5", /record id=2.*field 'dt'.*fractional seconds/],
  ];
  for (const [row, message] of cases) {
    await Deno.writeTextFile(
      `${dir.path}/t.csv`,
      `id,code,c,tiny,amount,e,s,dt\n3,fine,y,1,1,b,y,\n${row}\n`,
    );
    const r = await run(["csv:mysql", "t.csv", "t"], dir.path, db);
    assertEquals(r.code, 2, r.stderr);
    assertMatch(r.stderr, message);
    assertEquals(await tableState(db, "t"), state, "nothing written");
  }
  // Zero dates and TIME beyond a day are read as clear errors, not passed on.
  await db.sql(`SET SESSION sql_mode = ''; CREATE TABLE z (id INT PRIMARY KEY, d DATE, tm TIME);
    INSERT INTO z VALUES (1, '2024-01-01', '10:00:00'), (2, '0000-00-00', '10:00:00'), (3, NULL, '25:00:00')`);
  const zero = await run(["mysql:csv", "z", "-"], dir.path, db);
  assertEquals(zero.code, 2, zero.stderr);
  assertMatch(zero.stderr, /#z: record 2: field 'd': zero date "0000-00-00"/);
  const long = await run(["mysql:csv", "z", "-", "--where", "id <> 2"], dir.path, db);
  assertEquals(long.code, 2, long.stderr);
  assertMatch(long.stderr, /record 2: field 'tm': TIME "25:00:00" is outside/);
  const asNull = await run(
    ["mysql:csv", "z", "-", "--where", "id <> 3", "--zero-dates", "null"],
    dir.path,
    db,
  );
  assertEquals(asNull.code, 0, asNull.stderr);
  assertEquals(parseCsvSimple(asNull.stdout).slice(1), [["1", "2024-01-01", "10:00:00"], [
    "2",
    "",
    "10:00:00",
  ]]);
  const badMode = await run(["mysql:csv", "z", "-", "--zero-dates", "zero"], dir.path, db);
  assertEquals(badMode.code, 2, badMode.stderr);
  const filtered = await run(["mysql:csv", "z", "-", "--where", "id = 1"], dir.path, db);
  assertEquals(filtered.code, 0, filtered.stderr);
  assertEquals(parseCsvSimple(filtered.stdout), [["id", "d", "tm"], [
    "1",
    "2024-01-01",
    "10:00:00",
  ]]);
});

Deno.test("--time-as text: TIME beyond a day and negative read, compared and written exactly", async () => {
  await using dir = await tempDir();
  await using db = await myDb();
  await db.sql(`CREATE TABLE d (id INT PRIMARY KEY, tm TIME(3));
    INSERT INTO d VALUES (1, '-01:30:00'), (2, '838:59:59'), (3, '10:00:00.5'), (4, '-00:00:00.25'),
      (5, '100:00:00'), (6, NULL)`);
  const out = await run(["mysql:csv", "d", "d.csv", "--time-as", "text"], dir.path, db);
  assertEquals(out.code, 0, out.stderr);
  const csvText = await Deno.readTextFile(`${dir.path}/d.csv`);
  assertEquals(parseCsvSimple(csvText).slice(1), [
    ["1", "-01:30:00"],
    ["2", "838:59:59"],
    ["3", "10:00:00.5"],
    ["4", "-00:00:00.25"],
    ["5", "100:00:00"],
    ["6", ""],
  ]);
  const same = await run(
    ["csv:mysql", "d.csv", "d", "--time-as", "text", "-n", "--exit-code"],
    dir.path,
    db,
  );
  assertEquals(same.code, 0, same.stdout + same.stderr);
  // Durations written back land as they are; a copy into SQLite and back is unchanged.
  await Deno.writeTextFile(
    `${dir.path}/d.csv`,
    csvText.replace("-01:30:00", "-120:00:00.125").replace("100:00:00", "00:00:01"),
  );
  const write = await run(["csv:mysql", "d.csv", "d", "--time-as", "text"], dir.path, db);
  assertEquals(write.code, 0, write.stderr);
  assertMatch(write.stderr, /\+0 ~2 -0/);
  assertEquals(await db.sql("SELECT tm FROM d WHERE id IN (1, 5) ORDER BY id"), [
    "-120:00:00.125",
    "00:00:01.000",
  ]);
  const lite = await run(["mysql:sqlite", "d", "d.db#d", "--time-as", "text"], dir.path, db);
  assertEquals(lite.code, 0, lite.stderr);
  const back = await run(
    ["sqlite:mysql", "d.db#d", "d", "--time-as", "text", "-n", "--exit-code"],
    dir.path,
    db,
  );
  assertEquals(back.code, 0, back.stdout + back.stderr);
  // What MySQL would read back differently is refused before writing.
  const state = await tableState(db, "d");
  for (
    const [value, message] of [
      ["1:00:00", /"1:00:00" is not a TIME as MySQL prints it/],
      ["839:00:00", /"839:00:00" is not a TIME/],
      ["-00:00:00", /"-00:00:00" is not a TIME/],
      ["10:00:00.50", /"10:00:00.50" is not a TIME/],
      ["10:00:00.1234", /more fractional seconds than time\(3\) keeps/],
    ] as const
  ) {
    await Deno.writeTextFile(`${dir.path}/bad.csv`, `id,tm\n1,${value}\n`);
    const r = await run(["csv:mysql", "bad.csv", "d", "--time-as", "text"], dir.path, db);
    assertEquals(r.code, 2, r.stderr);
    assertMatch(r.stderr, message);
    assertEquals(await tableState(db, "d"), state, "nothing written");
  }
  // Without the option a duration is still an error naming the record and field.
  const plain = await run(["mysql:csv", "d", "-"], dir.path, db);
  assertEquals(plain.code, 2, plain.stderr);
  assertMatch(plain.stderr, /field 'tm': TIME "-120:00:00.125" is outside .*--time-as text/);
  const badMode = await run(["mysql:csv", "d", "-", "--time-as", "interval"], dir.path, db);
  assertEquals(badMode.code, 2, badMode.stderr);
  assertMatch(badMode.stderr, /--time-as 'interval': expected time or text/);
});

Deno.test("MyISAM tables are refused for apply unless --allow-non-transactional", async () => {
  await using dir = await tempDir();
  await using db = await myDb();
  await db.sql("CREATE TABLE m (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=MyISAM");
  await Deno.writeTextFile(`${dir.path}/m.csv`, "id,v\n1,a\n2,b\n");
  const refused = await run(["csv:mysql", "m.csv", "m"], dir.path, db);
  assertEquals(refused.code, 2, refused.stderr);
  assertMatch(refused.stderr, /engine MyISAM is not transactional.*nothing was written/);
  assertMatch(refused.stderr, /--allow-non-transactional/);
  assertEquals(await db.sql("SELECT COUNT(*) FROM m"), ["0"]);
  const dry = await run(["csv:mysql", "m.csv", "m", "-n"], dir.path, db);
  assertEquals(dry.code, 0, dry.stderr);
  const allowed = await run(
    ["csv:mysql", "m.csv", "m", "--allow-non-transactional", "--format", "summary"],
    dir.path,
    db,
  );
  assertEquals(allowed.code, 0, allowed.stderr);
  assertMatch(allowed.stderr, /\+2 ~0 -0 {2}\d+\.\d s {2}\(not transactional\)\n/);
  assertEquals(JSON.parse(allowed.stdout).transactional, false);
  // An InnoDB table's line has no such note.
  await db.sql("CREATE TABLE i (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB");
  const innodb = await run(["csv:mysql", "m.csv", "i", "--format", "summary"], dir.path, db);
  assertMatch(innodb.stderr, /\+2 ~0 -0 {2}\d+\.\d s\n/);
  assertEquals(JSON.parse(innodb.stdout).transactional, undefined);
  assertEquals(await db.sql("SELECT * FROM m ORDER BY id"), ["1\ta", "2\tb"]);
  // A failure part way says what it leaves: MyISAM keeps the rows before the failing one.
  await db.sql(
    "CREATE TABLE m2 (id INT PRIMARY KEY, u INT UNIQUE) ENGINE=MyISAM; INSERT INTO m2 VALUES (1, 1)",
  );
  await Deno.writeTextFile(`${dir.path}/m2.csv`, "id,u\n1,1\n2,5\n3,1\n");
  const partial = await run(
    ["csv:mysql", "m2.csv", "m2", "--allow-non-transactional"],
    dir.path,
    db,
  );
  assertEquals(partial.code, 4, partial.stderr);
  assertMatch(
    partial.stderr,
    /Duplicate entry '1'.*not transactional: what was written before the failure stays/,
  );
  assertEquals(await db.sql("SELECT * FROM m2 ORDER BY id"), ["1\t1", "2\t5"]);
});

Deno.test("matrix: csv, ndjson, json and sqlite to and from mysql — load, empty rerun, exact changes", async () => {
  await using dir = await tempDir();
  await using db = await myDb();
  const original = [[1, "Ann", 1.5], [2, 'Bob "the builder", Jr.', 20], [
    3,
    "Zoë\nnew line",
    -3.25,
  ]];
  const modified = [[1, "Ann", 1.5], [2, "Bob", 20], [11, "Eleven", 11.125]];
  const write = async (kind: string, recs: unknown[][]): Promise<string> => {
    const objects = recs.map(([id, name, score]) => ({ id, name, score }));
    const path = `${dir.path}/src.${kind === "sqlite" ? "db" : kind}`;
    if (kind === "csv") await Deno.writeTextFile(path, csv(["id", "name", "score"], recs));
    if (kind === "ndjson") {
      await Deno.writeTextFile(path, objects.map((o) => JSON.stringify(o)).join("\n") + "\n");
    }
    if (kind === "json") await Deno.writeTextFile(path, JSON.stringify(objects));
    if (kind !== "sqlite") return path;
    await Deno.remove(path).catch(() => {});
    const { DatabaseSync } = await import("node:sqlite");
    const lite = new DatabaseSync(path);
    lite.exec("CREATE TABLE recs (id INTEGER PRIMARY KEY, name TEXT, score REAL)");
    for (const r of recs) lite.prepare("INSERT INTO recs VALUES (?, ?, ?)").run(...r as never[]);
    lite.close();
    return `${path}#recs`;
  };
  const rowsOf = (recs: unknown[][]) =>
    recs.map(([id, name, score]) => `${id}\t${String(name).replaceAll("\n", "\\n")}\t${score}`);
  for (const kind of ["csv", "ndjson", "json", "sqlite"]) {
    const table = `from_${kind}`;
    const load = await run([`${kind}:mysql`, await write(kind, original), table], dir.path, db);
    assertEquals(load.code, 0, load.stderr);
    assertEquals(await db.sql(`SELECT * FROM ${table} ORDER BY id`), rowsOf(original), kind);
    const again = await run(
      [`${kind}:mysql`, await write(kind, original), table, "-n", "--exit-code"],
      dir.path,
      db,
    );
    assertEquals(again.code, 0, `${kind}: ${again.stdout}${again.stderr}`);
    const change = await run(
      [`${kind}:mysql`, await write(kind, modified), table, "--delete"],
      dir.path,
      db,
    );
    assertEquals(change.code, 0, change.stderr);
    assertMatch(change.stderr, /\+1 ~1 -1/, kind);
    assertEquals(await db.sql(`SELECT * FROM ${table} ORDER BY id`), rowsOf(modified), kind);

    // And back: mysql → kind, then a rerun is empty.
    const out = kind === "sqlite" ? "out.db#recs" : `out_${table}.${kind}`;
    const back = await run([`mysql:${kind}`, table, out], dir.path, db);
    assertEquals(back.code, 0, back.stderr);
    const backAgain = await run([`mysql:${kind}`, table, out, "-n", "--exit-code"], dir.path, db);
    assertEquals(backAgain.code, 0, `mysql:${kind}: ${backAgain.stdout}${backAgain.stderr}`);
    await Deno.remove(`${dir.path}/out.db`).catch(() => {});
  }
});

Deno.test("a second run on the same table waits for the first (a named lock held while writing), at most --lock-timeout", async () => {
  await using dir = await tempDir();
  await using db = await myDb();
  await Deno.writeTextFile(`${dir.path}/users.csv`, USERS);
  // Another session holds the table's lock for 6 s, as a running dsync would; dsync alone
  // finishes well within that.
  const holderStart = performance.now();
  const holder = db.sql(`SELECT GET_LOCK('dsync:${db.name}.users', 10); SELECT SLEEP(6)`);
  await new Promise((r) => setTimeout(r, 500));
  const short = await run(
    ["csv:mysql", "users.csv", "users", "--lock-timeout", "1s"],
    dir.path,
    db,
  );
  assertEquals(short.code, 4, short.stderr);
  assertMatch(short.stderr, /target is locked by another writer \(waited 1 s\); nothing written/);
  const r = await run(["csv:mysql", "users.csv", "users", "--lock-timeout", "20s"], dir.path, db);
  assertEquals(r.code, 0, r.stderr);
  assertOk(performance.now() - holderStart >= 5800, "it waited for the lock");
  await holder;
  assertEquals(await db.sql("SELECT COUNT(*) FROM users"), ["3"]);
});

Deno.test("text keys in a case-insensitive collation are read in code point order for the sorted merge", async () => {
  await using dir = await tempDir();
  await using db = await myDb();
  await db.sql(`CREATE TABLE ci (k VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, v INT)
    CHARSET utf8mb4; INSERT INTO ci VALUES ('Z', 1), ('a', 2), ('é', 3), ('e2', 4), ('b', 5)`);
  // The server's own order is a, b, é, e2, Z; the file's is code point order.
  assertEquals(await db.sql("SELECT GROUP_CONCAT(k ORDER BY k) FROM ci"), ["a,b,é,e2,Z"]);
  await Deno.writeTextFile(`${dir.path}/ci.csv`, "k,v\nZ,1\na,2\nb,5\ne2,4\né,3\n");
  const same = await run(["mysql:csv", "ci", "ci.csv", "-n", "--exit-code", "-v"], dir.path, db);
  assertEquals(same.code, 0, same.stdout + same.stderr);
  assertMatch(same.stderr, /sorted merge/);
  await Deno.writeTextFile(`${dir.path}/ci.csv`, "k,v\nZ,1\na,2\nb,5\ne2,4\né,9\n");
  const one = await run(["mysql:csv", "ci", "ci.csv", "-n", "--delete"], dir.path, db);
  assertEquals(one.code, 0, one.stderr);
  assertEquals(parseNdjson(one.stdout), [
    { op: "update", key: { k: "é" }, before: { v: 9 }, after: { v: 3 } },
  ]);
});

Deno.test("hostile names: table and columns with backticks, quotes, spaces, dots and unicode", async () => {
  await using dir = await tempDir();
  await using db = await myDb();
  const table = 'Order `Items` "it\'s" ünï';
  const columns = ["Key `k`", 'it\'s "q"', "sp ace.dot", "Ünï"];
  await Deno.writeTextFile(
    `${dir.path}/h.csv`,
    csv(columns, [["a", "1", "x", "é"], ["B", "2", "y", ""], ["b", "3", "z", null]]),
  );
  const locator = `${db.name}.${ident(table)}`;
  const key = ["--key", columns[0]];
  const load = await run(["csv:mysql", "h.csv", locator, ...key], dir.path, db);
  assertEquals(load.code, 0, load.stderr);
  assertEquals(await db.sql(`SELECT * FROM ${ident(table)} ORDER BY BINARY ${ident(columns[0])}`), [
    "B\t2\ty\t",
    "a\t1\tx\té",
    "b\t3\tz\tNULL",
  ]);
  assertEquals(
    await db.sql(
      `SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY ORDINAL_POSITION`,
    ),
    columns.map((c) => c.replaceAll("\\", "\\\\")),
  );
  const again = await run(
    ["csv:mysql", "h.csv", locator, "-n", "--exit-code", ...key],
    dir.path,
    db,
  );
  assertEquals(again.code, 0, again.stdout + again.stderr);
  await Deno.writeTextFile(
    `${dir.path}/h2.csv`,
    csv(columns, [["a", "1", "x!", "é"], ["c", "4", "w", "ü"]]),
  );
  const change = await run(
    ["csv:mysql", "h2.csv", locator, "--delete", "--max-delete", "100%", ...key],
    dir.path,
    db,
  );
  assertEquals(change.code, 0, change.stderr);
  assertMatch(change.stderr, /\+1 ~1 -2/);
  const out = await run(["mysql:csv", locator, "-"], dir.path, db);
  assertEquals(out.code, 0, out.stderr);
  assertEquals(parseCsvSimple(out.stdout).slice(1).sort(), [["a", "1", "x!", "é"], [
    "c",
    "4",
    "w",
    "ü",
  ]]);
});

Deno.test("passwords never appear in output; a wrong password or refused connection is exit 2", async () => {
  await using dir = await tempDir();
  await using db = await myDb();
  await Deno.writeTextFile(`${dir.path}/users.csv`, USERS);
  const withPassword = new URL(db.url);
  withPassword.password = "s3cretPW";
  const runs: RunResult[] = [];
  runs.push(
    await dsync(["csv:mysql", "users.csv", `${withPassword.href}#users`, "-v"], { cwd: dir.path }),
  );
  runs.push(await run(["mysql:csv", "users", "-"], dir.path, { url: withPassword.href }));
  runs.push(
    await dsync(["csv:mysql", "users.csv", "mysql://u:s3cretPW@[bad/db#t"], { cwd: dir.path }),
  );
  runs.push(
    await dsync(["csv:mysql", "users.csv", "users"], {
      cwd: dir.path,
      env: { MYSQL_URL: `mysql://root:s3cretPW@127.0.0.1:1/${db.name}` },
    }),
  );
  for (const r of runs) {
    assertOk(!(r.stdout + r.stderr).includes("s3cretPW"), r.stderr);
    // 0 only if the server ignores passwords; 4: the server cannot be reached.
    assertOk([0, 2, 4].includes(r.code), r.stderr);
  }
  assertMatch(runs[2].stderr, /mysql:\/\/\*\*\*@\[bad\/db': not a valid URL/);
  assertEquals(runs[3].code, 4);
  assertMatch(runs[3].stderr, /mysql:root@127\.0\.0\.1:1\/dsync_t_\w+#users: .*ECONNREFUSED/);
  assertMatch(runs[3].stderr, /is the server running/);
});

Deno.test("a password with #, @, / and ? typed unencoded connects, in the locator and in MYSQL_URL", async () => {
  await using dir = await tempDir();
  await using db = await myDb();
  await Deno.writeTextFile(`${dir.path}/users.csv`, USERS);
  const user = `dsync_u_${crypto.randomUUID().slice(0, 8)}`;
  const password = "p#ss@w/rd?x";
  await mariadb(
    `CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'; GRANT ALL ON ${db.name}.* TO '${user}'@'%'`,
  );
  try {
    const url = `mysql://${user}:${password}@${BASE.hostname}:${BASE.port || "3306"}/${db.name}`;
    const inLocator = await dsync(["csv:mysql", "users.csv", `${url}#users`, "-v"], {
      cwd: dir.path,
    });
    assertEquals(inLocator.code, 0, inLocator.stderr);
    const fromEnv = await dsync(["mysql:csv", "users", "-", "--format", "summary"], {
      cwd: dir.path,
      env: { MYSQL_URL: url },
    });
    assertEquals(fromEnv.code, 0, fromEnv.stderr);
    for (const r of [inLocator, fromEnv]) {
      assertOk(!(r.stdout + r.stderr).includes("rd?x"), r.stdout + r.stderr);
    }
    assertEquals(await db.sql("SELECT COUNT(*) FROM users"), ["3"]);
  } finally {
    await mariadb(`DROP USER '${user}'@'%'`);
  }
});

Deno.test("--format sql output runs in the mariadb client to the same table; dsync apply too", async () => {
  await using dir = await tempDir();
  await using db = await myDb();
  await Deno.writeTextFile(`${dir.path}/users.csv`, USERS);
  await Deno.writeTextFile(`${dir.path}/users2.csv`, USERS2);
  const created = await run(
    ["csv:mysql", "users.csv", "users", "-n", "--format", "sql"],
    dir.path,
    db,
  );
  assertEquals(created.code, 0, created.stderr);
  assertMatch(
    created.stdout,
    /^SET SESSION time_zone = '\+00:00'.*\nCREATE TABLE `dsync_t_\w+`\.`users`/,
  );
  await db.sql(created.stdout);
  assertEquals(await db.sql("SELECT name FROM users WHERE id = 3"), ["Zoë\\nnew line \\\\ 'q'"]);
  assertEquals(
    (await run(["csv:mysql", "users.csv", "users", "-n", "--exit-code"], dir.path, db)).code,
    0,
  );
  const changes = await run(
    ["csv:mysql", "users2.csv", "users", "--delete", "-n", "--format", "sql"],
    dir.path,
    db,
  );
  assertEquals(changes.code, 0, changes.stderr);
  await db.sql(changes.stdout);
  assertEquals(
    (await run(["csv:mysql", "users2.csv", "users", "--delete", "-n", "--exit-code"], dir.path, db))
      .code,
    0,
  );
  // The same with a table of every type, written from nothing by the printed SQL.
  await db.sql(TYPE_TABLE);
  await Deno.writeTextFile(`${dir.path}/types.csv`, csv(TYPE_HEADER, TYPE_ROWS));
  const typed = await run(
    ["csv:mysql", "types.csv", "types", "-n", "--format", "sql"],
    dir.path,
    db,
  );
  assertEquals(typed.code, 0, typed.stderr);
  await db.sql(typed.stdout);
  assertEquals(await db.sql(TYPE_SELECT), TYPE_EXPECTED);
  // dsync apply of a saved plan.
  await db.sql("DELETE FROM users WHERE id = 4");
  const plan = await run(["csv:mysql", "users2.csv", "users", "-n"], dir.path, db);
  await Deno.writeTextFile(`${dir.path}/plan.ndjson`, plan.stdout);
  const applied = await run(["apply", "mysql", "users", "plan.ndjson"], dir.path, db);
  assertEquals(applied.code, 0, applied.stderr);
  assertEquals(await db.sql("SELECT id FROM users ORDER BY id"), ["1", "2", "4"]);
});

Deno.test("dsync run: a mysql source with a join and a where, pushed down; incremental reruns are empty", async () => {
  await using dir = await tempDir();
  await using db = await myDb();
  await db.sql(`CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(20), active BOOLEAN,
      spent DECIMAL(10,2)) ENGINE=InnoDB;
    CREATE TABLE addresses (id INT PRIMARY KEY, customer_id INT, city VARCHAR(20)) ENGINE=InnoDB;
    INSERT INTO customers VALUES (1, 'ann', TRUE, 1500.50), (2, 'bob', TRUE, 20), (3, 'cy', FALSE, 5);
    INSERT INTO addresses VALUES (10, 1, 'Oslo'), (11, 2, 'Rome');`);
  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    `datastores:
  crm:  { type: mysql, url: "\${CRM_URL}" }
  shop: { type: sqlite, path: shop.db }
pipelines:
  customers:
    source:
      datastore: crm
      table: customers
      joins:
        - { table: addresses, on: "addresses.customer_id = customers.id", type: left }
      where: "customers.active AND customers.spent > 10"
      fields: [customers.id, name, spent, addresses.city]
    target: { datastore: shop, table: customers }
    key: [id]
`,
  );
  const env = { CRM_URL: db.url };
  const first = await run(["run", "dsync.yaml"], dir.path, db, env);
  assertEquals(first.code, 0, first.stderr);
  assertMatch(first.stderr, /\+2 ~0 -0/);
  assertEquals(sqliteRows(`${dir.path}/shop.db`, "customers", "id"), [
    { id: 1, name: "ann", spent: "1500.5", city: "Oslo" },
    { id: 2, name: "bob", spent: "20", city: "Rome" },
  ]);
  const again = await run(["run", "dsync.yaml"], dir.path, db, env);
  assertEquals(again.code, 0, again.stderr);
  assertMatch(again.stderr, /\+0 ~0 -0/);
  await db.sql(
    "UPDATE customers SET spent = 11, name = 'cy' WHERE id = 3; UPDATE customers SET active = TRUE WHERE id = 3",
  );
  const third = await run(["run", "dsync.yaml"], dir.path, db, env);
  assertEquals(third.code, 0, third.stderr);
  assertMatch(third.stderr, /\+1 ~0 -0/);
});

Deno.test("stop the test server", async () => {
  await server.stop();
});
