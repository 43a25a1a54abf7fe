/**
 * Load modes, merge strategies and schema evolution (issue 21, items 5 and 6) on pair commands:
 * `--mode`, `--merge-strategy`, `--update-key`, `--range`, `--add-columns`. dsync runs as a
 * subprocess; each result is checked in the target with sqlite3 (PostgreSQL and MySQL in
 * modes_sql_test.ts).
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, parseNdjson, tempDir } from "./helpers.ts";

/** Runs the sqlite3 shell on `db`; its output, trimmed. */
export async function sqlite3(db: string, sql: string): Promise<string> {
  const out = await new Deno.Command("sqlite3", {
    args: [db, sql],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) throw new Error(`sqlite3: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim();
}

const A = "id,name,updated\n1,Ann,5\n2,Rob,9\n3,Eve,10\n";
/** A changed: 2 updated (name, updated), 3 gone, 4 new, and a new field `email`. */
const B = "id,name,updated,email\n1,Ann,5,a@x\n2,Bob,11,b@x\n4,Zed,12,\n";

async function setup(files: Record<string, string>) {
  const dir = await tempDir();
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir.path}/${name}`, text);
  }
  return dir;
}

async function run(dir: string, ...args: string[]) {
  return await dsync(args, { cwd: dir });
}

