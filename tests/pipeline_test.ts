/**
 * `dsync run` pipelines, as a user runs them: a config file in a temporary directory, the CLI as
 * a subprocess, and the targets read back with the databases themselves. PostgreSQL comes from
 * scripts/pg_server.ts as in tests/postgres_test.ts; each test has its own schema.
 */
import postgres from "postgres";
import ExcelJS from "exceljs";
import { DatabaseSync } from "node:sqlite";
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import {
  dsync,
  parseCsvSimple,
  parseNdjson,
  ROOT,
  type RunResult,
  sqliteExec,
  sqliteRows,
  tempDir,
} from "./helpers.ts";
import { withPostgres } from "../scripts/pg_server.ts";
import { compileTemplate } from "../src/pipeline/template.ts";
import { interpolate } from "../src/pipeline/interpolate.ts";
import { sourceQuery } from "../src/pipeline/query.ts";
import { listImporters } from "../src/app/registry.ts";
import { postgresDialect } from "../src/adapters/postgres/dialect.ts";
import { sqliteDialect } from "../src/adapters/sqlite/dialect.ts";

const server = await withPostgres();
/** Every adapter that can be a source, as the validator lists them. */
const SOURCE_ADAPTERS = listImporters().filter((i) => i.openSource).map((i) => i.name).join(", ");

/** A fresh schema and a connection; both go on dispose. */
async function pgSchema() {
  const name = `dsync_p_${crypto.randomUUID().slice(0, 8)}`;
  const sql = postgres(server.url, { max: 1, onnotice: () => {}, connection: { TimeZone: "UTC" } });
  await sql.unsafe(`create schema "${name}"`);
  return {
    sql,
    name,
    async [Symbol.asyncDispose]() {
      await sql.unsafe(`drop schema "${name}" cascade`);
      await sql.end();
    },
  };
}

/** `dsync ARGS` in `cwd` with DATABASE_URL set to the test server, plus `env`. */
function run(args: string[], cwd: string, env: Record<string, string> = {}): Promise<RunResult> {
  return dsync(args, { cwd, env: { DATABASE_URL: server.url, ...env } });
}

/** Cell values of a sheet as exceljs reads them, header row first. */
async function excelRows(path: string, sheet: string): Promise<unknown[][]> {
  const book = new ExcelJS.Workbook();
  await book.xlsx.readFile(path);
  const rows: unknown[][] = [];
  book.getWorksheet(sheet)!.eachRow((row) => {
    rows.push(Array.from((row.values as unknown[]).slice(1), (v) => v ?? null));
  });
  return rows;
}

const SHOP = `create table customers (id integer primary key, name text, email text, total real,
  active boolean, joined date);
insert into customers values
  (1, ' ann  lee ', 'ANN@X.ORG', 1500, 1, '2024-03-05'),
  (2, 'bob', 'Bob@x.org', 10, 0, '2023-12-31'),
  (3, 'chen li', NULL, 99.5, 1, NULL);`;

