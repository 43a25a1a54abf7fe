/**
 * Failures that must not lie: the change set cannot be written (exit 4, target untouched), its
 * reader goes away after the commit (exit 0, summary says so), SIGINT/SIGTERM mid-apply (roll
 * back, exit 130/143), a run killed with -9 left a temporary file, the PostgreSQL connection is
 * killed mid-apply (exit 4, one line, rolled back). Outcomes checked with sqlite3 and psql.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { ROOT, tempDir } from "./helpers.ts";
import { dsync } from "./helpers.ts";
import { withPostgres } from "../scripts/pg_server.ts";

const server = await withPostgres();

async function sqlite3(path: string, sql: string): Promise<string> {
  const out = await new Deno.Command("sqlite3", { args: [path, sql] }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

async function psql(sql: string): Promise<string> {
  const out = await new Deno.Command("psql", { args: [server.url, "-XAtqc", sql] }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

/** A CSV of `n` records `id,name`. */
function bigCsv(n: number, name = "v"): string {
  const lines = ["id,name"];
  for (let i = 1; i <= n; i++) lines.push(`${i},${name}${i}`);
  return lines.join("\n") + "\n";
}

/** The error lines of stderr (hints are indented). */
const errorLines = (stderr: string) => stderr.split("\n").filter((l) => l && !l.startsWith(" "));

/** dsync as a child process, its change set dropped (a full pipe would stall it), stderr kept. */
function spawnDsync(args: string[], cwd: string, env: Record<string, string> = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", `${ROOT}main.ts`, ...args],
    cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).spawn();
}

async function until(what: () => Promise<boolean>, ms = 120000): Promise<void> {
  const end = Date.now() + ms;
  while (!await what()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test("-o into a missing folder fails before anything is written (exit 2)", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/s.csv`, "id,name\n1,a\n");
  const r = await dsync(["csv:sqlite", "s.csv", "t.db#t", "-o", "no/such/plan.ndjson"], {
    cwd: dir.path,
  });
  assertEquals(r.code, 2, r.stderr);
  assertMatch(r.stderr, /^dsync: -o no\/such\/plan\.ndjson: no such folder no\/such/);
  assertEquals(await Deno.stat(`${dir.path}/t.db`).then(() => true, () => false), false);
});

Deno.test("a change set that cannot be written rolls the sync back (exit 4)", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/s.csv`, "id,name\n1,a\n");
  assertEquals((await dsync(["csv:sqlite", "s.csv", "t.db#t"], { cwd: dir.path })).code, 0);
  await Deno.writeTextFile(`${dir.path}/s.csv`, "id,name\n1,b\n2,c\n");
  for (const args of [["-o", "/dev/full"], ["--format", "json", "-o", "/dev/full"]]) {
    const r = await dsync(["csv:sqlite", "s.csv", "t.db#t", ...args], { cwd: dir.path });
    assertEquals(r.code, 4, r.stderr);
    assertMatch(r.stderr, /cannot write the change set to \/dev\/full: .*; nothing written/);
    assertEquals(await sqlite3(`${dir.path}/t.db`, "SELECT * FROM t"), "1|a");
  }
  const shell = await new Deno.Command("bash", {
    args: [
      "-c",
      `"${Deno.execPath()}" run -A --no-lock "${ROOT}main.ts" csv:csv s.csv t.csv > /dev/full`,
    ],
    cwd: dir.path,
    stderr: "piped",
  }).output();
  assertEquals(shell.code, 4, new TextDecoder().decode(shell.stderr));
  assertEquals(await Deno.stat(`${dir.path}/t.csv`).then(() => true, () => false), false);
});

Deno.test("stdout closed by its reader after the commit: exit 0, all written, summary says so", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/s.csv`, bigCsv(20000));
  const shell = await new Deno.Command("bash", {
    args: [
      "-c",
      `"${Deno.execPath()}" run -A --no-lock "${ROOT}main.ts" csv:sqlite s.csv t.db#t | head -c 100 > /dev/null; exit \${PIPESTATUS[0]}`,
    ],
    cwd: dir.path,
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(shell.stderr);
  assertEquals(shell.code, 0, stderr);
  assertMatch(stderr, /\+20000 ~0 -0 .*change set cut short: its reader closed stdout/);
  assertEquals(await sqlite3(`${dir.path}/t.db`, "SELECT count(*) FROM t"), "20000");
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`${signal} during a SQLite apply rolls back and exits ${signal === "SIGINT" ? 130 : 143}`, async () => {
    await using dir = await tempDir();
    const db = `${dir.path}/t.db`;
    await Deno.writeTextFile(`${dir.path}/s.csv`, "id,name\n1,a\n");
    assertEquals((await dsync(["csv:sqlite", "s.csv", "t.db#t"], { cwd: dir.path })).code, 0);
    await Deno.writeTextFile(`${dir.path}/s.csv`, bigCsv(200000));
    const child = spawnDsync(["csv:sqlite", "s.csv", "t.db#t", "-q"], dir.path);
    // The journal appears with the first page written inside the transaction.
    await until(() => Deno.stat(`${db}-journal`).then(() => true, () => false));
    child.kill(signal);
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, signal === "SIGINT" ? 130 : 143, stderr);
    assertEquals(errorLines(stderr), [
      `dsync: interrupted by ${signal}; rolled back, nothing written`,
    ]);
    assertEquals(await sqlite3(db, "SELECT * FROM t"), "1|a");
    assertEquals(await Deno.stat(`${db}-journal`).then(() => true, () => false), false);
  });
}