Deno.test("--add-columns: a new source field becomes a column (ALTER TABLE, type inferred); without it, exit 2 names the option", async () => {
  await using dir = await setup({ "a.csv": A, "b.csv": B.replace("a@x", "7").replace("b@x", "8") });
  assertEquals((await run(dir.path, "csv:sqlite", "a.csv", "t.db#t", "-q")).code, 0);
  const refused = await run(dir.path, "csv:sqlite", "b.csv", "t.db#t");
  assertEquals(refused.code, 2, refused.stderr);
  assertMatch(refused.stderr, /field 'email' of b.csv is not in sqlite:t.db#t/);
  assertMatch(refused.stderr, /--add-columns/);
  const dry = await run(dir.path, "csv:sqlite", "b.csv", "t.db#t", "--add-columns", "-n");
  assertEquals(dry.code, 0, dry.stderr);
  assertEquals(
    await sqlite3(`${dir.path}/t.db`, "SELECT count(*) FROM pragma_table_info('t')"),
    "3",
  );
  const r = await run(
    dir.path,
    "csv:sqlite",
    "b.csv",
    "t.db#t",
    "--add-columns",
    "--format",
    "ndjson",
  );
  assertEquals(r.code, 0, r.stderr);
  assertEquals(parseNdjson(r.stdout).map((c) => c.op), ["create", "update", "update"]);
  assertEquals(
    await sqlite3(
      `${dir.path}/t.db`,
      "SELECT type FROM pragma_table_info('t') WHERE name = 'email'",
    ),
    "INTEGER",
  );
  assertEquals(
    await sqlite3(`${dir.path}/t.db`, "SELECT id, name, email FROM t ORDER BY id"),
    "1|Ann|7\n2|Bob|8\n3|Eve|\n4|Zed|",
  );
  const again = await run(dir.path, "csv:sqlite", "b.csv", "t.db#t", "--add-columns");
  assertMatch(again.stderr, /\+0 ~0 -0/);
});

Deno.test("--add-columns into a CSV file: the file gets the new column, empty for old records", async () => {
  await using dir = await setup({ "a.csv": A, "b.csv": B });
  assertEquals((await run(dir.path, "csv:csv", "a.csv", "out.csv", "-q")).code, 0);
  assertEquals((await run(dir.path, "csv:csv", "b.csv", "out.csv", "-q")).code, 2);
  const r = await run(dir.path, "csv:csv", "b.csv", "out.csv", "--add-columns", "-q");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(
    await Deno.readTextFile(`${dir.path}/out.csv`),
    "id,name,updated,email\n1,Ann,5,a@x\n2,Bob,11,b@x\n3,Eve,10,\n4,Zed,12,\n",
  );
});

Deno.test("--mode truncate empties the table and loads the source, keeping its DDL; the change set is the diff; files exit 2", async () => {
  await using dir = await setup({ "a.csv": A, "b.csv": B.replace(/,[^,\n]*$/gm, "") });
  assertEquals((await run(dir.path, "csv:sqlite", "a.csv", "t.db#t", "-q")).code, 0);
  await sqlite3(`${dir.path}/t.db`, "CREATE INDEX t_name ON t (name)");
  const r = await run(
    dir.path,
    "csv:sqlite",
    "b.csv",
    "t.db#t",
    "--mode",
    "truncate",
    "--format",
    "ndjson",
  );
  assertEquals(r.code, 0, r.stderr);
  assertEquals(parseNdjson(r.stdout).map((c) => `${c.op}`), ["create", "update", "delete"]);
  assertEquals(
    await sqlite3(`${dir.path}/t.db`, "SELECT * FROM t ORDER BY id"),
    "1|Ann|5\n2|Bob|11\n4|Zed|12",
  );
  assertEquals(
    await sqlite3(
      `${dir.path}/t.db`,
      "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 't_name'",
    ),
    "t_name",
  );
  const again = await run(dir.path, "csv:sqlite", "b.csv", "t.db#t", "--mode", "truncate");
  assertMatch(again.stderr, /\+0 ~0 -0/);
  const csv = await run(dir.path, "csv:csv", "a.csv", "out.csv", "--mode", "truncate");
  assertEquals(csv.code, 2, csv.stderr);
  assertMatch(csv.stderr, /--mode truncate: out.csv cannot be loaded that way/);
});

Deno.test("--mode truncate/full-refresh honour the delete guard: an empty source is refused (exit 3), nothing written", async () => {
  await using dir = await setup({ "a.csv": A, "empty.csv": "id,name,updated\n" });
  assertEquals((await run(dir.path, "csv:sqlite", "a.csv", "t.db#t", "-q")).code, 0);
  for (const mode of ["truncate", "full-refresh"]) {
    const r = await run(dir.path, "csv:sqlite", "empty.csv", "t.db#t", "--mode", mode);
    assertEquals(r.code, 3, r.stderr);
    assertEquals(await sqlite3(`${dir.path}/t.db`, "SELECT count(*) FROM t"), "3");
  }
  const limited = await run(
    dir.path,
    "csv:sqlite",
    "a.csv",
    "t.db#t",
    "--mode",
    "truncate",
    "--max-changes",
    "0",
  );
  assertEquals(limited.code, 0, limited.stderr); // nothing differs: nothing to refuse
});

Deno.test("--mode full-refresh replaces the table through a staging table in one transaction", async () => {
  await using dir = await setup({ "a.csv": A, "b.csv": B });
  assertEquals((await run(dir.path, "csv:sqlite", "a.csv", "t.db#t", "-q")).code, 0);
  await sqlite3(`${dir.path}/t.db`, "CREATE INDEX t_name ON t (name)");
  const r = await run(
    dir.path,
    "csv:sqlite",
    "b.csv",
    "t.db#t",
    "--mode",
    "full-refresh",
    "--add-columns",
    "--format",
    "ndjson",
  );
  assertEquals(r.code, 0, r.stderr);
  assertEquals(parseNdjson(r.stdout).map((c) => c.op), ["create", "update", "update", "delete"]);
  assertEquals(
    await sqlite3(`${dir.path}/t.db`, "SELECT * FROM t ORDER BY id"),
    "1|Ann|5|a@x\n2|Bob|11|b@x\n4|Zed|12|",
  );
  // The old table's index went with it; no staging table is left.
  assertEquals(
    await sqlite3(`${dir.path}/t.db`, "SELECT group_concat(name) FROM sqlite_master"),
    "t",
  );
});

Deno.test("--mode append creates only; --mode snapshot appends every record with _dsync_loaded_at", async () => {
  await using dir = await setup({ "a.csv": A, "b.csv": B.replace(/,[^,\n]*$/gm, "") });
  assertEquals((await run(dir.path, "csv:sqlite", "a.csv", "t.db#t", "-q")).code, 0);
  const deleting = await run(
    dir.path,
    "csv:sqlite",
    "b.csv",
    "t.db#t",
    "--mode",
    "append",
    "--delete",
  );
  assertEquals(deleting.code, 2, deleting.stderr);
  assertMatch(deleting.stderr, /--delete does not go with --mode append/);
  const append = await run(dir.path, "csv:sqlite", "b.csv", "t.db#t", "--mode", "append");
  assertEquals(append.code, 0, append.stderr);
  assertEquals(
    await sqlite3(`${dir.path}/t.db`, "SELECT * FROM t ORDER BY id"),
    "1|Ann|5\n2|Rob|9\n3|Eve|10\n4|Zed|12",
  );

  for (const file of ["a.csv", "b.csv"]) {
    const r = await run(
      dir.path,
      "csv:sqlite",
      file,
      "s.db#s",
      "--mode",
      "snapshot",
      "--format",
      "ndjson",
    );
    assertEquals(r.code, 0, r.stderr);
    assertEquals(parseNdjson(r.stdout).every((c) => c.op === "create"), true);
  }
  assertEquals(
    await sqlite3(`${dir.path}/s.db`, "SELECT count(*), count(DISTINCT _dsync_loaded_at) FROM s"),
    "6|2",
  );
  assertMatch(
    await sqlite3(`${dir.path}/s.db`, "SELECT sql FROM sqlite_master"),
    /PRIMARY KEY \("id", "_dsync_loaded_at"\)/,
  );
  assertMatch(
    await sqlite3(`${dir.path}/s.db`, "SELECT min(_dsync_loaded_at) FROM s"),
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/,
  );
});

Deno.test("--mode incremental --update-key reads only rows past the saved watermark; --mode backfill --range reloads a range", async () => {
  await using dir = await setup({ "a.csv": A });
  const inc = [
    "csv:sqlite",
    "a.csv",
    "t.db#t",
    "--mode",
    "incremental",
    "--update-key",
    "updated",
    "--format",
    "ndjson",
  ];
  const first = await run(dir.path, ...inc);
  assertEquals(first.code, 0, first.stderr);
  assertEquals(parseNdjson(first.stdout).length, 3);
  // Behind dsync's back: record 1 changes in the target; the source grows 3 → 4 rows, one updated.
  await sqlite3(`${dir.path}/t.db`, "UPDATE t SET name = 'changed' WHERE id = 1");
  await Deno.writeTextFile(
    `${dir.path}/a.csv`,
    "id,name,updated\n1,Ann,5\n2,Rob,9\n3,Eva,11\n4,Zed,12\n",
  );
  const second = await run(dir.path, ...inc);
  assertEquals(second.code, 0, second.stderr);
  // Only rows past 10 (numbers compared as numbers: 11 and 12, not "5" or "9"); 1 is not read.
  assertEquals(parseNdjson(second.stdout).map((c) => `${c.op} ${JSON.stringify(c.key)}`), [
    'create {"id":4}',
    'update {"id":3}',
  ]);
  assertEquals(await sqlite3(`${dir.path}/t.db`, "SELECT name FROM t WHERE id = 1"), "changed");
  assertEquals((await Deno.stat(`${dir.path}/.dsync/state.db`)).isFile, true);
  const third = await run(dir.path, ...inc);
  assertEquals(parseNdjson(third.stdout).length, 0);

  const backfill = await run(
    dir.path,
    "csv:sqlite",
    "a.csv",
    "t.db#t",
    "--mode",
    "backfill",
    "--update-key",
    "updated",
    "--range",
    "1..5",
    "--format",
    "ndjson",
  );
  assertEquals(backfill.code, 0, backfill.stderr);
  assertEquals(parseNdjson(backfill.stdout).map((c) => JSON.stringify(c.key)), ['{"id":1}']);
  assertEquals(await sqlite3(`${dir.path}/t.db`, "SELECT name FROM t WHERE id = 1"), "Ann");

  const missing = await run(dir.path, "csv:sqlite", "a.csv", "t.db#t", "--mode", "incremental");
  assertEquals(missing.code, 2);
  assertMatch(missing.stderr, /--mode incremental needs --update-key COL/);
  const noRange = await run(
    dir.path,
    "csv:sqlite",
    "a.csv",
    "t.db#t",
    "--mode",
    "backfill",
    "--update-key",
    "updated",
  );
  assertEquals(noRange.code, 2);
  const badMode = await run(dir.path, "csv:sqlite", "a.csv", "t.db#t", "--mode", "merge");
  assertEquals(badMode.code, 2);
  assertMatch(badMode.stderr, /--mode merge: expected one of sync, full-refresh/);
});

Deno.test("merge strategies: insert, update, delete_insert (a DELETE then an INSERT), collapse refused on SQLite", async () => {
  await using dir = await setup({ "a.csv": A, "b.csv": B.replace(/,[^,\n]*$/gm, "") });
  const load = async (db: string) =>
    assertEquals((await run(dir.path, "csv:sqlite", "a.csv", `${db}#t`, "-q")).code, 0);
  await load("i.db");
  const insert = await run(
    dir.path,
    "csv:sqlite",
    "b.csv",
    "i.db#t",
    "--merge-strategy",
    "insert",
    "--format",
    "ndjson",
  );
  assertEquals(parseNdjson(insert.stdout).map((c) => c.op), ["create"]);
  assertEquals(
    await sqlite3(`${dir.path}/i.db`, "SELECT group_concat(id || name) FROM t"),
    "1Ann,2Rob,3Eve,4Zed",
  );

  await load("u.db");
  const update = await run(
    dir.path,
    "csv:sqlite",
    "b.csv",
    "u.db#t",
    "--merge-strategy",
    "update",
    "--format",
    "ndjson",
  );
  assertEquals(parseNdjson(update.stdout).map((c) => c.op), ["update"]);
  assertEquals(
    await sqlite3(`${dir.path}/u.db`, "SELECT group_concat(id || name) FROM t"),
    "1Ann,2Bob,3Eve",
  );

  await load("d.db");
  // A trigger shows the update arrived as a delete and an insert.
  await sqlite3(
    `${dir.path}/d.db`,
    "CREATE TABLE log (what TEXT); CREATE TRIGGER td AFTER DELETE ON t BEGIN INSERT INTO log VALUES ('delete ' || old.id); END; CREATE TRIGGER ti AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('insert ' || new.id); END;",
  );
  const di = await run(
    dir.path,
    "csv:sqlite",
    "b.csv",
    "d.db#t",
    "--merge-strategy",
    "delete_insert",
    "--delete",
    "--format",
    "ndjson",
  );
  assertEquals(di.code, 0, di.stderr);
  assertEquals(parseNdjson(di.stdout).map((c) => c.op), ["create", "update", "delete"]);
  assertEquals(
    await sqlite3(`${dir.path}/d.db`, "SELECT group_concat(id || name) FROM t"),
    "1Ann,2Bob,4Zed",
  );
  assertEquals(
    await sqlite3(`${dir.path}/d.db`, "SELECT group_concat(what) FROM log"),
    "delete 3,delete 2,insert 4,insert 2",
  );

  const collapse = await run(
    dir.path,
    "csv:sqlite",
    "b.csv",
    "d.db#t",
    "--merge-strategy",
    "collapse",
  );
  assertEquals(collapse.code, 2);
  assertMatch(
    collapse.stderr,
    /--merge-strategy collapse: sqlite:d.db#t cannot be loaded that way/,
  );
  const both = await run(
    dir.path,
    "csv:sqlite",
    "b.csv",
    "d.db#t",
    "--mode",
    "snapshot",
    "--merge-strategy",
    "insert",
  );
  assertEquals(both.code, 2);
});

Deno.test("pipelines: mode: incremental with update_key from a CSV (state beside the config), merge_strategy:, add_columns:, mode: truncate; a SQL source's incremental pushes down", async () => {
  await using dir = await setup({ "a.csv": A, "b.csv": B });
  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    `datastores:
  a: {type: csv, path: a.csv}
  b: {type: csv, path: b.csv}
  db: {type: sqlite, path: t.db}
  out: {type: sqlite, path: out.db}
pipelines:
  inc:
    source: {datastore: a}
    target: {datastore: db, table: t}
    mode: incremental
    update_key: updated
  wide:
    depends_on: inc
    source: {datastore: b}
    target: {datastore: db, table: t}
    merge_strategy: delete_insert
    add_columns: true
  again:
    depends_on: wide
    source: {datastore: db, table: t}
    target: {datastore: out, table: t}
    mode: incremental
    update_key: updated
  reload:
    depends_on: again
    source: {datastore: a}
    target: {datastore: out, table: t}
    mode: truncate
    add_columns: true
`,
  );
  const first = await run(dir.path, "run", "dsync.yaml", "--format", "ndjson");
  assertEquals(first.code, 0, first.stderr);
  assertEquals(
    await sqlite3(`${dir.path}/t.db`, "SELECT * FROM t ORDER BY id"),
    "1|Ann|5|a@x\n2|Bob|11|b@x\n3|Eve|10|\n4|Zed|12|",
  );
  assertEquals(
    await sqlite3(`${dir.path}/out.db`, "SELECT * FROM t ORDER BY id"),
    "1|Ann|5|\n2|Rob|9|\n3|Eve|10|",
  );
  assertEquals(
    await sqlite3(
      `${dir.path}/.dsync/state.db`,
      "SELECT pipeline, column_name, value FROM watermarks ORDER BY 1",
    ),
    'again|updated|{"bigint":"12"}\ninc|updated|{"value":"10"}',
  );
  // Past the watermarks, nothing is read: a second run changes nothing in 'inc' and 'again'.
  const second = await run(dir.path, "run", "dsync.yaml", "inc", "again", "--format", "ndjson");
  assertEquals(second.code, 0, second.stderr);
  assertEquals(parseNdjson(second.stdout), []);
  const valid = await run(dir.path, "run", "dsync.yaml", "--validate");
  assertEquals(valid.code, 0, valid.stdout + valid.stderr);
  await Deno.writeTextFile(
    `${dir.path}/csv.yaml`,
    "datastores:\n  a: {type: csv, path: a.csv}\n  b: {type: csv, path: b.csv}\npipelines:\n  p:\n    source: {datastore: a}\n    target: {datastore: b}\n    mode: truncate\n",
  );
  const refused = await run(dir.path, "run", "csv.yaml", "--validate");
  assertEquals(refused.code, 2, refused.stdout + refused.stderr);
  assertMatch(refused.stdout + refused.stderr, /--mode truncate: b.csv cannot be loaded that way/);
  await Deno.writeTextFile(
    `${dir.path}/bad.yaml`,
    (await Deno.readTextFile(`${dir.path}/dsync.yaml`)).replace(
      "mode: truncate",
      "mode: truncated",
    ),
  );
  const invalid = await run(dir.path, "run", "bad.yaml");
  assertEquals(invalid.code, 2);
  assertMatch(invalid.stderr, /mode/);
});

