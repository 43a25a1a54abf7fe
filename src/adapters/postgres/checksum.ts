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
  type KeyRange,
  rangeChunks,
  rangesSql,
  segmentSql,
  type SegmentSum,
  type Split,
  untrustedToken,
} from "../../adapter_kit/checksum.ts";
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
  within(parts: { condition: string; params: unknown[] }[]): Dataset;
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
  return new PgChecksums(table, request, tokens.join(" || '|' || "), scope);
}

class PgChecksums implements ChecksumSide {
  readonly engine = "postgres";
  readonly keyType: "integer" | "text";
  readonly #key: string;

  constructor(
    readonly table: PgChecksumTable,
    readonly request: ChecksumRequest,
    readonly rowText: string,
    readonly scope: string,
  ) {
    const first = request.fields[request.keyIndexes[0]];
    this.keyType = first.type === "integer" ? "integer" : "text";
    this.#key = `${quote(first.column)}${this.keyType === "text" ? ' COLLATE "C"' : ""}`;
  }

  #sql(range: KeyRange, split?: Split) {
    const params: unknown[] = [];
    const sql = segmentSql(this.#key, range, split, (value) => param(params, value));
    return { ...sql, params };
  }

  async stats(): Promise<{ count: number; min?: KeyBound; max?: KeyBound }> {
    const [[count, min, max]] = await this.table.query(
      `SELECT count(*)::text, min(${this.#key})::text, max(${this.#key})::text FROM ${this.table.relation} WHERE ${this.scope}`,
      [],
    );
    const bound = (v: unknown) =>
      v === null ? undefined : this.keyType === "integer" ? BigInt(v as string) : v as string;
    return { count: Number(count), min: bound(min), max: bound(max) };
  }

  async boundaries(range: KeyRange, parts: number): Promise<KeyBound[]> {
    const { where, params } = this.#sql(range);
    const from = `${this.table.relation} WHERE ${this.scope} AND ${where}`;
    const [[count]] = await this.table.query(`SELECT count(*)::int FROM ${from}`, params);
    const step = Math.max(1, Math.ceil(Number(count) / parts));
    const rows = await this.table.query(
      `SELECT k::text FROM (SELECT ${this.#key} AS k, row_number() OVER (ORDER BY ${this.#key}) AS n FROM ${from}) q WHERE n % ${step} = 0 ORDER BY k`,
      params,
    );
    return rows.map(([k]) => this.keyType === "integer" ? BigInt(k as string) : k as string);
  }

  async checksums(range: KeyRange, split: Split): Promise<SegmentSum[]> {
    const { where, segment, params } = this.#sql(range, split);
    const parts = "width" in split ? split.parts : split.cuts.length + 1;
    const found: SegmentSum[] = Array.from({ length: parts }, () => ({ count: 0, sum: 0n }));
    const rows = await this.table.query(
      `SELECT (${segment})::int AS segment, count(*)::int, ` +
        `sum(('x' || substr(md5(${this.rowText}), 18))::bit(60)::bigint)::text ` +
        `FROM ${this.table.relation} WHERE ${this.scope} AND ${where} GROUP BY 1`,
      params,
    );
    for (const [at, count, sum] of rows) {
      found[Number(at)] = { count: Number(count), sum: BigInt(sum as string) };
    }
    return found;
  }

  within(ranges: KeyRange[]): Dataset {
    return this.table.within(
      rangeChunks(ranges).map((chunk) => {
        const params: unknown[] = [];
        return { condition: rangesSql(this.#key, chunk, (value) => param(params, value)), params };
      }),
    );
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Adds a bound parameter; its placeholder, typed (integers travel as their digits). */
function param(params: unknown[], value: KeyBound): string {
  params.push(typeof value === "bigint" ? value.toString() : value);
  return `$${params.length}::${typeof value === "bigint" ? "int8" : "text"}`;
}
