/**
 * CSV files (RFC 4180): header row names the fields. An unquoted empty cell is NULL, a quoted
 * empty cell (`""`) is the empty string — the rule of PostgreSQL's COPY … CSV.
 *
 * @example
 * ```sh
 * dsync csv:sqlite users.csv app.db#users --delimiter ';'
 * ```
 * @module
 */
import type { WritePlan } from "../../adapter_kit/changes.ts";
import { LOCAL_BATCH_ROWS } from "../../adapter_kit/batches.ts";
import { CsvReader, CsvSyntaxError, splitRecord } from "./reader.ts";
import { InputError, UsageError } from "../../model/errors.ts";
import {
  atomicWrite,
  defaultTargetPath,
  fileExists,
  mergeChanges,
  openText,
} from "../../adapter_kit/files.ts";
import { fileColumns } from "../../adapter_kit/load.ts";
import type { DatasetInfo, Importer, OpenContext, Target } from "../../adapter_kit/importer.ts";
import type { Field, LineBatch, RowBatch } from "../../model/types.ts";
import { convertValue, stableStringify } from "../../model/values.ts";

/** Options of the CSV adapter. */
export interface CsvOptions {
  /** Field delimiter, one character. Default `,`. */
  delimiter?: string;
  /** Text encoding of the file. Default `utf-8`. */
  encoding?: string;
}

/** Delimiters a one-field header may betray, with how to name them to `--delimiter`. */
const OTHER_DELIMITERS = [
  { char: ";", name: "semicolon", flag: "';'" },
  { char: "\t", name: "tab", flag: "$'\\t'" },
  { char: "|", name: "pipe", flag: "'|'" },
];

/** A CSV file, or `-` (standard input as a source, standard output as a target). */
export class CsvFile implements Target {
  readonly label: string;
  /** A file can be read again from the start; standard input cannot. */
  readonly rereadable: boolean;
  #header: string[] | null | undefined;
  /** A one-field header that looks split by another delimiter: the hint for a missing field. */
  #fieldsHint: string | undefined;
  readonly #delimiter: string;