Deno.test("pipeline: PostgreSQL tables joined in SQL → SQLite → xlsx, in depends_on order", async () => {
  await using dir = await tempDir();
  await using pg = await pgSchema();
  await pg.sql.unsafe(`
    create table "${pg.name}".customers (id int primary key, name text, email text,
      total_spent numeric(10,2), active boolean);
    create table "${pg.name}".addresses (id int primary key, customer_id int, city text);
    insert into "${pg.name}".customers values (1, ' ann lee ', 'ANN@X.ORG', 1500.50, true),
      (2, 'bob', 'bob@x.org', 20, true), (3, 'cy', 'cy@x.org', 5, false), (4, 'di', 'DI@x.org', 0, true);
    insert into "${pg.name}".addresses values (10, 1, 'Oslo'), (11, 2, 'Rome');`);
  // The report pipeline is written first: depends_on, not file order, decides.
  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    `datastores:
  crm:   { type: postgres, url: "\${CRM_URL}" }
  shop:  { type: sqlite, path: shop.db }
  sheet: { type: excel, path: report.xlsx }
pipelines:
  report:
    depends_on: customers
    source: { datastore: shop, table: customers }
    target: { datastore: sheet, sheet: Customers }
  customers:
    source:
      datastore: crm
      table: \${SCHEMA}.customers
      joins:
        - { table: "\${SCHEMA}.addresses", on: "addresses.customer_id = customers.id", type: left }
      where: "customers.active"
      fields: [customers.id, name, email, total_spent, addresses.city, "addresses.id as address_id"]
    target: { datastore: shop, table: customers }
    key: [id]
    map:
      full_name: "{{ name | trim | title }}"
      email: "{{ email | lower }}"
      tier: "r => r.total_spent > 1000 ? 'gold' : 'std'"
    policy: { delete: true, max_delete: "50%", delete_outside_where: true }
`,
  );
  const env = { CRM_URL: server.url, SCHEMA: pg.name };
  const first = await run(["run", "dsync.yaml"], dir.path, env);
  assertEquals(first.code, 0, first.stderr);
  const summaries = first.stderr.trim().split("\n");
  assertMatch(summaries[0], /customers\+.*addresses → sqlite:shop\.db#customers {2}\+3 ~0 -0/);
  assertMatch(summaries[1], /^sqlite:shop\.db#customers → report\.xlsx#Customers {2}\+3 ~0 -0/);
  assertEquals(sqliteRows(`${dir.path}/shop.db`, "customers", "id"), [
    {
      id: 1,
      name: " ann lee ",
      email: "ann@x.org",
      total_spent: "1500.5",
      city: "Oslo",
      address_id: 10,
      full_name: "Ann Lee",
      tier: "gold",
    },
    {
      id: 2,
      name: "bob",
      email: "bob@x.org",
      total_spent: "20",
      city: "Rome",
      address_id: 11,
      full_name: "Bob",
      tier: "std",
    },
    {
      id: 4,
      name: "di",
      email: "di@x.org",
      total_spent: "0",
      city: null,
      address_id: null,
      full_name: "Di",
      tier: "std",
    },
  ]);
  const sheet = await excelRows(`${dir.path}/report.xlsx`, "Customers");
  assertEquals(sheet[0], [
    "id",
    "name",
    "email",
    "total_spent",
    "city",
    "address_id",
    "full_name",
    "tier",
  ]);
  assertEquals(sheet.slice(1).map((r) => [r[0], r[6], r[7]]), [
    [1, "Ann Lee", "gold"],
    [2, "Bob", "std"],
    [4, "Di", "std"],
  ]);

  const again = await run(["run", "dsync.yaml"], dir.path, env);
  assertEquals(again.code, 0, again.stderr);
  assertEquals(again.stderr.match(/\+0 ~0 -0/g)?.length, 2, again.stderr);

  // Bob leaves (inactive), Di moves: only the customers pipeline, as a plan.
  await pg.sql.unsafe(`update "${pg.name}".customers set active = false where id = 2;
    insert into "${pg.name}".addresses values (12, 4, 'Lima');`);
  const plan = await run(["run", "dsync.yaml", "customers", "-n"], dir.path, env);
  assertEquals(plan.code, 0, plan.stderr);
  assertEquals(parseNdjson(plan.stdout), [
    {
      op: "update",
      key: { id: 4 },
      before: { city: null, address_id: null },
      after: { city: "Lima", address_id: 12 },
    },
    {
      op: "delete",
      key: { id: 2 },
      before: {
        id: 2,
        name: "bob",
        email: "bob@x.org",
        total_spent: "20",
        city: "Rome",
        address_id: 11,
        full_name: "Bob",
        tier: "std",
      },
    },
  ]);
  assertEquals(sqliteRows(`${dir.path}/shop.db`, "customers").length, 3, "-n wrote nothing");
});

Deno.test("pipeline: -n prints exactly the pair command's NDJSON; CLI options override the file", async () => {
  await using dir = await tempDir();
  sqliteExec(`${dir.path}/shop.db`, SHOP);
  await Deno.writeTextFile(
    `${dir.path}/old.csv`,
    "customer,name,email,total,active,joined\n1,x,ann@x.org,1500,true,2024-03-05\n9,gone,,,,\n",
  );
  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    `datastores:
  shop: { type: sqlite, path: shop.db }
  old: { type: csv, path: old.csv, delimiter: "," }
pipelines:
  export:
    source: { datastore: shop, table: customers }
    target: { datastore: old }
    rename: { id: customer }
    key: customer
    policy: { delete: true, max_changes: 10 }
    format: json
`,
  );
  const pair = await run(
    ["sqlite:csv", "shop.db#customers", "old.csv", "--map", "id=customer", "--key", "customer"]
      .concat(["--delete", "--max-changes", "10", "-n", "--format", "ndjson"]),
    dir.path,
  );
  assertEquals(pair.code, 0, pair.stderr);
  const piped = await run(["run", "dsync.yaml", "-n", "--format", "ndjson"], dir.path);
  assertEquals(piped.code, 0, piped.stderr);
  assertEquals(piped.stdout, pair.stdout);
  assertEquals(parseNdjson(piped.stdout).map((c) => c.op), [
    "create",
    "create",
    "update",
    "delete",
  ]);
  const json = await run(["run", "dsync.yaml", "-n"], dir.path);
  assertEquals(JSON.parse(json.stdout).changes.length, 4, "format: json from the file");
  const limited = await run(["run", "dsync.yaml", "--max-changes", "2"], dir.path);
  assertEquals(limited.code, 3, limited.stderr);
  assertMatch(limited.stderr, /pipeline 'export': refused: 4 changes exceed --max-changes 2/);
  const noDelete = await run(["run", "dsync.yaml", "-n", "--format", "summary"], dir.path, {});
  assertEquals(JSON.parse(noDelete.stdout).delete, 1);
});

