/**
 * The adapter registry. Adapters register themselves when their module is imported (see
 * importers/mod.ts); the CLI builds every `<src>:<tgt>` pair, its help and completions from here.
 *
 * @example
 * ```ts
 * import "../importers/mod.ts";
 * findImporter("pg")?.name; // "postgres"
 * ```
 * @module
 */
import type { Importer } from "./importer.ts";

const importers: Importer[] = [];

/** Adds an adapter. Its name and aliases must not clash with one already registered. */
export function registerImporter(importer: Importer): void {
  for (const name of [importer.name, ...(importer.aliases ?? [])]) {
    if (findImporter(name)) throw new Error(`adapter name '${name}' registered twice`);
  }
  importers.push(importer);
}

/** The adapter with this name or alias, if any. */
export function findImporter(name: string): Importer | undefined {
  return importers.find((i) => i.name === name || i.aliases?.includes(name));
}

/** Every registered adapter, in registration order. */
export function listImporters(): readonly Importer[] {
  return importers;
}

/** Every `<src>:<tgt>` pair of adapter names (not aliases) that can run. */
export function listPairs(): string[] {
  const pairs: string[] = [];
  for (const source of importers) {
    if (!source.openSource) continue;
    for (const target of importers) {
      if (target.openTarget) pairs.push(`${source.name}:${target.name}`);
    }
  }
  return pairs;
}
