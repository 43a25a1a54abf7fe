/**
 * JSON files holding one array of objects.
 *
 * @example
 * ```sh
 * dsync json:csv movies.json movies.csv --key title,year
 * ```
 * @module
 */
import { JsonRecordsFile } from "../src/json_records.ts";
import { registerImporter } from "../src/registry.ts";

registerImporter({
  name: "json",
  description: "JSON file holding an array of objects",
  locator: "FILE.json, or - for stdin (source) / stdout (target)",
  transactional: true,
  options: [],
  openSource: (locator) => Promise.resolve(new JsonRecordsFile(locator, "json", "source")),
  openTarget: (locator, ctx) =>
    Promise.resolve(
      new JsonRecordsFile(locator ?? `${ctx.sourceName ?? "out"}.json`, "json", "target"),
    ),
});
