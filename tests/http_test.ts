/**
 * The `http` and `webhook` adapters against real servers on 127.0.0.1: json-server (the npm
 * package) as a REST source and target, and small Deno.serve servers (tests/http_server.ts) for
 * pagination styles, retries, timeouts, malformed bodies, a failure in the middle of an apply and
 * a webhook receiver. Results are checked on the server's side (its requests, its data file),
 * not with dsync.
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { dsync, parseCsvSimple, parseNdjson, sqliteRows, tempDir } from "./helpers.ts";
import {
  bodyPagedServer,
  linkPagedServer,
  restServer,
  serve,
  startJsonServer,
  webhookServer,
} from "./http_server.ts";

type Rec = Record<string, unknown>;

const USERS_CSV = "id,name,email,zip\n1,Ann,ann@x.org,02134\n2,Bob,bob@x.org,94103\n3,Cy,,00501\n";
const USERS2_CSV =
  "id,name,email,zip\n1,Ann,ann@new.org,02134\n2,Bob,bob@x.org,94103\n4,Di,di@x.org,10001\n";
const USERS2: Rec[] = [
  { id: 1, name: "Ann", email: "ann@new.org", zip: "02134" },
  { id: 2, name: "Bob", email: "bob@x.org", zip: "94103" },
  { id: 4, name: "Di", email: "di@x.org", zip: "10001" },
];

const byId = (a: Rec, b: Rec) => Number(a.id) - Number(b.id);
const writes = (log: string[]) => log.filter((l) => !l.startsWith("GET "));

/**
 * Polls until `condition` holds; fails the test, saying `what`, when it does not within `ms`.
 * json-server logs requests and writes its data file after it has answered, so both are polled.
 */
async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until json-server's data file holds `expected` (it is written after the response). */
async function waitForData(read: () => Promise<Rec[]>, expected: Rec[]): Promise<void> {
  let last: Rec[] = [];
  try {
    await waitFor(async () => {
      last = await read().catch(() => last);
      return JSON.stringify(last) === JSON.stringify(expected);
    }, "json-server's data");
  } finally {
    assertEquals(last, expected);
  }
}

Deno.test("json-server target: csv→http load, re-run sends nothing, a change sends exactly POST/PATCH/DELETE, the data equals the source", async () => {
  await using dir = await tempDir();
  await using js = await startJsonServer(dir.path, { users: [] });
  await Deno.writeTextFile(`${dir.path}/users.csv`, USERS_CSV);
  await Deno.writeTextFile(`${dir.path}/users2.csv`, USERS2_CSV);
  const users = `${js.url}/users`;
  const stored = async () =>
    (JSON.parse(await Deno.readTextFile(js.dbPath)).users as Rec[]).sort(byId);

  const plan = await dsync(["csv:http", "users.csv", users, "--key", "id", "-n"], {
    cwd: dir.path,
  });
  assertEquals(plan.code, 0, plan.stderr);
  assertEquals(parseNdjson(plan.stdout).map((c) => c.op), ["create", "create", "create"]);
  assertEquals(await stored(), [], "a dry run writes nothing");

  const load = await dsync(["csv:http", "users.csv", users, "--key", "id"], { cwd: dir.path });
  assertEquals(load.code, 0, load.stderr);
  assertMatch(load.stderr, /\+3 ~0 -0/);
  await waitFor(() => writes(js.log()).length >= 3, "three writes in json-server's log");
  assertEquals(writes(js.log()), ["POST /users 201", "POST /users 201", "POST /users 201"]);
  await waitForData(stored, [
    { id: 1, name: "Ann", email: "ann@x.org", zip: "02134" },
    { id: 2, name: "Bob", email: "bob@x.org", zip: "94103" },
    { id: 3, name: "Cy", email: null, zip: "00501" },
  ]);

  let mark = js.log().length;
  const again = await dsync(["csv:http", "users.csv", users, "--key", "id"], { cwd: dir.path });
  assertEquals(again.code, 0, again.stderr);
  assertMatch(again.stderr, /\+0 ~0 -0/);
  await waitFor(() => js.log().length > mark, "the re-run's read");
  await new Promise((resolve) => setTimeout(resolve, 100));
  assertEquals(js.log().slice(mark), ["GET /users 200"], "one read, no write");

  mark = js.log().length;
  const modify = await dsync(["csv:http", "users2.csv", users, "--delete"], { cwd: dir.path });
  assertEquals(modify.code, 0, modify.stderr);
  assertMatch(modify.stderr, /\+1 ~1 -1/);
  await waitFor(() => js.log().length >= mark + 4, "four requests");
  assertEquals(js.log().slice(mark).sort(), [
    "DELETE /users/3 200",
    "GET /users 200",
    "PATCH /users/1 200",
    "POST /users 201",
  ]);
  await waitForData(stored, USERS2);

  mark = js.log().length;
  const last = await dsync(["csv:http", "users2.csv", users, "--delete"], { cwd: dir.path });
  assertMatch(last.stderr, /\+0 ~0 -0/);
  await new Promise((resolve) => setTimeout(resolve, 100));
  assertEquals(writes(js.log().slice(mark)), []);
});

