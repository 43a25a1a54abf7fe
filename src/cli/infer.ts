/**
 * Which adapter a bare locator names, for commands that take locators without a `src:tgt` pair
 * (`dsync diff A B`): an explicit `ADAPTER:LOCATOR`, a URL scheme that is an adapter's name or
 * alias (`postgres://`, `https://`), or a file extension.
 *
 * @example
 * ```ts
 * adapterOf("old.csv").importer.name;          // "csv"
 * adapterOf("pg:public.users").locator;       // "public.users"
 * ```
 * @module
 */
import { UsageError } from "../model/errors.ts";
import type { Importer } from "../adapter_kit/importer.ts";
import { findImporter } from "../app/registry.ts";

/** File extensions and the adapter that reads them. */
const EXTENSIONS: Record<string, string> = {
  csv: "csv",
  ndjson: "ndjson",
  jsonl: "ndjson",
  json: "json",
  xlsx: "xlsx",
  db: "sqlite",
  sqlite: "sqlite",
  sqlite3: "sqlite",
};

/** URL schemes that are not an adapter's own name. */
const SCHEMES: Record<string, string> = { postgresql: "postgres", https: "http" };

/** An adapter with the locator it gets. */
export interface InferredLocator {
  importer: Importer;
  locator: string;
}

/** The adapter of `text`; a usage error naming the `ADAPTER:LOCATOR` form when there is none. */
export function adapterOf(text: string): InferredLocator {
  const prefixed = /^([a-z][a-z0-9]*):(?!\/\/)(.+)$/i.exec(text);
  if (prefixed && findImporter(prefixed[1])) {
    return { importer: findImporter(prefixed[1])!, locator: prefixed[2] };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1].toLowerCase();
  const byScheme = scheme && findImporter(SCHEMES[scheme] ?? scheme);
  if (byScheme) return { importer: byScheme, locator: text };
  const path = text.includes("#") ? text.slice(0, text.lastIndexOf("#")) : text;
  const extension = /\.([a-z0-9]+)$/i.exec(path)?.[1].toLowerCase();
  const byExtension = extension && findImporter(EXTENSIONS[extension] ?? "");
  if (byExtension) return { importer: byExtension, locator: text };
  throw new UsageError(
    `cannot tell which adapter reads '${text}'`,
    "write it as ADAPTER:LOCATOR, e.g. csv:data.txt or pg:public.users",
  );
}
