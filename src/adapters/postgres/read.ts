/**
 * A PostgreSQL query's rows through a cursor, batch by batch, each wait on the server guarded by
 * the connection's watchdog.
 *
 * @module
 */
import type { Sql } from "postgres";
import { InputError } from "../../model/errors.ts";
import type { RowBatch } from "../../model/types.ts";
import { parseDecimal } from "../../model/values.ts";
import { OID, type PgColumn } from "./catalog.ts";
import { failureOf, type OpenedSql } from "./connection.ts";

/** The columns a query returns and where its failures are reported. */
export interface CursorOptions {
  /** The query's columns, in order. */
  columns: PgColumn[];
  batchSize: number;
  /** The dataset's label, for messages. */
  label: string;
  /** The open connection (its watchdog). */
  opened: OpenedSql;
}

/** The rows of `text` (its `$n` bound to `params`), `batchSize` at a time. */
export async function* cursorRows(
  sql: Sql,
  text: string,
  params: unknown[],
  { columns, batchSize, label, opened }: CursorOptions,
): AsyncGenerator<RowBatch> {
  let position = 0;
  // numeric comes as PostgreSQL prints it (`9.90`): hand over the canonical decimal (`9.9`),
  // so that a target storing decimals as text compares equal to what dsync wrote there.
  const decimals = columns.flatMap((c, i) => c.baseOid === OID.numeric ? [i] : []);
  const cursor = sql.unsafe(text, params as never[]).values().cursor(
    batchSize,
  );
  const batches = cursor[Symbol.asyncIterator]();
  const watchdog = opened.watchdog;
  try {
    for (;;) {
      const next = await watchdog.guard(() => batches.next());
      if (next.done) break;
      const rows = next.value;
      const positions = new Array<number>(rows.length);
      for (let i = 0; i < rows.length; i++) {
        positions[i] = ++position;
        for (const d of decimals) {
          const v = rows[i][d];
          if (typeof v === "string") rows[i][d] = parseDecimal(v) ?? v;
        }
      }
      yield { rows: rows as unknown as unknown[][], positions };
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw failureOf(label, error, opened);
  }
}
