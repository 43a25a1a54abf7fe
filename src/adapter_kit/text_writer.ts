/**
 * One buffered text writer for everything dsync writes in bulk (change sets, tables, SQL, file
 * rewrites, COPY data): text is gathered into chunks of about `chunkSize` characters and encoded
 * once per chunk, since a write per line costs more than the text itself.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { TextWriter } from "./text_writer.ts";
 *
 * const chunks: string[] = [];
 * const writer = new TextWriter((bytes) => {
 *   chunks.push(new TextDecoder().decode(bytes));
 * }, 4);
 * await writer.write("ab");
 * await writer.write("cde");
 * await writer.write("f");
 * await writer.flush();
 * deepStrictEqual(chunks, ["abcde", "f"]);
 * ```
 * @module
 */

/** Where the bytes go: a stream writer's `write`, a file's write-all, a COPY stream. */
export type ByteSink = (bytes: Uint8Array) => Promise<unknown> | unknown;

/** Buffers text and hands it to a {@linkcode ByteSink} in encoded chunks. */
export class TextWriter {
  #chunk = "";
  readonly #encoder = new TextEncoder();

  /** `chunkSize` is in UTF-16 code units; 64 Ki by default. */
  constructor(readonly sink: ByteSink, readonly chunkSize = 1 << 16) {}

  /** Adds text; writes the chunk out once it has grown past `chunkSize`. */
  async write(text: string): Promise<void> {
    this.#chunk += text;
    if (this.#chunk.length >= this.chunkSize) await this.flush();
  }

  /** Writes out what is buffered (nothing when empty). */
  async flush(): Promise<void> {
    if (this.#chunk === "") return;
    const text = this.#chunk;
    this.#chunk = "";
    await this.sink(this.#encoder.encode(text));
  }
}

/** A writer into a stream writer (stdout, a file's writable). */
export function streamTextWriter(out: WritableStreamDefaultWriter<Uint8Array>): TextWriter {
  return new TextWriter((bytes) => out.write(bytes));
}

/** A writer into an open file, each chunk written whole (`write` may take only part of it). */
export function fileTextWriter(file: Deno.FsFile, chunkSize?: number): TextWriter {
  return new TextWriter(async (bytes) => {
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
  }, chunkSize);
}
