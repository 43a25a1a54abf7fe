/**
 * The fault suite: repeats the reliability audit's experiments (issue 22) with bounded loops
 * and reports trials / held / failed per experiment. A trial holds when the store, checked with
 * its own client (sqlite3, psql), is exactly in the state before the run or exactly in the state
 * after it, and the run's exit code and message say which.
 *
 * - kill -9 at a random point of a large SQLite and a large PostgreSQL apply;
 * - SIGTERM / SIGINT at a random point of a SQLite apply (exit 143/130 and all-before, or exit 0
 *   and all-after);
 * - a throwaway PostgreSQL server (scripts/pg_server.ts) stopped mid-apply: exit 4, one line;
 * - two syncs at once on one SQLite and one PostgreSQL table: the result is one source exactly;
 * - a full disk (a 1 MB tmpfs, as root; skipped otherwise): exit 4, target and folder unchanged;
 * - the bad-input corpus (scripts/faults_corpus.ts): exit 2, one line naming file, line, field
 *   and value, the target unchanged by checksum;
 * - a secrets grep over every output of the suite and of runs with secrets in their locators.
 *
 * @example
 * ```sh
 * deno task faults               # the long version (20 kill -9 trials per store), a Markdown table
 * deno run -A scripts/faults.ts --trials 3 --rows 20000
 * ```
 * @module
 */
import { withPostgres } from "./pg_server.ts";
import { startThrowaway } from "./pg_server.ts";
import { runCorpus } from "./faults_corpus.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const decoder = new TextDecoder();

/** One experiment's figures. */
export interface FaultRow {
  experiment: string;
  trials: number;
  held: number;
  failed: number;
  /** What the failures were, or a note (skipped, …). */
  notes: string[];
}

/** Suite settings. */
export interface FaultOptions {
  /** Trials of each kill -9 / signal experiment (default 20). */
  trials?: number;
  /** Records of the large applies (default 60000). */
  rows?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Run only these experiments (names as in the progress lines: `sqlite-kill9`, …). */
  only?: string[];
  /** Leave these experiments out. */
  skip?: string[];
}

/** Every output (stdout and stderr) of the suite, for the secrets grep. */
const outputs: string[] = [];

interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(cmd: string, args: string[], cwd?: string, env?: Record<string, string>) {
  const out = await new Deno.Command(cmd, { args, cwd, env, stdin: "null" }).output();
  const result = {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
  outputs.push(result.stdout, result.stderr);
  return result;
}

function dsyncArgs(args: string[]): string[] {
  return ["run", "-A", "--no-lock", `${ROOT}main.ts`, ...args];
}

/** dsync in `cwd`; `killAfterMs` sends `signal` after that long. */
async function dsync(
  args: string[],
  cwd: string,
  options: { killAfterMs?: number; signal?: Deno.Signal; env?: Record<string, string> } = {},
): Promise<Exit & { killed: boolean }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: dsyncArgs(args),
    cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).spawn();
  let killed = false;
  const timer = options.killAfterMs === undefined ? undefined : setTimeout(() => {
    try {
      child.kill(options.signal ?? "SIGKILL");
      killed = true;
    } catch {
      // already ended
    }
  }, options.killAfterMs);
  const out = await child.output();
  clearTimeout(timer);
  const stderr = decoder.decode(out.stderr);
  outputs.push(stderr);
  return { code: out.code, stdout: "", stderr, killed };
}

const sqlite3 = async (db: string, sql: string) => (await run("sqlite3", [db, sql])).stdout.trim();

function csv(rows: number, prefix: string, from = 1): string {
  const lines = ["id,name,score"];
  for (let i = from; i < from + rows; i++) lines.push(`${i},${prefix}${i},${i % 97}.5`);
  return lines.join("\n") + "\n";
}

/** The error lines of a run (hints are indented). */
const errorLines = (stderr: string) => stderr.split("\n").filter((l) => l && !l.startsWith(" "));
const oneLine = (stderr: string) =>
  errorLines(stderr).length === 1 && !/Uncaught| {4}at /.test(stderr);

