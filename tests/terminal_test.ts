/**
 * Output that respects the terminal and the pipe, seen through a pseudo-terminal (`script`): a
 * capped, coloured table as wide as the terminal; everything, uncoloured, in a pipe or file;
 * `--color`, `NO_COLOR`, `FORCE_COLOR`; `-o -`; progress that stays quiet for a quick run, shows
 * an ETA and clears itself; and the `--format summary` line a cron log keeps, failures included.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, ROOT, sqliteExec, sqliteRows, tempDir } from "./helpers.ts";
import { generateCsv } from "../scripts/gen_data.ts";

const ESC = "\x1b[";

/** A clean environment: no NO_COLOR or FORCE_COLOR from whoever runs the tests. */
function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  const keep = ["PATH", "HOME", "DENO_DIR", "TMPDIR"];
  const env = Object.fromEntries(
    keep.flatMap((name) => Deno.env.get(name) === undefined ? [] : [[name, Deno.env.get(name)!]]),
  );
  return { ...env, TERM: "xterm-256color", ...extra };
}

/** Runs dsync with stdin, stdout and stderr on a pseudo-terminal of `columns` × 30. */
async function onTerminal(
  args: string[],
  cwd: string,
  options: { columns?: number; env?: Record<string, string> } = {},
): Promise<{ code: number; screen: string }> {
  const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
  const command = [Deno.execPath(), "run", "-A", "--no-lock", `${ROOT}main.ts`, ...args]
    .map(quote).join(" ");
  const out = await new Deno.Command("script", {
    args: ["-qec", `stty cols ${options.columns ?? 100} rows 30; exec ${command}`, "/dev/null"],
    cwd,
    clearEnv: true,
    env: baseEnv(options.env),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, screen: new TextDecoder().decode(out.stdout).replaceAll("\r\n", "\n") };
}

async function usersCsv(path: string, rows: number): Promise<void> {
  let text = "id,name,note\n";
  for (let i = 1; i <= rows; i++) text += `${i},user ${i},${"long note ".repeat(20)}${i}\n`;
  await Deno.writeTextFile(path, text);
}

Deno.test("on a terminal the table stops after 20 changes and says how many more", async () => {
  await using dir = await tempDir();
  await usersCsv(`${dir.path}/u.csv`, 200);
  const r = await onTerminal(["csv:sqlite", "u.csv", "t.db#u", "-n"], dir.path, { columns: 60 });
  assertEquals(r.code, 0, r.screen);
  assertEquals(r.screen.split("+ create").length - 1, 20, r.screen);
  assertMatch(r.screen, /\n… and 180 more \(-o plan\.ndjson or --format ndjson for all\)\n/);
  assertEquals(r.screen.includes(`${ESC}32m+ create id=1${ESC}0m`), true, "coloured on a terminal");
  // Width follows the terminal: no line of the table is wider than its 60 columns.
  const table = r.screen.split("\n").filter((l) => l.startsWith("    "));
  assertEquals(table.length > 0 && table.every((l) => [...l].length <= 60), true, r.screen);
  const wide = await onTerminal(["csv:sqlite", "u.csv", "t.db#u", "-n"], dir.path, {
    columns: 160,
  });
  const widest = Math.max(...wide.screen.split("\n").map((l) => [...l].length));
  assertEquals(widest > 100 && widest <= 160, true, `widest line ${widest}`);
  const big = 1000;
  await usersCsv(`${dir.path}/big.csv`, big);
  const many = await onTerminal(["csv:sqlite", "big.csv", "t.db#u", "-n"], dir.path);
  assertMatch(many.screen, /… and 980 more/);
});

Deno.test("piped or written to a file the table is whole and uncoloured unless asked", async () => {
  await using dir = await tempDir();
  await usersCsv(`${dir.path}/u.csv`, 200);
  // -o FILE from a terminal: the file is not a terminal, so no ANSI codes and no cap.
  const file = await onTerminal(
    ["csv:sqlite", "u.csv", "t.db#u", "-n", "--format", "table", "-o", "plan.txt"],
    dir.path,
  );
  assertEquals(file.code, 0, file.screen);
  const written = await Deno.readTextFile(`${dir.path}/plan.txt`);
  assertEquals(written.includes(ESC), false, "no colour in a file");
  assertEquals(written.split("+ create").length - 1, 200);
  const piped = await dsync(["csv:sqlite", "u.csv", "t.db#u", "-n", "--format", "table"], {
    cwd: dir.path,
    env: { NO_COLOR: "" },
  });
  assertEquals(piped.stdout.includes(ESC), false);
  assertEquals(piped.stdout.split("+ create").length - 1, 200);
  const forced = await dsync(["csv:sqlite", "u.csv", "t.db#u", "-n", "--format", "table"], {
    cwd: dir.path,
    env: { NO_COLOR: "", FORCE_COLOR: "1" },
  });
  assertEquals(forced.stdout.includes(`${ESC}32m+ create`), true, "FORCE_COLOR in a pipe");
  const always = await dsync([
    "csv:sqlite",
    "u.csv",
    "t.db#u",
    "-n",
    "--format",
    "table",
    "--color",
    "always",
  ], {
    cwd: dir.path,
  });
  assertEquals(always.stdout.includes(`${ESC}32m+ create`), true, "--color always beats NO_COLOR");
  const never = await onTerminal(
    ["csv:sqlite", "u.csv", "t.db#u", "-n", "--color", "never"],
    dir.path,
  );
  assertEquals(never.screen.includes(`${ESC}32m`), false, "--color never on a terminal");
  const noColor = await onTerminal(["csv:sqlite", "u.csv", "t.db#u", "-n"], dir.path, {
    env: { NO_COLOR: "1" },
  });
  assertEquals(noColor.screen.includes(`${ESC}32m`), false, "NO_COLOR on a terminal");
  const bad = await dsync(["csv:sqlite", "u.csv", "t.db#u", "-n", "--color", "sometimes"], {
    cwd: dir.path,
  });
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr, /--color sometimes: expected one of auto, always, never/);
});