Deno.test("pipeline: templates, filters and expressions; a throwing expression names pipeline, field and key", async () => {
  await using dir = await tempDir();
  sqliteExec(`${dir.path}/shop.db`, SHOP);
  const config = (extra: string) =>
    `datastores:
  shop: { type: sqlite, path: shop.db }
  out: { type: ndjson, path: out.ndjson }
pipelines:
  people:
    source: { datastore: shop, table: customers }
    target: { datastore: out }
    fields: [id, label, mail, since, tier, initials, flags]
    map:
      label: "#{{ id }}: {{ name | trim | replace('  ', ' ') | title }}"
      mail: "{{ email | lower | default('none') }}"
      since: "{{ joined | date('DD.MM.YYYY') | default('-') }}"
      tier: "r => r.total > 1000 ? 'gold' : 'std'"
      initials: "(r) => r.name.trim().split(/\\\\s+/).map((w) => w[0].toUpperCase()).join('')"
      flags: "r => ({ active: r.active === 1, big: r.total >= 99.5 })"
${extra}`;
  await Deno.writeTextFile(`${dir.path}/dsync.yaml`, config(""));
  const r = await run(["run", "dsync.yaml"], dir.path);
  assertEquals(r.code, 0, r.stderr);
  assertEquals(parseNdjson(await Deno.readTextFile(`${dir.path}/out.ndjson`)), [
    {
      id: 1,
      label: "#1: Ann Lee",
      mail: "ann@x.org",
      since: "05.03.2024",
      tier: "gold",
      initials: "AL",
      flags: { active: true, big: true },
    },
    {
      id: 2,
      label: "#2: Bob",
      mail: "bob@x.org",
      since: "31.12.2023",
      tier: "std",
      initials: "B",
      flags: { active: false, big: false },
    },
    {
      id: 3,
      label: "#3: Chen Li",
      mail: "none",
      since: "-",
      tier: "std",
      initials: "CL",
      flags: { active: true, big: true },
    },
  ]);
  const again = await run(["run", "dsync.yaml"], dir.path);
  assertMatch(again.stderr, /\+0 ~0 -0/);

  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    config("").replace(
      "r => r.total > 1000 ? 'gold' : 'std'",
      "r => { if (r.email === null) throw new Error('no email'); return 1 }",
    ),
  );
  const thrown = await run(["run", "dsync.yaml"], dir.path);
  assertEquals(thrown.code, 2, thrown.stderr);
  assertMatch(
    thrown.stderr,
    /^dsync: pipeline 'people': map 'tier': record id=3 of sqlite:shop\.db#customers: no email\n {2}the map entry is at dsync\.yaml:13:13\n/,
  );
});

Deno.test("pipeline: template filters (unit)", () => {
  const render = (text: string, record: Record<string, unknown>) =>
    compileTemplate(text).render((name) => record[name]);
  assertEquals(render("{{ n }}", { n: 42 }), 42);
  assertEquals(render("{{ n }}!", { n: null }), "!");
  assertEquals(render("{{ s | upper }}-{{ s | lower }}", { s: "MiX" }), "MIX-mix");
  assertEquals(render("{{ s | title }}", { s: "o'neil mcDONALD-smith" }), "O'neil Mcdonald-Smith");
  assertEquals(render('{{ s | default("x, y") }}', { s: "" }), "x, y");
  assertEquals(render("{{ s | replace('a', 'b') }}", { s: "banana" }), "bbnbnb");
  assertEquals(
    render("{{ t | date('YYYY-MM-DD HH:mm:ss.SSS') }}", { t: "2024-05-01 23:30:00.5-02:00" }),
    "2024-05-02 01:30:00.500",
  );
  assertEquals(render("{{ t | date('YY/M') }}", { t: "2024-05-01" }), "24/M");
  assertEquals(compileTemplate("{{ a }} {{ b|trim }} {{ a }}").fields, ["a", "b"]);
  for (
    const [bad, message] of [
      ["{{ a | nope }}", /unknown filter 'nope'/],
      ["{{ a | replace('x') }}", /'replace' takes 2 arguments, got 1/],
      ["{{ a ", /unclosed/],
      ["{{ | upper }}", /without a field/],
    ] as const
  ) {
    let error: Error | undefined;
    try {
      compileTemplate(bad);
    } catch (e) {
      error = e as Error;
    }
    assertMatch(error?.message ?? "", message);
  }
});

