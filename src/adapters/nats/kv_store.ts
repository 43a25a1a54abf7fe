/**
 * A JetStream key-value bucket as a dataset and a target: one entry per record, its key made of
 * the record's key values (locator.ts), its value the record as one JSON object. Reading lists
 * the keys and gets the entries `--batch-size` at a time, spooled to a temporary file, and keeps
 * each entry's revision; writing is optimistic: a create uses `create` (fails when the key
 * appeared meanwhile), an update `update` at the revision read, a delete `delete` at that
 * revision, so a record someone else changed since dsync read it is never overwritten.
 *
 * Each entry write is atomic by itself; there is no transaction across entries
 * (`transactional: false`). On a failure dsync stops, lists every change as applied / failed /
 * not applied, and a re-run writes only what is still different.
 *
 * @module
 */
import type { KV } from "@nats-io/kv";
import {
  planChangeList,
  planChanges,
  rawValue,
  type RecordChange,
  reportChanges,
  type WritePlan,
} from "../../adapter_kit/changes.ts";
import type { DatasetInfo, Target } from "../../adapter_kit/importer.ts";
import { chunked } from "../../adapter_kit/batches.ts";
import { Spool } from "../../adapter_kit/spool.ts";
import { jsonBodyValue } from "../../adapter_kit/http_client.ts";
import { InputError, TargetError } from "../../model/errors.ts";
import type { RowBatch } from "../../model/types.ts";
import { convertValue, parseJsonExact } from "../../model/values.ts";
import { connectNats, natsMessage, type NatsSession } from "./client.ts";
import { kvKey, kvKeyParts, type NatsLocation } from "./locator.ts";
import { batchRows, objectRow } from "../../adapter_kit/batches.ts";
import { FieldOrder } from "../../adapter_kit/field_order.ts";

/** What a {@linkcode NatsKvStore} is opened with. */
export interface KvSettings {
  /** Entries per round of concurrent gets and writes. */
  batchSize: number;
  /** Key field names (`--key`); their values are read from the entry key. */
  keyFields?: string[];
  role: "source" | "target";
}

type Fields = Record<string, unknown>;
type Result = "applied" | "failed" | "not applied";

/** The most entry reads or writes in flight at once. */
const IN_FLIGHT = 256;

/** One KV bucket. */
export class NatsKvStore implements Target {
  readonly label: string;
  #session: NatsSession | undefined;
  #kv: KV | undefined;
  #spool: Spool | undefined;
  #info: DatasetInfo | undefined;
  /** Revision of every entry read, by key: what updates and deletes expect to find. */
  readonly #revisions = new Map<string, number>();

  constructor(readonly location: NatsLocation, readonly settings: KvSettings) {
    this.label = `${location.origin}/kv/${location.bucket}`;
  }

