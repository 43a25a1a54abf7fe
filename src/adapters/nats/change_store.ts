/**
 * A JetStream subject as a change store (adapter_kit/change_store.ts):
 * `nats://host:port/SUBJECT` holds one message per changed key, its body the JSON object of the
 * row's key fields (`{"id":"42"}`); any writer may publish there (`nats pub SUBJECT '{"id":"42"}'`)
 * once a stream stores the subject. The stream is the one that stores SUBJECT (or `--stream`);
 * when none does, the first write creates `DSYNC_CHANGES_<SUBJECT>` for it, and a read finds no
 * changes.
 *
 * Messages are read in sequence order; removing them purges the subject below the last sequence
 * read — exactly the messages read, since a message published later gets a higher sequence.
 *
 * @module
 */
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { ChangeStore, StoredChange } from "../../adapter_kit/change_store.ts";
import { chunked } from "../../adapter_kit/batches.ts";
import { InputError, TargetError } from "../../model/errors.ts";
import { connectNats, natsMessage, type NatsSession } from "./client.ts";
import type { NatsLocation } from "./locator.ts";

/** Publishes in flight at once. */
const PUBLISH_WINDOW = 500;
/** Longest wait for a fetch that should already have its messages, in milliseconds. */
const FETCH_WAIT_MS = 2000;

/** The messages of one subject of a JetStream stream. */
export class NatsChangeStore implements ChangeStore {
  readonly label: string;
  #session: NatsSession | undefined;
  #api: { jsm: JetStreamManager; js: JetStreamClient } | undefined;

  constructor(
    readonly location: NatsLocation,
    readonly subject: string,
    readonly streamName?: string,
  ) {
    this.label = `${location.origin}/${subject}`;
  }

  async #open(fail: (m: string) => Error) {
    if (this.#api) return this.#api;
    this.#session = await connectNats(this.location, fail);
    const { nc, modules } = this.#session;
    try {
      const jsm = await modules.jetstream.jetstreamManager(nc);
      this.#api = { jsm, js: modules.jetstream.jetstream(nc) };
    } catch (error) {
      throw fail(`${this.label}: JetStream is not available: ${this.#why(error)}`);
    }
    return this.#api;
  }

  #why(error: unknown): string {
    return natsMessage(error, this.location);
  }

  /** The stream storing the subject; undefined when there is none. */
  async #stream(jsm: JetStreamManager): Promise<string | undefined> {
    if (this.streamName) return this.streamName;
    return await jsm.streams.find(this.subject).catch(() => undefined);
  }

  async add(changes: { key: string; op: string }[]): Promise<void> {
    const fail = (m: string) => new TargetError(m);
    const { jsm, js } = await this.#open(fail);
    try {
      if (!(await this.#stream(jsm))) {
        const name = `DSYNC_CHANGES_${this.subject.replace(/[^\w-]/g, "_").toUpperCase()}`;
        await jsm.streams.add({ name, subjects: [this.subject] });
      }
      for (const part of chunked(changes, PUBLISH_WINDOW)) {
        await Promise.all(part.map(({ key }) => js.publish(this.subject, key)));
      }
    } catch (error) {
      throw fail(`${this.label}: cannot add changes: ${this.#why(error)}`);
    }
  }

  async read(): Promise<StoredChange[]> {
    const fail = (m: string) => new InputError(m);
    const { jsm, js } = await this.#open(fail);
    const stream = await this.#stream(jsm);
    if (!stream) return [];
    const out: StoredChange[] = [];
    try {
      const info = await jsm.streams.info(stream, { subjects_filter: this.subject });
      const count = info.state.subjects?.[this.subject] ?? 0;
      if (!count) return out;
      const consumer = await js.consumers.get(stream, { filter_subjects: this.subject });
      while (out.length < count) {
        const messages = await consumer.fetch({
          max_messages: count - out.length,
          expires: FETCH_WAIT_MS,
        });
        const before = out.length;
        for await (const m of messages) {
          out.push({ id: String(m.seq), key: m.string() });
          if (m.info.pending === 0 || out.length >= count) break;
        }
        messages.stop();
        // Nothing came: purged by someone else meanwhile, and what was read is all there is.
        if (out.length === before) break;
      }
      await consumer.delete().catch(() => {});
    } catch (error) {
      throw fail(`${this.label}: cannot read stream ${stream}: ${this.#why(error)}`);
    }
    return out;
  }

  async remove(ids: string[]): Promise<void> {
    if (!ids.length) return;
    const fail = (m: string) => new TargetError(m);
    const { jsm } = await this.#open(fail);
    const stream = await this.#stream(jsm);
    if (!stream) return;
    const last = ids.reduce((max, id) => Math.max(max, Number(id)), 0);
    try {
      await jsm.streams.purge(stream, { filter: this.subject, seq: last + 1 });
    } catch (error) {
      throw fail(`${this.label}: cannot remove: ${this.#why(error)}`);
    }
  }

  async close(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    this.#api = undefined;
    if (session) await session.nc.close().catch(() => {});
  }
}
