/**
 * `--change-store URL` and `--where` of `--strategy changes` on the command line: where the
 * changed keys come from, and which source rows count.
 *
 * @module
 */
import type { OpenOptions } from "../adapter_kit/importer.ts";
import { type ChangesFrom, openChangeStore } from "../app/changes.ts";
import { UsageError } from "../model/errors.ts";

/** The {@linkcode ChangesFrom} of the options of a pair command or `capture follow`. */
export function changesFrom(options: OpenOptions): ChangesFrom {
  const url = options.changeStore;
  if (url !== undefined && (typeof url !== "string" || url === "")) {
    throw new UsageError(
      "--change-store: give a URL: redis://host:port/db#KEY or nats://host:port/SUBJECT",
    );
  }
  return {
    store: url === undefined ? undefined : () => openChangeStore(url, options),
    where: typeof options.where === "string" ? options.where : undefined,
  };
}

/** @throws {UsageError} for `--change-store` on a run that does not read captured changes. */
export function checkChangeStore(options: OpenOptions, changes: boolean | undefined): void {
  if (options.changeStore !== undefined && !changes) {
    throw new UsageError(
      "--change-store is where --strategy changes takes the changed keys from",
      "add --strategy changes, or drop --change-store",
    );
  }
}
