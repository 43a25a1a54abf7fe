/**
 * MySQL/MariaDB's side of checksum bisection (adapter_kit/checksum.ts): each value becomes its
 * token in SQL, by the rules the table's reads follow (values.ts `readerFor`, docs/types.md),
 * the row's hash is `CAST(CONV(SUBSTRING(MD5(tokens), 18), 16, 10) AS UNSIGNED)` — the same 60
 * bits as PostgreSQL's and SQLite's — and a segment's checksum its `SUM` (an exact DECIMAL).
 * MySQL has no way to print a double's bits, so a `DOUBLE` token is computed from its exponent
 * (`LOG2`, corrected) and mantissa, all exact in binary floating point; subnormals get the
 * side's mark, as do values a read refuses or reads otherwise (zero dates, `TIME` outside one
 * day, a `TINYINT(1)` other than 0 and 1).
 *
 * @example
 * ```ts ignore
 * const side = await mysqlChecksumSide(table, request);
 * ```
 * @module
 */
import {
  type ChecksumRequest,
  type ChecksumSide,
  type KeyBound,
  keyProblem,
  untrustedToken,
} from "../../adapter_kit/checksum.ts";
import { SqlChecksums } from "../../adapter_kit/sql_checksums.ts";
import type { Dataset } from "../../adapter_kit/importer.ts";
import type { FieldType, RowBatch } from "../../model/types.ts";
import { quoteIdent as quote } from "./dialect.ts";
import type { MysqlColumn } from "./values.ts";

/** What the table hands over: how to query it and read parts of it. */
export interface MysqlChecksumTable {
  /** `` `db`.`table` `` */
  relation: string;
  columns: MysqlColumn[];
  primaryKey: string[];
  /** The source's `--where`. */
  where?: string;
  /** The table as a dataset: its label and description. */
  dataset: Dataset;
  /** Runs a query, `?` bound to `params`; rows as arrays of the server's texts. */
  query(text: string, params: unknown[]): Promise<(string | null)[][]>;
  /** The ` ORDER BY` of a sorted read by `keys`, when the table offers one. */
  orderBy(keys: string[]): string | undefined;
  /** Reads the rows matching `part` (and the source's `--where`) in `orderBy`'s order. */
  readPart(size: number, orderBy: string, part: Part): AsyncIterable<RowBatch>;
}

type Part = { condition: string; params: unknown[] };

/** The rows of `parts`, one part after the other, as a dataset of `table`'s. */
function withinParts(table: MysqlChecksumTable, parts: Part[], key: string): Dataset {
  const read = async function* (orderBy: string, size: number) {
    for (const part of parts) yield* table.readPart(size, orderBy, part);
  };
  const keys = table.primaryKey.length ? table.primaryKey : [key];
  return {
    label: table.dataset.label,
    describe: () => table.dataset.describe(),
    read: (size) => read(table.orderBy(keys) ?? "", size),
    readSorted: (sortKeys, size) => {
      const orderBy = table.orderBy(sortKeys);
      return orderBy === undefined ? undefined : read(orderBy, size);
    },
    close: () => Promise.resolve(),
  };
}

/** Trailing zeros of a fraction and a bare point removed: `10:00:01.500` → `10:00:01.5`. */
function trimFraction(text: string): string {
  return `TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM ${text}))`;
}

/** The smallest normal double: below it, the exponent arithmetic is not exact. */
const MIN_NORMAL = "2.2250738585072014E-308";

/** The 16 hex digits of the IEEE bits of the double `e` (not NULL, not subnormal, not 0). */
function floatBits(e: string): string {
  const a = `ABS(${e})`;
  const guess = `LEAST(FLOOR(LOG2(${a})), 1023)`;
  const exponent = `(${guess} + CASE WHEN ${a} / POW(2, ${guess}) >= 2 THEN 1 ` +
    `WHEN ${a} / POW(2, ${guess}) < 1 THEN -1 ELSE 0 END)`;
  return `LPAD(LOWER(HEX((CASE WHEN ${e} < 0 THEN 1 << 63 ELSE 0 END) | ` +
    `(CAST(${exponent} + 1023 AS UNSIGNED) << 52) | ` +
    `CAST((${a} / POW(2, ${exponent}) - 1) * POW(2, 52) AS UNSIGNED))), 16, '0')`;
}

