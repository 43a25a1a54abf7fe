/**
 * Load modes into ClickHouse (issue 21, item 5): `--merge-strategy collapse` writes a
 * CollapsingMergeTree's sign rows (a cancelling row with sign -1, then the new row with sign 1),
 * `--mode truncate`, and `--add-columns`. A throwaway server from scripts/clickhouse_server.ts;
 * results read with clickhouse-client.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, parseNdjson, tempDir } from "./helpers.ts";
import { withClickHouse } from "../scripts/clickhouse_server.ts";

const server = await withClickHouse();

async function ch(sql: string): Promise<string> {
  const out = await new Deno.Command("clickhouse-client", {
    args: [...server.clientArgs, "--multiquery", "--query", sql],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`clickhouse-client: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test({
  name:
    "ClickHouse: collapse writes sign rows (-1 then 1) that FINAL folds into the source's records; truncate; --add-columns",
  sanitizeResources: false,
  fn: async () => {
    await using dir = await tempDir();
    const db = `dsync_m_${crypto.randomUUID().slice(0, 8)}`;
    await ch(`CREATE DATABASE ${db}`);
    try {
      await Deno.writeTextFile(`${dir.path}/a.csv`, "id,name\n1,Ann\n2,Rob\n3,Eve\n");
      await Deno.writeTextFile(`${dir.path}/b.csv`, "id,name\n1,Ann\n2,Bob\n4,Zed\n");
      const run = (...args: string[]) =>
        dsync(["csv:clickhouse", ...args], {
          cwd: dir.path,
          env: { CLICKHOUSE_URL: server.url },
        });
      const t = `${db}.c`;
      const first = await run("a.csv", t, "--merge-strategy", "collapse", "--format", "ndjson");
      assertEquals(first.code, 0, first.stderr);
      assertMatch(
        await ch(`SELECT engine FROM system.tables WHERE database = '${db}'`),
        /^CollapsingMergeTree$/,
      );
      const second = await run(
        "b.csv",
        t,
        "--merge-strategy",
        "collapse",
        "--delete",
        "--max-delete",
        "1",
        "--format",
        "ndjson",
      );
      assertEquals(second.code, 0, second.stderr);
      // The change set is the keyed diff, as every mode prints it.
      assertEquals(parseNdjson(second.stdout).map((c) => c.op), ["create", "update", "delete"]);
      // The rows written: 3 creates, then for the update (2) a cancelling row and the new row,
      // and for the delete (3) a cancelling row.
      assertEquals(
        (await ch(`SELECT id, name, sign FROM ${t} ORDER BY id, name, sign`)).replaceAll("\t", "|"),
        "1|Ann|1\n2|Bob|1\n2|Rob|-1\n2|Rob|1\n3|Eve|-1\n3|Eve|1\n4|Zed|1",
      );
      assertEquals(
        (await ch(`SELECT id, name FROM ${t} FINAL ORDER BY id`)).replaceAll("\t", "|"),
        "1|Ann\n2|Bob\n4|Zed",
      );
      const again = await run("b.csv", t, "--merge-strategy", "collapse", "--delete");
      assertEquals(again.code, 0, again.stderr);
      assertMatch(again.stderr, /\+0 ~0 -0/);

      // collapse into a MergeTree table: refused before anything is written.
      assertEquals((await run("a.csv", `${db}.m`, "-q")).code, 0);
      const refused = await run("b.csv", `${db}.m`, "--merge-strategy", "collapse");
      assertEquals(refused.code, 2, refused.stderr);
      assertMatch(refused.stderr, /CollapsingMergeTree/);

      // truncate: the table (and its engine) stays; its rows are the source's.
      const truncated = await run("b.csv", `${db}.m`, "--mode", "truncate", "-q");
      assertEquals(truncated.code, 0, truncated.stderr);
      assertEquals(
        (await ch(`SELECT id, name FROM ${db}.m ORDER BY id`)).replaceAll("\t", "|"),
        "1|Ann\n2|Bob\n4|Zed",
      );

      // --add-columns: ALTER TABLE ADD COLUMN, Nullable, the type inferred from the values.
      await Deno.writeTextFile(`${dir.path}/c.csv`, "id,name,age\n1,Ann,30\n2,Bob,\n4,Zed,41\n");
      assertEquals((await run("c.csv", `${db}.m`)).code, 2);
      const added = await run("c.csv", `${db}.m`, "--add-columns", "-q");
      assertEquals(added.code, 0, added.stderr);
      assertEquals(
        await ch(
          `SELECT type FROM system.columns WHERE database = '${db}' AND table = 'm' AND name = 'age'`,
        ),
        "Nullable(Int64)",
      );
      assertEquals(
        (await ch(`SELECT id, age FROM ${db}.m ORDER BY id`)).replaceAll("\t", "|"),
        "1|30\n2|\\N\n4|41",
      );

      // full-refresh: a new MergeTree table renamed over the table; no staging table left.
      const refreshed = await run(
        "a.csv",
        `${db}.m`,
        "--mode",
        "full-refresh",
        "--max-delete",
        "1",
      );
      assertEquals(refreshed.code, 0, refreshed.stderr);
      assertEquals(
        (await ch(`SELECT id, name FROM ${db}.m ORDER BY id`)).replaceAll("\t", "|"),
        "1|Ann\n2|Rob\n3|Eve",
      );
      assertEquals(
        await ch(
          `SELECT groupArray(name) FROM (SELECT name FROM system.tables WHERE database = '${db}' ORDER BY name)`,
        ),
        "['c','m']",
      );
      assertEquals(
        (await ch(
          `SELECT name FROM system.columns WHERE database = '${db}' AND table = 'm'`,
        )).split("\n").join(","),
        "id,name",
      );

      // --where on the source: truncate would empty the whole table for one partition.
      const partial = await dsync(
        ["clickhouse:sqlite", `${db}.m`, "out.db#m", "--where", "id > 1", "--mode", "truncate"],
        { cwd: dir.path, env: { CLICKHOUSE_URL: server.url } },
      );
      assertEquals(partial.code, 2, partial.stderr);
      assertMatch(partial.stderr, /--mode truncate with --where/);
    } finally {
      await ch(`DROP DATABASE IF EXISTS ${db}`);
    }
  },
});

Deno.test("stop the test server", async () => {
  await server.stop();
});
