/**
 * `dsync apply TGT TARGET nats://…/dsync.users.>`: applies a feed of change events (the NDJSON
 * change lines dsync publishes) to a target, batch by batch, in order. Each batch holds at most
 * one change per key (a key seen again starts the next batch), goes through
 * {@linkcode applyPlan} with its conflict checks, and is acknowledged only after the target
 * committed it; changes the target already shows (delivered again after a crash between commit
 * and acknowledgement) are skipped, not conflicts.
 *
 * @example
 * ```ts ignore
 * const totals = await applyFeed(feed, () => importer.openTarget!(locator, { options }), {});
 * ```
 * @module
 */
import type { ChangeFeed, FeedMessage } from "../adapter_kit/change_feed.ts";
import type { Target } from "../adapter_kit/importer.ts";
import { stableStringify } from "../model/values.ts";
import { type ApplyOptions, applyPlan, readPlan } from "./apply.ts";

/** What a feed run applied. */
export interface FeedTotals {
  create: number;
  update: number;
  delete: number;
  /** Changes the target showed already. */
  skipped: number;
  /** Messages acknowledged. */
  acked: number;
  /** The label of the target, for the summary. */
  target: string;
}

/** Messages split where a key repeats, so that a batch has one change per key. */
function* byDistinctKeys(messages: FeedMessage[]): Generator<FeedMessage[]> {
  let batch: FeedMessage[] = [];
  const keys = new Set<string>();
  for (const message of messages) {
    let key = message.text;
    try {
      key = stableStringify((JSON.parse(message.text) as { key?: unknown }).key ?? message.text);
    } catch {
      // readPlan reports the malformed line
    }
    if (keys.has(key)) {
      yield batch;
      batch = [];
      keys.clear();
    }
    keys.add(key);
    batch.push(message);
  }
  if (batch.length) yield batch;
}

/** A batch as plan lines: the change line, numbered by its position in the feed. */
async function* feedLines(batch: FeedMessage[]): AsyncGenerator<[string, number]> {
  for (const m of batch) yield [m.text, m.position];
}

/** Applies every pending message of `feed`; a fresh target is opened for each batch. */
export async function applyFeed(
  feed: ChangeFeed,
  openTarget: () => Promise<Target>,
  options: ApplyOptions & { batchSize?: number },
): Promise<FeedTotals> {
  const totals: FeedTotals = { create: 0, update: 0, delete: 0, skipped: 0, acked: 0, target: "" };
  for (;;) {
    const messages = await feed.next(options.batchSize ?? 1000);
    if (messages.length === 0) return totals;
    for (const batch of byDistinctKeys(messages)) {
      const plan = await readPlan(feedLines(batch), feed.label);
      const target = await openTarget();
      try {
        totals.target = target.label;
        const result = await applyPlan(target, plan, feed.label, { ...options, skipApplied: true });
        totals.create += result.plan.creates.length;
        totals.update += result.plan.updates.length;
        totals.delete += result.plan.deletes.length;
        totals.skipped += result.skipped;
      } finally {
        await target.close();
      }
      await feed.ack(batch[batch.length - 1].position);
      totals.acked += batch.length;
    }
  }
}
