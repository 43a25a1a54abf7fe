/**
 * Keeps a write session's transaction busy while dsync is not talking to the server. The target
 * session carries `idle_in_transaction_session_timeout` (`--statement-timeout`), so that a
 * dsync that froze cannot hold the table's lock for ever; but the session is opened before the
 * source is read, and a source slower than the bound (a stalling HTTP API, a slow pipe on stdin)
 * would have the server end the session under a healthy run. A `select 1` every third of the
 * bound, sent only while dsync has nothing else in flight, keeps the server's idle timer from
 * running out; a dsync that stops (SIGSTOP, a hung process) stops sending it, and the server
 * still ends that session in time.
 *
 * @example
 * ```ts ignore
 * const alive = new KeepAlive(tx, 600_000, (wait) => watchdog.guard(wait));
 * const plan = await readSourceAndTarget();      // select 1 every 200 s meanwhile
 * await alive.pause(() => writeChanges(tx, plan)); // none while writing (COPY)
 * await alive.stop();                             // before COMMIT
 * ```
 * @module
 */
import type { TransactionSql } from "postgres";

/** The idle bound's share after which a keep-alive query goes out. */
const SHARE = 1 / 3;

/** Sends `select 1` on `tx` every third of `boundMs` while not paused (see the module). */
export class KeepAlive {
  #timer: ReturnType<typeof setInterval> | undefined;
  #pending: Promise<void> | undefined;
  #paused = 0;

  /** `guard` wraps each wait on the server (the frozen-server watchdog). */
  constructor(
    readonly tx: TransactionSql,
    boundMs: number,
    readonly guard: (wait: () => Promise<unknown>) => Promise<unknown>,
  ) {
    if (boundMs <= 0) return;
    this.#timer = setInterval(() => this.#tick(), Math.max(100, Math.floor(boundMs * SHARE)));
  }

  #tick(): void {
    if (this.#paused > 0 || this.#pending) return;
    // A failure is the transaction's too (postgres.js fails the COMMIT with it, and every later
    // query on a lost connection fails on its own): nothing to report here.
    this.#pending = this.guard(() => this.tx.unsafe("select 1")).then(() => {}, () => {})
      .finally(() => this.#pending = undefined);
  }

  /** Runs `work` (a write, which may hold a COPY open) with no keep-alive query meanwhile. */
  async pause<T>(work: () => Promise<T>): Promise<T> {
    this.#paused++;
    try {
      await this.#pending;
      return await work();
    } finally {
      this.#paused--;
    }
  }

  /** No more queries; waits for the one in flight. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#pending;
  }
}
