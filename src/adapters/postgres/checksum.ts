/**
 * PostgreSQL's side of checksum bisection (adapter_kit/checksum.ts): each value becomes its
 * token in SQL, by the rules the engine reads PostgreSQL values with (docs/types.md), the row's
 * hash is `('x' || substr(md5(tokens), 18))::bit(60)::bigint`, and a segment's checksum its
 * exact `sum` (numeric). Values the engine's rule refuses or would read differently (NaN and
 * infinite numerics, infinite or BC dates, `24:00`) get the side's mark, as in the join diff
 * ({@linkcode TRUSTED}).
 *
 * @example
 * ```ts ignore
 * const side = await pgChecksumSide(table, request);
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
import { type FencedHash, SqlChecksums, type SqlPart } from "../../adapter_kit/sql_checksums.ts";
import { ansiQuote as quote } from "../../adapter_kit/sql.ts";
import type { Dataset } from "../../adapter_kit/importer.ts";
import type { FieldType } from "../../model/types.ts";
import { OID, type PgColumn } from "./catalog.ts";
import { FAMILY, TRUSTED } from "./join.ts";

/** What the table hands over: how to query it and read parts of it. */
export interface PgChecksumTable {
  relation: string;
  columns: PgColumn[];
  primaryKey: string[];
  /** The source's `--where`, or the target's partition. */
  where?: string;
  /** Runs a query; rows as arrays. */
  query(text: string, params: unknown[]): Promise<unknown[][]>;
  /**
   * The rows matching any of `parts` (conditions with `$n` placeholders for their `params`),
   * read one part after the other, as a dataset.
   */
  within(parts: SqlPart[]): Dataset;
}

/** The token of a family's value (not NULL, trusted), in SQL. */
const TOKEN: Record<string, (e: string) => string> = {
  integer: (e) => `${e}::text`,
  numeric: (e) => `trim_scale(${e})::text`,
  float4: (e) => floatToken(`${e}::text::float8`),
  float8: (e) => floatToken(e),
  boolean: (e) => `CASE WHEN ${e} THEN '1' ELSE '0' END`,
  date: (e) => `${e}::text`,
  time: (e) => `${e}::text`,
  timestamp: (e) => `replace(${e}::text, ' ', 'T')`,
  timestamptz: (e) => `replace((${e} AT TIME ZONE 'UTC')::text, ' ', 'T') || 'Z'`,
  bytea: (e) => `encode(${e}, 'hex')`,
};

/** The family's dsync type, when it is the comparison type's own. */
const FAMILY_TYPE: Record<string, FieldType> = {
  integer: "integer",
  numeric: "decimal",
  float4: "float",
  float8: "float",
  boolean: "boolean",
  date: "date",
  time: "time",
  timestamp: "timestamp",
  timestamptz: "timestamptz",
  bytea: "bytes",
};

/** The IEEE bits of a double in hex (`-0` made `0` by adding 0), `NaN` for NaN. */
function floatToken(e: string): string {
  return `CASE WHEN ${e} = 'NaN' THEN 'NaN' ELSE encode(float8send(${e} + 0), 'hex') END`;
}

/** A text token: length in characters, `:`, the text. */
function textToken(text: string): string {
  return `length(${text}) || ':' || ${text}`;
}

/**
 * The token of column `c` compared as `type`, in SQL; or why there is none. The column's own
 * type must be the comparison type, or text compare integers and decimals by their canonical
 * text, exactly as the engine converts them.
 */
function tokenSql(c: PgColumn, type: FieldType, mark: string): string | { reason: string } {
  const e = quote(c.name);
  const family = FAMILY[c.baseOid];
  let token: string | undefined;
  if (family && FAMILY_TYPE[family] === type) token = TOKEN[family](e);
  else if (type === "text" && (family === "integer" || family === "numeric")) {
    token = textToken(`(${TOKEN[family](e)})`);
  } else if (type === "text" && c.type === "text" && c.baseOid !== OID.json) {
    token = textToken(`${e}::text`);
  }
  if (token === undefined) {
    return { reason: `field '${c.name}' is ${c.native} here and compared as ${type}` };
  }
  const trusted = family && TRUSTED[family] ? TRUSTED[family](e) : undefined;
  // NULL first, always: a token of NULL may be a value (CASE WHEN NULL … ELSE '0').
  return `CASE WHEN ${e} IS NULL THEN 'N' ${
    trusted ? `WHEN NOT ${trusted} THEN '${mark}' ` : ""
  }ELSE ${token} END`;
}