Deno.test("--mode incremental from a SQLite source: typed timestamps with fractions compare by time; the watermark is saved in --watermarks FILE, not by a dry run", async () => {
  await using dir = await setup({});
  await sqlite3(
    `${dir.path}/src.db`,
    "CREATE TABLE o (id INTEGER PRIMARY KEY, v TEXT, at TIMESTAMP); INSERT INTO o VALUES (1, 'a', '2024-05-01 10:00:00'), (2, 'b', '2024-05-01 10:00:00.25');",
  );
  const inc = [
    "sqlite:sqlite",
    "src.db#o",
    "out.db#o",
    "--mode",
    "incremental",
    "--update-key",
    "at",
    "--watermarks",
    "marks.db",
    "--format",
    "ndjson",
  ];
  assertEquals(parseNdjson((await run(dir.path, ...inc)).stdout).length, 2);
  await sqlite3(
    `${dir.path}/src.db`,
    "INSERT INTO o VALUES (3, 'c', '2024-05-01 10:00:00.5'), (4, 'd', '2024-05-01 10:00:00.1');",
  );
  const dry = await run(dir.path, ...inc, "-n");
  assertEquals(parseNdjson(dry.stdout).map((c) => JSON.stringify(c.key)), ['{"id":3}']);
  const real = await run(dir.path, ...inc);
  assertEquals(real.code, 0, real.stderr);
  assertEquals(parseNdjson(real.stdout).map((c) => JSON.stringify(c.key)), ['{"id":3}']);
  assertEquals(await sqlite3(`${dir.path}/out.db`, "SELECT group_concat(id) FROM o"), "1,2,3");
  assertMatch(
    await sqlite3(`${dir.path}/marks.db`, "SELECT pipeline || ' ' || value FROM watermarks"),
    /^pair:sqlite:src.db#o .*10:00:00\.5/,
  );
});