Deno.test("SIGINT during a streamed first load rolls the new table back and exits 130", async () => {
  await using dir = await tempDir();
  const db = `${dir.path}/t.db`;
  await Deno.writeTextFile(`${dir.path}/s.csv`, bigCsv(400000));
  // --format summary: the creates stream into the transaction as the file is read.
  const child = spawnDsync(
    ["csv:sqlite", "s.csv", "t.db#t", "--format", "summary", "-q"],
    dir.path,
  );
  await until(() => Deno.stat(`${db}-journal`).then(() => true, () => false));
  child.kill("SIGINT");
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 130, stderr);
  assertEquals(errorLines(stderr), ["dsync: interrupted by SIGINT; rolled back, nothing written"]);
  const tables = await Deno.stat(db).then(
    () => sqlite3(db, "SELECT name FROM sqlite_master"),
    () => "",
  );
  assertEquals(tables, "");
});

Deno.test("SIGTERM during a CSV rewrite leaves no temporary file; stale ones of dead runs go", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/s.csv`, bigCsv(3000));
  // What a run killed with -9 leaves: PID 999999999 does not exist.
  await Deno.writeTextFile(`${dir.path}/.t.csv.dsync-999999999.tmp`, "half a file");
  const r = await dsync(["csv:csv", "s.csv", "t.csv"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  const names = async () => {
    const found: string[] = [];
    for await (const e of Deno.readDir(dir.path)) found.push(e.name);
    return found.sort();
  };
  assertEquals(await names(), ["s.csv", "t.csv"]);

  await Deno.writeTextFile(`${dir.path}/s.csv`, bigCsv(300000, "w"));
  const child = spawnDsync(["csv:csv", "s.csv", "t.csv", "-q"], dir.path);
  await until(async () => (await names()).some((n) => n.endsWith(".tmp")));
  child.kill("SIGTERM");
  const out = await child.output();
  assertEquals(out.code, 143, new TextDecoder().decode(out.stderr));
  assertEquals(await names(), ["s.csv", "t.csv"]);
  assertMatch(await Deno.readTextFile(`${dir.path}/t.csv`), /^id,name\n1,v1\n/);
});

Deno.test("postgres: the connection killed mid-apply is exit 4, one line, rolled back", async () => {
  await using dir = await tempDir();
  const schema = `dsync_kill_${crypto.randomUUID().slice(0, 8)}`;
  await psql(`create schema ${schema}`);
  try {
    const target = `${server.url}#${schema}.t`;
    await Deno.writeTextFile(`${dir.path}/s.csv`, "id,name\n1,a\n");
    assertEquals((await dsync(["csv:pg", "s.csv", target], { cwd: dir.path })).code, 0);
    await Deno.writeTextFile(`${dir.path}/s.csv`, bigCsv(200000));
    const app = schema;
    const child = spawnDsync(["csv:pg", "s.csv", target, "-q"], dir.path, { PGAPPNAME: app });
    await until(async () =>
      await psql(
        `select count(*) from pg_stat_activity where application_name = '${app}' and query ilike 'copy%' and state = 'active'`,
      ) === "1"
    );
    await psql(
      `select pg_terminate_backend(pid) from pg_stat_activity where application_name = '${app}'`,
    );
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 4, stderr);
    assertEquals(errorLines(stderr).length, 1, stderr);
    assertMatch(
      stderr,
      /^dsync: pg:.*#dsync_kill_\w+\.t: connection lost while applying; rolled back\n/,
    );
    assertEquals(await psql(`select id || '|' || name from ${schema}.t`), "1|a");
  } finally {
    await psql(`drop schema ${schema} cascade`);
  }
});

Deno.test("messages name what is wrong: a folder as the source, the line of invalid UTF-8", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/folder`);
  const folder = await dsync(["csv:sqlite", "folder", "t.db#t"], { cwd: dir.path });
  assertEquals(folder.code, 2, folder.stderr);
  assertMatch(folder.stderr, /^dsync: folder: is a folder, not a file\n/);
  const bytes = new TextEncoder().encode("id,name\n1,a\n2,b\n3,X\n4,c\n");
  bytes[bytes.indexOf(88)] = 0xff; // the X of line 4
  await Deno.writeFile(`${dir.path}/bad.csv`, bytes);
  const bad = await dsync(["csv:sqlite", "bad.csv", "t.db#t"], { cwd: dir.path });
  assertEquals(bad.code, 2, bad.stderr);
  assertMatch(bad.stderr, /^dsync: bad\.csv: not valid utf-8 text at byte \d+ \(line 4\)\n/);
  assertEquals(await Deno.stat(`${dir.path}/t.db`).then(() => true, () => false), false);
});