Deno.test("pipeline: source queries are built with quoted identifiers and bound watermarks", () => {
  const spec = {
    table: 'crm."Customers"',
    joins: [{
      table: "crm.addresses",
      as: "a",
      on: 'a.cid = "Customers".id',
      type: "full" as const,
    }],
    where: "true",
    fields: ['"Customers".id', "a.city as town"],
  };
  assertEquals(sourceQuery(spec, postgresDialect, { column: "updated", after: "x'; drop" }), {
    sql:
      `SELECT * FROM (SELECT "Customers"."id" AS "id", "a"."city" AS "town" FROM "crm"."Customers" FULL JOIN "crm"."addresses" AS "a" ON (a.cid = "Customers".id) WHERE (true)) w WHERE w."updated" > $1`,
    params: ["x'; drop"],
    name: 'crm."Customers"+crm.addresses',
  });
  assertEquals(
    sourceQuery({ query: "select 1 as id;" }, sqliteDialect, { column: "id", after: 0 }),
    {
      sql: `SELECT * FROM (select 1 as id) w WHERE w."id" > ?`,
      params: [0],
      name: "query",
    },
  );
});

Deno.test("pipeline: ${VAR} and ${VAR:-default} interpolation; unset variables are errors with line and column", async () => {
  assertEquals(interpolate("a${X}b${Y:-d}c$${Z}", (n) => ({ X: "1", Y: "" })[n]), "a1bdc${Z}");
  await using dir = await tempDir();
  sqliteExec(`${dir.path}/shop.db`, SHOP);
  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    `datastores:
  shop: { type: sqlite, path: "\${DB_FILE:-shop.db}" }
  out: { type: csv, path: "\${OUT_DIR}/out.csv", delimiter: "\${SEP}" }
pipelines:
  export:
    source: { datastore: shop, table: customers }
    target: { datastore: out }
    batch_size: \${BATCH}
    fields: id,name
    map: { name: "r => \`$\${r.id}-\${r.name.trim()}\`" }
`,
  );
  await Deno.mkdir(`${dir.path}/o`);
  const env = { OUT_DIR: "o", SEP: ";", BATCH: "2" };
  const ok = await run(["run", "dsync.yaml"], dir.path, env);
  assertEquals(ok.code, 0, ok.stderr);
  assertEquals(
    await Deno.readTextFile(`${dir.path}/o/out.csv`),
    "id;name\n1;$1-ann  lee\n2;$2-bob\n3;$3-chen li\n",
  );
  const unset = await run(["run", "dsync.yaml"], dir.path, { SEP: ";", BATCH: "2" });
  assertEquals(unset.code, 2);
  assertEquals(
    unset.stderr,
    "dsync: dsync.yaml:3:28: datastores.out.path: environment variable OUT_DIR is not set\n",
  );
  const notNumber = await run(["run", "dsync.yaml"], dir.path, { ...env, BATCH: "lots" });
  assertEquals(
    notNumber.stderr,
    "dsync: dsync.yaml:8:17: pipelines.export.batch_size: expected a whole number, got a string\n",
  );
});

