/**
 * What the `on_*` handlers remember between runs, in the watermark state file (state.ts):
 * after a commit, the calls still to make (`handler_pending`: written before the first call,
 * removed one by one as they succeed, so a failed or interrupted call is made again on the next
 * run); with `handlers: instead`, the calls made already (`handler_done`: the target is not
 * written, so the next run plans the same change again and skips it).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { WatermarkState } from "../app/state.ts";
 * import { HandlerState } from "./handler_state.ts";
 * const dir = await Deno.makeTempDir();
 * const file = new WatermarkState(`${dir}/state.db`);
 * const state = new HandlerState(file, { pipeline: "users", target: "app#users" });
 * state.addPending([{ id: "a1", handler: "on_create[0]", key: "id=1", job: "{}" }]);
 * deepStrictEqual(state.pending().map((p) => [p.id, p.attempts]), [["a1", 0]]);
 * state.failed("a1", "HTTP 500");
 * deepStrictEqual(state.pending().map((p) => [p.id, p.attempts, p.error]), [["a1", 1, "HTTP 500"]]);
 * state.remove("a1");
 * deepStrictEqual(state.pending(), []);
 * file.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { TargetError } from "../model/errors.ts";
import type { WatermarkState } from "../app/state.ts";

/** Whose handler calls: a pipeline writing one target. */
export interface HandlerSlot {
  pipeline: string;
  target: string;
}

/** One handler call to make. */
export interface HandlerCall {
  /** Stable id: the handler and the change line, hashed. */
  id: string;
  /** The handler's name (`on_create[0]`). */
  handler: string;
  /** The change's key for messages (`id=3`). */
  key: string;
  /** The call's input as JSON (change line and parameters). */
  job: string;
}

/** A pending call, with how often it failed and the last error. */
export interface PendingCall extends HandlerCall {
  attempts: number;
  error?: string;
}

const TABLES = `
  CREATE TABLE IF NOT EXISTS handler_pending (
    pipeline TEXT NOT NULL, target TEXT NOT NULL, id TEXT NOT NULL, handler TEXT NOT NULL,
    change_key TEXT NOT NULL, job TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT, added_at TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (pipeline, target, id));
  CREATE TABLE IF NOT EXISTS handler_done (
    pipeline TEXT NOT NULL, target TEXT NOT NULL, id TEXT NOT NULL, done_at TEXT NOT NULL,
    PRIMARY KEY (pipeline, target, id));`;

/** The handler state of one pipeline and target. */
export class HandlerState {
  #db: DatabaseSync | undefined;

  constructor(readonly file: WatermarkState, readonly slot: HandlerSlot) {}

  #open(): DatabaseSync {
    if (this.#db) return this.#db;
    const db = this.file.database(true)!;
    db.exec(TABLES);
    this.#db = db;
    return db;
  }

  #write<T>(work: (db: DatabaseSync) => T): T {
    try {
      return work(this.#open());
    } catch (error) {
      throw new TargetError(
        `${this.file.path}: cannot save the handlers' state: ${(error as Error).message}`,
      );
    }
  }

  /** Records calls to make, in order; a call recorded already stays as it is. */
  addPending(calls: HandlerCall[]): void {
    if (!calls.length) return;
    this.#write((db) => {
      const { pipeline, target } = this.slot;
      const next = (db.prepare(
        "SELECT coalesce(max(seq), 0) AS seq FROM handler_pending WHERE pipeline = ? AND target = ?",
      ).get(pipeline, target) as { seq: number }).seq;
      const insert = db.prepare(
        `INSERT OR IGNORE INTO handler_pending
         (pipeline, target, id, handler, change_key, job, added_at, seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const now = new Date().toISOString();
      db.exec("BEGIN");
      try {
        calls.forEach((c, i) =>
          insert.run(pipeline, target, c.id, c.handler, c.key, c.job, now, next + i + 1)
        );
        db.exec("COMMIT");
      } catch (error) {
        db.exec("ROLLBACK");
        throw error;
      }
    });
  }

  /** The calls still to make, oldest first. */
  pending(): PendingCall[] {
    const rows = this.#open().prepare(
      `SELECT id, handler, change_key, job, attempts, error FROM handler_pending
       WHERE pipeline = ? AND target = ? ORDER BY seq`,
    ).all(this.slot.pipeline, this.slot.target) as {
      id: string;
      handler: string;
      change_key: string;
      job: string;
      attempts: number;
      error: string | null;
    }[];
    return rows.map((r) => ({
      id: r.id,
      handler: r.handler,
      key: r.change_key,
      job: r.job,
      attempts: r.attempts,
      ...(r.error === null ? {} : { error: r.error }),
    }));
  }

  /** A pending call succeeded (or is dropped). */
  remove(id: string): void {
    this.#write((db) =>
      db.prepare("DELETE FROM handler_pending WHERE pipeline = ? AND target = ? AND id = ?")
        .run(this.slot.pipeline, this.slot.target, id)
    );
  }

  /** A pending call failed again. */
  failed(id: string, error: string): void {
    this.#write((db) =>
      db.prepare(
        `UPDATE handler_pending SET attempts = attempts + 1, error = ?
         WHERE pipeline = ? AND target = ? AND id = ?`,
      ).run(error, this.slot.pipeline, this.slot.target, id)
    );
  }

  /** `handlers: instead`: the ids of the calls made already. */
  done(): Set<string> {
    const rows = this.#open().prepare(
      "SELECT id FROM handler_done WHERE pipeline = ? AND target = ?",
    ).all(this.slot.pipeline, this.slot.target) as { id: string }[];
    return new Set(rows.map((r) => r.id));
  }

  /** `handlers: instead`: a call succeeded. */
  markDone(id: string): void {
    this.#write((db) =>
      db.prepare(
        "INSERT OR IGNORE INTO handler_done (pipeline, target, id, done_at) VALUES (?, ?, ?, ?)",
      ).run(this.slot.pipeline, this.slot.target, id, new Date().toISOString())
    );
  }

  /** `handlers: instead`: forgets calls whose change is no longer planned (`current`: ids planned now). */
  forgetDone(current: Set<string>): void {
    for (const id of this.done()) {
      if (current.has(id)) continue;
      this.#write((db) =>
        db.prepare("DELETE FROM handler_done WHERE pipeline = ? AND target = ? AND id = ?")
          .run(this.slot.pipeline, this.slot.target, id)
      );
    }
  }
}
