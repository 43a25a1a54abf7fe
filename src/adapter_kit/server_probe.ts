/**
 * A bounded first contact with a database server, before its client library gets the address:
 * the connect is bounded (`--connect-timeout`), the server's first answer must be the protocol
 * expected (an HTTP server on the MySQL port is named as such at once), and every failure is one
 * line naming `host:port` and the cause. Client libraries reconnect, wait for a greeting with no
 * bound of their own, or report a wrong server as a parse error; a probe says what is there.
 *
 * @example
 * ```ts ignore
 * await probeServer({ host: "127.0.0.1", port: 6379, seconds: 10, server: "Redis",
 *   hello: "PING\r\n", accepts: (first) => first[0] === 0x2b || first[0] === 0x2d });
 * ```
 * @module
 */
import net from "node:net";
import type { AdapterOption, OpenOptions } from "./importer.ts";
import { secondsOption } from "./option_values.ts";
import { UnreachableError } from "../model/errors.ts";

/** Seconds to connect when nothing says otherwise. */
export const DEFAULT_CONNECT_SECONDS = 10;

/** `--connect-timeout`, one object for every adapter with a server, so a pair lists it once. */
export const CONNECT_TIMEOUT_OPTION: AdapterOption = {
  flags: "--connect-timeout <seconds>",
  description:
    "seconds to connect to a database server and get its first answer (default 10; PostgreSQL: connect_timeout in the URL, else PGCONNECT_TIMEOUT, else 10; 0: wait forever)",
  parse: secondsOption(true),
};

/** `--connect-timeout` of `options` in seconds, else undefined. */
export function connectSecondsOf(options: OpenOptions): number | undefined {
  const value = options.connectTimeout;
  return value === undefined ? undefined : typeof value === "number" ? value : Number(value);
}

/** Code of a probe's error when something else answers on the port. */
export const WRONG_SERVER = "DSYNC_WRONG_SERVER";
/** Code of a probe's error when nothing answers within the bound. */
export const NO_ANSWER = "DSYNC_NO_ANSWER";

/** An `Error` with a `code`, as the socket's own errors have. */
export function coded(message: string, code: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

const CAUSES: Record<string, string> = {
  ECONNREFUSED: "connection refused (nothing listens there)",
  ENOTFOUND: "unknown host (DNS lookup failed)",
  EAI_AGAIN: "DNS lookup failed (temporary)",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "timed out",
  ECONNRESET: "connection reset",
  ENOENT: "no such socket file",
};

/** A socket error in words, its code kept: `connection refused (ECONNREFUSED)`. */
export function causeOf(error: Error & { code?: string }): string {
  const known = error.code ? CAUSES[error.code] : undefined;
  return known ? `${known} (${error.code})` : error.message;
}

/** What a server answered, printable and short, for a message. */
export function quoteAnswer(chunk: Uint8Array): string {
  const text = new TextDecoder().decode(chunk.subarray(0, 60)).split(/\r?\n/)[0];
  return JSON.stringify(text.replace(/[^\x20-\x7e]/g, "?"));
}

/** What to probe, and how to recognise the server. */
export interface ProbeSpec {
  host: string;
  port: number;
  /** The bound in seconds on connecting and on the first answer (0: none). */
  seconds: number;
  /** The server's name in messages: `MySQL`, `Redis`, `NATS`. */
  server: string;
  /** What to send first when the client speaks first (Redis); else the server's greeting is awaited. */
  hello?: string;
  /** Whether the first bytes the server sent are its protocol's. */
  accepts(first: Uint8Array): boolean;
}

/**
 * Connects to `spec.host:spec.port`, sends `hello` and checks the first answer, then closes the
 * connection. Throws a coded error whose message is one line: `cannot connect to H:P: CAUSE`,
 * `cannot connect to H:P: no answer within N s` (or `connected, but no SERVER greeting within N s
 * ...`: {@linkcode NO_ANSWER}), or `H:P is not a SERVER server: it answered "..."`
 * ({@linkcode WRONG_SERVER}).
 */
export function probeServer(spec: ProbeSpec): Promise<void> {
  const where = `${spec.host}:${spec.port}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect(spec.port, spec.host);
    const end = (error?: Error) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on("error", () => {});
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    let connected = false;
    const silence = () =>
      connected
        ? `connected, but no ${spec.server} ${
          spec.hello ? "answer" : "greeting"
        } within ${spec.seconds} s (another service on that port, or a frozen server)`
        : `no answer within ${spec.seconds} s`;
    const timer = spec.seconds > 0
      ? setTimeout(
        () => end(coded(`cannot connect to ${where}: ${silence()}`, NO_ANSWER)),
        spec.seconds * 1000,
      )
      : undefined;
    socket.once(
      "error",
      (error: Error & { code?: string }) =>
        end(coded(`cannot connect to ${where}: ${causeOf(error)}`, error.code ?? "ECONNECT")),
    );
    socket.once("connect", () => {
      connected = true;
      if (spec.hello) socket.write(spec.hello);
    });
    socket.once(
      "end",
      () =>
        end(coded(`cannot connect to ${where}: the server closed the connection`, "ECONNRESET")),
    );
    socket.once("data", (chunk: Uint8Array) =>
      end(
        spec.accepts(chunk) ? undefined : coded(
          `${where} is not a ${spec.server} server: it answered ${quoteAnswer(chunk)}`,
          WRONG_SERVER,
        ),
      ));
  });
}

/** The hint for another service answering on the port. */
export const WRONG_SERVER_HINT = "check the host and port: another service answers there";

/**
 * {@linkcode probeServer}, its failure as an {@linkcode UnreachableError} (exit 4) `label:
 * MESSAGE`, with `hint` (or, for a wrong server, {@linkcode WRONG_SERVER_HINT}).
 */
export async function probeOrFail(spec: ProbeSpec, label: string, hint: string): Promise<void> {
  try {
    await probeServer(spec);
  } catch (error) {
    const e = error as Error & { code?: string };
    throw new UnreachableError(
      `${label}: ${e.message}`,
      e.code === WRONG_SERVER ? WRONG_SERVER_HINT : hint,
    );
  }
}
