/**
 * Adapter libraries (npm packages) loaded on first use, by a specifier Deno cannot see ahead of
 * time. Deno fetches every package a module names in a string-literal `import()` before it runs
 * anything, so literal lazy imports still download exceljs's, postgres.js's, mysql2's, ioredis's,
 * the ClickHouse and NATS clients' trees for a CSV → SQLite run (with `--no-lock`: 8 packages,
 * 2 MB instead of 202, 67 MB). Through {@linkcode importPackage} the package is fetched when an
 * adapter first needs it.
 *
 * A bundle or a compiled binary must carry the packages: its entry (`bundle.ts`) registers a
 * loader with a literal `import()` per package ({@linkcode registerPackageLoaders}), which the
 * bundler follows; {@linkcode importPackage} then uses those.
 *
 * @example
 * ```ts ignore
 * const { default: postgres } = await importPackage<typeof import("postgres")>("postgres");
 * ```
 * @module
 */

/** The packages adapters load lazily: their bare specifiers (deno.json `imports`). */
export const LAZY_PACKAGES = [
  "exceljs",
  "exceljs/lib/utils/parse-sax.js",
  "exceljs/lib/xlsx/xform/style/styles-xform.js",
  "postgres",
  "mysql2/promise",
  "ioredis",
  "@clickhouse/client",
  "@nats-io/transport-node",
  "@nats-io/jetstream",
  "@nats-io/kv",
] as const;

/** A package's bare specifier. */
export type LazyPackage = typeof LAZY_PACKAGES[number];

const loaders = new Map<string, () => Promise<unknown>>();

/** Loaders with literal imports, for a bundle's entry (see the module). */
export function registerPackageLoaders(given: Record<LazyPackage, () => Promise<unknown>>): void {
  for (const [specifier, load] of Object.entries(given)) loaders.set(specifier, load);
}

/** Loads `specifier` (one of {@linkcode LAZY_PACKAGES}) on first use. */
export function importPackage<T>(specifier: LazyPackage): Promise<T> {
  const load = loaders.get(specifier);
  if (load) return load() as Promise<T>;
  // A specifier held in a variable: the module graph does not name it, so it is fetched now.
  const name: string = specifier;
  return import(name) as Promise<T>;
}
