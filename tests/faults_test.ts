/**
 * The short version of the fault suite (scripts/faults.ts): one or two trials of every
 * experiment, small applies; and the bad-input corpus into file and SQLite targets. `deno task faults` runs the long one (figures in
 * docs/reliability.md).
 */
import { assertEquals } from "./assert.ts";
import { faultTable, runFaults } from "../scripts/faults.ts";
import { runCorpus } from "../scripts/faults_corpus.ts";
import { dsync, tempDir } from "./helpers.ts";

Deno.test("fault suite, short: every trial all-before or all-after, one line, no secret", async () => {
  // The bad-input corpus has a test of its own (below).
  const rows = await runFaults({ trials: 2, rows: 4000, skip: ["corpus"] });
  assertEquals(rows.filter((r) => r.failed > 0), [], faultTable(rows));
  assertEquals(rows.length, 8);
});

Deno.test("bad-input corpus (files, SQLite): exit 2, one line naming file, line, field, value; target unchanged", async () => {
  await using dir = await tempDir();
  const row = await runCorpus(dir.path, { run: (args, cwd) => dsync(args, { cwd }) });
  assertEquals(row.notes, [], faultTable([row]));
  assertEquals(row.failed, 0);
  assertEquals(row.trials > 50, true, `${row.trials} inputs`);
});