/** Before: `rows` records named old…; the source: all renamed new…, plus `rows / 2` more. */
async function sqliteFixture(dir: string, rows: number): Promise<{ base: string; source: string }> {
  const base = `${dir}/base.db`;
  await Deno.writeTextFile(`${dir}/old.csv`, csv(rows, "old"));
  await Deno.writeTextFile(`${dir}/new.csv`, csv(rows + rows / 2, "new"));
  const r = await dsync(["csv:sqlite", "old.csv", "base.db#t", "-q"], dir);
  if (r.code !== 0) throw new Error(`fixture: ${r.stderr}`);
  return { base, source: "new.csv" };
}

/** `before`, `after`, or `neither` (with what was seen), from counts of old and new names. */
function outcome(seen: string, rows: number): "before" | "after" | string {
  if (seen === `${rows}|${rows}|0`) return "before";
  if (seen === `${rows + rows / 2}|0|${rows + rows / 2}`) return "after";
  return `neither (${seen})`;
}
const COUNTS =
  "SELECT count(*) || '|' || sum(name LIKE 'old%') || '|' || sum(name LIKE 'new%') FROM t";

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

async function sqliteKills(
  dir: string,
  rows: number,
  trials: number,
  signal: Deno.Signal,
): Promise<FaultRow> {
  const { base, source } = await sqliteFixture(dir, rows);
  const db = `${dir}/t.db`;
  await Deno.copyFile(base, db);
  const full = await timed(() => dsync(["csv:sqlite", source, "t.db#t", "-q"], dir));
  const row: FaultRow = {
    experiment: `${
      signal === "SIGKILL" ? "kill -9" : signal
    } during a SQLite apply (${rows} records, ${rows * 1.5} changes)`,
    trials: 0,
    held: 0,
    failed: 0,
    notes: [],
  };
  const expected = signal === "SIGINT" ? 130 : signal === "SIGTERM" ? 143 : 137;
  let beforeStart = 0;
  for (let t = 0; t < trials; t++) {
    await Deno.copyFile(base, db);
    await Deno.remove(`${db}-journal`).catch(() => {});
    const r = await dsync(["csv:sqlite", source, "t.db#t", "-q"], dir, {
      killAfterMs: Math.random() * full,
      signal,
    });
    const integrity = await sqlite3(db, "PRAGMA integrity_check");
    const state = outcome(await sqlite3(db, COUNTS), rows);
    row.trials++;
    // A signal can also land before dsync's handler is installed (the runtime starting): the
    // default action ends the process, nothing was written, and there is no message to check.
    const early = signal !== "SIGKILL" && r.stderr.trim() === "";
    if (early && r.code === expected) beforeStart++;
    const ok = integrity === "ok" && (
      r.code === 0
        ? state === "after"
        : signal === "SIGKILL"
        ? state === "before"
        : r.code === expected && (
          (state === "before" && (early || oneLine(r.stderr))) ||
          (state === "after" && /after the changes were written/.test(r.stderr))
        )
    );
    if (ok) row.held++;
    else {
      row.failed++;
      row.notes.push(
        `exit ${r.code}, ${state}, integrity ${integrity}: ${errorLines(r.stderr)[0] ?? ""}`,
      );
    }
  }
  if (beforeStart) row.notes.push(`${beforeStart} signalled before dsync's handler was installed`);
  return row;
}

