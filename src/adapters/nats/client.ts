/**
 * Connecting to NATS with the NATS.js v3 packages (`@nats-io/transport-node`, `@nats-io/jetstream`,
 * `@nats-io/kv`), imported only here and only when a NATS locator is opened.
 *
 * @module
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { type NatsLocation, redactSecrets } from "./locator.ts";
import { importPackage } from "../../adapter_kit/packages.ts";

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

/** Connects to `location` or throws `fail(message)` with the credentials redacted. */
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
      timeout: 5000,
      maxReconnectAttempts: 0,
      name: "dsync",
    });
    return { nc, modules: { jetstream, kv } };
  } catch (error) {
    throw fail(`${location.origin}: cannot connect: ${natsMessage(error, location)}`);
  }
}

/** An error's message (and its cause's), with the locator's secrets redacted. */
export function natsMessage(error: unknown, location: NatsLocation): string {
  const e = error as Error & { cause?: Error };
  const text = e?.message ?? String(error);
  const cause = e?.cause?.message && !text.includes(e.cause.message) ? `: ${e.cause.message}` : "";
  return redactSecrets(text + cause, location.secrets);
}
