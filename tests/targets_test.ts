/**
 * `targets: [a, b, c]`: one source kept in step with several targets in one `dsync run`, each
 * planned and applied on its own; and the hub-and-spoke recipe of docs/pipelines.md ("sync among
 * N stores"), run as a user would and checked with sqlite itself.
 * @module
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, parseCsvSimple, sqliteExec, sqliteRows, tempDir } from "./helpers.ts";

Deno.test("targets: each target applied on its own; a failing one is rolled back alone", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/users.csv`, "id,name\n1,Ann\n2,Bob\n3,\n");
  // b refuses an empty name: its whole change set must roll back, a and c stay applied.
  sqliteExec(`${dir.path}/b.db`, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
  sqliteExec(`${dir.path}/b.db`, "INSERT INTO users VALUES (9, 'Old')");
  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    `datastores:
  users: { type: csv, path: users.csv }
  a: { type: sqlite, path: a.db }
  b: { type: sqlite, path: b.db }
  c: { type: csv, path: copy.csv }
pipelines:
  fanout:
    source: { datastore: users }
    targets: [{ datastore: a, table: users }, { datastore: b, table: users }, c]
    policy: { delete: true, max_delete: 100% }
`,
  );
  const r = await dsync(["run", "dsync.yaml", "--format", "summary"], { cwd: dir.path });
  assertEquals(r.code, 4, r.stderr);
  assertEquals(sqliteRows(`${dir.path}/a.db`, "users").map((u) => u.name), ["Ann", "Bob", null]);
  assertEquals(sqliteRows(`${dir.path}/b.db`, "users"), [{ id: 9, name: "Old" }]);
  assertEquals(parseCsvSimple(await Deno.readTextFile(`${dir.path}/copy.csv`)).length, 4);
  // one summary per target, the failed one included
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(lines.map((l) => [l.target, l.status, l.create]), [
    ["sqlite:a.db#users", "ok", 3],
    ["sqlite:b.db#users", "failed", 0],
    ["copy.csv", "ok", 3],
  ]);
  assertMatch(r.stderr, /pipeline 'fanout' target b#users: .*NOT NULL/);
  assertMatch(r.stderr, /pipeline 'fanout': 1 of 3 targets failed \(b#users: exit 4\)/);

  const oneFile = await dsync(["run", "dsync.yaml", "-o", "plan.ndjson"], { cwd: dir.path });
  assertEquals(oneFile.code, 2);
  assertMatch(oneFile.stderr, /-o plan\.ndjson: 3 targets would write the same file/);

  const again = await dsync(["run", "dsync.yaml", "-q", "--format", "summary"], {
    cwd: dir.path,
  });
  assertEquals(again.code, 4);
  const counts = again.stdout.trim().split("\n").map((l) => JSON.parse(l))
    .filter((l) => l.status === "ok").map((l) => l.create + l.update + l.delete);
  assertEquals(counts, [0, 0]);
});

Deno.test("targets: target and targets together, or the same target twice, are refused", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/users.csv`, "id,name\n1,Ann\n");
  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    `datastores:
  users: { type: csv, path: users.csv }
  a: { type: sqlite, path: a.db }
pipelines:
  both:
    source: { datastore: users }
    target: { datastore: a, table: users }
    targets: [a]
  twice:
    source: { datastore: users }
    targets: [{ datastore: a, table: t }, { datastore: a, table: t }]
`,
  );
  const r = await dsync(["run", "dsync.yaml"], { cwd: dir.path });
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /dsync.yaml:6:\d+: pipelines.both: give target: or targets:/);
  assertMatch(r.stderr, /dsync.yaml:11:\d+: pipelines.twice.targets\[1\]: the same target twice/);
});

/**
 * The recipe's config: every spoke's own edits (past its watermark; rows the spread wrote keep
 * the epoch, so they are never collected back) into the hub, then the hub to every spoke.
 */
const collect = (spoke: string) => `
  collect_${spoke}:
    source:
      datastore: ${spoke}
      table: customers
      where: "updated_at > '1970-01-01T00:00:00Z'"
    target: { datastore: hub, table: customers }
    strategy: incremental
    watermark: updated_at`;
const HUB_AND_SPOKE = `datastores:
  hub: { type: sqlite, path: hub.db }
  shop: { type: sqlite, path: shop.db }
  crm: { type: sqlite, path: crm.db }
  billing: { type: sqlite, path: billing.db }
pipelines:${collect("shop")}${collect("crm")}${collect("billing")}
  spread:
    depends_on: [collect_shop, collect_crm, collect_billing]
    source: { datastore: hub, table: customers }
    targets:
      - { datastore: shop, table: customers }
      - { datastore: crm, table: customers }
      - { datastore: billing, table: customers }
    exclude: [updated_at]
`;

Deno.test("targets: hub and spoke keeps N stores in step (docs/pipelines.md recipe)", async () => {
  await using dir = await tempDir();
  const spokes = ["shop", "crm", "billing"];
  for (const spoke of spokes) {
    sqliteExec(
      `${dir.path}/${spoke}.db`,
      `CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT,
        deleted INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL DEFAULT '1970-01-01T00:00:00Z')`,
    );
  }
  sqliteExec(
    `${dir.path}/shop.db`,
    "INSERT INTO customers VALUES (1, 'Ann', 0, '2026-01-01T10:00:00Z'), (2, 'Bob', 0, '2026-01-01T10:00:00Z')",
  );
  sqliteExec(
    `${dir.path}/crm.db`,
    "INSERT INTO customers VALUES (3, 'Cy', 0, '2026-01-02T10:00:00Z')",
  );
  await Deno.writeTextFile(`${dir.path}/dsync.yaml`, HUB_AND_SPOKE);
  const all = (db: string) =>
    sqliteRows(`${dir.path}/${db}.db`, "customers", "id").map((c) => [c.id, c.name, c.deleted]);
  const first = await dsync(["run", "dsync.yaml", "-q"], { cwd: dir.path });
  assertEquals(first.code, 0, first.stderr);
  for (const db of ["hub", ...spokes]) {
    assertEquals(all(db), [[1, "Ann", 0], [2, "Bob", 0], [3, "Cy", 0]], db);
  }

  // Edits in three spokes between runs reach every store; a soft delete is a column.
  sqliteExec(
    `${dir.path}/crm.db`,
    "UPDATE customers SET name = 'Robert', updated_at = '2026-02-01T09:00:00Z' WHERE id = 2",
  );
  sqliteExec(
    `${dir.path}/billing.db`,
    "INSERT INTO customers VALUES (4, 'Dee', 0, '2026-02-01T09:30:00Z')",
  );
  sqliteExec(
    `${dir.path}/shop.db`,
    "UPDATE customers SET deleted = 1, updated_at = '2026-02-01T09:45:00Z' WHERE id = 3",
  );
  const second = await dsync(["run", "dsync.yaml", "-q"], { cwd: dir.path });
  assertEquals(second.code, 0, second.stderr);
  const expected = [[1, "Ann", 0], [2, "Robert", 0], [3, "Cy", 1], [4, "Dee", 0]];
  for (const db of ["hub", ...spokes]) assertEquals(all(db), expected, db);

  // In step: a third run changes nothing anywhere.
  const third = await dsync(["run", "dsync.yaml", "--format", "summary"], { cwd: dir.path });
  assertEquals(third.code, 0, third.stderr);
  const lines = third.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(lines.length, 6); // three collects, one spread to three spokes
  assertEquals(lines.map((l) => l.create + l.update + l.delete), [0, 0, 0, 0, 0, 0]);
});