Deno.test("json-server source: http→sqlite and http→csv, paged by its Link header, nested objects", async () => {
  await using dir = await tempDir();
  const people = [
    { id: 1, name: "Ann", address: { city: "Paris", zip: "75001" }, tags: ["a"] },
    { id: 2, name: "Bob", address: { city: "Oslo", zip: "0150" }, tags: [] },
    { id: 3, name: "Cy", address: { city: "Rome", zip: "00100" }, tags: ["b", "c"] },
    { id: 4, name: "Di", address: { city: "Lima", zip: "15001" }, tags: null },
    { id: 5, name: "Ed", address: { city: "Kyiv", zip: "01001" }, tags: ["d"] },
  ];
  await using js = await startJsonServer(dir.path, { people });
  const source = `${js.url}/people?_page=1&_limit=2`;

  const toSqlite = await dsync(["http:sqlite", source, "app.db#people"], { cwd: dir.path });
  assertEquals(toSqlite.code, 0, toSqlite.stderr);
  assertMatch(toSqlite.stderr, /\+5 ~0 -0/);
  assertEquals(
    js.log().filter((l) => l.startsWith("GET /people")),
    [1, 2, 3].map((p) => `GET /people?_page=${p}&_limit=2 200`),
    "followed rel=next to the last page",
  );
  const rows = sqliteRows(`${dir.path}/app.db`, "people", "id");
  assertEquals(
    rows.map((r) => [r.id, r.name, JSON.parse(r.address as string), r.tags]),
    people.map((p) => [p.id, p.name, p.address, p.tags === null ? null : JSON.stringify(p.tags)]),
  );
  const again = await dsync(["http:sqlite", source, "app.db#people"], { cwd: dir.path });
  assertMatch(again.stderr, /\+0 ~0 -0/, "nested objects compare as JSON values");

  const toCsv = await dsync(
    ["http:csv", source, "people.csv", "--flatten", "--exclude", "tags"],
    { cwd: dir.path },
  );
  assertEquals(toCsv.code, 0, toCsv.stderr);
  assertEquals(parseCsvSimple(await Deno.readTextFile(`${dir.path}/people.csv`)), [
    ["id", "name", "address.city", "address.zip"],
    ...people.map((p) => [String(p.id), p.name, p.address.city, p.address.zip]),
  ]);
  const csvAgain = await dsync(
    ["http:csv", source, "people.csv", "--flatten", "--exclude", "tags"],
    { cwd: dir.path },
  );
  assertMatch(csvAgain.stderr, /\+0 ~0 -0/);
});

