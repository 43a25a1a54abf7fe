/**
 * Redis as an enrichment lookup: each request is a key name (the locator's `#PREFIX:` put in
 * front when it has one), read as a string (`GET`), a JSON string (`GET` + parse) or a hash
 * (`HGETALL`), all requests of a batch in one pipelined round trip.
 *
 * @module
 */
import type { Redis as RedisClient } from "ioredis";
import { type Lookup, MISSING } from "../../adapter_kit/lookup.ts";
import { InputError, UsageError } from "../../model/errors.ts";
import { parseJsonExact } from "../../model/values.ts";
import type { RedisLocation } from "./locator.ts";
import { connectRedis, redact } from "./connect.ts";

/** Lookups on one Redis database. */
export class RedisLookup implements Lookup {
  readonly label: string;
  #client: RedisClient | undefined;

  constructor(readonly location: RedisLocation, readonly value: string) {
    if (!["string", "json", "hash"].includes(value)) {
      throw new UsageError(`redis lookup: value '${value}': expected string, json or hash`);
    }
    this.label = location.label.replace(/#$/, "");
  }

  async get(requests: string[]): Promise<unknown[]> {
    this.#client ??= await connectRedis(this.location, (m) => new InputError(m));
    const prefix = this.location.prefix ? this.location.prefix + ":" : "";
    const pipeline = this.#client.pipeline();
    for (const request of requests) {
      if (this.value === "hash") pipeline.hgetall(prefix + request);
      else pipeline.get(prefix + request);
    }
    let results: [Error | null, unknown][];
    try {
      results = (await pipeline.exec())!;
    } catch (error) {
      throw new InputError(`${this.label}: lookup failed: ${redact(this.location, error)}`);
    }
    return results.map(([error, value], i) => {
      const key = prefix + requests[i];
      if (error) {
        throw new InputError(`${this.label}: lookup ${key}: ${redact(this.location, error)}`);
      }
      if (this.value === "hash") {
        return Object.keys(value as object).length ? value : MISSING;
      }
      if (value === null) return MISSING;
      if (this.value === "string") return value;
      try {
        return parseJsonExact(value as string);
      } catch {
        throw new InputError(
          `${this.label}: lookup ${key}: not JSON: ${String(value).slice(0, 60)}`,
          "value: json reads keys holding JSON; value: string takes the text as it is",
        );
      }
    });
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client) await client.quit().catch(() => client.disconnect());
  }
}
