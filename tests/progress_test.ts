/** Progress goes to stderr only when asked for (or on a terminal), never with --quiet. */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, tempDir } from "./helpers.ts";
import { generateCsv } from "../scripts/gen_data.ts";

Deno.test("--progress draws reading and writing phases; pipes and -q get none", async () => {
  await using dir = await tempDir();
  await generateCsv(20_000, `${dir.path}/d.csv`);
  const shown = await dsync(
    ["csv:sqlite", "d.csv", "a.db#d", "--progress", "--format", "summary"],
    { cwd: dir.path },
  );
  assertEquals(shown.code, 0, shown.stderr);
  assertMatch(shown.stderr, /reading d\.csv\s+20000 records\s+\d+ rec\/s/);
  assertMatch(shown.stderr, /writing sqlite:a\.db#d\s+\S+ 100%\s+20000\/20000/);
  const piped = await dsync(["csv:sqlite", "d.csv", "b.db#d", "--format", "summary"], {
    cwd: dir.path,
  });
  assertEquals(piped.stderr.includes("rec/s"), false, piped.stderr);
  const quiet = await dsync([
    "csv:sqlite",
    "d.csv",
    "c.db#d",
    "--progress",
    "-q",
    "--format",
    "summary",
  ], {
    cwd: dir.path,
  });
  assertEquals(quiet.stderr, "");
});