Deno.test("Link header pagination: every page is read once, page by page", async () => {
  await using dir = await tempDir();
  const records = [1, 2, 3, 4, 5].map((id) => ({ id, name: `n${id}` }));
  await using server = linkPagedServer(records, 2);
  const r = await dsync(["http:ndjson", `${server.url}/users`, "out.ndjson"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(server.requests.map((q) => q.path), [
    "/users",
    "/users?page=2&per_page=2",
    "/users?page=3&per_page=2",
  ]);
  assertEquals(parseNdjson(await Deno.readTextFile(`${dir.path}/out.ndjson`)), records);
});

Deno.test("body pagination: cursor, next URL, page number and offset parameters", async () => {
  await using dir = await tempDir();
  const records = [1, 2, 3, 4, 5].map((id) => ({ id, name: `n${id}` }));
  await using server = bodyPagedServer(records, 2);
  const cases: [string, string[], string[]][] = [
    ["/cursor", ["--records", "data", "--next", "meta.next_cursor"], [
      "/cursor",
      "/cursor?cursor=c2",
      "/cursor?cursor=c4",
    ]],
    ["/next", ["--records", "items", "--next", "links.next"], [
      "/next",
      "/next?after=2",
      "/next?after=4",
    ]],
    ["/pages", ["--page-param", "page", "--page-size", "2", "--size-param", "size"], [
      "/pages?size=2&page=1",
      "/pages?size=2&page=2",
      "/pages?size=2&page=3",
      "/pages?size=2&page=4",
    ]],
    ["/offset", ["--offset-param", "offset", "--page-size", "2"], [
      "/offset?limit=2&offset=0",
      "/offset?limit=2&offset=2",
      "/offset?limit=2&offset=4",
      "/offset?limit=2&offset=5",
    ]],
  ];
  for (const [path, options, paths] of cases) {
    server.requests.length = 0;
    const out = `${path.slice(1)}.ndjson`;
    const r = await dsync(["http:ndjson", server.url + path, out, ...options], { cwd: dir.path });
    assertEquals(r.code, 0, `${path}: ${r.stderr}`);
    assertEquals(server.requests.map((q) => q.path), paths, path);
    assertEquals(parseNdjson(await Deno.readTextFile(`${dir.path}/${out}`)), records, path);
  }
});

Deno.test("429 with Retry-After: dsync waits as asked, then succeeds", async () => {
  await using dir = await tempDir();
  let calls = 0;
  await using server = serve(() =>
    ++calls === 1
      ? new Response("slow down", { status: 429, headers: { "retry-after": "1" } })
      : Response.json([{ id: 1, name: "Ann" }])
  );
  const r = await dsync(["http:ndjson", `${server.url}/users`, "out.ndjson"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(server.requests.length, 2);
  const waited = server.requests[1].at - server.requests[0].at;
  assertOk(waited >= 950, `waited ${waited} ms, Retry-After said 1 s`);
  assertMatch(r.stderr, /HTTP 429; retry 1 of 3 in 1\.0 s \(Retry-After\)/);
  assertEquals(parseNdjson(await Deno.readTextFile(`${dir.path}/out.ndjson`)), [
    { id: 1, name: "Ann" },
  ]);
});

Deno.test("500 forever: bounded retries, then exit 4 (source or target: unavailable) naming the redacted URL and status", async () => {
  await using dir = await tempDir();
  await using server = serve(() => new Response("boom", { status: 500 }));
  const url =
    `http://ann:pw-very-secret@127.0.0.1:${server.port}/users?access_token=tok-secret-1&x=1`;
  const r = await dsync(
    ["http:ndjson", url, "out.ndjson", "--retries", "2", "--retry-delay", "0.01"],
    { cwd: dir.path },
  );
  assertEquals(r.code, 4, r.stderr);
  assertEquals(server.requests.length, 3, "one attempt and two retries");
  assertMatch(r.stderr, /HTTP 500 Internal Server Error after 3 attempts/);
  assertMatch(r.stderr, /\/\/\*\*\*@127\.0\.0\.1:\d+\/users\?access_token=\*\*\*&x=\*\*\*/);
  assertOk(!/pw-very-secret|tok-secret-1/.test(r.stderr), r.stderr);
  assertOk(
    server.requests.every((q) => q.headers.get("authorization")?.startsWith("Basic ")),
    "basic auth from the user info",
  );

  server.requests.length = 0;
  await Deno.writeTextFile(`${dir.path}/users.csv`, USERS_CSV);
  const t = await dsync(
    ["csv:http", "users.csv", url, "--retries", "1", "--retry-delay", "0.01"],
    { cwd: dir.path },
  );
  assertEquals(t.code, 4, t.stderr);
  assertEquals(server.requests.length, 2);
  assertMatch(
    t.stderr,
    /GET http:\/\/\*\*\*@127\.0\.0\.1:\d+\/users\?access_token=\*\*\*.*HTTP 500/,
  );
  assertOk(!/pw-very-secret|tok-secret-1/.test(t.stderr), t.stderr);
});

Deno.test("a slow server times out: exit 4 (unreachable) after the retries", async () => {
  await using dir = await tempDir();
  await using server = serve(async () => {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    return Response.json([]);
  });
  const started = performance.now();
  const r = await dsync(
    [
      "http:ndjson",
      `${server.url}/slow`,
      "out.ndjson",
      "--timeout",
      "0.2",
      "--retries",
      "1",
      "--retry-delay",
      "0.01",
    ],
    { cwd: dir.path },
  );
  assertEquals(r.code, 4, r.stderr);
  assertMatch(
    r.stderr,
    /GET http:\/\/127\.0\.0\.1:\d+\/slow: no answer within 0\.2 s after 2 attempts/,
  );
  assertEquals(server.requests.length, 2);
  assertOk(performance.now() - started < 10_000);
});

Deno.test("malformed bodies exit 2; NDJSON by content type or --records -; --records hints", async () => {
  await using dir = await tempDir();
  await using server = serve((_req, url) => {
    switch (url.pathname) {
      case "/broken":
        return new Response('[{"id": 1}, {"id": 2', {
          headers: { "content-type": "application/json" },
        });
      case "/ndjson":
        return new Response('{"id":1,"n":"a"}\n{"id":2,"n":"b"}\n', {
          headers: { "content-type": "application/x-ndjson" },
        });
      case "/lines":
        return new Response('{"id":1,"n":"a"}\n{"id":2,"n":"b"}\n', {
          headers: { "content-type": "text/plain" },
        });
      case "/wrapped":
        return Response.json({ total: 1, results: [{ id: 1 }] });
      case "/scalars":
        return Response.json([1, 2]);
    }
    return new Response("not found", { status: 404 });
  });
  const run = (path: string, ...options: string[]) =>
    dsync(["http:ndjson", server.url + path, "out.ndjson", ...options], { cwd: dir.path });

  const broken = await run("/broken");
  assertEquals(broken.code, 2, broken.stderr);
  assertMatch(broken.stderr, /\/broken: not valid JSON/);
  assertOk(!/\bat .*\.ts:\d+/.test(broken.stderr), "no stack trace");

  const nd = await run("/ndjson");
  assertEquals(nd.code, 0, nd.stderr);
  const lines = await run("/lines", "--records", "-");
  assertEquals(lines.code, 0, lines.stderr);
  assertEquals(parseNdjson(await Deno.readTextFile(`${dir.path}/out.ndjson`)), [
    { id: 1, n: "a" },
    { id: 2, n: "b" },
  ]);

  const wrapped = await run("/wrapped");
  assertEquals(wrapped.code, 2);
  assertMatch(wrapped.stderr, /expected a JSON array of records.*\n.*--records results/);
  const missing = await run("/wrapped", "--records", "data.items");
  assertEquals(missing.code, 2);
  assertMatch(
    missing.stderr,
    /no records at --records data\.items\n.*the body has: total, results/,
  );
  const scalars = await run("/scalars");
  assertEquals(scalars.code, 2);
  assertMatch(scalars.stderr, /record 1 is not an object/);
  const notFound = await run("/nope");
  assertEquals(notFound.code, 2);
  assertMatch(notFound.stderr, /GET http:\/\/127\.0\.0\.1:\d+\/nope: HTTP 404/);
});

Deno.test("-H headers with ${ENV} expansion reach the server; -v shows requests with Authorization redacted", async () => {
  await using dir = await tempDir();
  await using server = serve(() => Response.json([{ id: 1 }]));
  const token = "tok-" + crypto.randomUUID();
  const r = await dsync(
    [
      "http:ndjson",
      `${server.url}/users`,
      "out.ndjson",
      "-v",
      "-H",
      "Authorization: Bearer ${DSYNC_TEST_TOKEN}",
      "-H",
      "X-Tenant: acme",
      "-H",
      "X-Custom: id=${DSYNC_TEST_TOKEN}",
      "-H",
      "X-Other: plain-value",
      "--show-header",
      "X-Tenant",
      "--show-header",
      "x-custom",
    ],
    { cwd: dir.path, env: { DSYNC_TEST_TOKEN: token } },
  );
  assertEquals(r.code, 0, r.stderr);
  assertEquals(server.requests[0].headers.get("authorization"), `Bearer ${token}`);
  assertEquals(server.requests[0].headers.get("x-tenant"), "acme");
  assertMatch(r.stderr, /> GET http:\/\/127\.0\.0\.1:\d+\/users\n/);
  assertMatch(r.stderr, /authorization: Bearer \*\*\*\n/);
  assertMatch(r.stderr, /x-tenant: acme/, "named in --show-header");
  assertMatch(r.stderr, /x-other: \*\*\*\n/, "not named: its value is not shown");
  assertEquals(server.requests[0].headers.get("x-custom"), `id=${token}`);
  assertMatch(r.stderr, /x-custom: id=\*\*\*\n/, "a value from the environment is redacted");
  assertOk(!r.stderr.includes(token), r.stderr);

  const unset = await dsync(
    [
      "http:ndjson",
      `${server.url}/users`,
      "out.ndjson",
      "-H",
      "Authorization: Bearer ${DSYNC_NOT_SET_XYZ}",
    ],
    { cwd: dir.path },
  );
  assertEquals(unset.code, 2);
  assertMatch(unset.stderr, /environment variable DSYNC_NOT_SET_XYZ is not set/);
  const bad = await dsync(["http:ndjson", `${server.url}/users`, "out.ndjson", "-H", "nocolon"], {
    cwd: dir.path,
  });
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr, /-H 'nocolon': expected 'Name: value'/);
});

Deno.test("a failure in the middle of an apply stops, reports applied and not applied changes, exit 4; a re-run converges", async () => {
  await using dir = await tempDir();
  const csv = (ids: number[], email = (id: number) => `u${id}@x.org`) =>
    "id,email\n" + ids.map((id) => `${id},${email(id)}`).join("\n") + "\n";
  await using rest = restServer([{ id: 1, email: "old@x.org" }, { id: 99, email: "gone@x.org" }]);
  const ids = [1, 2, 3, 4, 5, 6, 7, 8];
  await Deno.writeTextFile(`${dir.path}/users.csv`, csv(ids));
  rest.failOnce = (method) => method === "POST" && rest.store.has("4");
  const args = ["csv:http", "users.csv", `${rest.url}/users`, "--delete", "--concurrency", "1"];
  const first = await dsync(args, { cwd: dir.path });
  assertEquals(first.code, 4, first.stderr);
  const report = first.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) =>
    JSON.parse(l)
  );
  assertEquals(report.map((e) => [e.op, e.key.id, e.result]), [
    ["create", 2, "applied"],
    ["create", 3, "applied"],
    ["create", 4, "applied"],
    ["create", 5, "failed"],
    ["create", 6, "not applied"],
    ["create", 7, "not applied"],
    ["create", 8, "not applied"],
    ["update", 1, "not applied"],
    ["delete", 99, "not applied"],
  ]);
  assertMatch(report[3].error, /POST http:\/\/127\.0\.0\.1:\d+\/users: HTTP 500/);
  assertMatch(
    first.stderr,
    /create \{"id":5\} failed: POST .*\/users: HTTP 500 .*3 of 9 changes applied, 6 not/,
  );
  assertMatch(first.stderr, /not transactional\n\s+fix the cause and run the same sync again/);
  assertEquals([...rest.store.keys()].sort(), ["1", "2", "3", "4", "99"]);
  assertEquals(
    rest.requests.filter((q) => q.method !== "GET").length,
    4,
    "nothing after the failure",
  );

  rest.requests.length = 0;
  const second = await dsync(args, { cwd: dir.path });
  assertEquals(second.code, 0, second.stderr);
  assertMatch(second.stderr, /\+4 ~1 -1/);
  const patch = rest.requests.find((q) => q.method === "PATCH")!;
  assertEquals([patch.path, JSON.parse(patch.body)], ["/users/1", { email: "u1@x.org" }]);
  assertEquals(
    [...rest.store.values()].sort(byId),
    ids.map((id) => ({ id, email: `u${id}@x.org` })),
  );
  rest.requests.length = 0;
  const third = await dsync(args, { cwd: dir.path });
  assertMatch(third.stderr, /\+0 ~0 -0/);
  assertEquals(rest.requests.map((q) => q.method), ["GET"]);

  // With concurrency, what the report calls applied is exactly what the server holds.
  await Deno.writeTextFile(`${dir.path}/users.csv`, csv([...ids, 9, 10, 11, 12, 13, 14, 15, 16]));
  rest.failOnce = (method) => method === "POST" && rest.store.size >= 10;
  const parallel = await dsync([...args.slice(0, -1), "4"], { cwd: dir.path });
  assertEquals(parallel.code, 4, parallel.stderr);
  const entries = parallel.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) =>
    JSON.parse(l)
  );
  for (const e of entries) {
    assertEquals(rest.store.has(String(e.key.id)), e.result === "applied", JSON.stringify(e));
  }
  const converge = await dsync([...args.slice(0, -1), "4"], { cwd: dir.path });
  assertEquals(converge.code, 0, converge.stderr);
  assertEquals([...rest.store.keys()].map(Number).sort((a, b) => a - b), [
    ...ids,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
    16,
  ]);
});