Deno.test("pipeline: every validation error names file, line and column", async () => {
  await using dir = await tempDir();
  const cases: [string, string][] = [
    [
      "datastores: {}\npipelines: {}\nextra: 1\n",
      "x.yaml:2:12: pipelines: must not be empty\ndsync: x.yaml:3:1: top level: unknown key 'extra'\n  expected one of: datastores, defaults, watch, pipelines",
    ],
    [
      `datastores:
  db: { type: sqlite, path: a.db }
pipelines:
  p:
    source: { datastore: db, tabel: t }
    target: { datastore: db, table: u }`,
      "x.yaml:5:30: pipelines.p.source: unknown key 'tabel' (did you mean 'table'?)",
    ],
    [
      `datastores:
  db: { type: sqlite, path: a.db }
pipelines:
  p:
    source: { datastore: db, table: t }
    target: { datastore: db, table: u }
    policy: { delete: yes please }`,
      "x.yaml:7:23: pipelines.p.policy.delete: expected true or false, got a string",
    ],
    [
      `datastores:
  db: { type: sqlite }
pipelines:
  p:
    source: { table: t }
    target: { datastore: db, table: u }`,
      "x.yaml:2:7: datastores.db: missing key 'path'\ndsync: x.yaml:5:13: pipelines.p.source: missing key 'datastore'",
    ],
    [
      `datastores:
  db: { type: sqlite, path: a.db }
pipelines:
  p:
    source: { datastore: crm, table: t }
    target: { datastore: db, table: u }`,
      "x.yaml:5:26: pipelines.p.source.datastore: unknown datastore 'crm'\n  datastores: db",
    ],
    [
      `datastores:
  db: { type: sqlite, path: a.db }
pipelines:
  a:
    depends_on: c
    source: { datastore: db, table: t }
    target: { datastore: db, table: u }
  b:
    depends_on: [a]
    source: { datastore: db, table: t }
    target: { datastore: db, table: u }
  c:
    depends_on: [b]
    source: { datastore: db, table: t }
    target: { datastore: db, table: u }`,
      "x.yaml:5:17: pipelines.a.depends_on: dependency cycle: a → c → b → a\n  remove one of these depends_on entries",
    ],
    [
      `datastores:
  db: { type: sqlite, path: a.db }
pipelines:
  p:
    source: { datastore: db, table: t }
    target: { datastore: db, table: u }
    map:
      name: "{{ name | trim | shout }}"`,
      "x.yaml:8:31: pipelines.p.map.name: unknown filter 'shout' (filters: lower, upper, trim, title, default, date, replace)",
    ],
    [
      `datastores:
  db: { type: sqlite, path: "\${DB:x}" }
pipelines:
  p:
    source: { datastore: db, table: t }
    target: { datastore: db, table: u }`,
      "x.yaml:2:30: datastores.db.path: bad interpolation '${DB:x}': expected ${NAME} or ${NAME:-default}",
    ],
    [
      `datastores:
  db: { type: sqlite, path: a.db }
  hook: { type: webhook, url: "http://x", delimiter: ";" }
pipelines:
  p:
    source: { datastore: hook }
    target: { datastore: db, table: u, sheet: 1 }
    strategy: hash
    map: { x: "r => (" }`,
      "x.yaml:3:43: datastores.hook: unknown key 'delimiter'\n  expected one of: type, url, header, show_header, timeout, retries, retry_delay, state, secret, signature_header",
    ],
    [
      `datastores:
  db: { type: sqlite, path: a.db }
  hook: { type: webhook, url: "http://x" }
pipelines:
  p:
    source: { datastore: hook }
    target: { datastore: db, table: u, sheet: 1 }
    map: { x: "r => (", y: plain }`,
      "x.yaml:6:26: pipelines.p.source.datastore: a webhook datastore cannot be a source\n  sources: " +
      SOURCE_ADAPTERS +
      "\ndsync: x.yaml:7:40: pipelines.p.target.sheet: 'sheet' is not an option of sqlite datastores\n  sqlite options: lock_timeout\ndsync: x.yaml:8:15: pipelines.p.map.x: expression: SyntaxError: Unexpected token ')'\ndsync: x.yaml:8:28: pipelines.p.map.y: expected a template ('{{ field | filter }}') or an arrow function ('r => ...')\n  a plain rename of a source field goes under rename: {SOURCE: TARGET}",
    ],
    [
      "datastores: [\n",
      "x.yaml:2:1: Flow sequence in block collection must be sufficiently indented and end with a ]",
    ],
  ];
  for (const [text, expected] of cases) {
    await Deno.writeTextFile(`${dir.path}/x.yaml`, text);
    const r = await run(["run", "x.yaml"], dir.path);
    assertEquals(r.code, 2, text);
    assertEquals(r.stderr, `dsync: ${expected}\n`, text);
    assertEquals(r.stdout, "");
  }
});

