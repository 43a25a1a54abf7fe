/**
 * Opening an ioredis client on a {@linkcode RedisLocation}: connected and ready within a bounded
 * time, or one line naming the redacted locator and why. ioredis's own `connectTimeout` covers
 * only the TCP connect: a server that accepts the connection and never answers (or a service
 * that is not Redis) would leave the ready check waiting forever, so the whole handshake is
 * timed here.
 *
 * @module
 */
import type { Redis as RedisClient } from "ioredis";
import { importPackage } from "../../adapter_kit/packages.ts";
import type { RedisLocation } from "./locator.ts";
import { UnreachableError } from "../../model/errors.ts";
import { DEFAULT_CONNECT_SECONDS } from "../../adapter_kit/server_probe.ts";

/**
 * Opens a client on `location`, connected. A refused login (or another refusal by Redis) throws
 * `fail(message)`; a server that cannot be reached, does not answer in time or is not Redis
 * throws {@linkcode UnreachableError} (exit 4). Both name the redacted locator.
 */
export async function connectRedis(
  location: RedisLocation,
  fail: (message: string) => Error,
): Promise<RedisClient> {
  // The whole handshake (TCP, AUTH, SELECT, ready check) within --connect-timeout; 0: no bound.
  const seconds = location.connectSeconds ?? DEFAULT_CONNECT_SECONDS;
  const timeoutMs = seconds > 0 ? seconds * 1000 : 2 ** 31 - 1;
  const { Redis } = await importPackage<typeof import("ioredis")>("ioredis");
  const client = new Redis({
    host: location.host,
    port: location.port,
    db: location.db,
    username: location.username,
    password: location.password,
    tls: location.tls ? {} : undefined,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // The causes of a failed connect arrive as events; connect() itself only says "closed".
  const causes: unknown[] = [];
  client.on("error", (error) => causes.push(error));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  let problem: { text: string; answered: boolean } | undefined;
  try {
    const outcome = await Promise.race([client.connect(), timedOut]);
    if (outcome === "timeout") {
      problem = {
        text: `no answer within ${
          timeoutMs / 1000
        } s (is a Redis server listening on port ${location.port}?)`,
        answered: false,
      };
    }
  } catch (error) {
    problem = connectProblem(location, causes, error);
  } finally {
    clearTimeout(timer);
  }
  if (problem !== undefined) {
    client.disconnect();
    const message =
      `${location.label}: cannot connect to ${location.host}:${location.port}: ${problem.text}`;
    throw problem.answered ? fail(message) : new UnreachableError(message);
  }
  return client;
}

/**
 * Why a connect failed, in one line, and whether Redis itself answered (a refused login: the
 * caller's error) or could not be reached (exit 4 whatever the role, like every store).
 */
function connectProblem(
  location: RedisLocation,
  causes: unknown[],
  error: unknown,
): { text: string; answered: boolean } {
  const messages = [...causes, error].map((e) => redact(location, e));
  const port = location.port;
  // A protocol mismatch first: it explains the errors that follow it.
  if (messages.some((m) => /Unknown RESP type|Protocol error/i.test(m))) {
    return {
      text: `the server on port ${port} does not answer as Redis (another service?)`,
      answered: false,
    };
  }
  const why = messages[0];
  if (/^(WRONGPASS|NOAUTH|NOPERM|ERR)\b/.test(why)) return { text: why, answered: true };
  // Accepted, then dropped before any reply: what a service that is not Redis does too.
  if (/EPIPE|ECONNRESET/.test(why)) {
    return {
      text: `the server on port ${port} closed the connection (is it a Redis server?)`,
      answered: false,
    };
  }
  if (/ECONNREFUSED/.test(why)) {
    return { text: "connection refused (nothing listens there)", answered: false };
  }
  if (/ENOTFOUND|EAI_AGAIN/.test(why)) {
    return { text: "unknown host (DNS lookup failed)", answered: false };
  }
  return { text: `${why} (is the server running?)`, answered: false };
}

/** An error's message with the password (if any) replaced by `***`. */
export function redact(location: RedisLocation, error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  return location.password ? message.replaceAll(location.password, "***") : message;
}
