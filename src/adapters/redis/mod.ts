/**
 * Redis: records as keys `PREFIX:{key}` of one database, each a hash (one field per column) or a
 * JSON string; a source (`SCAN` + pipelined reads) and a target (`MULTI`/`EXEC` batches). The
 * client library, ioredis, is loaded only when a Redis locator is opened.
 *
 * @example
 * ```sh
 * dsync csv:redis users.csv 'redis://127.0.0.1:6379/0#users' --key id
 * dsync redis:csv 'redis://127.0.0.1:6379/0#users' users.csv --key id
 * ```
 * @module
 */
import type { Importer, OpenContext } from "../../adapter_kit/importer.ts";
import { nameList, seconds, wholeNumber } from "../../adapter_kit/option_values.ts";
import { UsageError } from "../../model/errors.ts";
import { parseRedisLocator } from "./locator.ts";
import { CONNECT_TIMEOUT_OPTION, connectSecondsOf } from "../../adapter_kit/server_probe.ts";
import { RedisStore, type RedisValue } from "./store.ts";
import { RedisLookup } from "./lookup.ts";
import { RedisChangeStore } from "./change_store.ts";

function open(locator: string, ctx: OpenContext, role: "source" | "target"): RedisStore {
  const { options } = ctx;
  const value = String(options.redisValue ?? "hash");
  if (value !== "hash" && value !== "json") {
    throw new UsageError(`--redis-value ${value}: expected hash or json`);
  }
  const ttl = options.ttl === undefined ? undefined : seconds(options.ttl, "--ttl", false);
  if (ttl !== undefined && !Number.isInteger(ttl)) {
    throw new UsageError(`--ttl ${options.ttl}: expected a whole number of seconds`);
  }
  return new RedisStore({
    location: {
      ...parseRedisLocator(locator, role === "target" ? ctx.sourceName : undefined),
      connectSeconds: connectSecondsOf(options),
    },
    value: value as RedisValue,
    ttl,
    batchSize: wholeNumber(options.batchSize ?? 1000, "--batch-size", 1),
    keyFields: nameList(options.key),
    role,
  });
}

/** The `redis` adapter. */
export const redisImporter: Importer = {
  name: "redis",
  description:
    "Redis keys PREFIX:{key}, one hash or JSON string per record; each --batch-size batch in one MULTI/EXEC (no rollback inside it; earlier batches stay when a later one fails)",
  locator: "redis://[user:pass@]host:port/db#PREFIX (rediss:// for TLS)",
  transactional: false,
  options: [
    {
      flags: "--redis-value <form>",
      description: "a record is a hash (one field per column) or a json string",
      defaultValue: "hash",
    },
    {
      flags: "--ttl <seconds>",
      description: "expire every key dsync writes after this many seconds",
    },
    CONNECT_TIMEOUT_OPTION,
  ],
  openSource: (locator, ctx) => Promise.resolve(open(locator, ctx, "source")),
  openTarget: (locator, ctx) => {
    if (locator === undefined) {
      throw new UsageError("redis target: which database? give redis://host:port/db#PREFIX");
    }
    return Promise.resolve(open(locator, ctx, "target"));
  },
  openLookup: (locator, ctx) =>
    Promise.resolve(new RedisLookup(parseRedisLocator(locator, ""), ctx.value ?? "string")),
  openChangeStore: (locator) => Promise.resolve(new RedisChangeStore(parseRedisLocator(locator))),
};