  constructor(
    readonly path: string,
    readonly role: "source" | "target",
    readonly options: CsvOptions = {},
  ) {
    this.label = path !== "-" ? path : role === "source" ? "stdin.csv" : "stdout.csv";
    this.rereadable = path !== "-";
    this.#delimiter = options.delimiter ?? ",";
    if ([...this.#delimiter].length !== 1 || /["\r\n]/.test(this.#delimiter)) {
      throw new UsageError(
        `--delimiter ${
          JSON.stringify(this.#delimiter)
        }: must be one character, not a quote or newline`,
      );
    }
  }

  async describe(): Promise<DatasetInfo> {
    if (this.#header === undefined) {
      this.#header = null;
      const exists = this.role === "source" || (this.path !== "-" && await fileExists(this.path));
      if (exists) {
        for await (const batch of this.#parse(1)) void batch;
      }
    }
    const fields: Field[] = (this.#header ?? []).map((name) => ({ name, type: "auto" }));
    return {
      exists: this.#header !== null,
      fields,
      primaryKey: [],
      typed: false,
      textual: true,
      fieldsHint: this.#fieldsHint,
    };
  }

  read(batchSize: number): AsyncIterable<RowBatch> {
    return this.#parse(Math.min(batchSize, LOCAL_BATCH_ROWS), rowBatcher());
  }

  readLines(keyFields: number[], batchSize: number): AsyncIterable<LineBatch> {
    return this.#parse(
      Math.min(batchSize, LOCAL_BATCH_ROWS),
      lineBatcher(keyFields, this.#delimiter),
    );
  }

  /**
   * The header (checked), then batches of exactly `batchSize` records as `batcher` takes them;
   * with no batcher, the header alone.
   */
  async *#parse<B>(batchSize: number, batcher?: Batcher<B>): AsyncGenerator<B> {
    const text = await openText(this.path, this.options.encoding);
    const chunks = text.values();
    const reader = new CsvReader({ delimiter: this.#delimiter });
    const header: (string | null)[][] = [];
    const headerLine: number[] = [];
    let ended = false;
    try {
      for (;;) {
        if (!header.length) {
          reader.take(header, headerLine, 1);
          if (header.length) {
            this.#checkHeader(header[0], headerLine[0]);
            if (!batcher) return;
            continue;
          }
          if (ended) {
            if (this.role === "source") {
              throw new InputError(
                `${this.label}: empty file: no header`,
                "a CSV source starts with a header row naming the fields",
              );
            }
            return;
          }
        } else {
          batcher!.take(reader, batchSize - batcher!.count);
          if (batcher!.count >= batchSize) {
            yield batcher!.flush();
            continue;
          }
          if (ended) break;
        }
        let next: IteratorResult<string>;
        try {
          next = await chunks.next();
        } catch (error) {
          if (!(error instanceof TypeError)) throw error;
          throw new InputError(
            `${this.label}: not valid ${this.options.encoding ?? "utf-8"} text (${error.message})`,
            "name the file's encoding with --encoding",
          );
        }
        if (next.done) {
          reader.finish();
          ended = true;
        } else reader.feed(next.value);
      }
    } catch (error) {
      if (!(error instanceof CsvSyntaxError)) throw error;
      throw new InputError(
        `${this.label}:${error.line}: malformed CSV: ${error.reason}`,
        error.hint,
      );
    } finally {
      if (!ended) await chunks.return?.();
    }
    if (batcher!.count) yield batcher!.flush();
  }

  #checkHeader(record: (string | null)[], line: number): void {
    const seen = new Map<string, number>();
    record.forEach((name, i) => {
      if (name === null || name.trim() === "") {
        throw new InputError(`${this.label}:${line}: header column ${i + 1} has no name`);
      }
      if (seen.has(name)) {
        throw new InputError(
          `${this.label}:${line}: header names '${name}' twice (columns ${
            seen.get(name)! + 1
          } and ${i + 1})`,
        );
      }
      seen.set(name, i);
    });
    this.#header = record as string[];
    if (record.length === 1) this.#hintDelimiter(record[0]!, line);
  }

  /**
   * A one-field header holding another common delimiter: the file is probably split by it. Said
   * in the error of a field that is then missing (the key, as a rule), as its hint.
   */
  #hintDelimiter(name: string, line: number): void {
    const other = OTHER_DELIMITERS.find((d) => d.char !== this.#delimiter && name.includes(d.char));
    if (!other) return;
    this.#fieldsHint = `${this.label}:${line}: the header is one field, ${JSON.stringify(name)}; ` +
      `if the file is ${other.name}-delimited, use --delimiter ${other.flag}`;
  }

  async apply(plan: WritePlan): Promise<void> {
    const info = await this.describe();
    const columns = info.exists
      ? fileColumns(this.#header!, plan.fields)
      : plan.fields.map((f) => f.name);
    const existing = info.exists ? this.read(5000) : null;
    const d = this.#delimiter;
    const needsQuotes = new RegExp(`["\\r\\n${d.replace(/[\\\]^-]/g, "\\$&")}]|^\\s|\\s$`);
    const cell = (value: unknown): string => {
      if (value === null || value === undefined) return "";
      const text = typeof value === "string" ? value : convertValue(value, "text") as string;
      if (text === "") return '""';
      return needsQuotes.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
    };
    // A `json` value is written as JSON text (`"abc"` with its quotes), as SQL stores keep it:
    // a bare `abc` would not read back as JSON, and `123` would be the number.
    const json = plan.fields.map((f) => f.type === "json");
    const encode = (value: unknown, i: number) =>
      json[i] && value !== null && value !== undefined ? stableStringify(value) : value;
    await atomicWrite(this.path, async (write) => {
      await write(columns.map(cell).join(d) + "\n");
      for await (const row of mergeChanges(plan, columns, existing, encode)) {
        await write(row.map(cell).join(d) + "\n");
      }
    });
  }

  /** `--add-columns`: the new fields are written by {@linkcode apply}'s rewrite. */
  addColumns(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Collects the records of one batch from a {@linkcode CsvReader}. */
interface Batcher<B> {
  /** Records taken since the last flush. */
  readonly count: number;
  /** Takes up to `max` more records. */
  take(reader: CsvReader, max: number): void;
  /** The batch so far; starts the next. */
  flush(): B;
}

function rowBatcher(): Batcher<RowBatch> {
  let rows: (string | null)[][] = [];
  let positions: number[] = [];
  return {
    get count() {
      return rows.length;
    },
    take: (reader, max) => void reader.take(rows, positions, max),
    flush() {
      const batch = { rows, positions };
      rows = [];
      positions = [];
      return batch;
    },
  };
}

function lineBatcher(keyFields: number[], delimiter: string): Batcher<LineBatch> {
  let texts: string[] = [];
  let keys: (string | null)[] = [];
  let positions: number[] = [];
  return {
    get count() {
      return texts.length;
    },
    take: (reader, max) => void reader.takeLines(texts, keys, positions, keyFields, max),
    flush() {
      const batch: LineBatch = {
        texts,
        keys,
        positions,
        row: (i) => splitRecord(batch.texts[i], delimiter),
      };
      texts = [];
      keys = [];
      positions = [];
      return batch;
    },
  };
}

function csvOptions(ctx: OpenContext): CsvOptions {
  return {
    delimiter: ctx.options.delimiter as string | undefined,
    encoding: ctx.options.encoding as string | undefined,
  };
}

/** The `csv` adapter. */
export const csvImporter: Importer = {
  name: "csv",
  description: "CSV file with a header row (RFC 4180)",
  locator: "FILE.csv, or - for stdin (source) / stdout (target)",
  transactional: true,
  options: [
    { flags: "--delimiter <char>", description: "CSV field delimiter", defaultValue: "," },
    { flags: "--encoding <name>", description: "file text encoding", defaultValue: "utf-8" },
  ],
  openSource: (locator, ctx) => Promise.resolve(new CsvFile(locator, "source", csvOptions(ctx))),
  openTarget: (locator, ctx) =>
    Promise.resolve(
      new CsvFile(locator ?? defaultTargetPath(ctx.sourceName, "csv"), "target", csvOptions(ctx)),
    ),
};
