/**
 * A JetStream stream of change events as a feed for `dsync apply`: a durable pull consumer
 * (named after the target, or `--durable NAME`) on the locator's subject filter, with
 * `ack_policy: all`, so acknowledging the last change of a batch after the target committed it
 * acknowledges the whole batch, and a restart resumes after it. One `dsync apply` at a time per
 * durable consumer: a run that finds changes delivered but not acknowledged (an earlier run
 * failed or was killed) makes the consumer anew from its ack floor.
 *
 * @module
 */
import type { Consumer, JsMsg } from "@nats-io/jetstream";
import type { ChangeFeed, FeedMessage } from "../../adapter_kit/change_feed.ts";
import { InputError } from "../../model/errors.ts";
import { connectNats, natsMessage, type NatsSession } from "./client.ts";
import type { NatsLocation } from "./locator.ts";

/** Longest wait for messages when some may still be pending, in milliseconds. */
const FETCH_WAIT_MS = 1000;

/** Change events on a subject filter, read through a durable consumer. */
export class NatsChangeFeed implements ChangeFeed {
  readonly label: string;
  #session: NatsSession | undefined;
  #consumer: Consumer | undefined;
  /** Delivered and not yet acknowledged, by stream sequence. */
  readonly #pending = new Map<number, JsMsg>();
  #stream = "";

  constructor(
    readonly location: NatsLocation,
    readonly filter: string,
    readonly durable: string,
    readonly streamName?: string,
  ) {
    this.label = `${location.origin}/${filter}`;
  }

  #fail(error: unknown, what: string): InputError {
    return new InputError(`${this.label}: ${what}: ${natsMessage(error, this.location)}`);
  }

  async #open(): Promise<Consumer> {
    if (this.#consumer) return this.#consumer;
    this.#session = await connectNats(this.location, (m) => new InputError(m));
    const { nc, modules } = this.#session;
    let jsm;
    try {
      jsm = await modules.jetstream.jetstreamManager(nc);
    } catch (error) {
      throw this.#fail(error, "JetStream is not available");
    }
    try {
      this.#stream = this.streamName ?? await jsm.streams.find(this.filter);
    } catch {
      throw new InputError(
        `${this.label}: no JetStream stream stores these subjects`,
        "give --stream NAME, or publish with dsync into a stream first",
      );
    }
    try {
      // Changes delivered to an earlier run that stopped before acknowledging them (a failed
      // batch, a killed process) must come again now, not after the ack wait: the consumer is
      // made anew from its ack floor, the last change a target committed.
      let info = await jsm.consumers.info(this.#stream, this.durable).catch(() => undefined);
      let start: number | undefined;
      if (info && info.num_ack_pending > 0) {
        start = info.ack_floor.stream_seq + 1;
        await jsm.consumers.delete(this.#stream, this.durable);
        info = undefined;
      }
      if (!info) {
        await jsm.consumers.add(this.#stream, {
          durable_name: this.durable,
          filter_subject: this.filter,
          ack_policy: "all" as never,
          ...(start === undefined
            ? { deliver_policy: "all" as never }
            : { deliver_policy: "by_start_sequence" as never, opt_start_seq: start }),
        });
      }
      const js = modules.jetstream.jetstream(nc);
      this.#consumer = await js.consumers.get(this.#stream, this.durable);
    } catch (error) {
      throw this.#fail(error, `durable consumer ${this.durable} on stream ${this.#stream}`);
    }
    return this.#consumer;
  }

  async next(max: number): Promise<FeedMessage[]> {
    const consumer = await this.#open();
    const out: FeedMessage[] = [];
    try {
      const info = await consumer.info(true);
      if (info.num_pending === 0 && info.num_ack_pending === 0) return out;
      // Ask for no more than is pending, so the pull ends once it is served.
      const wanted = Math.min(max, info.num_pending || max);
      const messages = await consumer.fetch({ max_messages: wanted, expires: FETCH_WAIT_MS });
      for await (const m of messages) {
        this.#pending.set(m.seq, m);
        out.push({ text: m.string(), position: m.seq });
        if (m.info.pending === 0 || out.length >= wanted) break;
      }
      messages.stop();
    } catch (error) {
      throw this.#fail(error, `reading stream ${this.#stream}`);
    }
    return out;
  }

  async ack(position: number): Promise<void> {
    const message = this.#pending.get(position);
    if (!message) return;
    try {
      await message.ackAck();
    } catch (error) {
      throw this.#fail(error, `acknowledging message ${position} (the target has it already)`);
    }
    for (const seq of [...this.#pending.keys()]) if (seq <= position) this.#pending.delete(seq);
  }

  async close(): Promise<void> {
    this.#pending.clear();
    const session = this.#session;
    this.#session = undefined;
    this.#consumer = undefined;
    if (session) await session.nc.close().catch(() => {});
  }
}
