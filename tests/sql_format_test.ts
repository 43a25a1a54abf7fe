/** `--format sql`: running the printed SQL with sqlite3 leaves the target exactly as dsync would. */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, sqliteExec, sqliteRows, tempDir } from "./helpers.ts";

const HOSTILE = `CREATE TABLE src (id INTEGER PRIMARY KEY, "we""ird name" TEXT, big BIGINT, f REAL,
    ok BOOLEAN, data JSON, bin BLOB);
  INSERT INTO src VALUES
    (1, 'it''s a "quote" \\ back\\slash', 9223372036854775807, 1.5, 1, '{"a":"b''c"}', x'00ff27'),
    (2, 'line one
line two; DROP TABLE src; --', -1, -0.25, 0, '[1,2]', x''),
    (3, 'ünïcödé 日本 🎉', NULL, NULL, NULL, NULL, NULL),
    (4, '', 0, 1e300, 1, 'null', x'5c');`;

async function sqlite3(db: string, sql: string): Promise<void> {
  const child = new Deno.Command("sqlite3", { args: [db], stdin: "piped", stderr: "piped" })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(sql));
  await writer.close();
  const out = await child.output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
}

for (const existing of [false, true]) {
  Deno.test(`--format sql into ${existing ? "an existing" : "a new"} table equals dsync's own apply`, async () => {
    await using dir = await tempDir();
    sqliteExec(`${dir.path}/s.db`, HOSTILE);
    if (existing) {
      for (const db of ["viaSql.db", "viaDsync.db"]) {
        sqliteExec(
          `${dir.path}/${db}`,
          `CREATE TABLE t (id INTEGER PRIMARY KEY, "we""ird name" TEXT, big BIGINT, f REAL, ok BOOLEAN,
             data JSON, bin BLOB);
           INSERT INTO t VALUES (1, 'old', 1, 1, 0, '{}', x'01'), (9, 'gone', 0, 0, 0, NULL, NULL);`,
        );
      }
    }
    const plan = await dsync([
      "sqlite:sqlite",
      "s.db#src",
      "viaSql.db#t",
      "-n",
      "--delete",
      "--format",
      "sql",
    ], {
      cwd: dir.path,
    });
    assertEquals(plan.code, 0, plan.stderr);
    assertMatch(plan.stdout, /^BEGIN;\n[\s\S]*COMMIT;\n$/);
    await sqlite3(`${dir.path}/viaSql.db`, plan.stdout);
    const direct = await dsync(["sqlite:sqlite", "s.db#src", "viaDsync.db#t", "--delete", "-q"], {
      cwd: dir.path,
    });
    assertEquals(direct.code, 0, direct.stderr);
    assertEquals(
      sqliteRows(`${dir.path}/viaSql.db`, "t", "id"),
      sqliteRows(`${dir.path}/viaDsync.db`, "t", "id"),
    );
    assertEquals(sqliteRows(`${dir.path}/viaSql.db`, "t", "id").length, 4);
    const again = await dsync(["sqlite:sqlite", "s.db#src", "viaSql.db#t", "--delete"], {
      cwd: dir.path,
    });
    assertEquals([again.code, again.stdout], [0, ""], again.stderr);
  });
}

Deno.test("--format sql needs a SQL target", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a.csv`, "id\n1\n");
  const r = await dsync(["csv:csv", "a.csv", "b.csv", "-n", "--format", "sql"], { cwd: dir.path });
  assertEquals(r.code, 2);
  assertMatch(r.stderr, /--format sql: b\.csv is not a SQL database/);
});
