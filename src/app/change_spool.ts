/**
 * The printed change set of a streamed first load. The creates go into the target's transaction
 * as they are read (engine/stream_creates.ts), so the plan never holds them; this keeps them as
 * the text the change set prints, in a temporary file, until the plan is complete and the change
 * set goes out — still before the commit, as for a held plan. Cleared when the stream is undone
 * (a widened type), so what is printed is the plan's, byte for byte.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { ChangeSpool } from "./change_spool.ts";
 *
 * const spool = new ChangeSpool("ndjson");
 * const header = {
 *   fields: [{ name: "id", type: "integer" as const }],
 *   keyIndexes: [0],
 *   createTarget: true,
 *   targetKey: (row: unknown[]) => String(row[0]),
 *   targetIndexes: [0],
 * };
 * await spool.add([{ op: "create", key: [1], keyText: "1", after: [1] }], header);
 * const chunks: Uint8Array[] = [];
 * const sink = new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(chunk) });
 * const writer = sink.getWriter();
 * await spool.copyTo(writer);
 * spool.close();
 * strictEqual(
 *   new TextDecoder().decode(chunks[0]),
 *   '{"op":"create","key":{"id":1},"after":{"id":1}}\n',
 * );
 * ```
 * @module
 */
import { changeObject, type CreateChange, type WritePlan } from "../adapter_kit/changes.ts";
import { fileTextWriter, type TextWriter } from "../adapter_kit/text_writer.ts";
import { stringifyJsonExact } from "../model/values.ts";
import type { PlanHeader, StreamRecord } from "../engine/stream_creates.ts";

/** The change-set formats whose creates are lines of JSON, in order. */
export type SpooledFormat = "ndjson" | "json";

/**
 * A streamed load's creates as change-set text in a temporary file, opened at the first create
 * and unlinked at once (nothing is left behind however the run ends).
 */
export class ChangeSpool implements StreamRecord {
  #file: Deno.FsFile | undefined;
  #writer: TextWriter | undefined;
  #count = 0;

  constructor(readonly format: SpooledFormat) {}

  /** Creates recorded and not cleared. */
  get count(): number {
    return this.#count;
  }

  async add(creates: readonly CreateChange[], header: PlanHeader): Promise<void> {
    const writer = this.#writer ?? await this.#open();
    const plan: WritePlan = { ...header, creates: [], updates: [], deletes: [] };
    for (const change of creates) {
      await writer.write(changeLine(changeObject(change, plan), this.format, this.#count++));
    }
  }

  async clear(): Promise<void> {
    this.#count = 0;
    if (!this.#file) return;
    await this.#writer!.flush();
    await this.#file.truncate(0);
    await this.#file.seek(0, Deno.SeekMode.Start);
  }

  /** Writes the recorded text to `out`. */
  async copyTo(out: WritableStreamDefaultWriter<Uint8Array>): Promise<void> {
    if (!this.#file) return;
    await this.#writer!.flush();
    await this.#file.seek(0, Deno.SeekMode.Start);
    const buffer = new Uint8Array(1 << 16);
    for (;;) {
      const read = await this.#file.read(buffer);
      if (read === null) break;
      await out.write(buffer.slice(0, read));
    }
  }

  /** Closes the file (already unlinked). */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
    this.#writer = undefined;
  }

  async #open(): Promise<TextWriter> {
    const path = await Deno.makeTempFile({ prefix: "dsync-changes-" });
    this.#file = await Deno.open(path, { read: true, write: true });
    await Deno.remove(path);
    return this.#writer = fileTextWriter(this.#file);
  }
}

/** The text of the change numbered `index` (from 0) in `format`: a line, or an array element. */
export function changeLine(change: unknown, format: SpooledFormat, index: number): string {
  const line = stringifyJsonExact(change);
  return format === "json" ? (index === 0 ? "\n" : ",\n") + line : line + "\n";
}
