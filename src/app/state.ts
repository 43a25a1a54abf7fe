/**
 * Saved watermarks of incremental pipelines, in a small SQLite file (`--state`, default
 * `.dsync/state.db`). A watermark is written only after its run's target write succeeded.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { WatermarkState } from "./state.ts";
 * const dir = await Deno.makeTempDir();
 * const slot = { pipeline: "orders", target: "sqlite:shop.db#orders", column: "updated_at" };
 * const state = new WatermarkState(`${dir}/.dsync/state.db`);
 * strictEqual(state.get(slot), undefined); // the first run
 * state.save(slot, "2024-05-01 10:00:00+00");
 * state.close();
 * const next = new WatermarkState(`${dir}/.dsync/state.db`);
 * strictEqual(next.get(slot), "2024-05-01 10:00:00+00"); // the next run
 * next.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import { openSqlite } from "../adapter_kit/sqlite.ts";
import type { DatabaseSync } from "node:sqlite";
import { dirname } from "node:path";
import { TargetError, UsageError } from "../model/errors.ts";

/** The default watermark state file. */
export const DEFAULT_STATE = ".dsync/state.db";

/** Whose watermark: a pipeline writing one target, by one column. */
export interface WatermarkSlot {
  pipeline: string;
  /** The target's label: a pipeline pointed elsewhere starts over. */
  target: string;
  column: string;
}

/** The watermarks of one state file; the file is created on the first save. */
export class WatermarkState {
  #db: DatabaseSync | undefined;

  constructor(readonly path: string) {}

  #open(create: boolean): DatabaseSync | undefined {
    if (this.#db) return this.#db;
    try {
      if (!create) {
        try {
          Deno.statSync(this.path);
        } catch {
          return undefined;
        }
      } else Deno.mkdirSync(dirname(this.path), { recursive: true });
      const db = openSqlite(this.path);
      db.exec(`CREATE TABLE IF NOT EXISTS watermarks (
        pipeline TEXT NOT NULL, target TEXT NOT NULL, column_name TEXT NOT NULL,
        value TEXT NOT NULL, saved_at TEXT NOT NULL,
        PRIMARY KEY (pipeline, target, column_name))`);
      this.#db = db;
      return db;
    } catch (error) {
      throw new UsageError(`${this.path}: cannot use as state file: ${(error as Error).message}`);
    }
  }

  /**
   * The state file's database, for other state kept beside the watermarks (handlers.ts);
   * undefined when the file does not exist and `create` is false.
   */
  database(create: boolean): DatabaseSync | undefined {
    return this.#open(create);
  }

  /** The saved watermark, or undefined when there is none. */
  get(slot: WatermarkSlot): unknown {
    const row = this.#open(false)?.prepare(
      "SELECT value FROM watermarks WHERE pipeline = ? AND target = ? AND column_name = ?",
    ).get(slot.pipeline, slot.target, slot.column) as { value: string } | undefined;
    if (!row) return undefined;
    const saved = JSON.parse(row.value) as { bigint?: string; value?: unknown };
    return saved.bigint !== undefined ? BigInt(saved.bigint) : saved.value;
  }

  /** Saves `value` as the slot's watermark. */
  save(slot: WatermarkSlot, value: unknown): void {
    const text = JSON.stringify(typeof value === "bigint" ? { bigint: String(value) } : { value });
    try {
      this.#open(true)!.prepare(
        `INSERT INTO watermarks (pipeline, target, column_name, value, saved_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (pipeline, target, column_name)
         DO UPDATE SET value = excluded.value, saved_at = excluded.saved_at`,
      ).run(slot.pipeline, slot.target, slot.column, text, new Date().toISOString());
    } catch (error) {
      throw new TargetError(
        `${this.path}: the target was written but the watermark could not be saved: ${
          (error as Error).message
        }`,
        "the next run reads these rows again; the upserts make that harmless",
      );
    }
  }

  close(): void {
    this.#db?.close();
    this.#db = undefined;
  }
}