Deno.test("--update-method PUT sends whole records; --item-url templates; a composite key needs --item-url", async () => {
  await using dir = await tempDir();
  await using rest = restServer([{ id: 1, name: "Ann", team: "a" }, {
    id: 2,
    name: "Bob",
    team: "b",
  }]);
  await Deno.writeTextFile(`${dir.path}/t.csv`, "id,name,team\n1,Ann,a2\n");
  const r = await dsync(
    [
      "csv:http",
      "t.csv",
      `${rest.url}/users`,
      "--update-method",
      "PUT",
      "--item-url",
      `${rest.url}/people/{id}`,
      "--delete",
    ],
    { cwd: dir.path },
  );
  assertEquals(r.code, 0, r.stderr);
  const sent = rest.requests.filter((q) => q.method !== "GET").map((
    q,
  ) => [q.method, q.path, q.body]);
  assertEquals(sent.sort(), [
    ["DELETE", "/people/2", ""],
    ["PUT", "/people/1", JSON.stringify({ id: 1, name: "Ann", team: "a2" })],
  ]);
  assertEquals([...rest.store.values()], [{ id: 1, name: "Ann", team: "a2" }]);

  await Deno.writeTextFile(`${dir.path}/t.csv`, "id,name,team\n1,Ann,a3\n");
  const composite = await dsync(["csv:http", "t.csv", `${rest.url}/users`, "--key", "id,name"], {
    cwd: dir.path,
  });
  assertEquals(composite.code, 2, composite.stderr);
  assertMatch(composite.stderr, /a key of 2 fields needs --item-url\n.*\{id\}\/\{name\}/);
  const unknown = await dsync(
    ["csv:http", "t.csv", `${rest.url}/users`, "--item-url", `${rest.url}/people/{nope}`],
    { cwd: dir.path },
  );
  assertEquals(unknown.code, 2);
  assertMatch(unknown.stderr, /--item-url: no field 'nope'/);
  assertEquals([...rest.store.values()], [{ id: 1, name: "Ann", team: "a2" }], "nothing sent");
});

