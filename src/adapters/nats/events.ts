/**
 * Change events on NATS subjects. As a target, every change of the set is published as its
 * NDJSON change line (`{"op","key","before"?,"after"?}`, as `dsync -n` prints it) on the
 * subject template (`dsync.{table}.{op}`).
 *
 * - With a JetStream stream that stores the subjects (`--stream NAME`, created when missing, or
 *   the stream found for them), each message is published with an ack and a `Nats-Msg-Id`
 *   derived from the change and the stream sequence of that record's previous event, so the
 *   same publish retried (within the stream's duplicate window) is stored once, and the same
 *   change made again later is not mistaken for a duplicate. The stream is also the target's
 *   state: dsync replays the events on the subjects to know each record as last published, so a
 *   second run publishes nothing and a run after a failure publishes only what is missing.
 * - Without JetStream, messages go out with core NATS publish: **delivery is at most once**, no
 *   state is kept, and every run publishes every record as a create.
 *
 * As a source (`nats://host/dsync.users.>`), the records are the same replay: the state the
 * stored change events describe.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { JetStreamClient, JetStreamManager, PubAck } from "@nats-io/jetstream";
import {
  changeObject,
  keyObject,
  planChangeList,
  planChanges,
  type RecordChange,
  reportChanges,
  type WritePlan,
} from "../../adapter_kit/changes.ts";
import type { DatasetInfo, Target } from "../../adapter_kit/importer.ts";
import { chunked } from "../../adapter_kit/batches.ts";
import { InputError, TargetError, UsageError } from "../../model/errors.ts";
import type { RowBatch } from "../../model/types.ts";
import { parseJsonExact, stableStringify } from "../../model/values.ts";
import { connectNats, natsMessage, type NatsSession } from "./client.ts";
import { type NatsLocation, renderSubject } from "./locator.ts";
import { batchRows, objectRow } from "../../adapter_kit/batches.ts";

/** What an {@linkcode EventStream} is opened with. */
export interface EventSettings {
  /** Target: the subject template; source: the subject filter. */
  subject: string;
  /** The table name for `{table}` (target). */
  table?: string;
  /** `--stream`: the JetStream stream to use (and create, as a target, when missing). */
  stream?: string;
  /** Publishes in flight at once. */
  batchSize: number;
  role: "source" | "target";
  quiet: boolean;
}

type Fields = Record<string, unknown>;
type Result = "applied" | "failed" | "not applied";

/** One record as the stored events describe it, with the stream sequence of its last event. */
interface Folded {
  key: Fields;
  record: Fields;
  seq: number;
}

/** The most publishes awaiting their acks at once. */
const IN_FLIGHT = 256;

/** The `Nats-Msg-Id` of a change: SHA-256 of its subject, its record's previous sequence, its line. */
export function messageId(subject: string, previousSeq: number, line: string): string {
  return createHash("sha256").update(`${subject}\n${previousSeq}\n${line}`).digest("hex");
}

/** Change events on the subjects of one template (target) or filter (source). */
export class EventStream implements Target {
  readonly label: string;
  /** The subjects every event of this table goes to: the template with `{op}` as `*`. */
  readonly filter: string;
  #session: NatsSession | undefined;
  #stream: string | undefined;
  #state: Map<string, Folded> | undefined;
  #info: DatasetInfo | undefined;

  constructor(readonly location: NatsLocation, readonly settings: EventSettings) {
    const { subject, table, role } = settings;
    if (role === "target") {
      if (subject.includes("{table}") && !table) {
        throw new UsageError(`${location.origin}/${subject}: no table name for {table}`);
      }
      if (subject.includes("{op}") && !subject.split(".").includes("{op}")) {
        throw new UsageError(
          `${location.origin}/${subject}: {op} must be a whole subject token (dsync.{table}.{op})`,
        );
      }
    }
    this.filter = role === "target" ? renderSubject(subject, table ?? "", "*") : subject;
    this.label = `${location.origin}/${this.filter}`;
  }

