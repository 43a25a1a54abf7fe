/**
 * Lookups: the capability an adapter offers for `enrichment` in `dsync run` — given the request
 * texts of a batch of records (a Redis key, an HTTP path), the value found for each, or
 * {@linkcode MISSING}. The adapter decides how a batch goes over the wire (one pipelined round
 * trip for Redis, bounded concurrency for HTTP); the pipeline caches by request text.
 *
 * @example
 * ```ts ignore
 * const lookup = await redisImporter.openLookup!("redis://127.0.0.1:6379/0", { options: {}, value: "string" });
 * const [name] = await lookup.get(["user:1"]); // "Ann", or MISSING
 * await lookup.close();
 * ```
 * @module
 */
/** What a lookup gives for a request that found nothing (a missing key, HTTP 404). */
export const MISSING: unique symbol = Symbol("missing");

/** One open lookup. */
export interface Lookup {
  /** How messages name it; no secrets. */
  readonly label: string;
  /** The value for each request, in order: parsed JSON, text, a hash as an object, or MISSING. */
  get(requests: string[]): Promise<unknown[]>;
  /** Releases connections. Safe to call twice. */
  close(): Promise<void>;
}

/** What an adapter's `openLookup` gets: the datastore's options and the entry's own settings. */
export interface LookupContext {
  /** The datastore's adapter options, by camel-cased option name. */
  options: Record<string, unknown>;
  /** How a stored value is read: `string` (default), `json` or `hash` (Redis). */
  value?: string;
  /** Requests in flight at once (HTTP). */
  concurrency?: number;
}
