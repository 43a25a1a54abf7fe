/**
 * `dsync apply`: a saved change set (NDJSON from `--dry-run`) checked against the target and
 * applied, or a change feed (`nats://…`) applied batch by batch.
 *
 * @module
 */
import { UsageError } from "../model/errors.ts";
import { openText, readLines } from "../adapter_kit/files.ts";
import { applyPlan, readPlan } from "../app/apply.ts";
import { applyFeed } from "../app/apply_feed.ts";
import type { Importer, OpenOptions } from "../adapter_kit/importer.ts";
import { findImporter, listImporters, openAsTarget } from "../app/registry.ts";
import { summaryLine } from "../app/output.ts";
import { limitOptions } from "../app/sync.ts";

/** `dsync apply TGT TARGET [PLAN]`: a saved change set, or a change feed, applied to TARGET. */
export async function runApply(
  adapter: string,
  locator: string,
  planPath: string,
  options: OpenOptions,
) {
  const started = performance.now();
  const importer = findImporter(adapter);
  if (!importer?.openTarget) {
    throw new UsageError(
      `apply: '${adapter}' is not a target adapter`,
      `targets: ${listImporters().filter((i) => i.openTarget).map((i) => i.name).join(", ")}`,
    );
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(planPath)?.[1];
  const feedImporter = scheme ? findImporter(scheme) : undefined;
  if (feedImporter?.openChangeFeed) {
    await runApplyFeed(
      feedImporter.openChangeFeed,
      importer.openTarget,
      locator,
      planPath,
      options,
    );
    return;
  }
  const label = planPath === "-" ? "stdin" : planPath;
  const lines = await readPlan(readLines(await openText(planPath), label), label);
  const target = await openAsTarget(importer, locator, { options });
  try {
    const result = await applyPlan(target, lines, label, {
      force: options.force === true,
      limits: limitOptions(options),
    });
    if (!options.quiet) {
      for (const conflict of result.conflicts) {
        console.error(`dsync: forced past conflict: ${conflict}`);
      }
      console.error(summaryLine({
        source: label,
        target: target.label,
        create: result.plan.creates.length,
        update: result.plan.updates.length,
        delete: result.plan.deletes.length,
        skipped: { create: 0, update: 0, delete: 0 },
        dryRun: false,
        seconds: (performance.now() - started) / 1000,
      }));
    }
  } finally {
    await target.close();
  }
}

/** `dsync apply TGT TARGET nats://…`: the change feed applied batch by batch, acked after commit. */
async function runApplyFeed(
  openFeed: NonNullable<Importer["openChangeFeed"]>,
  openTarget: NonNullable<Importer["openTarget"]>,
  locator: string,
  feedLocator: string,
  options: OpenOptions,
) {
  const started = performance.now();
  const probe = await openTarget(locator, { options });
  const consumer = probe.label;
  await probe.close();
  const feed = await openFeed(feedLocator, { options, consumer });
  try {
    const totals = await applyFeed(feed, () => openTarget(locator, { options }), {
      force: options.force === true,
      limits: limitOptions(options),
    });
    if (!options.quiet) {
      console.error(
        summaryLine({
          source: feed.label,
          target: totals.target || consumer,
          create: totals.create,
          update: totals.update,
          delete: totals.delete,
          skipped: { create: 0, update: 0, delete: 0 },
          dryRun: false,
          seconds: (performance.now() - started) / 1000,
        }) +
          `  (${totals.acked} acked${totals.skipped ? `, ${totals.skipped} applied already` : ""})`,
      );
    }
  } finally {
    await feed.close();
  }
}
