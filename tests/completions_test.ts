/** Completion scripts come from the registry: load the bash one and call its function. */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, tempDir } from "./helpers.ts";

async function complete(script: string, lines: string[]): Promise<string[]> {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/c.bash`, script);
  const body = lines.map((line) =>
    `COMP_LINE=${JSON.stringify(line)}; COMP_POINT=\${#COMP_LINE}; _dsync; echo "\${COMPREPLY[*]}"`
  ).join("\n");
  const out = await new Deno.Command("bash", {
    args: ["-c", `source c.bash\n${body}`],
    cwd: dir.path,
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).split("\n").slice(0, lines.length);
}

Deno.test("bash completion: pairs, options of the pair's adapters, formats", async () => {
  const r = await dsync(["completions", "bash"]);
  assertEquals(r.code, 0, r.stderr);
  const [pairs, sqliteTarget, opts, formats, csvOpts, shells, toPg, fromPg] = await complete(
    r.stdout,
    [
      "dsync ",
      "dsync csv:s",
      "dsync csv:sqlite a.csv --max-d",
      "dsync csv:sqlite a.csv --format ",
      "dsync csv:csv a.csv --del",
      "dsync completions ",
      "dsync sqlite:postgres a.db#t t --wh",
      "dsync postgres:sqlite t a.db#t --wh",
    ],
  );
  assertMatch(pairs, /(^| )csv:sqlite( |$)/);
  assertMatch(pairs, /(^| )ndjson:json( |$)/);
  assertMatch(pairs, /(^| )apply( |$)/);
  assertEquals(sqliteTarget, "sqlite");
  assertEquals(opts, "--max-delete");
  assertEquals(formats.split(" ").sort(), ["html", "json", "ndjson", "sql", "summary", "table"]);
  assertEquals(csvOpts.split(" ").sort(), ["--delete", "--delimiter"]);
  assertEquals(shells, "bash zsh fish");
  // --where reads a PostgreSQL source: completed there, not for a PostgreSQL target.
  assertEquals([toPg, fromPg], ["", "--where"]);
});

Deno.test("zsh and fish scripts are generated; an unknown shell is a usage error", async () => {
  const zsh = await dsync(["completions", "zsh"]);
  assertMatch(zsh.stdout, /bashcompinit/);
  const fish = await dsync(["completions", "fish"]);
  assertMatch(
    fish.stdout,
    /complete -c dsync -n "__fish_seen_subcommand_from [^"]*csv:sqlite[^"]*" -l delimiter/,
  );
  const bad = await dsync(["completions", "tcsh"]);
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr, /unknown shell 'tcsh'/);
});
