/**
 * Connecting to NATS with the NATS.js v3 packages (`@nats-io/transport-node`, `@nats-io/jetstream`,
 * `@nats-io/kv`), imported only here and only when a NATS locator is opened.
 *
 * @module
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { type NatsLocation, redactSecrets } from "./locator.ts";
import { importPackage } from "../../adapter_kit/packages.ts";
import { UnreachableError } from "../../model/errors.ts";

/** Longest wait for a connection (TCP, the server's INFO, CONNECT). */
export const CONNECT_TIMEOUT_MS = 5000;

/** The NATS.js modules, loaded on first use. */
export interface NatsModules {
  jetstream: typeof import("@nats-io/jetstream");
  kv: typeof import("@nats-io/kv");
}

/** A connection and the modules to use with it. */
export interface NatsSession {
  nc: NatsConnection;
  modules: NatsModules;
}

/**
 * Connects to `location`. A refused login throws `fail(message)`; a server that cannot be
 * reached or does not answer as NATS throws {@linkcode UnreachableError} (exit 4); both with the
 * credentials redacted.
 */
export async function connectNats(
  location: NatsLocation,
  fail: (message: string) => Error,
): Promise<NatsSession> {
  const [transport, jetstream, kv] = await Promise.all([
    importPackage<typeof import("@nats-io/transport-node")>("@nats-io/transport-node"),
    importPackage<typeof import("@nats-io/jetstream")>("@nats-io/jetstream"),
    importPackage<typeof import("@nats-io/kv")>("@nats-io/kv"),
  ]);
  try {
    const nc = await transport.connect({
      servers: location.server,
      user: location.user,
      pass: location.pass,
      token: location.token,
      timeout: CONNECT_TIMEOUT_MS,
      maxReconnectAttempts: 0,
      name: "dsync",
    });
    return { nc, modules: { jetstream, kv } };
  } catch (error) {
    const why = natsMessage(error, location);
    // The server refused the login: the caller's error. Anything else (refused, no answer, not
    // a NATS server on the port) is a store that cannot be reached: exit 4, like every store.
    if (/authori[sz]ation|authentication|permission/i.test(why)) {
      throw fail(`${location.origin}: cannot connect: ${why}`);
    }
    const port = location.server.replace(/^.*:/, "");
    const hint = /timeout/i.test(why)
      ? `no answer as NATS within ${
        CONNECT_TIMEOUT_MS / 1000
      } s (is a NATS server listening on port ${port}?)`
      : `${why} (is the server running?)`;
    throw new UnreachableError(`${location.origin}: cannot connect: ${hint}`);
  }
}

/** An error's message (and its cause's), with the locator's secrets redacted. */
export function natsMessage(error: unknown, location: NatsLocation): string {
  const e = error as Error & { cause?: Error };
  const text = e?.message ?? String(error);
  const cause = e?.cause?.message && !text.includes(e.cause.message) ? `: ${e.cause.message}` : "";
  return redactSecrets(text + cause, location.secrets);
}
