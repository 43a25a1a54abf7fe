/**
 * Creates through `LOAD DATA LOCAL INFILE` from a stream: the rows go to the server as
 * tab-separated text, 1.7× faster than multi-row prepared INSERTs through mysql2. With LOCAL,
 * MySQL and MariaDB turn what strict mode would refuse into warnings (the row is truncated,
 * zeroed or skipped): so any warning, or fewer rows than sent, makes the caller undo the load
 * and write the rows by INSERT instead, which strict mode stops at the exact record.
 *
 * @example
 * ```ts ignore
 * const sql = loadDataSql("`shop`.`users`", columns);
 * ```
 * @module
 */
import { Buffer } from "node:buffer";
import type { FieldType } from "../../model/types.ts";
import { quoteIdent } from "./dialect.ts";
import { bindValue, type MysqlColumn } from "./values.ts";

const ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  "\t": "\\t",
  "\n": "\\n",
  "\r": "\\r",
  "\u0000": "\\0",
};
// deno-lint-ignore no-control-regex
const NEEDS_ESCAPE = /[\\\t\n\r\u0000]/;
// deno-lint-ignore no-control-regex
const ESCAPED = /[\\\t\n\r\u0000]/g;

/** One value as a field of the load file: `\N` for NULL, bytes as hex (UNHEX on the server). */
export function loadValue(value: unknown, type: FieldType): string {
  const bound = bindValue(value, type);
  if (bound === null) return "\\N";
  if (typeof bound !== "string") return bound.toString("hex");
  return NEEDS_ESCAPE.test(bound) ? bound.replace(ESCAPED, (c) => ESCAPES[c]) : bound;
}

/** The LOAD DATA statement for `columns` of `table` (quoted): bytes and BIT through variables. */
export function loadDataSql(
  table: string,
  names: string[],
  columns: (MysqlColumn | undefined)[],
  types: FieldType[],
): string {
  const targets: string[] = [];
  const sets: string[] = [];
  names.forEach((name, i) => {
    const column = columns[i];
    if (types[i] === "bytes" || column?.type === "bytes") {
      targets.push(`@v${i}`);
      sets.push(`${quoteIdent(name)} = UNHEX(@v${i})`);
    } else if (column?.dataType === "bit") {
      targets.push(`@v${i}`);
      sets.push(`${quoteIdent(name)} = CAST(@v${i} AS UNSIGNED)`);
    } else targets.push(quoteIdent(name));
  });
  return `LOAD DATA LOCAL INFILE 'dsync' INTO TABLE ${table} CHARACTER SET utf8mb4 ` +
    `FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ` +
    `(${targets.join(", ")})${sets.length ? ` SET ${sets.join(", ")}` : ""}`;
}

/** Bytes per chunk handed to the driver. */
const CHUNK_BYTES = 1 << 20;

/** The load file for `rows` (values in `types` order), in chunks of about 1 MiB. */
export function* loadDataChunks(
  rows: Iterable<unknown[]>,
  types: FieldType[],
  progress?: (rows: number) => void,
): Generator<Buffer> {
  let chunk = "";
  let r = 0;
  for (const row of rows) {
    r++;
    let line = "";
    for (let i = 0; i < types.length; i++) line += (i ? "\t" : "") + loadValue(row[i], types[i]);
    chunk += line + "\n";
    if (chunk.length >= CHUNK_BYTES) {
      yield Buffer.from(chunk);
      chunk = "";
      progress?.(r);
    }
  }
  if (chunk) yield Buffer.from(chunk);
}
