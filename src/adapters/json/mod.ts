/**
 * JSON record files: `json` (one array of objects) and `ndjson` (one object per line), both
 * read and written by {@linkcode JsonRecordsFile}.
 *
 * @example
 * ```sh
 * dsync json:csv movies.json movies.csv --key title,year
 * dsync csv:ndjson users.csv - | jq .
 * ```
 * @module
 */
import { defaultTargetPath } from "../../adapter_kit/files.ts";
import type { Importer } from "../../adapter_kit/importer.ts";
import { JsonRecordsFile } from "./records.ts";

/** The `json` adapter. */
export const jsonImporter: Importer = {
  name: "json",
  description: "JSON file holding an array of objects",
  locator: "FILE.json, or - for stdin (source) / stdout (target)",
  transactional: true,
  options: [],
  openSource: (locator) => Promise.resolve(new JsonRecordsFile(locator, "json", "source")),
  openTarget: (locator, ctx) =>
    Promise.resolve(
      new JsonRecordsFile(locator ?? defaultTargetPath(ctx.sourceName, "json"), "json", "target"),
    ),
};

/** The `ndjson` adapter. */
export const ndjsonImporter: Importer = {
  name: "ndjson",
  description: "newline-delimited JSON, one object per line",
  locator: "FILE.ndjson, or - for stdin (source) / stdout (target)",
  transactional: true,
  options: [],
  openSource: (locator) => Promise.resolve(new JsonRecordsFile(locator, "ndjson", "source")),
  openTarget: (locator, ctx) =>
    Promise.resolve(
      new JsonRecordsFile(
        locator ?? defaultTargetPath(ctx.sourceName, "ndjson"),
        "ndjson",
        "target",
      ),
    ),
};