  #error(message: string): Error {
    return this.settings.role === "source" ? new InputError(message) : new TargetError(message);
  }

  #message(error: unknown): string {
    return natsMessage(error, this.location);
  }

  /** The bucket, or undefined when it does not exist and `create` is false. */
  async #bucket(create: boolean): Promise<KV | undefined> {
    if (this.#kv) return this.#kv;
    this.#session ??= await connectNats(this.location, (m) => this.#error(m));
    const kvm = new this.#session.modules.kv.Kvm(this.#session.nc);
    const bucket = this.location.bucket!;
    try {
      if (create) this.#kv = await kvm.create(bucket);
      else {
        const kv = await kvm.open(bucket);
        await kv.status();
        this.#kv = kv;
      }
    } catch (error) {
      const message = this.#message(error);
      if (!create && /not found/i.test(message)) return undefined;
      throw this.#error(`${this.label}: ${message}`);
    }
    return this.#kv;
  }

  async describe(): Promise<DatasetInfo> {
    if (this.#info) return this.#info;
    const kv = await this.#bucket(false);
    if (!kv && this.settings.role === "source") {
      throw new InputError(`${this.label}: no such KV bucket`);
    }
    const seen = kv ? await this.#scan(kv) : new FieldOrder();
    const keyFields = this.settings.keyFields ?? (seen.has("id") ? ["id"] : []);
    const names = seen.names(keyFields);
    const count = this.#spool?.count ?? 0;
    this.#info = {
      exists: count > 0,
      fields: count > 0 ? names.map((name) => ({ name, type: "auto" })) : [],
      primaryKey: keyFields,
      typed: false,
      textual: false,
      jsonValues: true,
    };
    return this.#info;
  }

  async #scan(kv: KV): Promise<FieldOrder> {
    const spool = this.#spool = await Spool.create("dsync-natskv-");
    const names = new FieldOrder();
    try {
      const keys: string[] = [];
      for await (const key of await kv.keys()) keys.push(key);
      for (const group of chunked(keys, Math.min(this.settings.batchSize, IN_FLIGHT))) {
        const entries = await Promise.all(group.map((key) => kv.get(key)));
        for (const entry of entries) {
          if (!entry || entry.operation !== "PUT") continue; // deleted since listed
          const text = entry.string();
          let record: unknown;
          try {
            record = parseJsonExact(text);
          } catch {
            record = undefined;
          }
          if (record === null || typeof record !== "object" || Array.isArray(record)) {
            throw new InputError(
              `${this.label}: key ${entry.key}: not a JSON object: ${text.slice(0, 60)}`,
            );
          }
          names.add(Object.keys(record));
          this.#revisions.set(entry.key, entry.revision);
          await spool.add({ k: entry.key, j: text });
        }
      }
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw this.#error(`${this.label}: reading failed: ${this.#message(error)}`);
    } finally {
      await spool.finish();
    }
    return names;
  }

  async *read(batchSize: number): AsyncGenerator<RowBatch> {
    const info = await this.describe();
    if (!this.#spool) return;
    const names = info.fields.map((f) => f.name);
    const keyFields = info.primaryKey;
    yield* batchRows(this.#spool.entries(), batchSize, (entry) => {
      const { k, j } = entry as { k: string; j: string };
      const record = parseJsonExact(j) as Fields;
      const parts = kvKeyParts(k);
      if (parts.length === keyFields.length) keyFields.forEach((f, i) => record[f] = parts[i]);
      return objectRow(record, names);
    });
  }

  async apply(plan: WritePlan, progress?: (written: number) => void): Promise<void> {
    const kv = (await this.#bucket(true))!;
    let done = 0;
    for (const group of chunked(planChanges(plan), Math.min(this.settings.batchSize, IN_FLIGHT))) {
      const settled = await Promise.allSettled(
        group.map((change) => this.#write(kv, plan, change)),
      );
      const failure = settled.findIndex((s) => s.status === "rejected");
      if (failure >= 0) {
        const results = settled.map((s): Result => s.status === "fulfilled" ? "applied" : "failed");
        const all = planChangeList(plan);
        const message = this.#message((settled[failure] as PromiseRejectedResult).reason);
        reportChanges(
          all,
          plan,
          (i) => i < done ? "applied" : i < done + group.length ? results[i - done] : "not applied",
          { index: done + failure, message },
        );
        const applied = done + results.filter((r) => r === "applied").length;
        throw new TargetError(
          `${this.label}: ${message}; ${applied} of ${all.length} changes applied, ${
            all.length - applied
          } not (listed above as NDJSON)`,
          "fix the cause and run the same sync again: it writes only what is still different",
        );
      }
      done += group.length;
      progress?.(done);
    }
  }

  /** Writes one change at the revision read, so a concurrent change is never overwritten. */
  async #write(kv: KV, plan: WritePlan, change: RecordChange): Promise<void> {
    const key = kvKey(change.key.map((v) => String(convertValue(rawValue(v), "text") ?? "")));
    const names = plan.fields.map((f) => f.name);
    const revision = this.#revisions.get(key);
    if (change.op === "delete") {
      await kv.delete(key, revision === undefined ? undefined : { previousSeq: revision });
      return;
    }
    const record: Fields = {};
    let indexes: Iterable<number> = names.keys();
    if (change.op === "update" && revision !== undefined) {
      const entry = await kv.get(key);
      if (!entry || entry.revision !== revision) {
        throw new Error(`key ${key} changed since dsync read it (revision ${revision})`);
      }
      Object.assign(record, parseJsonExact(entry.string()) as Fields);
      indexes = change.changed;
    }
    for (const i of indexes) record[names[i]] = jsonBodyValue(rawValue(change.after[i]));
    const text = JSON.stringify(record);
    if (change.op === "create") await kv.create(key, text);
    else if (revision !== undefined) await kv.update(key, text, revision);
    else await kv.put(key, text);
  }

  async close(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    this.#kv = undefined;
    if (session) await session.nc.close().catch(() => {});
    await this.#spool?.remove();
    this.#spool = undefined;
  }
}
