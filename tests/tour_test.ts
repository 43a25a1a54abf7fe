/**
 * The README's tour runs as written, from a copy of the repository root: every line of its
 * command block, in order, through a shell with `dsync` as the README's alias.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { parseNdjson, ROOT, sqliteRows, tempDir } from "./helpers.ts";

/** The tour's command lines, taken from the block after the `<!-- tour` marker. */
async function tourCommands(): Promise<string[]> {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const block = readme.slice(readme.indexOf("<!-- tour"));
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
  const results: { code: number; stdout: string; stderr: string }[] = [];
  for (const line of commands) {
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
  const expected = commands.map((line) =>
    line.includes("--max-delete 5%") ? 3 : line.startsWith("dsync diff") ? 1 : 0
  );
  assertEquals(codes, expected, results.map((r) => r.stderr).join("\n"));
  assertEquals(sqliteRows(`${dir.path}/dsync.db`, "users").length, 5);
  assertEquals(sqliteRows(`${dir.path}/app.db`, "users").length, 5);
  const updates = parseNdjson(results[3].stdout);
  assertEquals(updates.map((u) => u.key), [{ id: 2 }, { id: 5 }]);
  assertMatch(results[4].stderr, /refused: 1 deletes? exceed --max-delete 5%/);
  assertEquals(sqliteRows(`${dir.path}/app.db`, "events").length, 3);
  const movies = await Deno.readTextFile(`${dir.path}/movies.csv`);
  assertEquals(movies.trim().split("\n").length, 4, movies);
});