Deno.test("-o - is stdout, not a file named '-'", async () => {
  await using dir = await tempDir();
  await usersCsv(`${dir.path}/u.csv`, 3);
  const r = await dsync(["csv:sqlite", "u.csv", "t.db#u", "-n", "-o", "-"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stdout.trim().split("\n").length, 3);
  assertEquals(await Deno.stat(`${dir.path}/-`).then(() => true, () => false), false);
  const applied = await dsync(["csv:sqlite", "u.csv", "t.db#u", "-o", "-", "--format", "summary"], {
    cwd: dir.path,
  });
  assertEquals(JSON.parse(applied.stdout).create, 3);
});

Deno.test("--format summary: one JSON line with timestamp, status and exit code, on failure too", async () => {
  await using dir = await tempDir();
  await usersCsv(`${dir.path}/u.csv`, 10);
  const before = Date.now();
  const ok = await dsync(["csv:sqlite", "u.csv", "t.db#u", "--format", "summary"], {
    cwd: dir.path,
  });
  assertEquals(ok.code, 0, ok.stderr);
  const line = JSON.parse(ok.stdout);
  assertEquals([line.status, line.exit_code, line.create], ["ok", 0, 10]);
  const at = Date.parse(line.timestamp);
  assertEquals(at >= before - 1000 && at <= Date.now(), true, line.timestamp);
  assertMatch(line.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  await usersCsv(`${dir.path}/few.csv`, 2);
  const refused = await dsync(
    [
      "csv:sqlite",
      "few.csv",
      "t.db#u",
      "--delete",
      "--max-delete",
      "1",
      "--format",
      "summary",
      "-q",
    ],
    { cwd: dir.path },
  );
  assertEquals(refused.code, 3);
  const r = JSON.parse(refused.stdout);
  assertEquals([r.status, r.exit_code], ["refused", 3]);
  assertMatch(r.error, /refused: 8 deletes exceed --max-delete 1/);
  assertEquals(refused.stderr.split("\n").filter(Boolean).length <= 2, true, refused.stderr);
  const missing = await dsync(["csv:sqlite", "nope.csv", "t.db#u", "--format", "summary"], {
    cwd: dir.path,
  });
  assertEquals(missing.code, 2);
  assertEquals(
    [JSON.parse(missing.stdout).status, JSON.parse(missing.stdout).exit_code],
    ["failed", 2],
  );
  // A target that fails while writing (a NOT NULL constraint): failed, exit 4, rolled back.
  sqliteExec(
    `${dir.path}/s.db`,
    `CREATE TABLE u (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT)`,
  );
  await Deno.writeTextFile(`${dir.path}/nulls.csv`, "id,name,note\n1,,x\n");
  const failed = await dsync(["csv:sqlite", "nulls.csv", "s.db#u", "--format", "summary"], {
    cwd: dir.path,
  });
  assertEquals(failed.code, 4, failed.stderr);
  assertEquals([JSON.parse(failed.stdout).status, JSON.parse(failed.stdout).exit_code], [
    "failed",
    4,
  ]);
  // The summary reports the outcome, so it is written after the commit; when it cannot be, the
  // exit code still describes the target (written), and a warning says the line is missing.
  await Deno.writeTextFile(`${dir.path}/fixed.csv`, "id,name,note\n1,a,x\n");
  const full = await dsync(
    ["csv:sqlite", "fixed.csv", "s.db#u", "--format", "summary", "-o", "/dev/full"],
    { cwd: dir.path },
  );
  assertEquals(full.code, 0, full.stderr);
  assertMatch(
    full.stderr,
    /warning: sqlite:s\.db#u was written, but the summary line could not be/,
  );
  assertEquals(sqliteRows(`${dir.path}/s.db`, "u"), [{ id: 1, name: "a", note: "x" }]);
});

Deno.test("progress on a terminal: nothing for a quick run; verb, %, ETA, then cleared", async () => {
  await using dir = await tempDir();
  await usersCsv(`${dir.path}/small.csv`, 50);
  const quick = await onTerminal(
    ["csv:sqlite", "small.csv", "t.db#s", "--format", "summary"],
    dir.path,
  );
  assertEquals(quick.code, 0, quick.screen);
  assertEquals(quick.screen.includes("rec/s"), false, quick.screen);
  await generateCsv(150_000, `${dir.path}/d.csv`);
  // The change set to a file as a table: the creates are held until the plan is complete, then
  // written (as JSON they would be written as they are read).
  const slow = await onTerminal(
    ["csv:sqlite", "d.csv", "t.db#d", "--format", "table", "-o", "d.txt"],
    dir.path,
  );
  assertEquals(slow.code, 0, slow.screen);
  assertMatch(
    slow.screen,
    /writing sqlite:t\.db#d {2}\S+ \d+% {2}\d+\/150000 {2}\d+ rec\/s {2}ETA \d+s/,
  );
  // The finished bar is erased: the last thing drawn before the summary clears the line.
  const last = slow.screen.lastIndexOf("writing sqlite:t.db#d");
  const summaryAt = slow.screen.indexOf("d.csv → sqlite:t.db#d");
  assertEquals(slow.screen.slice(last, summaryAt).includes(`${ESC}2K`), true);
});

Deno.test("the cron recipe: --format summary -q is one JSON line per run on stdout, ok or failed", async () => {
  await using dir = await tempDir();
  await Deno.copyFile(`${ROOT}samples/users.csv`, `${dir.path}/users.csv`);
  const args = ["csv:sqlite", "users.csv", "app.db#users", "--format", "summary", "-q"];
  for (const expected of [{ create: 5 }, { create: 0 }]) {
    const r = await dsync(args, { cwd: dir.path });
    assertEquals([r.code, r.stderr], [0, ""]);
    const lines = r.stdout.trimEnd().split("\n");
    assertEquals(lines.length, 1, r.stdout);
    const line = JSON.parse(lines[0]);
    assertEquals([line.status, line.exit_code, line.create, line.dry_run], [
      "ok",
      0,
      expected.create,
      false,
    ]);
  }
  await Deno.writeTextFile(`${dir.path}/users.csv`, "id,name\n1,a\n1,b\n");
  const failed = await dsync(args, { cwd: dir.path });
  assertEquals(failed.code, 2);
  const line = JSON.parse(failed.stdout);
  assertEquals([line.status, line.exit_code], ["failed", 2]);
  assertMatch(line.error, /duplicate key id=1 at users\.csv:2 and users\.csv:3/);
  // stderr: the error only (its line and hint), no summary line.
  assertEquals(failed.stderr.split("\n").filter((l) => l && !l.startsWith("  ")).length, 1);
  assertEquals(sqliteRows(`${dir.path}/app.db`, "users").length, 5);
});
