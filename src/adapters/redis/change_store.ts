/**
 * A Redis stream as a change store (adapter_kit/change_store.ts): `redis://host:port/db#KEY`
 * is the stream at `KEY`; each entry has the field `key` (the JSON object of the changed row's
 * key fields, `{"id":"42"}`) and optionally `op`. Any writer may add to it:
 * `XADD dsync:users '*' key '{"id":"42"}' op update`. Entries are read with `XRANGE` and
 * removed with `XDEL` of exactly the ids read, so an entry added during a run stays; a key the
 * stream does not hold yet is an empty store.
 *
 * @module
 */
import type { Redis as RedisClient } from "ioredis";
import type { ChangeStore, StoredChange } from "../../adapter_kit/change_store.ts";
import { chunked } from "../../adapter_kit/batches.ts";
import { InputError, TargetError } from "../../model/errors.ts";
import { connectRedis, redact } from "./connect.ts";
import type { RedisLocation } from "./locator.ts";

/** Entries per `XRANGE` page, `XADD` pipeline and `XDEL`. */
const PAGE = 5000;

/** The stream `location.prefix` of one Redis database. */
export class RedisChangeStore implements ChangeStore {
  readonly label: string;
  #client: RedisClient | undefined;

  constructor(readonly location: RedisLocation) {
    this.label = `${location.label} (stream)`;
  }

  async #connect(fail: (m: string) => Error): Promise<RedisClient> {
    this.#client ??= await connectRedis(this.location, fail);
    return this.#client;
  }

  async add(changes: { key: string; op: string }[]): Promise<void> {
    const fail = (m: string) => new TargetError(m);
    const client = await this.#connect(fail);
    for (const part of chunked(changes, PAGE)) {
      const multi = client.multi();
      for (const { key, op } of part) multi.xadd(this.location.prefix, "*", "key", key, "op", op);
      try {
        const replies = await multi.exec();
        const failed = replies?.find(([error]) => error)?.[0];
        if (failed) throw failed;
      } catch (error) {
        throw fail(`${this.label}: cannot add changes: ${redact(this.location, error)}`);
      }
    }
  }

  async read(): Promise<StoredChange[]> {
    const client = await this.#connect((m) => new InputError(m));
    const out: StoredChange[] = [];
    for (let start = "-";;) {
      let page: [string, string[]][];
      try {
        page = await client.xrange(this.location.prefix, start, "+", "COUNT", PAGE);
      } catch (error) {
        throw new InputError(
          `${this.label}: cannot read: ${redact(this.location, error)}`,
          "the change store is a stream of entries with the field key",
        );
      }
      for (const [id, fields] of page) {
        const entry: Record<string, string> = {};
        for (let i = 0; i + 1 < fields.length; i += 2) entry[fields[i]] = fields[i + 1];
        if (entry.key === undefined) {
          throw new InputError(
            `${this.label}: entry ${id} has no field key`,
            `add entries as: XADD ${this.location.prefix} '*' key '{"id":"42"}'`,
          );
        }
        out.push({ id, key: entry.key, op: entry.op });
      }
      if (page.length < PAGE) return out;
      start = `(${page[page.length - 1][0]}`;
    }
  }

  async remove(ids: string[]): Promise<void> {
    const client = await this.#connect((m) => new TargetError(m));
    for (const part of chunked(ids, PAGE)) {
      try {
        await client.xdel(this.location.prefix, ...part);
      } catch (error) {
        throw new TargetError(`${this.label}: cannot remove: ${redact(this.location, error)}`);
      }
    }
  }

  close(): Promise<void> {
    this.#client?.disconnect();
    this.#client = undefined;
    return Promise.resolve();
  }
}
