/** Composite keys, --map/--fields/--exclude, policies, limits, --exit-code, dry runs, formats. */
import { assertEquals, assertMatch } from "./assert.ts";
import { checksum, dsync, parseNdjson, sqliteExec, sqliteRows, tempDir } from "./helpers.ts";

const USERS = "id,name,email,age\n1,Ann,ann@x.org,30\n2,Bob,bob@x.org,40\n3,Cy,cy@x.org,50\n";
const USERS2 = "id,name,email,age\n1,Ann,ann@new.org,30\n2,Bob,bob@x.org,41\n4,Di,di@x.org,20\n";

async function setup(dir: string) {
  await Deno.writeTextFile(`${dir}/users.csv`, USERS);
  await Deno.writeTextFile(`${dir}/users2.csv`, USERS2);
  const r = await dsync(["csv:sqlite", "users.csv", "app.db#users", "-q"], { cwd: dir });
  assertEquals(r.code, 0, r.stderr);
}

Deno.test("default target is dsync.db#<source name>; the table's primary key is the default key", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/users.csv`, USERS);
  const r = await dsync(["csv:sqlite", "users.csv"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(sqliteRows(`${dir.path}/dsync.db`, "users").length, 3);
  sqliteExec(
    `${dir.path}/app.db`,
    "CREATE TABLE u (email TEXT PRIMARY KEY, name TEXT, id INTEGER, age INTEGER)",
  );
  sqliteExec(`${dir.path}/app.db`, "INSERT INTO u VALUES ('ann@x.org', 'Old', 9, 30)");
  const keyed = await dsync(["csv:sqlite", "users.csv", "app.db#u", "-n"], { cwd: dir.path });
  assertEquals(parseNdjson(keyed.stdout)[2], {
    op: "update",
    key: { email: "ann@x.org" },
    before: { id: 9, name: "Old" },
    after: { id: 1, name: "Ann" },
  });
});

Deno.test("dry run prints the plan and changes nothing; --exit-code exits 1 on differences", async () => {
  await using dir = await tempDir();
  await setup(dir.path);
  const before = await checksum(`${dir.path}/app.db`);
  const r = await dsync([
    "csv:sqlite",
    "users2.csv",
    "app.db#users",
    "-n",
    "--exit-code",
    "--delete",
  ], {
    cwd: dir.path,
  });
  assertEquals(r.code, 1, r.stderr);
  assertEquals(parseNdjson(r.stdout).map((c) => `${c.op}:${(c.key as { id: number }).id}`), [
    "create:4",
    "update:1",
    "update:2",
    "delete:3",
  ]);
  assertEquals(await checksum(`${dir.path}/app.db`), before);
  const same = await dsync(["csv:sqlite", "users.csv", "app.db#users", "-n", "--exit-code"], {
    cwd: dir.path,
  });
  assertEquals(same.code, 0, same.stderr);
});

Deno.test("deletes are opt-in and reported when skipped", async () => {
  await using dir = await tempDir();
  await setup(dir.path);
  const r = await dsync(["csv:sqlite", "users2.csv", "app.db#users"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stderr, /\+1 ~2 -0 \(1 delete skipped: no --delete\)/);
  assertEquals(sqliteRows(`${dir.path}/app.db`, "users", "id").map((u) => u.id), [1, 2, 3, 4]);
  const d = await dsync(["csv:sqlite", "users2.csv", "app.db#users", "--delete"], {
    cwd: dir.path,
  });
  assertEquals(d.code, 0, d.stderr);
  assertEquals(sqliteRows(`${dir.path}/app.db`, "users", "id").map((u) => u.id), [1, 2, 4]);
});

Deno.test("--no-create and --no-update leave those changes out", async () => {
  await using dir = await tempDir();
  await setup(dir.path);
  const r = await dsync(
    ["csv:sqlite", "users2.csv", "app.db#users", "--no-create", "--no-update"],
    {
      cwd: dir.path,
    },
  );
  assertEquals([r.code, r.stdout], [0, ""], r.stderr);
  assertMatch(r.stderr, /1 create skipped: --no-create; 2 updates skipped: --no-update/);
  assertEquals(sqliteRows(`${dir.path}/app.db`, "users", "id")[0].email, "ann@x.org");
});

Deno.test("limits refuse the whole change set with exit 3, target untouched", async () => {
  await using dir = await tempDir();
  await setup(dir.path);
  const before = await checksum(`${dir.path}/app.db`);
  for (
    const limit of [["--max-delete", "0"], ["--max-update", "1"], ["--max-changes", "50%"], [
      "--max-create",
      "0",
    ]]
  ) {
    const r = await dsync(["csv:sqlite", "users2.csv", "app.db#users", "--delete", ...limit], {
      cwd: dir.path,
    });
    assertEquals(r.code, 3, `${limit}: ${r.stderr}`);
    assertMatch(r.stderr, /refused: .* nothing applied/);
    assertEquals(await checksum(`${dir.path}/app.db`), before);
  }
  const ok = await dsync([
    "csv:sqlite",
    "users2.csv",
    "app.db#users",
    "--delete",
    "--max-delete",
    "34%",
  ], {
    cwd: dir.path,
  });
  assertEquals(ok.code, 0, ok.stderr);
});

Deno.test("--map, --fields and --exclude choose what is compared and written", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/in.csv`, "id,mail,name,age\n1,a@x.org,Ann,30\n");
  const r = await dsync([
    "csv:sqlite",
    "in.csv",
    "t.db#t",
    "--map",
    "mail=email",
    "--exclude",
    "age",
  ], {
    cwd: dir.path,
  });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(sqliteRows(`${dir.path}/t.db`, "t"), [{ id: 1, email: "a@x.org", name: "Ann" }]);
  await Deno.writeTextFile(`${dir.path}/in.csv`, "id,mail,name,age\n1,b@x.org,Annie,31\n");
  const f = await dsync([
    "csv:sqlite",
    "in.csv",
    "t.db#t",
    "--map",
    "mail=email",
    "--fields",
    "email",
  ], {
    cwd: dir.path,
  });
  assertEquals(f.code, 0, f.stderr);
  assertEquals(parseNdjson(f.stdout), [
    { op: "update", key: { id: 1 }, before: { email: "a@x.org" }, after: { email: "b@x.org" } },
  ]);
  assertEquals(sqliteRows(`${dir.path}/t.db`, "t"), [{ id: 1, email: "b@x.org", name: "Ann" }]);
  const bad = await dsync(["csv:sqlite", "in.csv", "t.db#t", "--map", "nope=x"], { cwd: dir.path });
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr, /no field 'nope'/);
});

