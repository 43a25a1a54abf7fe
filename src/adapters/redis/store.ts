/**
 * One Redis key prefix as a dataset and a target. Each record is one key `PREFIX:{key}`: a hash
 * with one field per column (`--redis-value hash`, the default) or a JSON string
 * (`--redis-value json`). Values are written as dsync's canonical text (docs/types.md): numbers
 * as their shortest exact digits, booleans `true`/`false`, bytes base64, JSON with sorted keys;
 * NULL is a missing hash field (JSON `null`), so `""` and NULL stay different.
 *
 * Reading is `SCAN MATCH PREFIX:*` with pipelined `HGETALL`/`GET`, spooled to a temporary file so
 * the engine can read it twice. Writing sends the change set in `MULTI`/`EXEC` batches of
 * `--batch-size` changes: each batch runs as one unit that no other client sees half done, but
 * Redis has no rollback — a command that fails inside `EXEC` leaves the other commands of the
 * batch applied, and batches before a failure stay applied. Such a failure is reported change by
 * change (applied / failed / not applied), and running the same sync again finishes the job.
 *
 * @module
 */
import type { Redis as RedisClient } from "ioredis";
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
import { InputError, TargetError, UnreachableError } from "../../model/errors.ts";
import { DEFAULT_CONNECT_SECONDS, probeOrFail } from "../../adapter_kit/server_probe.ts";
import type { RowBatch } from "../../model/types.ts";
import { convertValue, parseJsonExact, stableStringify } from "../../model/values.ts";
import { keyName, keyParts, matchPattern, type RedisLocation } from "./locator.ts";
import { batchRows, objectRow } from "../../adapter_kit/batches.ts";
import { FieldOrder } from "../../adapter_kit/field_order.ts";
import { importPackage } from "../../adapter_kit/packages.ts";

/** How a record is stored at its key. */
export type RedisValue = "hash" | "json";

/** What a {@linkcode RedisStore} is opened with. */
export interface RedisSettings {
  location: RedisLocation;
  value: RedisValue;
  /** Seconds to live for every key written; none when undefined. */
  ttl?: number;
  /** Keys per `SCAN`/pipeline round trip and changes per `MULTI`/`EXEC`. */
  batchSize: number;
  /** Key field names (`--key`); their values are read from the key name. */
  keyFields?: string[];
  /** Whether it was opened as a source (errors exit 2) or a target (exit 4). */
  role: "source" | "target";
}

type Fields = Record<string, unknown>;
type BatchResult = "applied" | "failed" | "not applied";
/** A spooled record: its key name, and its hash fields or JSON text. */
type Entry = { n: string; h?: Record<string, string>; j?: string };

/** A value as it is written into a hash field: canonical text, or null for NULL. */
export function fieldText(value: unknown): string | null {
  return convertValue(rawValue(value), "text") as string | null;
}

/**
 * Opens a client on `location`, connected, or throws naming the redacted locator: a server that
 * cannot be reached, stays silent or is not Redis is an {@linkcode UnreachableError} (exit 4)
 * naming `host:port`; a refused login goes through `fail`.
 */
