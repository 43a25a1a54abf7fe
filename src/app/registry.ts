/**
 * The adapter registry: looks adapters up by name or alias in the list of src/adapters/mod.ts;
 * the CLI builds every `<src>:<tgt>` pair, its help and completions from here.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { findImporter } from "./registry.ts";
 * deepStrictEqual(findImporter("pg")?.name, "postgres");
 * ```
 * @module
 */
import { ADAPTERS } from "../adapters/mod.ts";
import type { Dataset, Importer, OpenContext, Target } from "../adapter_kit/importer.ts";
import { parseAdapterOptions } from "../adapter_kit/option_values.ts";
import { UsageError } from "../model/errors.ts";

const names = new Set<string>();
for (const importer of ADAPTERS) {
  for (const name of [importer.name, ...(importer.aliases ?? [])]) {
    if (names.has(name)) throw new Error(`adapter name '${name}' registered twice`);
    names.add(name);
  }
}

/** The adapter with this name or alias, if any. */
export function findImporter(name: string): Importer | undefined {
  return ADAPTERS.find((i) => i.name === name || i.aliases?.includes(name));
}

/** Every registered adapter, in registration order. */
export function listImporters(): readonly Importer[] {
  return ADAPTERS;
}

/**
 * Opens `locator` as a source of `importer`, with the adapter's options parsed by their
 * declared parsers first (a bad value fails before anything is opened).
 */
export function openAsSource(
  importer: Importer,
  locator: string,
  ctx: OpenContext,
): Promise<Dataset> {
  if (!importer.openSource) throw new UsageError(`${importer.name} cannot be a source`);
  return importer.openSource(locator, withParsedOptions(importer, ctx));
}

/** Opens `locator` (or the adapter's default) as a target of `importer`; see {@linkcode openAsSource}. */
export async function openAsTarget(
  importer: Importer,
  locator: string | undefined,
  ctx: OpenContext,
): Promise<Target> {
  if (!importer.openTarget) throw new UsageError(`${importer.name} cannot be a target`);
  const target = await importer.openTarget(locator, withParsedOptions(importer, ctx));
  // The summary says when writes are not all or nothing; a target may know better (MyISAM).
  if (!importer.transactional && !("transactional" in target)) {
    Object.defineProperty(target, "transactional", { value: false });
  }
  return target;
}

function withParsedOptions<C extends OpenContext>(importer: Importer, ctx: C): C {
  return { ...ctx, options: parseAdapterOptions(importer.options, ctx.options) };
}

/** Every `<src>:<tgt>` pair of adapter names (not aliases) that can run. */
export function listPairs(): string[] {
  const pairs: string[] = [];
  for (const source of ADAPTERS) {
    if (!source.openSource) continue;
    for (const target of ADAPTERS) {
      if (target.openTarget) pairs.push(`${source.name}:${target.name}`);
    }
  }
  return pairs;
}
