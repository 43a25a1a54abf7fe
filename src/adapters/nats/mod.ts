/**
 * NATS: a JetStream key-value bucket as a store (`nats://host:port/kv/BUCKET`), and change events
 * published on subjects (`nats://host:port/dsync.{table}.{op}`), with acks and deterministic
 * message ids when a JetStream stream stores them. The NATS.js packages are loaded only when a
 * NATS locator is opened.
 *
 * @example
 * ```sh
 * dsync csv:nats users.csv nats://127.0.0.1:4222/kv/users --key id
 * dsync csv:nats users.csv 'nats://127.0.0.1:4222/dsync.{table}.{op}' --stream DSYNC --key id
 * dsync nats:sqlite 'nats://127.0.0.1:4222/dsync.users.>' app.db#users
 * ```
 * @module
 */
import { createHash } from "node:crypto";
import type { Importer, OpenContext, Target } from "../../adapter_kit/importer.ts";
import { nameList, wholeNumber } from "../../adapter_kit/option_values.ts";
import { UsageError } from "../../model/errors.ts";
import { EventStream } from "./events.ts";
import { NatsKvStore } from "./kv_store.ts";
import { NatsChangeFeed } from "./feed.ts";
import { NatsChangeStore } from "./change_store.ts";
import { DEFAULT_SUBJECT, parseNatsLocator } from "./locator.ts";
import { CONNECT_TIMEOUT_OPTION, connectSecondsOf } from "../../adapter_kit/server_probe.ts";

function open(locator: string, ctx: OpenContext, role: "source" | "target"): Target {
  const { options } = ctx;
  const location = { ...parseNatsLocator(locator), connectSeconds: connectSecondsOf(options) };
  const batchSize = wholeNumber(options.batchSize ?? 1000, "--batch-size", 1);
  if (location.bucket) {
    return new NatsKvStore(location, { batchSize, keyFields: nameList(options.key), role });
  }
  if (role === "source" && !location.subject) {
    throw new UsageError(
      `${location.origin}: which subjects? give nats://host:port/SUBJECT (e.g. dsync.users.>)`,
    );
  }
  return new EventStream(location, {
    subject: location.subject ?? DEFAULT_SUBJECT,
    table: ctx.sourceName,
    stream: options.stream === undefined ? undefined : String(options.stream),
    batchSize,
    role,
    quiet: options.quiet === true,
  });
}

/** The default durable consumer of a feed: one per target and subject filter. */
function durableName(consumer: string, filter: string): string {
  return "dsync_" +
    createHash("sha256").update(`${consumer}\n${filter}`).digest("hex").slice(0, 16);
}

/** The `nats` adapter. */
export const natsImporter: Importer = {
  name: "nats",
  description:
    "NATS: JetStream KV bucket as a store, or change events on subjects (JetStream acks + Nats-Msg-Id; core NATS: at most once); one write per entry/event, no transaction",
  locator:
    "nats://[user:pass@|token@]host:port/kv/BUCKET, or nats://host:port/SUBJECT (target: template with {table} and {op}, default dsync.{table}.{op}; source: filter such as dsync.users.>)",
  transactional: false,
  options: [
    {
      flags: "--stream <name>",
      description:
        "JetStream stream for change events (a target creates it for the subjects when missing); default: the stream that stores the subjects, else core NATS",
    },
    CONNECT_TIMEOUT_OPTION,
  ],
  openSource: (locator, ctx) => Promise.resolve(open(locator, ctx, "source")),
  openTarget: (locator, ctx) => {
    if (locator === undefined) {
      throw new UsageError(
        "nats target: give nats://host:port/kv/BUCKET or nats://host:port/SUBJECT",
      );
    }
    return Promise.resolve(open(locator, ctx, "target"));
  },
  openChangeFeed: (locator, ctx) => {
    const location = parseNatsLocator(locator);
    if (!location.subject) {
      throw new UsageError(
        `${location.origin}: a change feed is a subject filter, e.g. dsync.users.>`,
      );
    }
    const stream = ctx.options.stream === undefined ? undefined : String(ctx.options.stream);
    const durable = ctx.options.durable === undefined
      ? durableName(ctx.consumer, location.subject)
      : String(ctx.options.durable);
    if (!/^[-\w]+$/.test(durable)) {
      throw new UsageError(`--durable ${durable}: use letters, digits, '-' and '_'`);
    }
    return Promise.resolve(new NatsChangeFeed(location, location.subject, durable, stream));
  },
  openChangeStore: (locator, ctx) => {
    const location = parseNatsLocator(locator);
    if (!location.subject || /[*>]/.test(location.subject)) {
      throw new UsageError(
        `${location.origin}: a change store is one subject (no wildcards), e.g. nats://host:port/dsync.changes.users`,
      );
    }
    const stream = ctx.options.stream === undefined ? undefined : String(ctx.options.stream);
    return Promise.resolve(new NatsChangeStore(location, location.subject, stream));
  },
};
