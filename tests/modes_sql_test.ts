/**
 * Load modes, merge strategies and `--add-columns` (issue 21, items 5 and 6) into PostgreSQL (a
 * throwaway cluster, scripts/pg_server.ts) and MySQL/MariaDB (scripts/mysql_server.ts), checked
 * with psql and the mariadb client. SQLite and files: modes_test.ts.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, parseNdjson, tempDir } from "./helpers.ts";
import { withPostgres } from "../scripts/pg_server.ts";
import { withMysql } from "../scripts/mysql_server.ts";
import { uniqueName } from "./store_servers.ts";

const A = "id,name,updated\n1,Ann,5\n2,Rob,9\n3,Eve,10\n";
const B = "id,name,updated,email\n1,Ann,5,a@x\n2,Bob,11,b@x\n4,Zed,12,\n";
const B3 = B.replace(/,[^,\n]*$/gm, "");

const pg = await withPostgres();
const mysql = await withMysql();
const MY = new URL(mysql.url);

async function output(command: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped", env })
    .output();
  if (!out.success) throw new Error(`${command}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim();
}

const psql = (sql: string) => output("psql", [pg.url, "-XAtqc", sql]);
const mariadb = (sql: string) =>
  output("mariadb", [
    "--no-defaults",
    "-h",
    MY.hostname,
    "-P",
    MY.port || "3306",
    "-u",
    decodeURIComponent(MY.username || "root"),
    "-B",
    "-N",
    "-e",
    sql,
  ], MY.password ? { MYSQL_PWD: decodeURIComponent(MY.password) } : {});

/** A PostgreSQL schema and a MySQL database of the test's own, and their target locators. */
async function stores() {
  const name = uniqueName("modes");
  await psql(`CREATE SCHEMA ${name}`);
  await mariadb(`CREATE DATABASE ${name}`);
  const myUrl = new URL(mysql.url);
  myUrl.pathname = `/${name}`;
  return {
    name,
    targets: [
      { pair: "csv:postgres", at: (t: string) => `${pg.url}#${name}.${t}`, query: psql },
      {
        pair: "csv:mysql",
        at: (t: string) => `${myUrl}#${t}`,
        query: mariadb,
      },
    ],
    async [Symbol.asyncDispose]() {
      await psql(`DROP SCHEMA ${name} CASCADE`);
      await mariadb(`DROP DATABASE ${name}`);
    },
  };
}

async function files() {
  const dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/a.csv`, A);
  await Deno.writeTextFile(`${dir.path}/b.csv`, B);
  await Deno.writeTextFile(`${dir.path}/b3.csv`, B3);
  return dir;
}

const rows = (text: string) => text.replaceAll("\t", "|");

Deno.test({
  name:
    "PostgreSQL and MySQL: --add-columns, truncate (DDL kept), full-refresh (staging table), delete_insert",
  sanitizeResources: false,
  fn: async () => {
    await using dir = await files();
    await using s = await stores();
    for (const { pair, at, query } of s.targets) {
      const run = (...args: string[]) => dsync([pair, ...args], { cwd: dir.path });
      const t = `${s.name}.t`;
      // --add-columns: ALTER TABLE in the write's transaction; the type inferred from the values.
      assertEquals((await run("a.csv", at("t"), "-q")).code, 0, pair);
      const refused = await run("b.csv", at("t"));
      assertEquals(refused.code, 2, `${pair}: ${refused.stderr}`);
      assertMatch(refused.stderr, /--add-columns/);
      const added = await run("b.csv", at("t"), "--add-columns", "--format", "ndjson");
      assertEquals(added.code, 0, `${pair}: ${added.stderr}`);
      assertEquals(parseNdjson(added.stdout).map((c) => c.op), ["create", "update", "update"]);
      assertEquals(
        rows(await query(`SELECT id, name, email FROM ${t} ORDER BY id`)),
        "1|Ann|a@x\n2|Bob|b@x\n3|Eve|NULL\n4|Zed|NULL".replaceAll(
          "NULL",
          pair === "csv:postgres" ? "" : "NULL",
        ),
        pair,
      );

      // truncate: the table stays (an index of its own survives), its rows are the source's.
      await query(`CREATE INDEX t_name ON ${t} (name)`);
      const truncated = await run("a.csv", at("t"), "--mode", "truncate", "--format", "ndjson");
      assertEquals(truncated.code, 0, `${pair}: ${truncated.stderr}`);
      assertEquals(parseNdjson(truncated.stdout).map((c) => c.op), ["update", "delete"]);
      assertEquals(
        rows(await query(`SELECT id, name, updated FROM ${t} ORDER BY id`)),
        "1|Ann|5\n2|Rob|9\n3|Eve|10",
        pair,
      );
      const indexes = pair === "csv:postgres"
        ? await query(`SELECT indexname FROM pg_indexes WHERE indexname = 't_name'`)
        : await query(
          `SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '${s.name}' AND INDEX_NAME = 't_name'`,
        );
      assertEquals(indexes, "t_name", pair);

      // full-refresh: a new table from the source's fields replaces the old one.
      const refreshed = await run(
        "b3.csv",
        at("t"),
        "--mode",
        "full-refresh",
        "--format",
        "ndjson",
      );
      assertEquals(refreshed.code, 0, `${pair}: ${refreshed.stderr}`);
      assertEquals(parseNdjson(refreshed.stdout).map((c) => c.op), ["create", "update", "delete"]);
      assertEquals(
        rows(await query(`SELECT * FROM ${t} ORDER BY id`)),
        "1|Ann|5\n2|Bob|11\n4|Zed|12",
        pair,
      );
      const tables = pair === "csv:postgres"
        ? await query(
          `SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = '${s.name}'`,
        )
        : await query(
          `SELECT GROUP_CONCAT(TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${s.name}'`,
        );
      assertEquals(tables, "t", `${pair}: no staging table left`);
      const again = await run("b3.csv", at("t"), "--mode", "full-refresh");
      assertMatch(again.stderr, /\+0 ~0 -0/);

      // delete_insert: a trigger-free check: the update arrives as a whole new row.
      await query(`UPDATE ${t} SET name = 'x' WHERE id = 1`);
      const di = await run(
        "a.csv",
        at("t"),
        "--merge-strategy",
        "delete_insert",
        "--format",
        "ndjson",
      );
      assertEquals(di.code, 0, `${pair}: ${di.stderr}`);
      assertEquals(parseNdjson(di.stdout).map((c) => c.op), ["create", "update", "update"]);
      assertEquals(
        rows(await query(`SELECT * FROM ${t} ORDER BY id`)),
        "1|Ann|5\n2|Rob|9\n3|Eve|10\n4|Zed|12",
        pair,
      );
    }
  },
});