/** A text token: length in characters, `:`, the text (in utf8mb4, whatever the column's). */
function textToken(text: string): string {
  const utf8 = `CONVERT(${text} USING utf8mb4)`;
  return `CONCAT(CHAR_LENGTH(${utf8}), ':', ${utf8})`;
}

/** The token of a column's value in SQL when not NULL, and when it is the side's mark. */
function tokenOf(c: MysqlColumn, type: FieldType): { token: string; untrusted?: string } | string {
  const e = quote(c.name);
  const t = c.dataType;
  const integer = /^(tinyint|smallint|mediumint|int|integer|bigint|year)$/.test(t) &&
    c.type === "integer";
  const decimal = (t === "decimal" || t === "numeric") && c.type === "decimal";
  const decimalText = (c.scale ?? 0) > 0
    ? trimFraction(`CAST(${e} AS CHAR)`)
    : `CAST(${e} AS CHAR)`;
  // A negative zero decimal (-0.00) reads as 0.
  const decimalToken = `CASE WHEN ${e} = 0 THEN '0' ELSE ${decimalText} END`;
  const zeroDate = `CAST(${e} AS CHAR) REGEXP '^0000-|-00[- ]|-00$'`;
  if (type === "integer" && integer) return { token: `CAST(${e} AS CHAR)` };
  if (type === "text" && integer) return { token: textToken(`CAST(${e} AS CHAR)`) };
  if (type === "decimal" && decimal) return { token: decimalToken };
  if (type === "text" && decimal) return { token: textToken(decimalToken) };
  if (type === "float" && (t === "double" || t === "real")) {
    return {
      token: `CASE WHEN ${e} = 0 THEN '0000000000000000' ELSE ${floatBits(e)} END`,
      untrusted: `${e} <> 0 AND ABS(${e}) < ${MIN_NORMAL}`,
    };
  }
  if (type === "boolean" && (t === "tinyint" || t === "bool" || t === "boolean")) {
    return { token: `CASE WHEN ${e} = 1 THEN '1' ELSE '0' END`, untrusted: `${e} NOT IN (0, 1)` };
  }
  if (type === "date" && t === "date") {
    return { token: `CAST(${e} AS CHAR)`, untrusted: zeroDate };
  }
  if (type === "time" && t === "time") {
    const text = `CAST(${e} AS CHAR)`;
    return {
      token: (c.fsp ?? 0) > 0 ? trimFraction(text) : text,
      untrusted: `${e} < '00:00:00' OR ${e} >= '24:00:00'`,
    };
  }
  if (
    (type === "timestamp" && t === "datetime") || (type === "timestamptz" && t === "timestamp")
  ) {
    // The session runs in UTC: a TIMESTAMP prints as UTC.
    const text = `REPLACE(CAST(${e} AS CHAR), ' ', 'T')`;
    const token = (c.fsp ?? 0) > 0 ? trimFraction(text) : text;
    return {
      token: type === "timestamptz" ? `CONCAT(${token}, 'Z')` : token,
      untrusted: zeroDate,
    };
  }
  if (type === "text" && c.type === "text" && /char|text|enum|set/.test(t)) {
    return { token: textToken(e) };
  }
  if (type === "bytes" && c.type === "bytes") return { token: `LOWER(HEX(${e}))` };
  return `field '${c.name}' is ${c.columnType} here and compared as ${type}`;
}