Deno.test("pipeline: incremental runs read past the saved watermark, soft-delete, and a failed run keeps it", async () => {
  await using dir = await tempDir();
  await using pg = await pgSchema();
  const t = `"${pg.name}".orders`;
  await pg.sql.unsafe(`create table ${t} (id int primary key, item text, qty int,
    updated_at timestamptz not null, deleted boolean not null default false);
    insert into ${t} values (1, 'pen', 1, '2024-05-01 10:00:00+00', false),
      (2, 'ink', 2, '2024-05-01 11:00:00.5+00', false);`);
  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    `datastores:
  crm: { type: pg, url: "\${CRM_URL}" }
  shop: { type: sqlite, path: shop.db }
defaults: { batch_size: 1 }
pipelines:
  orders:
    source: { datastore: crm, table: "\${SCHEMA}.orders" }
    target: { datastore: shop, table: orders }
    key: id
    exclude: [deleted]
    strategy: incremental
    watermark: updated_at
    soft_delete: deleted
`,
  );
  const env = { CRM_URL: server.url, SCHEMA: pg.name };
  const state = `${dir.path}/.dsync/state.db`;
  const saved = () => {
    const db = new DatabaseSync(state, { readOnly: true });
    try {
      return (db.prepare("select value from watermarks").get() as { value: string }).value;
    } finally {
      db.close();
    }
  };
  const rows = () =>
    sqliteRows(`${dir.path}/shop.db`, "orders", "id").map((r) => `${r.id}:${r.item}:${r.qty}`);

  const first = await run(["run", "dsync.yaml"], dir.path, env);
  assertEquals(first.code, 0, first.stderr);
  assertMatch(first.stderr, /\+2 ~0 -0/);
  assertEquals(rows(), ["1:pen:1", "2:ink:2"]);
  assertEquals(saved(), '{"value":"2024-05-01 11:00:00.5+00"}');

  // Run 2: one changed row, one new row, one soft-deleted row; the untouched rows are not
  // part of the run (no delete of them, none reported).
  await pg.sql.unsafe(`update ${t} set qty = 5, updated_at = '2024-05-02 09:00:00+00' where id = 2;
    insert into ${t} values (3, 'pad', 1, '2024-05-02 08:00:00+00', false),
      (4, 'cap', 1, '2024-05-02 08:30:00+00', false);`);
  const plan = await run(["run", "dsync.yaml", "-n", "--format", "ndjson"], dir.path, env);
  assertEquals(parseNdjson(plan.stdout).map((c) => `${c.op}:${JSON.stringify(c.key)}`), [
    'create:{"id":3}',
    'create:{"id":4}',
    'update:{"id":2}',
  ]);
  assertMatch(plan.stderr, /\+2 ~1 -0 {2}/, "no deletes reported for rows outside the delta");
  assertEquals(saved(), '{"value":"2024-05-01 11:00:00.5+00"}', "a dry run saves nothing");
  const second = await run(["run", "dsync.yaml"], dir.path, env);
  assertEquals(second.code, 0, second.stderr);
  assertEquals(rows(), ["1:pen:1", "2:ink:5", "3:pad:1", "4:cap:1"]);
  assertEquals(saved(), '{"value":"2024-05-02 09:00:00+00"}');

  // Run 3 fails (a limit refuses it): the watermark stays, and the next run redoes the work.
  await pg.sql.unsafe(`update ${t} set deleted = true, updated_at = '2024-05-03 00:00:00+00'
    where id = 1; insert into ${t} values (5, 'box', 9, '2024-05-03 01:00:00+00', false);`);
  const refused = await run(["run", "dsync.yaml", "--max-changes", "1"], dir.path, env);
  assertEquals(refused.code, 3, refused.stderr);
  assertMatch(refused.stderr, /^dsync: pipeline 'orders': refused: 2 changes exceed/);
  assertEquals(saved(), '{"value":"2024-05-02 09:00:00+00"}');
  const third = await run(["run", "dsync.yaml"], dir.path, env);
  assertEquals(third.code, 0, third.stderr);
  assertMatch(third.stderr, /\+1 ~0 -1/);
  assertEquals(rows(), ["2:ink:5", "3:pad:1", "4:cap:1", "5:box:9"]);
  assertEquals(saved(), '{"value":"2024-05-03 01:00:00+00"}');
  const idle = await run(["run", "dsync.yaml"], dir.path, env);
  assertMatch(idle.stderr, /\+0 ~0 -0/);
});