Deno.test("composite keys pair records by every key field", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a.csv`, "title,year,rating\nDune,1984,6\nDune,2021,8\n");
  const r = await dsync(["csv:json", "a.csv", "m.json", "--key", "title,year"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  await Deno.writeTextFile(`${dir.path}/a.csv`, "title,year,rating\nDune,1984,6\nDune,2021,9\n");
  const u = await dsync(["csv:json", "a.csv", "m.json", "--key", "title,year"], { cwd: dir.path });
  assertEquals(parseNdjson(u.stdout), [
    {
      op: "update",
      key: { title: "Dune", year: 2021 },
      before: { rating: 8 },
      after: { rating: 9 },
    },
  ]);
  assertEquals(JSON.parse(await Deno.readTextFile(`${dir.path}/m.json`)), [
    { title: "Dune", year: 1984, rating: 6 },
    { title: "Dune", year: 2021, rating: 9 },
  ]);
});

Deno.test("--format json, summary and table; -o writes the change set to a file", async () => {
  await using dir = await tempDir();
  await setup(dir.path);
  const j = await dsync(["csv:sqlite", "users2.csv", "app.db#users", "-n", "--format", "json"], {
    cwd: dir.path,
  });
  const doc = JSON.parse(j.stdout);
  assertEquals([doc.summary.create, doc.summary.update, doc.summary.delete, doc.changes.length], [
    1,
    2,
    0,
    3,
  ]);
  const s = await dsync(["csv:sqlite", "users2.csv", "app.db#users", "-n", "--format", "summary"], {
    cwd: dir.path,
  });
  assertEquals(JSON.parse(s.stdout).skipped.delete, 1);
  const t = await dsync(["csv:sqlite", "users2.csv", "app.db#users", "-n", "--format", "table"], {
    cwd: dir.path,
  });
  assertMatch(t.stdout, /~ update id=2\n\s+age\s+40 → 41/);
  const o = await dsync([
    "csv:sqlite",
    "users2.csv",
    "app.db#users",
    "-n",
    "-o",
    "plan.ndjson",
    "-q",
  ], {
    cwd: dir.path,
  });
  assertEquals([o.stdout, o.stderr], ["", ""]);
  assertEquals(parseNdjson(await Deno.readTextFile(`${dir.path}/plan.ndjson`)).length, 3);
});

Deno.test("CSV target keeps its column and row order, updates in place, appends creates", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/t.csv`,
    "email,id,name,extra\nz@x.org,3,Cy,keep\nann@x.org,1,Ann,me\n",
  );
  await Deno.writeTextFile(`${dir.path}/users.csv`, USERS);
  const r = await dsync(["csv:csv", "users.csv", "t.csv", "--exclude", "age"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(
    await Deno.readTextFile(`${dir.path}/t.csv`),
    "email,id,name,extra\ncy@x.org,3,Cy,keep\nann@x.org,1,Ann,me\nbob@x.org,2,Bob,\n",
  );
});

Deno.test("--help works on every level and --version prints the version", async () => {
  const top = await dsync(["--help"]);
  assertEquals(top.code, 0);
  assertMatch(top.stdout, /csv:sqlite/);
  const pair = await dsync(["csv:sqlite", "--help"]);
  assertEquals(pair.code, 0);
  assertMatch(pair.stdout, /--max-delete/);
  assertMatch(pair.stdout, /--delimiter/);
  const v = await dsync(["--version"]);
  assertMatch(v.stdout, /^\d+\.\d+\.\d+\n$/);
  const a = await dsync(["adapters", "--format", "json"]);
  const adapters = JSON.parse(a.stdout);
  assertEquals(adapters.pairs.includes("ndjson:csv"), true);
});

Deno.test("--format table stays within 80 columns and cuts long values with an ellipsis", async () => {
  await using dir = await tempDir();
  const long = "x".repeat(200);
  await Deno.writeTextFile(
    `${dir.path}/a.csv`,
    `id,a_rather_long_field_name_indeed,b\n1,${long},short\n`,
  );
  await dsync(["csv:sqlite", "a.csv", "t.db#t", "-q"], { cwd: dir.path });
  await Deno.writeTextFile(
    `${dir.path}/a.csv`,
    `id,a_rather_long_field_name_indeed,b\n1,y${long},short\n2,z,${long}\n`,
  );
  const r = await dsync(["csv:sqlite", "a.csv", "t.db#t", "-n", "--format", "table"], {
    cwd: dir.path,
  });
  assertEquals(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assertEquals(lines.every((l) => [...l].length <= 80), true, r.stdout);
  assertMatch(r.stdout, /~ update id=1\n\s+a_rather_long_field_nam…\s+"xxx+… → "yxx+…/);
  assertEquals(r.stdout.includes("\x1b["), false, "no colours in a pipe");
});
