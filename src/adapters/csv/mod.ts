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
import { CsvReader, CsvSyntaxError } from "./reader.ts";
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
import type { Field, RowBatch } from "../../model/types.ts";
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
        for await (const batch of this.#parse(1, true)) void batch;
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
    return this.#parse(Math.min(batchSize, LOCAL_BATCH_ROWS), false);
  }

  async *#parse(batchSize: number, headerOnly: boolean): AsyncGenerator<RowBatch> {
    const text = await openText(this.path, this.options.encoding);
    const chunks = text.values();
    const reader = new CsvReader({ delimiter: this.#delimiter });
    // The first record taken is the header, then batches of exactly batchSize rows.
    let rows: (string | null)[][] = [];
    let positions: number[] = [];
    let header = true;
    let ended = false;
    try {
      for (;;) {
        reader.take(rows, positions, header ? 1 : batchSize - rows.length);
        if (header && rows.length) {
          this.#checkHeader(rows[0], positions[0]);
          if (headerOnly) return;
          header = false;
          rows = [];
          positions = [];
        } else if (rows.length >= batchSize) {
          yield { rows, positions };
          rows = [];
          positions = [];
        } else if (ended) {
          break;
        } else {
          let next: IteratorResult<string>;
          try {
            next = await chunks.next();
          } catch (error) {
            if (!(error instanceof TypeError)) throw error;
            throw new InputError(
              `${this.label}: not valid ${
                this.options.encoding ?? "utf-8"
              } text (${error.message})`,
              "name the file's encoding with --encoding",
            );
          }
          if (next.done) {
            reader.finish();
            ended = true;
            if (header) reader.take(rows, positions, 1);
            if (header && !rows.length && this.role === "source") {
              throw new InputError(
                `${this.label}: empty file: no header`,
                "a CSV source starts with a header row naming the fields",
              );
            }
          } else reader.feed(next.value);
        }
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
    if (rows.length) yield { rows, positions };
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