export async function connectRedis(
  location: RedisLocation,
  fail: (message: string) => Error,
): Promise<RedisClient> {
  const seconds = location.connectSeconds ?? DEFAULT_CONNECT_SECONDS;
  // ioredis waits for the first reply without a bound and reports another protocol as a parse
  // error; the probe says what is on the port. Over TLS the handshake comes first: ioredis's own
  // connect bound only.
  if (!location.tls) {
    await probeOrFail(
      {
        host: location.host,
        port: location.port,
        seconds,
        server: "Redis",
        hello: "PING\r\n",
        // +PONG, or an error reply (-NOAUTH, -DENIED): a Redis server either way.
        accepts: (first) => first[0] === 0x2b || first[0] === 0x2d,
      },
      location.label,
      UNREACHABLE_HINT,
    );
  }
  const { Redis } = await importPackage<typeof import("ioredis")>("ioredis");
  const client = new Redis({
    host: location.host,
    port: location.port,
    db: location.db,
    username: location.username,
    password: location.password,
    tls: location.tls ? {} : undefined,
    lazyConnect: true,
    connectTimeout: seconds * 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // The cause of a failed connect arrives as an event; connect() itself only says "closed".
  let cause: unknown;
  client.on("error", (error) => cause ??= error);
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    const why = redact(location, cause ?? error);
    if (/WRONGPASS|NOAUTH|NOPERM/.test(why)) {
      throw fail(`${location.label}: cannot connect: ${why}`);
    }
    throw new UnreachableError(
      `${location.label}: cannot connect to ${location.host}:${location.port}: ${why}`,
      UNREACHABLE_HINT,
    );
  }
  return client;
}

/** The hint for a server that cannot be reached. */
const UNREACHABLE_HINT = "is the server running? check the host and port of the redis:// locator";

/** An error's message with the password (if any) replaced by `***`. */
export function redact(location: RedisLocation, error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  return location.password ? message.replaceAll(location.password, "***") : message;
}

/** Whether a queueing error is about `key` (ioredis names the refused command and its args). */
function refusedAt(error: Error, key: string): boolean {
  return (error as { command?: { args?: unknown[] } }).command?.args?.[0] === key;
}

/** Records under one prefix of one Redis database. */
export class RedisStore implements Target {
  readonly label: string;
  #client: RedisClient | undefined;
  #spool: Spool | undefined;
  #info: DatasetInfo | undefined;

  constructor(readonly settings: RedisSettings) {
    this.label = settings.location.label;
  }

  get #prefix(): string {
    return this.settings.location.prefix;
  }

  #error(message: string): Error {
    return this.settings.role === "source" ? new InputError(message) : new TargetError(message);
  }

  async #connect(): Promise<RedisClient> {
    this.#client ??= await connectRedis(this.settings.location, (m) => this.#error(m));
    return this.#client;
  }

  async describe(): Promise<DatasetInfo> {
    if (this.#info) return this.#info;
    const seen = await this.#scan();
    const keyFields = this.settings.keyFields ?? (seen.has("id") ? ["id"] : []);
    const names = seen.names(keyFields);
    this.#info = {
      exists: this.#spool!.count > 0,
      fields: this.#spool!.count > 0 ? names.map((name) => ({ name, type: "auto" })) : [],
      primaryKey: keyFields,
      typed: false,
      textual: this.settings.value === "hash",
      jsonValues: this.settings.value === "json",
    };
    return this.#info;
  }

  async *read(batchSize: number): AsyncGenerator<RowBatch> {
    const info = await this.describe();
    const names = info.fields.map((f) => f.name);
    yield* batchRows(
      this.#spool!.entries(),
      batchSize,
      (entry) => objectRow(this.#record(entry as Entry, info.primaryKey), names),
    );
  }

  /** A spooled entry as a record; key fields come from the key name when it has as many parts. */
  #record(entry: Entry, keyFields: string[]): Fields {
    const record: Fields = entry.h ? { ...entry.h } : parseJsonExact(entry.j!) as Fields;
    const parts = keyParts(this.#prefix, entry.n);
    if (parts && parts.length === keyFields.length) {
      keyFields.forEach((name, i) => record[name] = parts[i]);
    }
    return record;
  }

  /** Reads every key under the prefix into the spool; returns the field names seen. */
  async #scan(): Promise<FieldOrder> {
    const client = await this.#connect();
    const spool = this.#spool = await Spool.create("dsync-redis-");
    const names = new FieldOrder();
    const hash = this.settings.value === "hash";
    let cursor = "0";
    try {
      do {
        const [next, keys] = await client.scan(
          cursor,
          "MATCH",
          matchPattern(this.#prefix),
          "COUNT",
          this.settings.batchSize,
        );
        cursor = next;
        if (keys.length === 0) continue;
        const pipeline = client.pipeline();
        for (const key of keys) hash ? pipeline.hgetall(key) : pipeline.get(key);
        const results = (await pipeline.exec())!;
        for (let i = 0; i < keys.length; i++) {
          const [error, value] = results[i];
          if (error) throw this.#wrongValue(keys[i], error);
          if (hash) {
            const fields = value as Record<string, string>;
            if (Object.keys(fields).length === 0) continue; // expired since SCAN
            names.add(Object.keys(fields));
            await spool.add({ n: keys[i], h: fields });
          } else {
            if (value === null) continue; // expired since SCAN
            let parsed: unknown;
            try {
              parsed = JSON.parse(value as string);
            } catch {
              parsed = undefined;
            }
            if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
              throw new InputError(
                `${this.label}: key ${keys[i]}: not a JSON object: ${String(value).slice(0, 60)}`,
                "--redis-value json reads keys holding a JSON object each",
              );
            }
            names.add(Object.keys(parsed));
            await spool.add({ n: keys[i], j: value });
          }
        }
      } while (cursor !== "0");
    } catch (error) {
      if (error instanceof InputError || error instanceof TargetError) throw error;
      throw this.#error(`${this.label}: reading failed: ${redact(this.settings.location, error)}`);
    } finally {
      await spool.finish();
    }
    return names;
  }

  #wrongValue(key: string, error: Error): Error {
    if (/WRONGTYPE/.test(error.message)) {
      const other = this.settings.value === "hash" ? "json" : "hash";
      return new InputError(
        `${this.label}: key ${key} does not hold a ${
          this.settings.value === "hash" ? "hash" : "string"
        }`,
        `records are read as --redis-value ${this.settings.value}; is it --redis-value ${other}?`,
      );
    }
    return this.#error(`${this.label}: key ${key}: ${redact(this.settings.location, error)}`);
  }

  /** The key name of a change's record. */
  #keyOf(change: RecordChange): string {
    return keyName(this.#prefix, change.key.map((v) => fieldText(v) ?? ""));
  }

  async apply(plan: WritePlan, progress?: (written: number) => void): Promise<void> {
    const client = await this.#connect();
    let done = 0;
    for (const batch of chunked(planChanges(plan), this.settings.batchSize)) {
      const outcome = await this.#applyBatch(client, plan, batch);
      if (outcome.failed) {
        const all = planChangeList(plan);
        const first = outcome.results.indexOf("failed");
        reportChanges(
          all,
          plan,
          (i) =>
            i < done
              ? "applied"
              : i < done + batch.length
              ? outcome.results[i - done]
              : "not applied",
          { index: done + first, message: outcome.failed },
        );
        const applied = done + outcome.results.filter((r) => r === "applied").length;
        throw new TargetError(
          `${this.label}: ${outcome.failed}; ${applied} of ${all.length} changes applied, ${
            all.length - applied
          } not (listed above as NDJSON)`,
          "fix the cause and run the same sync again: it writes only what is still different",
        );
      }
      done += batch.length;
      progress?.(done);
    }
  }

  /** One `MULTI`/`EXEC`; for `json` updates, the current values are read under `WATCH`. */
  async #applyBatch(
    client: RedisClient,
    plan: WritePlan,
    batch: RecordChange[],
  ): Promise<{ results: BatchResult[]; failed?: string }> {
    const keys = batch.map((change) => this.#keyOf(change));
    const json = this.settings.value === "json";
    const updated = json ? batch.flatMap((c, i) => c.op === "update" ? [keys[i]] : []) : [];
    const current = new Map<string, string | null>();
    const location = this.settings.location;
    try {
      if (updated.length) {
        await client.watch(...updated);
        const values = await client.mget(...updated);
        updated.forEach((key, i) => current.set(key, values[i]));
      }
      const multi = client.multi();
      const owners: number[] = [];
      const queued = () => (multi as unknown as { length: number }).length;
      batch.forEach((change, i) => {
        const before = queued();
        this.#queue(multi, plan, change, keys[i], current);
        for (let c = queued() - before; c > 0; c--) owners.push(i);
      });
      const results = await multi.exec();
      if (results === null) {
        return {
          results: batch.map(() => "failed"),
          failed:
            "a record changed while dsync was writing it (WATCH); nothing of this batch was applied",
        };
      }
      const outcome = batch.map((): BatchResult => "applied");
      let failed: string | undefined;
      results.forEach(([error], c) => {
        if (!error) return;
        outcome[owners[c]] = "failed";
        failed ??= `key ${keys[owners[c]]}: ${redact(location, error)}`;
      });
      return { results: outcome, failed };
    } catch (error) {
      if (updated.length) await client.unwatch().catch(() => {});
      const refused = (error as { previousErrors?: Error[] }).previousErrors?.[0];
      if (refused) {
        // EXECABORT: Redis refused a command while queueing, and discarded the whole batch.
        const first = Math.max(0, batch.findIndex((_, i) => refusedAt(refused, keys[i])));
        return {
          results: batch.map((_, i) => i === first ? "failed" : "not applied"),
          failed: `${redact(location, refused)}; Redis discarded this batch (EXECABORT)`,
        };
      }
      return {
        results: batch.map(() => "failed"),
        failed: `${
          redact(location, error)
        }; this batch (one MULTI/EXEC) was applied whole or not at all`,
      };
    }
  }

  /** Queues the commands of one change. */
  #queue(
    multi: ReturnType<RedisClient["multi"]>,
    plan: WritePlan,
    change: RecordChange,
    key: string,
    current: Map<string, string | null>,
  ): void {
    const { ttl } = this.settings;
    const names = plan.fields.map((f) => f.name);
    if (change.op === "delete") {
      multi.del(key);
      return;
    }
    if (this.settings.value === "json") {
      const record: Fields = {};
      const old = change.op === "update" ? current.get(key) : null;
      if (old) Object.assign(record, parseJsonExact(old) as Fields);
      const indexes = change.op === "update" && old ? change.changed : names.keys();
      for (const i of indexes) record[names[i]] = jsonBodyValue(rawValue(change.after[i]));
      const text = JSON.stringify(record);
      if (ttl !== undefined) multi.set(key, text, "EX", ttl);
      else multi.set(key, text);
      return;
    }
    const set: Record<string, string> = {};
    const unset: string[] = [];
    const indexes = change.op === "update" ? change.changed : names.keys();
    for (const i of indexes) {
      // A hash field holds text: a JSON value goes in as its JSON text (`"abc"`, quotes kept).
      const value = rawValue(change.after[i]);
      const text = plan.fields[i].type === "json" && value !== null
        ? stableStringify(value)
        : fieldText(value);
      if (text === null) unset.push(names[i]);
      else set[names[i]] = text;
    }
    if (change.op === "create") multi.del(key);
    if (Object.keys(set).length) multi.hset(key, set);
    if (unset.length && change.op === "update") multi.hdel(key, ...unset);
    if (ttl !== undefined) multi.expire(key, ttl);
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client) await client.quit().catch(() => client.disconnect());
    await this.#spool?.remove();
    this.#spool = undefined;
  }
}
