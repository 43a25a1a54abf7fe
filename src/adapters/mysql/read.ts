/**
 * A MySQL query's rows streamed in batches, every value read from the server's text (or bytes)
 * by its column's reader, exactly — never the driver's own parse.
 *
 * @module
 */
import type { Connection as PromiseConnection } from "mysql2/promise";
import type { Connection as CoreConnection } from "mysql2";
import { InputError } from "../../model/errors.ts";
import type { RowBatch } from "../../model/types.ts";
import {
  type MysqlColumn,
  readerFor,
  readsBytes,
  UnreadableValue,
  type ZeroDates,
} from "./values.ts";

/** The columns a query returns and how its rows and failures are reported. */
export interface StreamOptions {
  /** The query's columns, in order. */
  columns: MysqlColumn[];
  zeroDates?: ZeroDates;
  batchSize: number;
  /** The dataset's label, for messages. */
  label: string;
  /** A driver error as one line, secrets removed. */
  message: (error: unknown) => string;
}

/** The rows of `sql` (its `?` bound to `params`), `batchSize` at a time; an unreadable value is an {@linkcode InputError}. */
export async function* streamRows(
  conn: PromiseConnection,
  sql: string,
  params: unknown[],
  { columns, zeroDates, batchSize, label, message }: StreamOptions,
): AsyncGenerator<RowBatch> {
  const readers = columns.map((c) => readerFor(c, zeroDates));
  const binary = columns.map(readsBytes);
  const width = readers.length;
  let column = 0;
  // The promise wrapper has no streams: the callback connection underneath does.
  const core = (conn as unknown as { connection: CoreConnection }).connection;
  const stream = core.query({
    sql,
    rowsAsArray: true,
    // The server's text of every value (its bytes for binary columns), never the driver's
    // parse: the readers above convert them, exactly. mysql2 calls typeCast for every column
    // of every row in order, so a counter knows the column.
    typeCast: (
      field: { buffer(): Uint8Array | null; string(encoding: string): string | null },
    ) => {
      const bytes = binary[column];
      column = column + 1 === width ? 0 : column + 1;
      return bytes ? field.buffer() : field.string("utf8");
    },
  }, params).stream({ highWaterMark: batchSize });
  let rows: unknown[][] = [];
  let positions: number[] = [];
  let position = 0;
  try {
    for await (const raw of stream as AsyncIterable<(string | Uint8Array | null)[]>) {
      position++;
      const row = new Array<unknown>(width);
      for (let i = 0; i < width; i++) {
        const value = raw[i];
        try {
          row[i] = value === null ? null : readers[i](value);
        } catch (error) {
          if (!(error instanceof UnreadableValue)) throw error;
          throw new InputError(
            `${label}: record ${position}: field '${columns[i].name}': ${error.message}`,
          );
        }
      }
      rows.push(row);
      positions.push(position);
      if (rows.length >= batchSize) {
        yield { rows, positions };
        rows = [];
        positions = [];
      }
    }
  } catch (error) {
    stream.destroy();
    if (error instanceof InputError) throw error;
    throw new InputError(`${label}: ${message(error)}`);
  }
  if (rows.length) yield { rows, positions };
}