  #error(message: string): Error {
    return this.settings.role === "source" ? new InputError(message) : new TargetError(message);
  }

  async #connect(): Promise<NatsSession> {
    this.#session ??= await connectNats(this.location, (m) => this.#error(m));
    return this.#session;
  }

  /** The JetStream manager, or undefined when the server has no JetStream. */
  async #manager(): Promise<JetStreamManager | undefined> {
    const { nc, modules } = await this.#connect();
    try {
      return await modules.jetstream.jetstreamManager(nc);
    } catch {
      return undefined;
    }
  }

  /** The stream storing the subjects: `--stream` (created when `create`), or the one found. */
  async #findStream(create: boolean): Promise<string | undefined> {
    if (this.#stream) return this.#stream;
    const jsm = await this.#manager();
    const named = this.settings.stream;
    if (!jsm) {
      if (named) throw this.#error(`${this.label}: --stream ${named}: JetStream is not enabled`);
      return undefined;
    }
    if (named) {
      try {
        await jsm.streams.info(named);
      } catch (error) {
        if (!create || !/not found/i.test(natsMessage(error, this.location))) {
          if (!create) return undefined;
          throw this.#error(`${this.label}: stream ${named}: ${natsMessage(error, this.location)}`);
        }
        try {
          await jsm.streams.add({ name: named, subjects: [this.filter] });
        } catch (error) {
          throw this.#error(
            `${this.label}: cannot create stream ${named}: ${natsMessage(error, this.location)}`,
          );
        }
      }
      return this.#stream = named;
    }
    try {
      return this.#stream = await jsm.streams.find(this.filter);
    } catch {
      return undefined;
    }
  }

  async describe(): Promise<DatasetInfo> {
    if (this.#info) return this.#info;
    const stream = await this.#findStream(false);
    if (!stream && this.settings.role === "source") {
      throw new InputError(
        `${this.label}: no JetStream stream stores these subjects`,
        "a source of change events is a stream: give --stream NAME or create one for the subjects",
      );
    }
    const state = this.#state = stream ? await this.#replay(stream) : new Map();
    const names: string[] = [];
    let keyFields: string[] = [];
    for (const { key, record } of state.values()) {
      if (keyFields.length === 0) keyFields = Object.keys(key);
      for (const name of Object.keys(record)) if (!names.includes(name)) names.push(name);
    }
    this.#info = {
      exists: state.size > 0,
      fields: state.size > 0 ? names.map((name) => ({ name, type: "auto" })) : [],
      primaryKey: keyFields,
      typed: false,
      textual: false,
      jsonValues: true,
    };
    return this.#info;
  }

  /** Folds the stored events on the subjects into the records they describe. */
  async #replay(stream: string): Promise<Map<string, Folded>> {
    const state = new Map<string, Folded>();
    const { nc, modules } = await this.#connect();
    const jsm = (await this.#manager())!;
    try {
      const info = await jsm.streams.info(stream, { subjects_filter: this.filter });
      let remaining = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
      if (remaining === 0) return state;
      const js = modules.jetstream.jetstream(nc);
      const consumer = await js.consumers.get(stream, { filter_subjects: this.filter });
      while (remaining > 0) {
        const messages = await consumer.fetch({
          max_messages: Math.min(remaining, 1000),
          expires: 5000,
        });
        let got = 0;
        for await (const m of messages) {
          got++;
          remaining = m.info.pending;
          this.#fold(state, m.string(), m.seq, stream);
        }
        if (got === 0) break;
      }
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw this.#error(
        `${this.label}: reading stream ${stream}: ${natsMessage(error, this.location)}`,
      );
    }
    return state;
  }

  #fold(state: Map<string, Folded>, text: string, seq: number, stream: string): void {
    let event: { op?: string; key?: Fields; after?: Fields } | undefined;
    try {
      event = parseJsonExact(text) as typeof event;
    } catch {
      event = undefined;
    }
    const key = event?.key;
    if (
      !event || typeof key !== "object" || key === null ||
      !["create", "update", "delete"].includes(event.op ?? "")
    ) {
      throw new InputError(
        `${this.label}: stream ${stream} message ${seq}: not a dsync change event: ${
          text.slice(0, 60)
        }`,
      );
    }
    const id = stableStringify(key);
    if (event.op === "delete") {
      state.delete(id);
      return;
    }
    const folded = state.get(id) ?? { key, record: {}, seq };
    Object.assign(folded.record, key, event.after ?? {});
    folded.seq = seq;
    state.set(id, folded);
  }

  async *read(batchSize: number): AsyncGenerator<RowBatch> {
    const names = (await this.describe()).fields.map((f) => f.name);
    yield* batchRows(this.#state!.values(), batchSize, ({ record }) => objectRow(record, names));
  }

  /** The subject and NDJSON line of a change. */
  #message(change: RecordChange, plan: WritePlan): { subject: string; line: string } {
    return {
      subject: renderSubject(this.settings.subject, this.settings.table ?? "", change.op),
      line: JSON.stringify(changeObject(change, plan)),
    };
  }

  async apply(plan: WritePlan, progress?: (written: number) => void): Promise<void> {
    const { nc, modules } = await this.#connect();
    const stream = await this.#findStream(true);
    if (!stream) {
      let sent = 0;
      for (const change of planChanges(plan)) {
        const { subject, line } = this.#message(change, plan);
        nc.publish(subject, line);
        progress?.(++sent);
      }
      try {
        await nc.flush();
      } catch (error) {
        throw this.#error(`${this.label}: ${natsMessage(error, this.location)}`);
      }
      if (!this.settings.quiet) {
        console.error(
          `dsync: ${this.label}: ${sent} published with core NATS (no JetStream stream stores these subjects): delivery is at most once, and no state is kept`,
        );
      }
      return;
    }
    const js = modules.jetstream.jetstream(nc);
    await this.describe();
    let done = 0;
    let duplicates = 0;
    for (const group of chunked(planChanges(plan), Math.min(this.settings.batchSize, IN_FLIGHT))) {
      const settled = await Promise.allSettled(
        group.map((change) => this.#publish(js, stream, change, plan)),
      );
      const failure = settled.findIndex((s) => s.status === "rejected");
      for (const s of settled) if (s.status === "fulfilled" && s.value.duplicate) duplicates++;
      if (failure >= 0) {
        const results = settled.map((s): Result => s.status === "fulfilled" ? "applied" : "failed");
        const all = planChangeList(plan);
        const message = natsMessage(
          (settled[failure] as PromiseRejectedResult).reason,
          this.location,
        );
        reportChanges(
          all,
          plan,
          (i) => i < done ? "applied" : i < done + group.length ? results[i - done] : "not applied",
          { index: done + failure, message },
        );
        const acked = done + results.filter((r) => r === "applied").length;
        throw new TargetError(
          `${this.label}: publish to stream ${stream} failed: ${message}; ${acked} of ${all.length} changes published and acked, ${
            all.length - acked
          } not (listed above as NDJSON)`,
          "fix the cause and run the same sync again: it publishes only what the stream is missing",
        );
      }
      done += group.length;
      progress?.(done);
    }
    if (!this.settings.quiet && done > 0) {
      console.error(
        `dsync: ${this.label}: ${done} published, ${done} acked by stream ${stream}${
          duplicates ? ` (${duplicates} already stored: duplicates by Nats-Msg-Id)` : ""
        }`,
      );
    }
  }

  #publish(
    js: JetStreamClient,
    stream: string,
    change: RecordChange,
    plan: WritePlan,
  ): Promise<PubAck> {
    const { subject, line } = this.#message(change, plan);
    const previous = this.#state?.get(stableStringify(keyObject(plan, change.key)))?.seq ?? 0;
    return js.publish(subject, line, {
      msgID: messageId(subject, previous, line),
      expect: { streamName: stream },
    });
  }

  async close(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    if (session) await session.nc.close().catch(() => {});
  }
}
