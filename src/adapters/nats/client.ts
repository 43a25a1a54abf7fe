/**
 * Connecting to NATS with the NATS.js v3 packages (`@nats-io/transport-node`, `@nats-io/jetstream`,
 * `@nats-io/kv`), imported only here and only when a NATS locator is opened.
 *
 * @module
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { type NatsLocation, redactSecrets } from "./locator.ts";
import { importPackage } from "../../adapter_kit/packages.ts";
import { DEFAULT_CONNECT_SECONDS, probeOrFail } from "../../adapter_kit/server_probe.ts";
import { UnreachableError } from "../../model/errors.ts";

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
 * Connects to `location`, or throws: a server that cannot be reached, stays silent or is not
 * NATS is an {@linkcode UnreachableError} (exit 4) naming `host:port`; a refused login goes
 * through `fail`, with the credentials redacted.
 */
export async function connectNats(
  location: NatsLocation,
  fail: (message: string) => Error,
): Promise<NatsSession> {
  const seconds = location.connectSeconds ?? DEFAULT_CONNECT_SECONDS;
  const colon = location.server.lastIndexOf(":");
  // NATS.js reports a silent or wrong server as a bare "timeout"; the probe says what is there.
  // The server's INFO line comes first, in clear text even before a TLS upgrade.
  await probeOrFail(
    {
      host: location.server.slice(0, colon).replace(/^\[(.*)\]$/, "$1"),
      port: Number(location.server.slice(colon + 1)),
      seconds,
      server: "NATS",
      accepts: (first) => new TextDecoder().decode(first.subarray(0, 5)) === "INFO ",
    },
    location.origin,
    UNREACHABLE_HINT,
  );
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
      // NATS.js has no "no bound".
      timeout: (seconds || 24 * 3600) * 1000,
      maxReconnectAttempts: 0,
      name: "dsync",
    });
    return { nc, modules: { jetstream, kv } };
  } catch (error) {
    const why = natsMessage(error, location);
    if (/authori[sz]ation|authentication|permission/i.test(why)) {
      throw fail(`${location.origin}: cannot connect: ${why}`);
    }
    throw new UnreachableError(
      `${location.origin}: cannot connect to ${location.server}: ${why}`,
      UNREACHABLE_HINT,
    );
  }
}

/** The hint for a server that cannot be reached. */
const UNREACHABLE_HINT = "is the server running? check the host and port of the nats:// locator";

/** An error's message (and its cause's), with the locator's secrets redacted. */
export function natsMessage(error: unknown, location: NatsLocation): string {
  const e = error as Error & { cause?: Error };
  const text = e?.message ?? String(error);
  const cause = e?.cause?.message && !text.includes(e.cause.message) ? `: ${e.cause.message}` : "";
  return redactSecrets(text + cause, location.secrets);
}