Deno.test("webhook: signed batches, state file remembers what was delivered, next run sends only changes", async () => {
  await using dir = await tempDir();
  const secret = "whsec-" + crypto.randomUUID();
  await using hook = webhookServer(secret);
  await Deno.writeTextFile(`${dir.path}/users.csv`, USERS_CSV);
  await Deno.writeTextFile(`${dir.path}/users2.csv`, USERS2_CSV);
  const env = { DSYNC_WEBHOOK_SECRET: secret };
  const run = (file: string, ...options: string[]) =>
    dsync(["csv:webhook", file, `${hook.url}/hook`, "--state", "hook.db", ...options], {
      cwd: dir.path,
      env,
    });

  const dry = await run("users.csv", "-n");
  assertEquals([dry.code, hook.requests.length], [0, 0], dry.stderr);

  const first = await run("users.csv", "--batch-size", "2");
  assertEquals(first.code, 0, first.stderr);
  assertEquals(hook.rejected, 0);
  assertEquals(hook.batches.map((b) => [b.batch, b.batches, b.changes.length]), [[1, 2, 2], [
    2,
    2,
    1,
  ]]);
  assertEquals(hook.batches.flatMap((b) => b.changes), [
    {
      op: "create",
      key: { id: 1 },
      after: { id: 1, name: "Ann", email: "ann@x.org", zip: "02134" },
    },
    {
      op: "create",
      key: { id: 2 },
      after: { id: 2, name: "Bob", email: "bob@x.org", zip: "94103" },
    },
    { op: "create", key: { id: 3 }, after: { id: 3, name: "Cy", email: null, zip: "00501" } },
  ]);
  assertOk(!first.stderr.includes(secret));

  hook.requests.length = 0;
  const again = await run("users.csv");
  assertEquals(again.code, 0, again.stderr);
  assertMatch(again.stderr, /\+0 ~0 -0/);
  assertEquals(hook.requests.length, 0);

  hook.batches.length = 0;
  const changed = await run("users2.csv", "--delete");
  assertEquals(changed.code, 0, changed.stderr);
  assertEquals(hook.batches.length, 1);
  assertEquals(hook.batches[0].changes, [
    { op: "create", key: { id: 4 }, after: { id: 4, name: "Di", email: "di@x.org", zip: "10001" } },
    {
      op: "update",
      key: { id: 1 },
      before: { email: "ann@x.org" },
      after: { email: "ann@new.org" },
    },
    { op: "delete", key: { id: 3 }, before: { id: 3, name: "Cy", email: null, zip: "00501" } },
  ]);
  hook.requests.length = 0;
  const settled = await run("users2.csv", "--delete");
  assertMatch(settled.stderr, /\+0 ~0 -0/);
  assertEquals(hook.requests.length, 0);
  const state = sqliteRows(`${dir.path}/hook.db`, "dsync_webhook_records", "key");
  assertEquals(state.map((s) => JSON.parse(s.record as string)), USERS2);
});

