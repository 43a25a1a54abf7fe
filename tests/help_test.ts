/**
 * Help that teaches: `--help` grouped like git, a pair's help with only its options and its own
 * examples, "did you mean" for adapters and pairs, the man page, and CSV input hints.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, tempDir } from "./helpers.ts";
import { MAN_PATH } from "../scripts/gen_man.ts";

Deno.test("--help lists commands, one pairs line, examples, environment and exit codes", async () => {
  const r = await dsync(["--help"]);
  assertEquals(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  assertEquals(lines.length < 60, true, `${lines.length} lines`);
  // No line per pair any more: the 64 `src:tgt  sync a → b` lines are one "pairs:" line.
  assertEquals(lines.filter((l) => /^\s+\w+:\w+\s/.test(l)).length, 0, r.stdout);
  const at = (heading: string) => lines.findIndex((l) => l.startsWith(heading));
  const order = ["commands:", "pairs:", "examples:", "environment:", "exit codes:"].map(at);
  assertEquals(order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1])), true, r.stdout);
  for (const command of ["diff A B", "apply <tgt>", "run CONFIG", "adapters", "completions"]) {
    assertMatch(r.stdout, new RegExp(`\\n  ${command.replace(/[<>]/g, ".")}`));
  }
  for (const name of ["DATABASE_URL", "PG\\*", "NO_COLOR", "FORCE_COLOR", "TMPDIR"]) {
    assertMatch(r.stdout, new RegExp(`\\n  ${name}\\s`));
  }
  assertMatch(r.stdout, /\n {2}3 +a safety limit refused/);
  assertMatch(r.stdout, /pairs: any of csv, ndjson, json, sqlite, .*postgres.* as SRC:TGT/);
  const help = await dsync(["help"]);
  assertEquals(help.stdout.trimEnd(), r.stdout.trimEnd());
});

Deno.test("a pair's help shows only the options of its roles, with examples for that pair", async () => {
  const toPg = await dsync(["sqlite:pg", "--help"]);
  assertEquals(toPg.code, 0, toPg.stderr);
  assertEquals(toPg.stdout.includes("--where"), false, "--where is for PostgreSQL sources");
  assertMatch(toPg.stdout, /--table <name>/);
  assertMatch(
    toPg.stdout,
    /examples:\n {2}# .*\n {2}dsync sqlite:postgres app\.db#users public\.users -n\n/,
  );
  const fromPg = await dsync(["pg:sqlite", "--help"]);
  assertMatch(fromPg.stdout, /--where <sql>/);
  assertMatch(fromPg.stdout, /dsync postgres:sqlite public\.users app\.db#users --where "active"/);
  const http = await dsync(["csv:http", "--help"]);
  assertMatch(http.stdout, /--concurrency <n>/);
  assertEquals((await dsync(["http:csv", "--help"])).stdout.includes("--concurrency"), false);
  // Not shown means not taken: the option is refused like any unknown one.
  const refused = await dsync(["sqlite:pg", "a.db#t", "t", "--where", "x"]);
  assertEquals(refused.code, 2);
  assertMatch(refused.stderr, /unknown option '--where'/);
});

Deno.test("did you mean: mistyped adapters in a pair, and mistyped commands", async () => {
  const pair = await dsync(["cvs:sqlite", "a.csv"]);
  assertEquals(pair.code, 2);
  assertEquals(
    pair.stderr,
    "dsync: unknown adapter 'cvs' in 'cvs:sqlite'\n  did you mean csv:sqlite? (adapters: dsync adapters)\n",
  );
  const both = await dsync(["jsn:postgers", "a.json"]);
  assertMatch(both.stderr, /did you mean json:postgres\?/);
  const far = await dsync(["foo:sqlite", "a"]);
  assertMatch(far.stderr, /unknown adapter 'foo'.*\n {2}adapters: csv, /);
  const command = await dsync(["help", "aply"]);
  assertEquals(command.code, 2);
  assertMatch(command.stderr, /unknown command 'aply'\n {2}did you mean apply\?/);
  const half = await dsync(["csv", "a.csv"]);
  assertEquals(half.code, 2);
  assertEquals(
    half.stderr,
    "dsync: 'csv' is an adapter; a sync names two, SRC:TGT\n" +
      "  e.g. dsync csv:sqlite or dsync sqlite:csv (see: dsync adapters)\n",
  );
  const typo = await dsync(["aply"]);
  assertEquals(typo.code, 2);
  assertMatch(typo.stderr, /Did you mean apply\?/);
});

Deno.test("dsync help --man is a roff page built from the same definitions", async () => {
  const r = await dsync(["help", "--man"]);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /^\.TH DSYNC 1 /);
  for (const section of ["NAME", "SYNOPSIS", "COMMANDS", "OPTIONS", "ADAPTERS", "ENVIRONMENT"]) {
    assertMatch(r.stdout, new RegExp(`\\n\\.SH ${section}\\n`));
  }
  assertMatch(r.stdout, /\n\.B \\-\\-max\\-delete <n>\n/);
  assertMatch(r.stdout, /\n\.B \\-\\-where <sql>\n/);
  // The page renders: man(1) formats it without a warning (a roff mistake would show one).
  const shown = await new Deno.Command("man", {
    args: ["--warnings", "-l", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { MANWIDTH: "100" },
  }).spawn();
  const writer = shown.stdin.getWriter();
  await writer.write(new TextEncoder().encode(r.stdout));
  await writer.close();
  const out = await shown.output();
  assertEquals(out.success, true);
  assertEquals(new TextDecoder().decode(out.stderr), "");
  assertMatch(new TextDecoder().decode(out.stdout), /EXIT STATUS\n\s+0\s+success/);
  // The committed page is this one (deno task man rewrites it).
  assertEquals(
    await Deno.readTextFile(MAN_PATH),
    r.stdout,
    "docs/dsync.1 is out of date: run deno task man",
  );
});

Deno.test("CSV hints: an empty file has no header; a one-field header names another delimiter", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/empty.csv`, "");
  const empty = await dsync(["csv:sqlite", "empty.csv", "t.db#t", "-n"], { cwd: dir.path });
  assertEquals(empty.code, 2);
  assertMatch(empty.stderr, /^dsync: empty\.csv: empty file: no header\n/);
  await Deno.writeTextFile(`${dir.path}/semi.csv`, "id;name\n1;Ann\n");
  const semi = await dsync(["csv:sqlite", "semi.csv", "t.db#t", "-n"], { cwd: dir.path });
  // One error line, the delimiter as its hint (it was a second line before the error).
  assertEquals(semi.code, 2);
  assertEquals(
    semi.stderr,
    "dsync: no key: sqlite:t.db#t has no primary key and the source has no 'id' field\n" +
      `  semi.csv:1: the header is one field, "id;name"; if the file is semicolon-delimited, use --delimiter ';'\n`,
  );
  await Deno.writeTextFile(`${dir.path}/tab.csv`, "id\tname\n1\tAnn\n");
  const tab = await dsync(["csv:sqlite", "tab.csv", "t.db#t", "-n"], { cwd: dir.path });
  assertMatch(tab.stderr, /tab-delimited, use --delimiter \$'\\t'/);
  const fixed = await dsync(["csv:sqlite", "tab.csv", "t.db#t", "-n", "--delimiter", "\t"], {
    cwd: dir.path,
  });
  assertEquals(fixed.code, 0, fixed.stderr);
  assertEquals(fixed.stderr.includes("delimited"), false);
  const quiet = await dsync(["csv:sqlite", "semi.csv", "t.db#t", "-n", "-q", "--key", "id;name"], {
    cwd: dir.path,
  });
  assertEquals(quiet.stderr, "");
});