/**
 * A value as the fields `hash_record_extended` hashes. PostgreSQL's hashes of `int8`, `time`
 * and the timestamps fold the 64-bit value's two halves into one (lo XOR hi) before hashing: 0
 * and 2^32 + 1 hash alike, and so do two timestamps 4294.967297 s apart from 2000-01-01 on. So
 * integers go as their two halves (each of them hashed without loss), times and timestamps as
 * their exact epoch (a `numeric`, hashed by value; absolute for `timestamptz`, so the servers'
 * time zones do not matter), text `COLLATE "C"` (a nondeterministic collation would hash by
 * sort key).
 */
const TYPED_FIELDS: Record<string, (e: string) => string[]> = {
  integer: (e) => [`${e}::int8 >> 32`, `${e}::int8 & 4294967295`],
  time: (e) => [`extract(epoch FROM ${e})`],
  timestamp: (e) => [`extract(epoch FROM ${e})`],
  timestamptz: (e) => [`extract(epoch FROM ${e})`],
  text: (e) => [`${e} COLLATE "C"`],
};

/** The SQL of the fields {@linkcode TYPED_FIELDS} makes of `e` of `family`. */
function typedFields(family: string, e: string): string[] {
  return TYPED_FIELDS[family]?.(e) ?? [e];
}

/**
 * PostgreSQL's own hashes of the values (`hash_record_extended`, PostgreSQL 14+), for a pair
 * of PostgreSQL sides: several times cheaper than `md5` over the tokens. Equal values of one
 * family hash alike in every PostgreSQL (integers of any width, `numeric` by value, `-0` as
 * `0`), and equality in the family is the engine's equality of what it reads, so both sides
 * must have the same families and hash a probe row alike (same version's hash functions, same
 * byte order). The record hash is a weighted sum of its fields' hashes, so it is hashed once
 * more, by its two halves: summed as it is, two rows swapping a value would cancel. A value the
 * engine's rule refuses adds a field, the side's seed (else 0), so its segment differs.
 */
function typedHash(request: ChecksumRequest, columns: PgColumn[], seed: number) {
  const families: string[] = [];
  const values: string[] = [];
  const untrusted: string[] = [];
  for (const [i, f] of request.fields.entries()) {
    const c = columns[i];
    const family = FAMILY[c.baseOid];
    if (!family) return undefined;
    const e = quote(c.name);
    families.push(`${family}:${f.type}`);
    values.push(...typedFields(family, e));
    if (TRUSTED[family]) untrusted.push(`NOT ${TRUSTED[family](e)}`);
  }
  if (untrusted.length) values.push(`CASE WHEN ${untrusted.join(" OR ")} THEN ${seed} ELSE 0 END`);
  return { signature: families.join(","), hash: recordHash(values) };
}

/** The row hash of `fields`, computed once in a derived table and hashed again by halves. */
function recordHash(fields: string[]): FencedHash {
  return {
    row: `hash_record_extended(ROW(${fields.join(", ")}), 0)`,
    finish: (h) => `hashint8extended(${h} >> 32, hashint8extended(${h} & 4294967295, 0))`,
    fence: "OFFSET 0",
  };
}

/** A row of every family, hashed by the server as the rows are: its text, when it can. */
async function probe(table: PgChecksumTable): Promise<string | undefined> {
  const [[version]] = await table.query("SELECT current_setting('server_version_num')::int", []);
  if (Number(version) < 140000) return undefined;
  const values: [string, string][] = [
    ["integer", "(-4294967297)::int8"],
    ["integer", "7::int2"],
    ["text", "'é|x'::text"],
    ["numeric", "1.50::numeric"],
    ["float4", "0.1::float4"],
    ["float8", "0.1::float8"],
    ["boolean", "true"],
    ["date", "DATE '2024-02-29'"],
    ["time", "TIME '10:00:01.5'"],
    ["timestamp", "TIMESTAMP '2024-01-01 10:00:00.25'"],
    ["timestamptz", "TIMESTAMPTZ '2024-01-01 10:00:00+02'"],
    ["bytea", "'\\x00ff'::bytea"],
    ["uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid"],
    ["integer", "NULL::int"],
  ];
  const hash = recordHash(values.flatMap(([family, e]) => typedFields(family, e)));
  const [[probed]] = await table.query(
    `SELECT ${hash.finish("h")}::text FROM (SELECT ${hash.row} AS h ${hash.fence}) q`,
    [],
  );
  return String(probed);
}

