/**
 * The short version of the fault suite (scripts/faults.ts): one or two trials of every
 * experiment, small applies. `deno task faults` runs the long one (figures in
 * docs/reliability.md).
 */
import { assertEquals } from "./assert.ts";
import { faultTable, runFaults } from "../scripts/faults.ts";

Deno.test("fault suite, short: every trial all-before or all-after, one line, no secret", async () => {
  const rows = await runFaults({ trials: 2, rows: 4000 });
  assertEquals(rows.filter((r) => r.failed > 0), [], faultTable(rows));
  assertEquals(rows.length, 8);
});
