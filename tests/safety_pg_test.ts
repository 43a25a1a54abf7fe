/**
 * Safe by default (issue 15), the PostgreSQL cases: partitioned deletes with `--where`, wrong,
 * black-holed and frozen servers, the implicit default database, unreachable is exit 4. dsync
 * runs as a subprocess; the server is checked with psql. Each test has its own schema.
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { dsync, type RunResult, tempDir } from "./helpers.ts";
import { withPostgres } from "../scripts/pg_server.ts";

const server = await withPostgres();
const URL_ = server.url;

/** Runs psql on the test server; returns its unaligned, tuples-only output. */
async function psql(sql: string): Promise<string> {
  const out = await new Deno.Command("psql", {
    args: [URL_, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`psql: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim();
}

/** A fresh schema, dropped on dispose. */
async function schema() {
  const name = `dsync_safety_${crypto.randomUUID().slice(0, 8)}`;
  await psql(`create schema ${name}`);
  return {
    name,
    async [Symbol.asyncDispose]() {
      await psql(`drop schema ${name} cascade`);
    },
  };
}

function run(args: string[], cwd: string, env: Record<string, string> = {}): Promise<RunResult> {
  return dsync(args, { cwd, env: { DATABASE_URL: URL_, ...env } });
}

Deno.test("--where with --delete deletes only inside the partition (pg:pg); refused where the target cannot be scoped", async () => {
  await using dir = await tempDir();
  await using s = await schema();
  await psql(`
    create table ${s.name}.src (id int primary key, region text, name text);
    create table ${s.name}.dst (id int primary key, region text, name text);
    insert into ${s.name}.src values (1,'eu','a'), (2,'eu','b2'), (5,'us','e');
    insert into ${s.name}.dst values (1,'eu','a'), (2,'eu','b'), (3,'eu','c'), (4,'us','d'), (6,'us','f');
    create table ${s.name}.other (id int primary key, name text);
    insert into ${s.name}.other values (1,'a'), (2,'b'), (3,'c');`);
  const args = [
    "pg:pg",
    `${s.name}.src`,
    `${s.name}.dst`,
    "--where",
    "region = 'eu'",
    "--delete",
    "--max-delete",
    "100%",
  ];
  const r = await run(args, dir.path);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stderr, /\+0 ~1 -1/);
  assertEquals(
    await psql(
      `select string_agg(id || ':' || region || ':' || name, ' ' order by id) from ${s.name}.dst`,
    ),
    "1:eu:a 2:eu:b2 4:us:d 6:us:f",
  );
  const again = await run(args, dir.path);
  assertMatch(again.stderr, /\+0 ~0 -0/);
  // The condition names a column the target lacks: refused, nothing read or written.
  const before = await psql(`select string_agg(id || name, ',' order by id) from ${s.name}.other`);
  const missing = await run(
    ["pg:pg", `${s.name}.src`, `${s.name}.other`, "--where", "region = 'eu'", "--delete"],
    dir.path,
  );
  assertEquals(missing.code, 2, missing.stderr);
  assertMatch(
    missing.stderr,
    /refused: --delete with --where: .*other cannot be scoped by the same condition \(column "region" does not exist\)/,
  );
  assertEquals(
    await psql(`select string_agg(id || name, ',' order by id) from ${s.name}.other`),
    before,
  );
  // A SQLite target cannot evaluate a PostgreSQL condition: refused.
  await Deno.writeTextFile(`${dir.path}/seed.csv`, "id,region,name\n3,eu,c\n4,us,d\n");
  assertEquals((await run(["csv:sqlite", "seed.csv", "t.db#dst", "-q"], dir.path)).code, 0);
  const sqlite = await run(
    ["pg:sqlite", `${s.name}.src`, "t.db#dst", "--where", "region = 'eu'", "--delete"],
    dir.path,
  );
  assertEquals(sqlite.code, 2, sqlite.stderr);
  assertMatch(
    sqlite.stderr,
    /refused: --delete with --where: sqlite:t\.db#dst cannot be read through the same condition, so every record outside the partition would be deleted/,
  );
  // The target mirrors the filtered source: said explicitly, records outside it are deleted.
  const mirror = await run(
    ["pg:sqlite", `${s.name}.src`, "t.db#dst", "--where", "region = 'eu'", "--delete"].concat(
      ["--delete-outside-where", "--max-delete", "100%", "-q"],
    ),
    dir.path,
  );
  assertEquals(mirror.code, 0, mirror.stderr);
  const ids = await new Deno.Command("sqlite3", {
    args: [
      `${dir.path}/t.db`,
      "select group_concat(id || region) from (select * from dst order by id)",
    ],
  }).output();
  assertEquals(new TextDecoder().decode(ids.stdout).trim(), "1eu,2eu");
  // Without --delete a partitioned sync is fine anywhere.
  const plain = await run(
    ["pg:sqlite", `${s.name}.src`, "t.db#dst", "--where", "region = 'eu'", "-q"],
    dir.path,
  );
  assertEquals(plain.code, 0, plain.stderr);
});

export { assertOk };