async function pgKills(dir: string, url: string, rows: number, trials: number): Promise<FaultRow> {
  const schema = `dsync_faults_${crypto.randomUUID().slice(0, 8)}`;
  const psql = async (sql: string) => (await run("psql", [url, "-XAtqc", sql])).stdout.trim();
  await psql(`create schema ${schema}`);
  const row: FaultRow = {
    experiment: `kill -9 during a PostgreSQL apply (${rows} records, ${rows * 1.5} changes)`,
    trials: 0,
    held: 0,
    failed: 0,
    notes: [],
  };
  try {
    await Deno.writeTextFile(`${dir}/old.csv`, csv(rows, "old"));
    await Deno.writeTextFile(`${dir}/new.csv`, csv(rows + rows / 2, "new"));
    const target = `${url}#${schema}.t`;
    const reset = async () => {
      await psql(`drop table if exists ${schema}.t`);
      const r = await dsync(["csv:pg", "old.csv", target, "-q"], dir);
      if (r.code !== 0) throw new Error(`fixture: ${r.stderr}`);
    };
    await reset();
    const full = await timed(() => dsync(["csv:pg", "new.csv", target, "-q"], dir));
    const counts = `select count(*) || '|' || count(*) filter (where name like 'old%') || '|' ||
      count(*) filter (where name like 'new%') from ${schema}.t`;
    for (let t = 0; t < trials; t++) {
      await reset();
      const r = await dsync(["csv:pg", "new.csv", target, "-q"], dir, {
        killAfterMs: Math.random() * full,
      });
      // The server ends the killed session's transaction when it sees the socket close.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const state = outcome(await psql(counts), rows);
      row.trials++;
      if (r.code === 0 ? state === "after" : state === "before") row.held++;
      else {
        row.failed++;
        row.notes.push(`exit ${r.code}, ${state}`);
      }
    }
  } finally {
    await psql(`drop schema ${schema} cascade`);
  }
  return row;
}

