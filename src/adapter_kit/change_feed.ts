/**
 * Change feeds: a datastore that holds a stream of change events (NATS JetStream) offers them to
 * `dsync apply` message by message, in order, through a durable position: `apply` applies a
 * batch to the target and acknowledges it only after the target committed, so a restart resumes
 * at the first change not yet applied.
 *
 * @example
 * ```ts ignore
 * const feed = await natsImporter.openChangeFeed!("nats://127.0.0.1:4222/dsync.users.>", { options: {}, consumer: "app-db" });
 * for (let batch = await feed.next(500); batch.length; batch = await feed.next(500)) {
 *   // apply batch ... then:
 *   await feed.ack(batch[batch.length - 1].position);
 * }
 * ```
 * @module
 */

/** One change event: its NDJSON change line and its position in the feed. */
export interface FeedMessage {
  text: string;
  /** Ever-growing position (the stream sequence); acknowledging one acknowledges those before. */
  position: number;
}

/** An open feed. */
export interface ChangeFeed {
  /** How messages name it; no secrets. */
  readonly label: string;
  /** Up to `max` of the next unacknowledged messages, in order; empty when none is pending. */
  next(max: number): Promise<FeedMessage[]>;
  /** Marks every message up to `position` as applied: they are not delivered again. */
  ack(position: number): Promise<void>;
  /** Releases connections; unacknowledged messages are delivered again next time. */
  close(): Promise<void>;
}

/** What an adapter's `openChangeFeed` gets. */
export interface FeedContext {
  /** Command-line options. */
  options: Record<string, unknown>;
  /** The durable position's name, unique per consumer (target) of the feed. */
  consumer: string;
}