Deno.test("pipeline: expressions cannot reach files, network, environment or the host realm", async () => {
  await using dir = await tempDir();
  sqliteExec(`${dir.path}/shop.db`, SHOP);
  const escapes: Record<string, string> = {
    file: "r => Deno.readTextFileSync('/etc/passwd')",
    network: "r => fetch('http://127.0.0.1:9/')",
    env: "r => Deno.env.get('HOME')",
    process: "r => process.env.HOME",
    require: "r => require('node:fs')",
    import: "r => import('node:fs')",
    realm: "r => this.constructor.constructor('return globalThis')().Deno.cwd()",
    record: "r => r.constructor.constructor('return Deno')().cwd()",
    eval: "r => eval('Deno')",
    loop: "r => { while (true) {} }",
  };
  const pipelines = Object.entries(escapes).map(([name, expression]) =>
    `  ${name}:
    source: { datastore: shop, table: customers }
    target: { datastore: out, table: ${name} }
    map: { x: ${JSON.stringify(expression)} }`
  ).join("\n");
  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    `datastores:
  shop: { type: sqlite, path: shop.db }
  out: { type: sqlite, path: out.db }
pipelines:
${pipelines}
`,
  );
  const r = await run(["run", "dsync.yaml", "--continue-on-error"], dir.path, {
    HOME: "/secret-home",
  });
  assertEquals(r.code, 2, r.stderr);
  const reasons: Record<string, RegExp> = {
    file: /Deno is not defined/,
    network: /fetch is not defined/,
    env: /Deno is not defined/,
    process: /process is not defined/,
    require: /require is not defined/,
    import: /returned a promise/,
    realm: /Code generation from strings disallowed/,
    record: /Code generation from strings disallowed/,
    eval: /Code generation from strings disallowed/,
    loop: /took longer than 10 s/,
  };
  for (const [name, reason] of Object.entries(reasons)) {
    const line = r.stderr.split("\n").find((l) => l.startsWith(`dsync: pipeline '${name}'`));
    assertOk(line, `${name}: ${r.stderr}`);
    assertMatch(line!, reason);
  }
  assertMatch(r.stderr, /10 of 10 pipelines failed/);
  assertOk(!r.stderr.includes("/secret-home") && !r.stderr.includes("root:"));
  const tables = new DatabaseSync(`${dir.path}/out.db`).prepare(
    "select count(*) as n from sqlite_master",
  ).get() as { n: number };
  assertEquals(tables.n, 0, "nothing was written");
});

Deno.test("pipeline: a failing pipeline stops the run with its exit code; --continue-on-error runs the rest", async () => {
  await using dir = await tempDir();
  sqliteExec(`${dir.path}/shop.db`, SHOP);
  sqliteExec(
    `${dir.path}/out.db`,
    "create table strict (id integer primary key, email text not null)",
  );
  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    `datastores:
  shop: { type: sqlite, path: shop.db }
  out: { type: sqlite, path: out.db }
pipelines:
  broken:
    source: { datastore: shop, table: customers, fields: [id, email] }
    target: { datastore: out, table: strict }
  after_broken:
    depends_on: broken
    source: { datastore: shop, table: customers }
    target: { datastore: out, table: copy2 }
  fine:
    source: { datastore: shop, table: customers }
    target: { datastore: out, table: copy1 }
`,
  );
  const stop = await run(["run", "dsync.yaml"], dir.path);
  assertEquals(stop.code, 4, stop.stderr);
  assertMatch(
    stop.stderr,
    /^dsync: pipeline 'broken': sqlite:out\.db#strict: failed while creating record id=3: NOT NULL constraint failed: strict\.email; rolled back, nothing written\ndsync: stopped; not run: after_broken, fine\n$/,
  );
  const rest = await run(["run", "dsync.yaml", "--continue-on-error", "-q"], dir.path);
  assertEquals(rest.code, 4, rest.stderr);
  assertMatch(
    rest.stderr,
    /dsync: 2 of 3 pipelines failed: broken \(exit 4\), after_broken \(skipped: depends on broken\)\n$/,
  );
  assertEquals(sqliteRows(`${dir.path}/out.db`, "copy1").length, 3);
  assertEquals(sqliteRows(`${dir.path}/out.db`, "strict").length, 0);
  const named = await run(["run", "dsync.yaml", "nope"], dir.path);
  assertEquals(named.code, 2);
  assertMatch(named.stderr, /no pipeline 'nope'\n {2}pipelines: broken, after_broken, fine/);
});