Deno.test("webhook: a bad signature is refused (exit 4, state untouched); a failed batch is sent again, the rest not", async () => {
  await using dir = await tempDir();
  await using hook = webhookServer("right-secret");
  await Deno.writeTextFile(`${dir.path}/users.csv`, USERS_CSV);
  const run = (...options: string[]) =>
    dsync(["csv:webhook", "users.csv", `${hook.url}/hook`, "--state", "hook.db", ...options], {
      cwd: dir.path,
    });

  const wrong = await run("--secret", "wrong-secret", "--retries", "0");
  assertEquals(wrong.code, 4, wrong.stderr);
  assertEquals(hook.rejected, 1);
  assertMatch(wrong.stderr, /batch 1 of 1 failed: HTTP 401/);
  assertOk(!wrong.stderr.includes("wrong-secret"), wrong.stderr);

  hook.fail = (batch) => batch.batch === 2;
  const partial = await run("--secret", "right-secret", "--batch-size", "1", "--retries", "0");
  assertEquals(partial.code, 4, partial.stderr);
  assertMatch(partial.stderr, /batch 2 of 3 failed: HTTP 500.*1 of 3 changes delivered/);
  const report = partial.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) =>
    JSON.parse(l)
  );
  assertEquals(report.map((e) => [e.key.id, e.result]), [[1, "applied"], [2, "failed"], [
    3,
    "not applied",
  ]]);
  assertEquals(hook.batches.flatMap((b) => b.changes.map((c) => (c.key as Rec).id)), [1]);

  hook.fail = undefined;
  hook.batches.length = 0;
  const rest = await run("--secret", "right-secret");
  assertEquals(rest.code, 0, rest.stderr);
  assertEquals(hook.batches.flatMap((b) => b.changes.map((c) => [c.op, (c.key as Rec).id])), [
    ["create", 2],
    ["create", 3],
  ]);
  hook.requests.length = 0;
  const done = await run("--secret", "right-secret");
  assertMatch(done.stderr, /\+0 ~0 -0/);
  assertEquals(hook.requests.length, 0);
});

