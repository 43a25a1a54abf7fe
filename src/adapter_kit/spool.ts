/**
 * A temporary NDJSON file of entries read from a store that cannot be read twice cheaply (a
 * Redis `SCAN`, a NATS KV listing): written once while the store is read, then streamed as many
 * times as the engine asks, without holding the records in memory. Entries are plain JSON
 * (record values kept as the store's own text), so nothing is lost on the way through.
 *
 * @example
 * ```ts
 * const spool = await Spool.create("dsync-redis-");
 * await spool.add({ key: "users:1", value: "{\"id\":1}" });
 * await spool.finish();
 * for await (const entry of spool.entries()) console.log(entry);
 * await spool.remove();
 * ```
 * @module
 */
import { readLines } from "./files.ts";
import { fileTextWriter, type TextWriter } from "./text_writer.ts";

/** Entries on disk, in the order they were added. */
export class Spool {
  #file: Deno.FsFile | undefined;
  #text: TextWriter;
  #count = 0;
  private constructor(readonly path: string, file: Deno.FsFile) {
    this.#file = file;
    this.#text = fileTextWriter(file);
  }

  /** A new empty spool in the temporary directory. */
  static async create(prefix: string): Promise<Spool> {
    const path = await Deno.makeTempFile({ prefix, suffix: ".ndjson" });
    return new Spool(path, await Deno.open(path, { write: true, truncate: true }));
  }

  /** How many entries were added. */
  get count(): number {
    return this.#count;
  }

  /** Appends one JSON-serialisable entry. */
  async add(entry: unknown): Promise<void> {
    await this.#text.write(JSON.stringify(entry) + "\n");
    this.#count++;
  }

  /** Writes what is buffered and closes the file for writing; call before {@linkcode entries}. */
  async finish(): Promise<void> {
    if (this.#file) await this.#text.flush();
    this.#file?.close();
    this.#file = undefined;
  }

  /** Every entry, parsed, in the order added. */
  async *entries(): AsyncGenerator<unknown> {
    if (this.#count === 0) return;
    const file = await Deno.open(this.path);
    for await (
      const [line] of readLines(file.readable.pipeThrough(new TextDecoderStream()), "spool")
    ) {
      if (line !== "") yield JSON.parse(line);
    }
  }

  /** Deletes the file. Safe to call twice. */
  async remove(): Promise<void> {
    try {
      this.#file?.close();
    } catch {
      // already closed
    }
    this.#file = undefined;
    await Deno.remove(this.path).catch(() => {});
  }
}