async function pgServerStops(dir: string, rows: number, trials: number): Promise<FaultRow> {
  const row: FaultRow = {
    experiment: "a throwaway PostgreSQL server stopped mid-apply",
    trials: 0,
    held: 0,
    failed: 0,
    notes: [],
  };
  await Deno.writeTextFile(`${dir}/new.csv`, csv(rows * 2, "new"));
  for (let t = 0; t < trials; t++) {
    const server = await startThrowaway();
    try {
      const child = new Deno.Command(Deno.execPath(), {
        args: dsyncArgs(["csv:pg", "new.csv", `${server.url}#public.t`, "-q"]),
        cwd: dir,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).spawn();
      await new Promise((resolve) => setTimeout(resolve, 1500 + Math.random() * 1500));
      await server.stop();
      const out = await child.output();
      const stderr = decoder.decode(out.stderr);
      outputs.push(stderr);
      row.trials++;
      // Stopped before dsync connected, the run cannot connect (exit 2 while reading, 4 when
      // starting the write); after, the connection is lost (exit 4).
      const ok = (out.code === 4 && /connection lost while applying; rolled back/.test(stderr)) ||
        ((out.code === 2 || out.code === 4) && /ECONNREFUSED/.test(stderr)) || out.code === 0;
      if (ok && (out.code === 0 || oneLine(stderr))) row.held++;
      else {
        row.failed++;
        row.notes.push(`exit ${out.code}: ${stderr.trim().split("\n").slice(0, 2).join(" / ")}`);
      }
    } finally {
      await server.stop();
    }
  }
  return row;
}

async function concurrentRuns(dir: string, url: string, trials: number): Promise<FaultRow> {
  const row: FaultRow = {
    experiment: "two syncs at once on one target (SQLite, PostgreSQL)",
    trials: 0,
    held: 0,
    failed: 0,
    notes: [],
  };
  const schema = `dsync_faults_${crypto.randomUUID().slice(0, 8)}`;
  const psql = async (sql: string) => (await run("psql", [url, "-XAtqc", sql])).stdout.trim();
  await psql(`create schema ${schema}`);
  try {
    await Deno.writeTextFile(`${dir}/a.csv`, csv(3000, "a"));
    await Deno.writeTextFile(`${dir}/b.csv`, csv(2000, "b", 500));
    for (let t = 0; t < trials; t++) {
      for (const store of ["sqlite", "pg"] as const) {
        const target = store === "sqlite" ? `c${t}.db#t` : `${url}#${schema}.c${t}`;
        const count = store === "sqlite"
          ? () => sqlite3(`${dir}/c${t}.db`, "SELECT count(*) || '|' || sum(name LIKE 'a%') FROM t")
          : () =>
            psql(
              `select count(*) || '|' || count(*) filter (where name like 'a%') from ${schema}.c${t}`,
            );
        const [x, y] = await Promise.all([
          dsync([`csv:${store}`, "a.csv", target, "--delete", "-q"], dir),
          dsync([`csv:${store}`, "b.csv", target, "--delete", "-q"], dir),
        ]);
        const seen = await count();
        row.trials++;
        const exact = seen === "3000|3000" || seen === "2000|0";
        const codes = [x.code, y.code].every((c) => c === 0 || c === 4);
        if (exact && codes) row.held++;
        else {
          row.failed++;
          row.notes.push(`${store}: exits ${x.code}/${y.code}, state ${seen}`);
        }
      }
    }
  } finally {
    await psql(`drop schema ${schema} cascade`);
  }
  return row;
}

async function diskFull(dir: string): Promise<FaultRow> {
  const row: FaultRow = {
    experiment: "a full disk (1 MB tmpfs): SQLite and CSV targets, spill files in TMPDIR",
    trials: 0,
    held: 0,
    failed: 0,
    notes: [],
  };
  if (Deno.uid() !== 0) {
    row.notes.push("skipped: mounting a tmpfs needs root");
    return row;
  }
  const mount = `${dir}/full`;
  await Deno.mkdir(mount);
  if ((await run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mount])).code !== 0) {
    row.notes.push("skipped: mount -t tmpfs failed (not allowed here)");
    return row;
  }
  try {
    await Deno.writeTextFile(`${dir}/big.csv`, csv(60000, "x"));
    await Deno.writeTextFile(`${mount}/small.csv`, "id,name,score\n1,a,1\n");
    for (
      const [args, check] of [
        [
          ["csv:sqlite", "big.csv", `${mount}/t.db#t`, "-q"],
          async () => !await Deno.stat(`${mount}/t.db`).then(() => true, () => false),
        ],
        [
          ["csv:csv", "big.csv", `${mount}/small.csv`, "-q"],
          async () =>
            await Deno.readTextFile(`${mount}/small.csv`) === "id,name,score\n1,a,1\n" &&
            [...Deno.readDirSync(mount)].length === 1,
        ],
      ] as [string[], () => Promise<boolean>][]
    ) {
      const r = await dsync(args, dir);
      row.trials++;
      if (r.code === 4 && oneLine(r.stderr) && await check()) row.held++;
      else {
        row.failed++;
        row.notes.push(`${args[0]}: exit ${r.code}: ${errorLines(r.stderr)[0] ?? ""}`);
      }
    }
    // The engine's temporary files (spilled past a small budget) in a full TMPDIR.
    const spill = await dsync(["csv:sqlite", "big.csv", "spill.db#t", "-q"], dir, {
      env: { TMPDIR: mount, DSYNC_SPILL_RECORDS: "1000" },
    });
    row.trials++;
    const named = spill.stderr.includes(`temporary files in ${mount}`);
    if (spill.code === 4 && oneLine(spill.stderr) && named) row.held++;
    else {
      row.failed++;
      row.notes.push(
        `spill in a full TMPDIR: exit ${spill.code}: ${errorLines(spill.stderr)[0] ?? ""}`,
      );
    }
  } finally {
    await run("umount", [mount]);
  }
  return row;
}

async function secretsGrep(dir: string, url: string): Promise<FaultRow> {
  const secrets = ["s3cr#t/pw?1", "tok-9f8e7d", "jwt-1a2b3c", "key-4d5e6f"];
  const hostPort = new URL(url).host;
  for (
    const args of [
      ["csv:pg", "new.csv", `postgres://app:${secrets[0]}@${hostPort}/nodb#t`],
      ["csv:pg", "new.csv", `postgres://app:${secrets[0]}@${hostPort}/nodb#t`, "-v"],
      [
        "http:ndjson",
        `http://u:${secrets[0]}@127.0.0.1:1/x?token=${secrets[1]}&jwt=${secrets[2]}`,
        "o.ndjson",
        "--retries",
        "0",
      ],
      [
        "http:ndjson",
        `http://127.0.0.1:1/x?k=${secrets[3]}&code=${secrets[1]}`,
        "o.ndjson",
        "-v",
        "--retries",
        "0",
        "-H",
        `X-Api: ${secrets[2]}`,
      ],
      ["http:ndjson", `http:/[bad?token=${secrets[1]}`, "o.ndjson"],
    ]
  ) await dsync(args, dir);
  const leaks = outputs.flatMap((text) =>
    secrets.flatMap((s) => [s, encodeURIComponent(s)]).filter((s) => text.includes(s))
  );
  return {
    experiment: "secrets grep over every output of the suite",
    trials: outputs.length,
    held: outputs.length - new Set(leaks).size,
    failed: new Set(leaks).size,
    notes: leaks.length ? [`leaked: ${[...new Set(leaks)].join(", ")}`] : [],
  };
}