/** Opens MySQL's side of a bisection, or says why it cannot. */
export async function mysqlChecksumSide(
  table: MysqlChecksumTable,
  request: ChecksumRequest,
): Promise<ChecksumSide | string> {
  const column = (name: string) => table.columns.find((c) => c.name === name)!;
  const mark = untrustedToken(request.side);
  const tokens: string[] = [];
  for (const f of request.fields) {
    const c = column(f.column);
    const token = tokenOf(c, f.type);
    if (typeof token === "string") return token;
    const e = quote(c.name);
    // NULL first, always: a token of NULL may be a value (CASE WHEN NULL … ELSE '0').
    tokens.push(
      `CASE WHEN ${e} IS NULL THEN 'N' ${
        token.untrusted ? `WHEN ${token.untrusted} THEN '${mark}' ` : ""
      }ELSE ${token.token} END`,
    );
  }
  const keys = request.keyIndexes.map((k) => request.fields[k]);
  for (const key of keys) {
    const c = column(key.column);
    const integer = c.type === "integer" && c.dataType !== "bit" && key.type === "integer";
    const text = c.type === "text" && /char|text/.test(c.dataType) && key.type === "text";
    if (!integer && !text) {
      return `key field '${key.column}' is ${c.columnType}, compared as ${key.type}`;
    }
  }
  const scope = table.where ? `(${table.where})` : "TRUE";
  const problem = await keyProblem(
    {
      relation: table.relation,
      scope,
      primaryKey: table.primaryKey,
      quote,
      exact: (name) => `CAST(${quote(name)} AS BINARY)`,
      exists: async (sql) => String((await table.query(sql, []))[0][0]) === "1",
    },
    keys,
    request.side,
  );
  if (problem) return problem;
  const first = request.fields[request.keyIndexes[0]];
  // Text keys by their bytes: code point order for utf8mb4, as the other databases sort.
  let key = first.type === "text" ? `CAST(${quote(first.column)} AS BINARY)` : quote(first.column);
  let partition: { column: string; bound: (u: string) => string } | undefined;
  if (request.partition !== undefined) {
    const f = request.fields[request.partition];
    const c = column(f.column);
    const cut = PARTITION[f.type];
    if (!cut || !cut.types.test(c.dataType) || (f.type === "integer" && c.type !== "integer")) {
      return `partition field '${f.column}' is ${c.columnType}, compared as ${f.type}`;
    }
    key = cut.units(quote(c.name));
    partition = { column: quote(c.name), bound: cut.bound };
  }
  const rowText = `CONCAT(${tokens.join(", '|', ")})`;
  const parts = (ranges: { condition: string; params: unknown[] }[]) =>
    withinParts(table, ranges, first.column);
  return new SqlChecksums({
    engine: "mysql",
    relation: table.relation,
    scope,
    keyType: first.type === "integer" || partition ? "integer" : "text",
    key,
    partition,
    param: (_, value) => literal(value),
    divide: "DIV",
    rowHash: () => `CAST(CONV(SUBSTRING(MD5(${rowText}), 18), 16, 10) AS UNSIGNED)`,
    query: table.query,
    within: parts,
  });
}

/** The partition field in whole units (days, seconds since 1970; the session is in UTC). */
const PARTITION: Record<
  string,
  { types: RegExp; units: (e: string) => string; bound: (u: string) => string }
> = {
  integer: { types: /^(tiny|small|medium|big)?int$/, units: (e) => e, bound: (u) => u },
  date: {
    types: /^date$/,
    units: (e) => `(TO_DAYS(${e}) - 719528)`,
    bound: (u) => `(DATE '1970-01-01' + INTERVAL (${u}) DAY)`,
  },
  timestamp: {
    types: /^datetime$/,
    units: (e) => `FLOOR(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', ${e}) / 1000000)`,
    bound: (u) => `(TIMESTAMP '1970-01-01 00:00:00' + INTERVAL (${u}) SECOND)`,
  },
  timestamptz: {
    types: /^timestamp$/,
    units: (e) => `FLOOR(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', ${e}) / 1000000)`,
    bound: (u) => `(TIMESTAMP '1970-01-01 00:00:00' + INTERVAL (${u}) SECOND)`,
  },
};

/**
 * A key bound as a literal: integers as digits, text as the hex of its UTF-8 bytes (a binary
 * string, compared byte for byte, with nothing to escape). Literals, not `?`: the segment's
 * bounds come before the range's in the statement, and `?` binds in the statement's order.
 */
function literal(value: KeyBound): string {
  if (typeof value === "bigint") return value.toString();
  const hex = Array.from(new TextEncoder().encode(value), (b) => b.toString(16).padStart(2, "0"));
  return `X'${hex.join("")}'`;
}