Deno.test({
  name:
    "PostgreSQL: delete_insert deletes then inserts (a trigger logs it); a failing full-refresh leaves the table as it was",
  sanitizeResources: false,
  fn: async () => {
    await using dir = await files();
    await using s = await stores();
    const { at } = s.targets[0];
    const t = `${s.name}.t`;
    const run = (...args: string[]) => dsync(["csv:postgres", ...args], { cwd: dir.path });
    assertEquals((await run("a.csv", at("t"), "-q")).code, 0);
    await psql(`
      CREATE TABLE ${s.name}.log (what text);
      CREATE FUNCTION ${s.name}.log() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        INSERT INTO ${s.name}.log VALUES (lower(TG_OP) || ' ' || coalesce(NEW.id, OLD.id));
        RETURN NULL; END $$;
      CREATE TRIGGER t_log AFTER INSERT OR UPDATE OR DELETE ON ${t}
        FOR EACH ROW EXECUTE FUNCTION ${s.name}.log();`);
    const di = await run("b3.csv", at("t"), "--merge-strategy", "delete_insert");
    assertEquals(di.code, 0, di.stderr);
    assertEquals(
      await psql(`SELECT string_agg(what, ',') FROM ${s.name}.log`),
      "delete 2,insert 4,insert 2",
    );
    // A key the new table refuses (duplicate in the source): exit 2 before anything, or 4 rolled
    // back; either way the old table with its trigger is still there.
    await Deno.writeTextFile(`${dir.path}/long.csv`, "id,name,updated\n1,Ann,5\n2,Rob,x\n");
    const failed = await run("long.csv", at("t"), "--mode", "full-refresh");
    assertEquals([2, 4].includes(failed.code), true, failed.stderr);
    assertEquals(await psql(`SELECT count(*) FROM ${t}`), "4");
    assertEquals(
      await psql(`SELECT count(*) FROM pg_trigger WHERE tgname = 't_log'`),
      "1",
    );
  },
});

Deno.test({
  name:
    "PostgreSQL: a write that fails after ALTER TABLE / TRUNCATE rolls them back too (exit 4): no new column, every row still there",
  sanitizeResources: false,
  fn: async () => {
    await using dir = await files();
    await using s = await stores();
    const { at } = s.targets[0];
    const t = `${s.name}.t`;
    const run = (...args: string[]) => dsync(["csv:postgres", ...args], { cwd: dir.path });
    assertEquals((await run("a.csv", at("t"), "-q")).code, 0);
    // A trigger refuses record 4 when it is inserted: the failure comes after the DDL.
    await psql(`
      CREATE FUNCTION ${s.name}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        IF NEW.id = 4 THEN RAISE EXCEPTION 'no 4 here'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER t_refuse BEFORE INSERT ON ${t}
        FOR EACH ROW EXECUTE FUNCTION ${s.name}.refuse();`);
    const added = await run("b.csv", at("t"), "--add-columns");
    assertEquals(added.code, 4, added.stderr);
    assertMatch(added.stderr, /no 4 here/);
    assertEquals(
      await psql(
        `SELECT count(*) FROM information_schema.columns WHERE table_schema = '${s.name}' AND table_name = 't' AND column_name = 'email'`,
      ),
      "0",
    );
    const truncated = await run("b3.csv", at("t"), "--mode", "truncate");
    assertEquals(truncated.code, 4, truncated.stderr);
    assertEquals(
      await psql(`SELECT string_agg(id || name, ',' ORDER BY id) FROM ${t}`),
      "1Ann,2Rob,3Eve",
    );
  },
});

