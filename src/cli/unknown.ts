/**
 * Errors for names dsync does not know — an adapter in a pair, a command — each with the
 * nearest known name.
 *
 * @module
 */
import type { Command } from "commander";
import { UsageError } from "../model/errors.ts";
import { findImporter, listImporters } from "../app/registry.ts";
import { closest } from "./suggest.ts";

/** Every name an adapter answers to: names and aliases. */
function adapterNames(): string[] {
  return listImporters().flatMap((i) => [i.name, ...(i.aliases ?? [])]);
}

/** `cvs:sqlite`: which side is unknown, and the pair it probably meant. */
export function unknownAdapterIn(pair: string): UsageError {
  const [sourceName, targetName] = pair.split(":");
  const names = adapterNames();
  const unknown = findImporter(sourceName) ? targetName : sourceName;
  const fix = (name: string) => findImporter(name) ? name : closest(name, names);
  const [s, t] = [fix(sourceName), fix(targetName)];
  return new UsageError(
    `unknown adapter '${unknown}' in '${pair}'`,
    s && t
      ? `did you mean ${s}:${t}? (adapters: dsync adapters)`
      : `adapters: ${listImporters().map((i) => i.name).join(", ")} (see: dsync adapters)`,
  );
}

/** A command name that is neither a command nor a pair, with the nearest of either. */
export function unknownCommand(name: string, program: Command): UsageError {
  const known = [...program.commands.map((c) => c.name()), ...adapterNames()];
  const near = name.includes(":") ? undefined : closest(name, known);
  return new UsageError(
    `unknown command '${name}'`,
    near ? `did you mean ${near}?` : "see: dsync --help",
  );
}