Deno.test("pipeline: --validate opens every datastore and moves nothing; dsync schema prints the JSON Schema", async () => {
  await using dir = await tempDir();
  sqliteExec(`${dir.path}/shop.db`, SHOP);
  const write = (pgUrl: string) =>
    Deno.writeTextFile(
      `${dir.path}/dsync.yaml`,
      `datastores:
  shop: { type: sqlite, path: shop.db }
  crm: { type: postgres, url: "${pgUrl}" }
  out: { type: csv, path: out.csv }
pipelines:
  up:
    source: { datastore: shop, table: customers }
    target: { datastore: crm, table: public.dsync_validate_never_created }
  down:
    depends_on: up
    source: { datastore: crm, table: public.dsync_validate_never_created }
    target: { datastore: out }
`,
    );
  await write(server.url);
  const ok = await run(["run", "--validate", "dsync.yaml"], dir.path);
  assertEquals(ok.code, 0, ok.stderr);
  assertMatch(
    ok.stdout,
    /^ok {4}up: sqlite:shop\.db#customers \(6 fields\) → pg:.*#public\.dsync_validate_never_created \(created on the first run\)\n/,
  );
  assertMatch(ok.stdout, /ok {4}down: source not checked: pipeline 'up' writes it first\n/);
  assertMatch(ok.stdout, /dsync\.yaml: 2 pipelines ok\n$/);
  assertOk(!await Deno.stat(`${dir.path}/out.csv`).catch(() => false), "nothing written");

  await write("postgres://nobody:s3cret@127.0.0.1:1/none");
  const down = await run(["run", "--validate", "dsync.yaml", "up"], dir.path);
  assertEquals(down.code, 4, down.stderr); // unreachable: exit 4, not 2 (bad input)
  assertMatch(down.stdout, /^FAIL {2}up\n$/);
  assertMatch(down.stderr, /^dsync: pipeline 'up': pg:.*ECONNREFUSED/);
  assertOk(!down.stderr.includes("s3cret"), "no password in messages");

  const schema = await run(["schema"], dir.path);
  assertEquals(schema.code, 0);
  const json = JSON.parse(schema.stdout);
  assertEquals(json.$schema, "https://json-schema.org/draft/2020-12/schema");
  assertEquals(Object.keys(json.properties), ["datastores", "defaults", "watch", "pipelines"]);
  const csv = json.$defs.datastore.oneOf.find((d: { properties: { type: { enum: string[] } } }) =>
    d.properties.type.enum.includes("csv")
  );
  assertEquals(Object.keys(csv.properties), ["type", "path", "delimiter", "encoding"]);
  const help = await run(["--help"], dir.path);
  assertMatch(help.stdout, /\n {2}run CONFIG \[PIPELINE\.\.\.\] +run pipelines/);
  assertMatch(help.stdout, /\n {2}schema +print the config file's JSON Schema/);
  const completions = await run(["completions", "bash"], dir.path);
  assertMatch(completions.stdout, /candidates="\$_dsync_pairs diff apply run schema /);
});

Deno.test("pipeline: the bundle (dist/dsync.js) runs pipelines with sandboxed expressions", async () => {
  await using dir = await tempDir();
  const bundle = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform", "deno", "-o", `${dir.path}/dsync.js`, "main.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(bundle.code, 0, new TextDecoder().decode(bundle.stderr));
  sqliteExec(`${dir.path}/shop.db`, SHOP);
  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    `datastores:
  shop: { type: sqlite, path: shop.db }
  out: { type: csv, path: out.csv }
  other: { type: csv, path: other.csv }
pipelines:
  ok:
    source: { datastore: shop, table: customers, fields: [id, total] }
    target: { datastore: out }
    map: { tier: "r => r.total > 1000 ? 'gold' : 'std'" }
  escape:
    depends_on: ok
    source: { datastore: shop, table: customers }
    target: { datastore: other }
    map: { x: "r => this.constructor.constructor('return Deno')().cwd()" }
`,
  );
  const r = await dsync(["run", "dsync.yaml"], { cwd: dir.path, script: `${dir.path}/dsync.js` });
  assertEquals(r.code, 2, r.stderr);
  assertMatch(r.stderr, /pipeline 'escape': map 'x': record id=1 .*Code generation from strings/);
  assertEquals(parseCsvSimple(await Deno.readTextFile(`${dir.path}/out.csv`)), [
    ["id", "total", "tier"],
    ["1", "1500", "gold"],
    ["2", "10", "std"],
    ["3", "99.5", "std"],
  ]);
});

Deno.test("stop the test server", async () => {
  await server.stop();
});
