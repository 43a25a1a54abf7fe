/**
 * `enrichment:` in `dsync run` against a real Redis (the machine's, or a throwaway one) and a
 * local HTTP server: the synctool example adapted to dsync's syntax. Results are checked in the
 * SQLite target with sqlite3's own reader (node:sqlite) and on the HTTP server's request log.
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { dsync, ROOT, sqliteRows, tempDir } from "./helpers.ts";
import { serve } from "./http_server.ts";
import { redisCli, type StoreServer, uniqueName, withRedis } from "./store_servers.ts";

const DB = 5;

async function cleanup(server: StoreServer, prefix: string): Promise<void> {
  const keys = await redisCli(server, DB, "--scan", "--pattern", `${prefix}:*`);
  if (keys.length) await redisCli(server, DB, "DEL", ...keys);
}

Deno.test("enrichment from Redis and HTTP: typed, idempotent, cached per request, bounded concurrency, on_missing", async () => {
  await using redis = await withRedis();
  await using dir = await tempDir();
  const prefix = uniqueName("enrich");
  let inFlight = 0, maxInFlight = 0;
  await using http = serve(async (_request, url) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 30));
    inFlight--;
    if (url.pathname === "/creditscore") {
      const id = Number(url.searchParams.get("user_id"));
      if (id === 4) return new Response("not found", { status: 404 });
      return Response.json({ score: id * 100, band: id > 2 ? "B" : "A" });
    }
    const region = /^\/regions\/(.+)$/.exec(url.pathname);
    if (region) {
      return Response.json({
        name: { eu: "Europe", "us west": "US West" }[decodeURIComponent(region[1])],
      });
    }
    return new Response("no", { status: 500 });
  });
  try {
    await redisCli(redis, DB, "SET", `${prefix}:user:1`, "Ann");
    await redisCli(redis, DB, "SET", `${prefix}:user:2`, "Bob");
    await redisCli(redis, DB, "SET", `${prefix}:user:3`, "Cy");
    await redisCli(redis, DB, "HSET", `${prefix}:team:a`, "name", "Alpha", "size", "7");
    await redisCli(redis, DB, "HSET", `${prefix}:team:b`, "name", "Beta", "size", "3");
    await Deno.writeTextFile(
      `${dir.path}/users.csv`,
      "user_id,team,region\n1,a,eu\n2,a,eu\n3,b,us west\n4,b,\n",
    );
    const config = (onMissing: string) => `
datastores:
  events: { type: csv, path: users.csv }
  out: { type: sqlite, path: out.db }
  redis1: { type: redis, url: "redis://${redis.host}:${redis.port}/${DB}#${prefix}" }
  http1: { type: http, url: "${http.url}" }
pipelines:
  users:
    source: { datastore: events }
    target: { datastore: out, table: users }
    key: [user_id]
    enrichment:
      - datastore: redis1
        key: "user:{{ user_id }}"
        output: 'v => ({ redis_name: v })'
        fields: [redis_name]
      - datastore: redis1
        key: "team:{{ team }}"
        value: hash
        output: { team_name: "{{ name | upper }}", team_size: "{{ size }}" }
      - datastore: http1
        path: "/creditscore?user_id={{ user_id }}"
        fields: [score, band]
        concurrency: 2
        on_missing: ${onMissing}
      - datastore: http1
        path: "/regions/{{ region }}"
        output: { region_name: "v => v.name" }
`;
    await Deno.writeTextFile(`${dir.path}/dsync.yaml`, config("null"));
    const check = await dsync(["run", "--validate", "dsync.yaml"], { cwd: dir.path });
    assertEquals(check.code, 0, check.stderr + check.stdout);

    const run = await dsync(["run", "dsync.yaml"], { cwd: dir.path });
    assertEquals(run.code, 0, run.stderr);
    assertMatch(run.stderr, /\+4 ~0 -0/);
    const rows = sqliteRows(`${dir.path}/out.db`, "users", "user_id");
    assertEquals(rows, [
      {
        user_id: 1,
        team: "a",
        region: "eu",
        redis_name: "Ann",
        team_name: "ALPHA",
        team_size: 7,
        score: 100,
        band: "A",
        region_name: "Europe",
      },
      {
        user_id: 2,
        team: "a",
        region: "eu",
        redis_name: "Bob",
        team_name: "ALPHA",
        team_size: 7,
        score: 200,
        band: "A",
        region_name: "Europe",
      },
      {
        user_id: 3,
        team: "b",
        region: "us west",
        redis_name: "Cy",
        team_name: "BETA",
        team_size: 3,
        score: 300,
        band: "B",
        region_name: "US West",
      },
      // A miss (no user:4 key, HTTP 404, an empty region: no request at all) is NULL.
      {
        user_id: 4,
        team: "b",
        region: null,
        redis_name: null,
        team_name: "BETA",
        team_size: 3,
        score: null,
        band: null,
        region_name: null,
      },
    ]);
    const paths = http.requests.map((r) => r.path).sort();
    assertEquals(paths, [
      "/creditscore?user_id=1",
      "/creditscore?user_id=2",
      "/creditscore?user_id=3",
      "/creditscore?user_id=4",
      "/regions/eu",
      "/regions/us%20west",
    ], "one request per distinct path (eu asked once for two records), values URL-encoded");
    assertOk(maxInFlight <= 2, `at most 2 requests in flight, saw ${maxInFlight}`);

    const again = await dsync(["run", "dsync.yaml"], { cwd: dir.path });
    assertEquals(again.code, 0, again.stderr);
    assertMatch(again.stderr, /\+0 ~0 -0/);

    await redisCli(redis, DB, "SET", `${prefix}:user:1`, "Anne");
    const changed = await dsync(["run", "dsync.yaml", "--format", "ndjson"], { cwd: dir.path });
    assertEquals(changed.code, 0, changed.stderr);
    assertEquals(changed.stdout.trim().split("\n").map((l) => JSON.parse(l)), [
      {
        op: "update",
        key: { user_id: 1 },
        before: { redis_name: "Ann" },
        after: { redis_name: "Anne" },
      },
    ]);

    await Deno.writeTextFile(`${dir.path}/strict.yaml`, config("error"));
    const strict = await dsync(["run", "strict.yaml", "-n"], { cwd: dir.path });
    assertEquals(strict.code, 2, strict.stderr);
    assertMatch(
      strict.stderr,
      /pipeline 'users': enrichment 3 \(http1\): record user_id="4" of .*: nothing found for \/creditscore\?user_id=4/,
    );
  } finally {
    await cleanup(redis, prefix);
  }
});

Deno.test("enrichment config mistakes are reported with their place; dsync schema has enrichment", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/bad.yaml`,
    `datastores:
  a: { type: csv, path: a.csv }
  r: { type: redis, url: "redis://127.0.0.1:6379/0" }
pipelines:
  p:
    source: { datastore: a }
    target: { datastore: a }
    enrichment:
      - { datastore: a, key: "x" , fields: [f] }
      - { datastore: r, key: "user:{{ id", fields: [f] }
      - { datastore: r, key: "u:{{ id }}", output: "v => (" , fields: [f] }
      - { datastore: r, key: "u:{{ id }}" }
`,
  );
  const bad = await dsync(["run", "--validate", "bad.yaml"], { cwd: dir.path });
  assertEquals(bad.code, 2, bad.stderr);
  assertMatch(bad.stderr, /bad.yaml:9:\d+: .*enrichment.*: a csv datastore cannot serve lookups/);
  assertMatch(bad.stderr, /bad.yaml:10:\d+: .*unclosed '\{\{'/);
  assertMatch(bad.stderr, /bad.yaml:11:\d+: .*output.*expression/);
  assertMatch(bad.stderr, /bad.yaml:12:\d+: .*which fields\?/);
  const schema = await dsync(["schema"]);
  const parsed = JSON.parse(schema.stdout);
  assertEquals(parsed.$defs.pipeline.properties.enrichment.items, { $ref: "#/$defs/enrichment" });
  assertEquals(parsed.$defs.enrichment.required, ["datastore"]);
});

Deno.test("the synctool example of docs/pipelines.md runs as written (Redis and HTTP addresses replaced)", async () => {
  await using redis = await withRedis();
  await using dir = await tempDir();
  const prefix = uniqueName("docs");
  await using http = serve((_request, url) => {
    const id = Number(url.searchParams.get("user_id"));
    if (url.pathname !== "/creditscore" || id > 2) return new Response("no", { status: 404 });
    return Response.json({ score: id * 10, other: "not taken" });
  });
  const docs = await Deno.readTextFile(`${ROOT}docs/pipelines.md`);
  const section = docs.slice(docs.indexOf("## Enrichment: lookups per record"));
  const start = section.indexOf("```yaml\n") + 8;
  const yaml = section.slice(start, section.indexOf("\n```", start));
  const config = yaml
    .replace("redis://127.0.0.1:6379/0", `redis://${redis.host}:${redis.port}/${DB}#${prefix}`)
    .replace("http://127.0.0.1:8080", http.url);
  assertOk(config.includes(prefix) && config.includes(http.url), config);
  try {
    await redisCli(redis, DB, "SET", `${prefix}:user:1`, "Ann");
    await redisCli(redis, DB, "SET", `${prefix}:user:2`, "Bob");
    await Deno.writeTextFile(`${dir.path}/dsync.yaml`, config);
    await Deno.writeTextFile(`${dir.path}/users.csv`, "user_id,plan\n1,free\n2,pro\n");
    const run = await dsync(["run", "dsync.yaml"], { cwd: dir.path });
    assertEquals(run.code, 0, run.stderr);
    assertEquals(sqliteRows(`${dir.path}/out.db`, "users", "user_id"), [
      { user_id: 1, plan: "free", redis_name: "Ann", score: 10 },
      { user_id: 2, plan: "pro", redis_name: "Bob", score: 20 },
    ]);
    const again = await dsync(["run", "dsync.yaml"], { cwd: dir.path });
    assertEquals([again.code, again.stdout], [0, ""], again.stderr);
    // on_missing: error, as the example says: a 404 stops the run.
    await Deno.writeTextFile(`${dir.path}/users.csv`, "user_id,plan\n1,free\n2,pro\n3,pro\n");
    const missing = await dsync(["run", "dsync.yaml"], { cwd: dir.path });
    assertEquals(missing.code, 2, missing.stderr);
    assertMatch(missing.stderr, /enrichment 2 \(http1\): record user_id="3" .*nothing found/);
  } finally {
    await cleanup(redis, prefix);
  }
});

Deno.test("enrichment: a lookup value that is a number beyond a double's digits is the value, not null", async () => {
  await using dir = await tempDir();
  // parseJsonExact keeps such a number as its exact JSON text (a raw JSON object); one named
  // field of a non-object value is the value itself.
  await using http = serve(() =>
    new Response("0.12345678901234567891", { headers: { "content-type": "application/json" } })
  );
  await Deno.writeTextFile(`${dir.path}/users.csv`, "user_id\n1\n");
  await Deno.writeTextFile(
    `${dir.path}/dsync.yaml`,
    `datastores:
  events: { type: csv, path: users.csv }
  out: { type: ndjson, path: out.ndjson }
  http1: { type: http, url: "${http.url}" }
pipelines:
  users:
    source: { datastore: events }
    target: { datastore: out }
    key: [user_id]
    enrichment:
      - { datastore: http1, path: "/exact/{{ user_id }}", fields: [exact] }
`,
  );
  const run = await dsync(["run", "dsync.yaml"], { cwd: dir.path });
  assertEquals(run.code, 0, run.stderr);
  const written = await Deno.readTextFile(`${dir.path}/out.ndjson`);
  assertMatch(written, /"exact":\s*0\.12345678901234567891\b/, written);
});