Deno.test({
  name:
    "PostgreSQL source, --mode incremental: a later run pushes the watermark down and does not read the rows before it",
  sanitizeResources: false,
  fn: async () => {
    await using dir = await files();
    await using s = await stores();
    // A view whose old rows can no longer be read: PostgreSQL fails on them (division by zero).
    await psql(`
      CREATE TABLE ${s.name}.o (id int PRIMARY KEY, at int, d int);
      INSERT INTO ${s.name}.o VALUES (1, 1, 1), (2, 2, 2);
      CREATE VIEW ${s.name}.v AS SELECT id, at, 10 / d AS x FROM ${s.name}.o;`);
    const source = `${pg.url}#${s.name}.v`;
    const inc = ["pg:sqlite", source, "out.db#v", "-k", "id", "--mode", "incremental"];
    const run = (...args: string[]) => dsync(args, { cwd: dir.path });
    const first = await run(...inc, "--update-key", "at", "-q");
    assertEquals(first.code, 0, first.stderr);
    await psql(
      `UPDATE ${s.name}.o SET d = 0 WHERE id = 1; INSERT INTO ${s.name}.o VALUES (3, 3, 5);`,
    );
    const full = await run("pg:sqlite", source, "out2.db#v", "-k", "id", "-q");
    assertEquals(full.code, 2, `a full read meets the bad row: ${full.stderr}`);
    const r = await run(...inc, "--update-key", "at", "--format", "ndjson");
    assertEquals(r.code, 0, r.stderr);
    assertEquals(parseNdjson(r.stdout).map((c) => JSON.stringify(c.key)), ['{"id":3}']);
    const again = await run(...inc, "--update-key", "at", "--format", "ndjson");
    assertEquals(again.code, 0, again.stderr);
    assertEquals(parseNdjson(again.stdout), []);
  },
});

Deno.test({
  name:
    "PostgreSQL and MySQL: a full-refresh that fails while loading the staging table leaves the original table as it was, and no staging table",
  sanitizeResources: false,
  fn: async () => {
    await using dir = await files();
    // 12 000 rows load into the staging table, then the server refuses the last one there:
    // PostgreSQL a key longer than its index takes; MySQL a statement over max_allowed_packet
    // (16 MB by default), which also closes the connection the staging table was created on.
    const big = ["id,name"];
    for (let i = 0; i < 12_000; i++) big.push(`k${i},n${i}`);
    let long = "z";
    while (long.length < 9000) long += Math.random().toString(36).slice(2);
    await Deno.writeTextFile(
      `${dir.path}/big-postgres.csv`,
      [...big, `${long},bad`].join("\n") + "\n",
    );
    await Deno.writeTextFile(
      `${dir.path}/big-mysql.csv`,
      [...big, `zz,${"x".repeat(17_000_000)}`].join("\n") + "\n",
    );
    await Deno.writeTextFile(`${dir.path}/f.csv`, "id,name\na,Ann\nb,Bob\n");
    await using s = await stores();
    for (const { pair, at, query } of s.targets) {
      const run = (...args: string[]) => dsync([pair, ...args], { cwd: dir.path });
      const t = `${s.name}.f`;
      assertEquals((await run("f.csv", at("f"), "-q")).code, 0, pair);
      const failed = await run(
        `big-${pair.slice(4)}.csv`,
        at("f"),
        "--mode",
        "full-refresh",
        "--max-delete",
        "100%",
        "--format",
        "summary",
      );
      assertEquals(failed.code, 4, `${pair}: ${failed.stderr}`);
      assertMatch(failed.stderr, /rolled back, nothing written/, pair);
      assertEquals(
        rows(await query(`SELECT * FROM ${t} ORDER BY id`)),
        "a|Ann\nb|Bob",
        pair,
      );
      const tables = pair === "csv:postgres"
        ? await query(
          `SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = '${s.name}'`,
        )
        : await query(
          `SELECT GROUP_CONCAT(TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${s.name}'`,
        );
      assertEquals(tables, "f", `${pair}: no staging table left`);
    }
  },
});

Deno.test("stop the test servers", async () => {
  await pg.stop();
  await mysql.stop();
});