Deno.test("dsync adapters: http and webhook are listed as not transactional", async () => {
  const r = await dsync(["adapters", "--format", "json"]);
  assertEquals(r.code, 0, r.stderr);
  const adapters = JSON.parse(r.stdout).adapters as Rec[];
  const http = adapters.find((a) => a.name === "http")!;
  const webhook = adapters.find((a) => a.name === "webhook")!;
  assertEquals([http.source, http.target, http.transactional], [true, true, false]);
  assertEquals([webhook.source, webhook.target, webhook.transactional], [false, true, false]);
  assertOk(JSON.parse(r.stdout).pairs.includes("csv:webhook"));
  const text = await dsync(["adapters"]);
  assertMatch(text.stdout, /http .*\n {2}roles: source, target; writes NOT transactional/);
});

Deno.test("credentials stay on the locator's origin; a Retry-After beyond 120 s fails at once", async () => {
  await using dir = await tempDir();
  await using other = serve(() => Response.json([{ id: 2 }]));
  await using first = serve(() =>
    new Response(JSON.stringify([{ id: 1 }]), {
      headers: { link: `<${other.url}/more>; rel="next"`, "content-type": "application/json" },
    })
  );
  const r = await dsync(
    [
      "http:ndjson",
      `http://ann:pw@127.0.0.1:${first.port}/users`,
      "out.ndjson",
      "-H",
      "X-Api-Key: k-123",
      "-H",
      "X-Tenant: acme",
    ],
    { cwd: dir.path },
  );
  assertEquals(r.code, 0, r.stderr);
  assertEquals(parseNdjson(await Deno.readTextFile(`${dir.path}/out.ndjson`)), [{ id: 1 }, {
    id: 2,
  }]);
  assertOk(first.requests[0].headers.get("authorization")?.startsWith("Basic "));
  assertEquals(first.requests[0].headers.get("x-api-key"), "k-123");
  assertEquals(other.requests[0].headers.get("authorization"), null);
  assertEquals(other.requests[0].headers.get("x-api-key"), null);
  assertEquals(other.requests[0].headers.get("x-tenant"), "acme");

  await using limited = serve(() =>
    new Response("quota", { status: 429, headers: { "retry-after": "3600" } })
  );
  const q = await dsync(["http:ndjson", `${limited.url}/users`, "out.ndjson"], { cwd: dir.path });
  assertEquals(q.code, 2, q.stderr);
  assertEquals(limited.requests.length, 1);
  assertMatch(q.stderr, /HTTP 429 Too Many Requests; the server asks to retry after 3600 s/);
});

