/**
 * `dsync capture install|remove|follow SOURCE`: change capture on a SQL table (adapter_kit/capture.ts),
 * for `--strategy changes`.
 *
 * @example
 * ```sh
 * dsync capture install app.db#users          # triggers fill dsync_changes
 * dsync sqlite:pg app.db#users public.users --strategy changes --delete
 * dsync capture remove app.db#users
 * ```
 * @module
 */
import type { Command } from "commander";
import {
  CHANGE_TABLE,
  followCapture,
  installCapture,
  isCaptureImporter,
  removeCapture,
} from "../adapter_kit/capture.ts";
import type { OpenOptions } from "../adapter_kit/importer.ts";
import { nameList } from "../adapter_kit/option_values.ts";
import { captureAdapters, openChangeStore } from "../app/changes.ts";
import { forwardChanges } from "../adapter_kit/capture_store.ts";
import { UsageError } from "../model/errors.ts";
import { adapterOf } from "./infer.ts";
import { untilStopped } from "../app/watch.ts";

/** Opens the capture side of `locator` (`app.db#t`, `pg:public.t`, `mysql://…#t`). */
export function openCaptureOf(locator: string, options: OpenOptions) {
  const { importer, locator: inner } = adapterOf(locator);
  if (!isCaptureImporter(importer)) {
    throw new UsageError(
      `${importer.name} cannot capture changes`,
      `change capture works on tables of: ${captureAdapters()}`,
    );
  }
  return importer.openCapture(inner, { options });
}

/** Adds `dsync capture` and its two subcommands to `program`. */
export function addCaptureCommand(
  program: Command,
  addOptions: (command: Command) => void,
): void {
  const capture = program.command("capture")
    .description(
      "change capture on a SQL table, for --strategy changes: install | remove | follow",
    )
    .exitOverride();
  const sub = (name: string, description: string) => {
    const command = capture.command(name)
      .description(description)
      .argument("SOURCE", "a table: app.db#t, pg:schema.t, postgres://…#t, mysql://…#t")
      .option("-q, --quiet", "stderr: errors only")
      .option("-v, --verbose", "stderr: more detail")
      .exitOverride();
    addOptions(command);
    return command;
  };
  sub("install", `record the keys of changed rows in ${CHANGE_TABLE} (triggers)`)
    .option("-k, --key <cols>", "the fields to record (default: the table's primary key)")
    .option(
      "--logical",
      "PostgreSQL with wal_level=logical: a publication and a replication slot instead of triggers",
    )
    .action(async (locator: string, options: OpenOptions) => {
      const driver = await openCaptureOf(locator, options);
      try {
        const logical = options.logical === true;
        const done = await installCapture(driver, nameList(options.key), logical);
        if (!options.quiet) {
          console.error(
            `dsync: ${driver.label}: capture ${done.replaced ? "reinstalled" : "installed"}: ${
              logical
                ? "a logical replication slot keeps, and dsync capture follow (or --strategy changes) records,"
                : "triggers record"
            } the key (${
              done.keyFields.join(", ")
            }) of every inserted, updated and deleted row in ${CHANGE_TABLE}`,
          );
        }
      } finally {
        await driver.close();
      }
    });
  sub(
    "follow",
    `move the table's changes (from its slot into ${CHANGE_TABLE}; or into --change-store) until stopped`,
  )
    .option(
      "--change-store <url>",
      `move the recorded changes out of ${CHANGE_TABLE} into this Redis stream or NATS subject (redis://host:port/db#KEY, nats://host:port/SUBJECT)`,
    )
    .option("--once", "move what is recorded now, then exit (no following)")
    .action(async (locator: string, options: OpenOptions) => {
      const driver = await openCaptureOf(locator, options);
      const store = typeof options.changeStore === "string"
        ? await openChangeStore(options.changeStore, options).catch(async (error) => {
          await driver.close();
          throw error;
        })
        : undefined;
      const into = store?.label ?? CHANGE_TABLE;
      try {
        const round = store && (() => forwardChanges(driver, store));
        const once = options.once === true;
        // The first SIGINT/SIGTERM: the batch being moved is finished, then exit 0.
        const recorded = await untilStopped((stop) =>
          followCapture(driver, stop, {
            round,
            once,
            ready: () => {
              if (!options.quiet && !once) {
                console.error(
                  `dsync: ${driver.label}: following into ${into}; SIGINT or SIGTERM stops`,
                );
              }
            },
          })
        );
        if (!options.quiet) {
          console.error(
            `dsync: ${driver.label}: ${options.once ? "done" : "stopped"}; ${recorded} changes ${
              store ? `moved into ${into}` : "recorded"
            }`,
          );
        }
      } finally {
        await store?.close();
        await driver.close();
      }
    });
  sub(
    "remove",
    `drop the triggers (or publication and slot), and ${CHANGE_TABLE} when no other table uses it`,
  )
    .action(async (locator: string, options: OpenOptions) => {
      const driver = await openCaptureOf(locator, options);
      try {
        const done = await removeCapture(driver);
        if (!options.quiet) {
          console.error(
            `dsync: ${driver.label}: ${
              done.installed ? "capture removed" : "no capture was installed"
            }${done.dropped ? `; ${done.dropped} pending changes dropped` : ""}${
              done.changeTableDropped ? `; ${CHANGE_TABLE} dropped` : ""
            }`,
          );
        }
      } finally {
        await driver.close();
      }
    });
}