Deno.test("SQLite: a write that fails after ALTER TABLE / the emptying DELETE rolls all of it back (exit 4)", async () => {
  await using dir = await setup({ "a.csv": A, "b.csv": B });
  assertEquals((await run(dir.path, "csv:sqlite", "a.csv", "t.db#t", "-q")).code, 0);
  await sqlite3(
    `${dir.path}/t.db`,
    "CREATE TRIGGER t_refuse BEFORE INSERT ON t WHEN NEW.id = 4 BEGIN SELECT RAISE(ABORT, 'no 4 here'); END;",
  );
  const before = await sqlite3(`${dir.path}/t.db`, "SELECT sql FROM sqlite_master ORDER BY name");
  for (const args of [["--add-columns"], ["--mode", "truncate", "--exclude", "email"]]) {
    const r = await run(dir.path, "csv:sqlite", "b.csv", "t.db#t", ...args);
    assertEquals(r.code, 4, r.stderr);
    assertMatch(r.stderr, /no 4 here/);
    assertEquals(
      await sqlite3(`${dir.path}/t.db`, "SELECT sql FROM sqlite_master ORDER BY name"),
      before,
    );
    assertEquals(
      await sqlite3(`${dir.path}/t.db`, "SELECT group_concat(id || name) FROM t"),
      "1Ann,2Rob,3Eve",
    );
  }
});
