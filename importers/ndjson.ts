/**
 * NDJSON files: one JSON object per line.
 *
 * @example
 * ```sh
 * cat events.ndjson | dsync ndjson:sqlite - app.db#events --key id,ts
 * ```
 * @module
 */
import { JsonRecordsFile } from "../src/json_records.ts";
import { registerImporter } from "../src/registry.ts";

registerImporter({
  name: "ndjson",
  description: "newline-delimited JSON, one object per line",
  locator: "FILE.ndjson, or - for stdin (source) / stdout (target)",
  transactional: true,
  options: [],
  openSource: (locator) => Promise.resolve(new JsonRecordsFile(locator, "ndjson", "source")),
  openTarget: (locator, ctx) =>
    Promise.resolve(
      new JsonRecordsFile(locator ?? `${ctx.sourceName ?? "out"}.ndjson`, "ndjson", "target"),
    ),
});