/** Runs every experiment and returns its figures. */
export async function runFaults(options: FaultOptions = {}): Promise<FaultRow[]> {
  const trials = options.trials ?? 20;
  const rows = Math.max(2, Math.round((options.rows ?? 60000) / 2) * 2);
  const log = options.log ?? (() => {});
  const dir = await Deno.makeTempDir({ prefix: "dsync-faults-" });
  const server = await withPostgres();
  const results: FaultRow[] = [];
  const step = async (name: string, work: () => Promise<FaultRow>) => {
    if (options.only && !options.only.includes(name)) return;
    if (options.skip?.includes(name)) return;
    log(`faults: ${name} ...`);
    const result = await work().catch((error) => ({
      experiment: name,
      trials: 0,
      held: 0,
      failed: 1,
      notes: [`the experiment itself failed: ${(error as Error).message}`],
    }));
    results.push(result);
    log(
      `faults: ${result.experiment}: ${result.trials} trials, ${result.held} held, ${result.failed} failed`,
    );
    for (const note of result.notes) log(`faults:   ${note}`);
  };
  try {
    const sub = (name: string) => Deno.makeTempDir({ dir, prefix: `${name}-` });
    await step("sqlite-kill9", async () => sqliteKills(await sub("s9"), rows, trials, "SIGKILL"));
    await step(
      "sqlite-sigterm",
      async () => sqliteKills(await sub("st"), rows, Math.ceil(trials / 2), "SIGTERM"),
    );
    await step(
      "sqlite-sigint",
      async () => sqliteKills(await sub("si"), rows, Math.ceil(trials / 2), "SIGINT"),
    );
    await step("pg-kill9", async () => pgKills(await sub("p9"), server.url, rows, trials));
    await step(
      "pg-server-stop",
      async () => pgServerStops(await sub("ps"), rows, Math.max(1, Math.ceil(trials / 7))),
    );
    await step(
      "concurrent",
      async () => concurrentRuns(await sub("cc"), server.url, Math.max(1, Math.ceil(trials / 4))),
    );
    await step("disk-full", async () => diskFull(await sub("df")));
    await step("corpus", async () =>
      runCorpus(await sub("bi"), {
        pgUrl: server.url,
        run: (args, cwd) => dsync(args, cwd),
      }));
    await step("secrets", async () => {
      const d = await sub("sg");
      await Deno.writeTextFile(`${d}/new.csv`, csv(10, "n"));
      return secretsGrep(d, server.url);
    });
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return results;
}

/** The figures as a Markdown table. */
export function faultTable(rows: FaultRow[]): string {
  const lines = [
    "| experiment | trials | held | failed | notes |",
    "| --- | --: | --: | --: | --- |",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.experiment} | ${r.trials} | ${r.held} | ${r.failed} | ${
        r.notes.slice(0, 3).join("; ").replaceAll("|", "\\|")
      } |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const value = (flag: string) => {
    const i = Deno.args.indexOf(flag);
    return i < 0 ? undefined : Number(Deno.args[i + 1]);
  };
  const rows = await runFaults({
    trials: value("--trials"),
    rows: value("--rows"),
    only: Deno.args.includes("--only")
      ? Deno.args[Deno.args.indexOf("--only") + 1].split(",")
      : undefined,
    log: (line) => console.error(line),
  });
  console.log(faultTable(rows));
  Deno.exit(rows.some((r) => r.failed > 0) ? 1 : 0);
}
