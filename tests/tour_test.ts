/**
 * The README's tour runs as written, from a copy of the repository root: every line of its
 * command block, in order, through a shell with `dsync` as the README's alias.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { parseNdjson, ROOT, sqliteRows, tempDir } from "./helpers.ts";

/** The command lines of the README's sh block after `marker` (`<!-- tour`, `<!-- plan`). */
async function tourCommands(marker = "<!-- tour"): Promise<string[]> {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const block = readme.slice(readme.indexOf(marker));
  const start = block.indexOf("```sh\n") + 6;
  const code = block.slice(start, block.indexOf("\n```", start));
  return code.split("\n").filter((line) => line.trim() !== "");
}

Deno.test("every README tour command runs from the repository root with the shipped samples", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(`${dir.path}/samples`);
  for await (const entry of Deno.readDir(`${ROOT}samples`)) {
    await Deno.copyFile(`${ROOT}samples/${entry.name}`, `${dir.path}/samples/${entry.name}`);
  }
  const commands = await tourCommands();
  assertEquals(commands.length >= 9, true, commands.join("\n"));
  const plan = await tourCommands("<!-- plan");
  assertEquals(plan.length, 3, plan.join("\n"));
  const results: { code: number; stdout: string; stderr: string }[] = [];
  for (const line of [...commands, ...plan]) {
    const script =
      `dsync() { "${Deno.execPath()}" run -A --no-lock "${ROOT}main.ts" "$@"; }\n${line}`;
    const out = await new Deno.Command("bash", {
      args: ["-c", script],
      cwd: dir.path,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    results.push({ code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) });
  }
  const codes = results.map((r) => r.code);
  // The refused delete exits 3 and the keyed diff 1 (they differ); everything else succeeds.
  const expected: number[] = commands.map((line) =>
    line.includes("--max-delete 5%") ? 3 : line.startsWith("dsync diff") ? 1 : 0
  );
  // Plan now, apply later: save, apply all but the delete, then the whole plan conflicts.
  expected.push(0, 0, 5);
  assertEquals(codes, expected, results.map((r) => r.stderr).join("\n"));
  assertEquals(
    results.at(-1)!.stderr,
    `dsync: 3 conflicts: the target moved on since the plan was made; nothing applied
  plan.ndjson:1: create {"id":6}: the record exists already
  plan.ndjson:2: update {"id":2}: 'email' is now "bob@example.com"
  plan.ndjson:3: update {"id":5}: 'active' is now true
  make a new plan, or apply this one anyway with --force
`,
  );
  assertEquals(sqliteRows(`${dir.path}/dsync.db`, "users").length, 5);
  // app.db#users: the 5 loaded, then the plan's create applied (its delete left out).
  assertEquals(sqliteRows(`${dir.path}/app.db`, "users").length, 6);
  const updates = parseNdjson(results[3].stdout);
  assertEquals(updates.map((u) => u.key), [{ id: 2 }, { id: 5 }]);
  assertMatch(results[4].stderr, /refused: 1 deletes? exceed --max-delete 5%/);
  assertEquals(sqliteRows(`${dir.path}/app.db`, "events").length, 3);
  const movies = await Deno.readTextFile(`${dir.path}/movies.csv`);
  assertEquals(movies.trim().split("\n").length, 4, movies);
});