/** The partition field in whole units, and the column's value at a number of units. */
const PARTITION: Record<string, { units: (e: string) => string; bound: (u: string) => string }> = {
  integer: { units: (e) => e, bound: (u) => u },
  date: {
    units: (e) => `CASE WHEN isfinite(${e}) THEN ${e} - DATE '1970-01-01' END`,
    bound: (u) => `(DATE '1970-01-01' + (${u})::int)`,
  },
  timestamp: {
    units: (e) => `CASE WHEN isfinite(${e}) THEN floor(extract(epoch FROM ${e}))::int8 END`,
    bound: (u) => `(TIMESTAMP '1970-01-01' + (${u}) * INTERVAL '1 second')`,
  },
  timestamptz: {
    units: (e) => `CASE WHEN isfinite(${e}) THEN floor(extract(epoch FROM ${e}))::int8 END`,
    bound: (u) => `to_timestamp(${u})`,
  },
};

/** Opens PostgreSQL's side of a bisection, or says why it cannot. */
export async function pgChecksumSide(
  table: PgChecksumTable,
  request: ChecksumRequest,
): Promise<ChecksumSide | string> {
  const column = (name: string) => table.columns.find((c) => c.name === name)!;
  const mark = untrustedToken(request.side);
  const tokens: string[] = [];
  for (const f of request.fields) {
    const token = tokenSql(column(f.column), f.type, mark);
    if (typeof token !== "string") return token.reason;
    tokens.push(token);
  }
  const keys = request.keyIndexes.map((k) => request.fields[k]);
  for (const key of keys) {
    const family = FAMILY[column(key.column).baseOid];
    if (
      !(family === "integer" && key.type === "integer") &&
      !(family === "text" && key.type === "text")
    ) {
      return `key field '${key.column}' is ${column(key.column).native}, compared as ${key.type}`;
    }
  }
  const [[encoding]] = await table.query("SELECT current_setting('server_encoding')", []);
  if (encoding !== "UTF8") return `the database's encoding is ${encoding}, not UTF8`;
  const scope = table.where ? `(${table.where})` : "TRUE";
  const problem = await keyProblem(
    {
      relation: table.relation,
      scope,
      primaryKey: table.primaryKey,
      quote,
      exact: (name) => `${quote(name)} COLLATE "C"`,
      exists: async (sql) => [true, "t"].includes((await table.query(sql, []))[0][0] as string),
    },
    keys,
    request.side,
  );
  if (problem) return problem;
  const first = request.fields[request.keyIndexes[0]];
  let key = `${quote(first.column)}${first.type === "text" ? ' COLLATE "C"' : ""}`;
  let partition: { column: string; bound: (u: string) => string } | undefined;
  if (request.partition !== undefined) {
    const f = request.fields[request.partition];
    const c = column(f.column);
    const family = FAMILY[c.baseOid];
    const cut = PARTITION[f.type];
    if (!cut || family !== f.type) {
      return `partition field '${f.column}' is ${c.native}, compared as ${f.type}`;
    }
    key = cut.units(quote(c.name));
    partition = { column: quote(c.name), bound: cut.bound };
  }
  const typed = typedHash(
    request,
    request.fields.map((f) => column(f.column)),
    request.side === "source" ? 1 : 2,
  );
  const probed = typed && await probe(table);
  // JIT compiles the first cut's query for seconds (10M rows: 2.8 s of 13 s) and gains
  // nothing on a scan that hashes: off while the side is open, then as it was.
  const [[jit]] = await table.query("SELECT current_setting('jit')", []);
  await table.query("SELECT set_config('jit', 'off', false)", []);
  const md5 = `('x' || substr(md5(${tokens.join(" || '|' || ")}), 18))::bit(60)::bigint`;
  return new SqlChecksums({
    engine: "postgres",
    relation: table.relation,
    scope,
    keyType: first.type === "integer" || partition ? "integer" : "text",
    key,
    partition,
    param,
    divide: "/",
    rowHash: (hash) =>
      hash === "pg-typed" && typed ? typed.hash : { row: md5, finish: (h) => h, fence: "OFFSET 0" },
    hashes: typed && probed ? { "pg-typed": `${typed.signature}|${probed}` } : undefined,
    query: table.query,
    within: table.within,
    close: async () => {
      await table.query("SELECT set_config('jit', $1, false)", [jit]);
    },
  });
}

/** Adds a bound parameter; its placeholder, typed (integers travel as their digits). */
function param(params: unknown[], value: KeyBound): string {
  params.push(typeof value === "bigint" ? value.toString() : value);
  return `$${params.length}::${typeof value === "bigint" ? "int8" : "text"}`;
}