Deno.test("--flatten: nested objects become a.b columns and are nested again on write (PATCH sends the whole object)", async () => {
  await using dir = await tempDir();
  await using rest = restServer([
    { id: 1, name: "Ann", address: { city: "Oslo", zip: "0150" } },
    { id: 2, name: "Bob", address: { city: "Rome", zip: "00100" } },
  ]);
  await Deno.writeTextFile(
    `${dir.path}/people.csv`,
    "id,name,address.city,address.zip\n1,Ann,Bergen,0150\n2,Bob,Rome,00100\n3,Cy,Lima,15001\n",
  );
  const args = ["csv:http", "people.csv", `${rest.url}/users`, "--flatten"];
  const r = await dsync(args, { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stderr, /\+1 ~1 -0/);
  const sent = rest.requests.filter((q) => q.method !== "GET").map((q) => [
    q.method,
    q.path,
    JSON.parse(q.body),
  ]);
  assertEquals(sent.sort(), [
    ["PATCH", "/users/1", { address: { city: "Bergen", zip: "0150" } }],
    ["POST", "/users", { id: 3, name: "Cy", address: { city: "Lima", zip: "15001" } }],
  ]);
  assertEquals([...rest.store.values()].sort(byId), [
    { id: 1, name: "Ann", address: { city: "Bergen", zip: "0150" } },
    { id: 2, name: "Bob", address: { city: "Rome", zip: "00100" } },
    { id: 3, name: "Cy", address: { city: "Lima", zip: "15001" } },
  ]);
  const again = await dsync(args, { cwd: dir.path });
  assertMatch(again.stderr, /\+0 ~0 -0/);
});
