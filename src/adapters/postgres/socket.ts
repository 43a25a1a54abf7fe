/**
 * The TCP (or Unix) socket dsync hands to postgres.js, guarded so that the wrong server, a black
 * hole or a frozen server ends the run instead of hanging it:
 *
 * - the connect itself is bounded (`--connect-timeout`), with the cause and `host:port` named;
 * - the server's first byte must be one a PostgreSQL server sends at start-up (an HTTP server on
 *   the port is refused at once, quoting what it answered, instead of postgres.js reconnecting
 *   to it forever);
 * - while dsync waits on the server ({@linkcode Watchdog.guard}), a socket silent for longer
 *   than the watchdog's bound is closed: a server that stops answering mid-run (SIGSTOP, a lost
 *   network) cannot enforce its own `statement_timeout`.
 *
 * @example
 * ```ts ignore
 * const watchdog = new Watchdog(65_000);
 * const sql = postgres(url, { socket: guardedSocket(10_000, watchdog) });
 * await watchdog.guard(() => sql`select 1`);
 * ```
 * @module
 */
import net from "node:net";

import { causeOf, coded, NO_ANSWER, quoteAnswer } from "../../adapter_kit/server_probe.ts";

export { NO_ANSWER };
/** Code of the error raised when something other than PostgreSQL answers on the port. */
export const NOT_POSTGRES = "DSYNC_NOT_POSTGRES";

/**
 * First bytes a PostgreSQL server sends: `S`/`N` (SSL answer), `R` (authentication), `E` (an
 * error, e.g. too many connections), `v` (protocol negotiation), `G` (GSS answer).
 */
const FIRST_BYTES = new Set([..."SNREvG"].map((c) => c.charCodeAt(0)));

/**
 * Bounds the time dsync waits on the server: while a {@linkcode Watchdog.guard}ed call runs, a
 * socket with no traffic for `ms` milliseconds is destroyed with a {@linkcode NO_ANSWER} error.
 * Silence while dsync itself is busy elsewhere (reading the source) is not counted.
 */
export class Watchdog {
  #busy = 0;
  /**
   * The error the watchdog destroyed a socket with, if it did: inside a transaction postgres.js
   * reports the destroyed socket as a lost connection, and this says why it was lost.
   */
  fired: Error | undefined;
  constructor(readonly ms: number) {}

  /** Watches `socket` from now on. */
  attach(socket: net.Socket, where: string): void {
    if (this.ms <= 0) return;
    socket.setTimeout(this.ms);
    socket.on("timeout", () => {
      if (this.#busy === 0) return;
      this.fired = coded(
        `no answer from ${where} for ${this.ms / 1000} s (server frozen or network lost)`,
        NO_ANSWER,
      );
      socket.destroy(this.fired);
    });
  }

  /** Runs `wait`, counting the socket's silence meanwhile. */
  async guard<T>(wait: () => Promise<T>): Promise<T> {
    this.#busy++;
    try {
      return await wait();
    } finally {
      this.#busy--;
    }
  }
}

/** The options postgres.js passes to its `socket` function (the parts used here). */
interface SocketOptions {
  host: string[];
  port: number[];
  path?: string | false;
}

/**
 * A postgres.js `socket` option: connects within `connectMs` (0: unbounded, as libpq's
 * `connect_timeout=0`), checks the server's first byte, and attaches `watchdog`.
 */
export function guardedSocket(
  connectMs: number,
  watchdog: Watchdog,
): (options: SocketOptions) => Promise<net.Socket> {
  return (options) =>
    new Promise((resolve, reject) => {
      const path = options.path || undefined;
      const where = path ?? `${options.host[0]}:${options.port[0]}`;
      const socket = path ? net.connect(path) : net.connect(options.port[0], options.host[0]);
      const timer = connectMs > 0
        ? setTimeout(() => {
          socket.destroy();
          reject(
            coded(`cannot connect to ${where}: no answer within ${connectMs / 1000} s`, NO_ANSWER),
          );
        }, connectMs)
        : undefined;
      socket.once("error", (error: Error & { code?: string }) => {
        clearTimeout(timer);
        reject(coded(`cannot connect to ${where}: ${causeOf(error)}`, error.code ?? "ECONNECT"));
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        // Nagle's algorithm held back the small message that ends each COPY until the server's
        // delayed ACK (≈ 40 ms): 244 COPYs of 4,096 rows took 14–17 s against 2–6 s for one.
        if (!path) socket.setNoDelay(true);
        checkFirstByte(socket, where);
        watchdog.attach(socket, where);
        resolve(socket);
      });
    });
}

/**
 * Destroys `socket` with a {@linkcode NOT_POSTGRES} error when the first data it receives is not
 * a PostgreSQL server's; the data never reaches postgres.js.
 */
function checkFirstByte(socket: net.Socket, where: string): void {
  const emit = socket.emit as (
    this: net.Socket,
    event: string | symbol,
    ...args: unknown[]
  ) => boolean;
  socket.emit = function (this: net.Socket, event: string | symbol, ...args: unknown[]) {
    if (event !== "data") return emit.call(this, event, ...args);
    socket.emit = emit as typeof socket.emit;
    const chunk = args[0] as Uint8Array;
    if (chunk.length && !FIRST_BYTES.has(chunk[0])) {
      socket.destroy(
        coded(
          `${where} is not a PostgreSQL server: it answered ${quoteAnswer(chunk)}`,
          NOT_POSTGRES,
        ),
      );
      return true;
    }
    return emit.call(this, event, ...args);
  } as typeof socket.emit;
}
