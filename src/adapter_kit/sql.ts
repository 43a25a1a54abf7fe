/**
 * The SQL capability of the adapter contract: a {@linkcode Dialect} object that each SQL adapter
 * supplies (identifier quoting, literals, placeholders, declared types), the optional extension
 * of the contract for SQL stores ({@linkcode SqlImporter}, {@linkcode SqlTarget}), and the
 * statements that perform a change set, written once for every dialect.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { ansiQuote, splitQualifiedName } from "./sql.ts";
 * deepStrictEqual(ansiQuote('Order "Items"'), '"Order ""Items"""');
 * deepStrictEqual(splitQualifiedName('"my schema"."my.table"'), ["my schema", "my.table"]);
 * ```
 * @module
 */
import type { WritePlan } from "./changes.ts";
import type { Dataset, Importer, OpenContext, Savepoint, Target } from "./importer.ts";
import type { Field, FieldType, RowBatch } from "../model/types.ts";
import { stableStringify } from "../model/values.ts";

/**
 * How one SQL database spells things. The engine and the pipeline build SQL only through this
 * object, so a new SQL database is one adapter folder with its dialect, never an edit of a shared
 * switch statement.
 */
export interface Dialect {
  /** The adapter name, for messages. */
  readonly name: string;
  /** The identifier quote character (`"` ANSI, `` ` `` MySQL). */
  readonly quote: string;
  /** Quotes one identifier: `"name"`, inner quotes doubled. */
  quoteIdent(name: string): string;
  /** A value as a literal, escaped for any content (quotes, backslashes, newlines). */
  literal(value: unknown): string;
  /** The placeholder of the `n`-th (1-based) bound parameter: `$1` or `?`. */
  placeholder(n: number): string;
  /** The declared type of a new column holding values of `type`. */
  declaredType(type: FieldType): string;
  /** The declared type of a new key column, when it differs (MySQL cannot index `TEXT`). */
  keyType?(type: FieldType): string;
  /**
   * The declared type of a new column copied from a source column declared `nativeType` in the
   * dialect named `from` (`numeric(12,3)`, `uuid`), or undefined to use
   * {@linkcode Dialect.declaredType}: only types that hold the same values exactly.
   */
  copiedType?(nativeType: string, from: string, key: boolean): string | undefined;
}

/** A SQL adapter: its sources also read a {@linkcode SourceQuery} instead of a table. */
export interface SqlImporter extends Importer {
  /** How this database spells SQL (the dialect of {@linkcode SqlOpenContext.query}). */
  dialect: Dialect;
  openSource(locator: string, ctx: SqlOpenContext): Promise<Dataset>;
}

/** What a SQL importer's `openSource` gets: the usual context, perhaps with a query. */
export interface SqlOpenContext extends OpenContext {
  /** Read the result of this SELECT instead of a table; the locator then names the database. */
  query?: SourceQuery;
}

/**
 * A SELECT a SQL source reads instead of a table (`dsync run` pushes joins, filters and the
 * incremental watermark down this way). Its primary key is unknown: the key comes from the caller.
 *
 * @example
 * ```ts
 * import type { SourceQuery } from "./sql.ts";
 * const query: SourceQuery = {
 *   sql: 'SELECT * FROM "orders" WHERE "updated_at" > ?',
 *   params: ["2024-05-01T00:00:00Z"],
 *   name: "orders",
 * };
 * ```
 */
export interface SourceQuery {
  /** The SELECT, with placeholders of the importer's dialect (`$1` PostgreSQL, `?` SQLite). */
  sql: string;
  /** Values bound to the placeholders, in order (default none). */
  params?: unknown[];
  /** How the dataset's label names the query, in place of a table name. */
  name: string;
}

/** A SQL target: it can also print the statements that perform a plan (`--format sql`). */
export interface SqlTarget extends Target {
  /** The statements that perform `plan`, wrapped in a transaction. */
  sqlStatements(plan: WritePlan): Iterable<string>;
}

/**
 * The condition a source was filtered by (`--where`, a pipeline's `where:`), in the SQL of the
 * source's dialect. With `--delete`, the target must be read through the same condition, or
 * every target record outside the partition would be deleted.
 */
export interface Partition {
  /** A SQL boolean expression. */
  condition: string;
  /** The {@linkcode Dialect.name} it is written in. */
  dialect: string;
}

/** A SQL target that can read (and so plan deletes for) only the rows of a partition. */
export interface ScopableTarget extends SqlTarget {
  /**
   * From now on, reads return only the rows matching `partition.condition`.
   *
   * @throws {UsageError} when the target cannot evaluate it: another dialect, or a column the
   * condition names that the target lacks.
   */
  scopeTo(partition: Partition): Promise<void>;
}

/** Whether `target` can be scoped to a partition. */
export function isScopable(target: Target): target is ScopableTarget {
  return isSqlTarget(target) && typeof (target as Partial<ScopableTarget>).scopeTo === "function";
}

/**
 * A SQL target that can read only its rows matching a condition with bound parameters (the
 * `changes` strategy reads just the records of the captured keys). Rows come as `read` gives them.
 */
export interface FilterableTarget extends Target {
  /** How the target's database spells the condition. */
  readonly dialect: Dialect;
  /** The rows matching `condition` (placeholders 1.. of `dialect`, bound to `params`). */
  readWhere(condition: string, params: unknown[], batchSize: number): AsyncIterable<RowBatch>;
}

/** Whether `target` can read through a condition. */
export function isFilterable(target: Target): target is FilterableTarget {
  return typeof (target as Partial<FilterableTarget>).readWhere === "function";
}

/**
 * The condition matching the rows whose `fields` equal one of `keys`, with its parameters:
 * `k IN (…)` for one field, `(a = ? AND b = ?) OR …` for more; values bound, never spelled into
 * the SQL. A key holding NULL matches nothing (NULL = NULL is not true); no key at all, `1 = 0`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { ansiQuote, keyCondition } from "./sql.ts";
 * const dialect = {
 *   name: "demo",
 *   quote: '"',
 *   quoteIdent: ansiQuote,
 *   literal: String,
 *   placeholder: (n: number) => `$${n}`,
 *   declaredType: () => "text",
 * };
 * deepStrictEqual(keyCondition(dialect, ["id"], [["1"], ["2"]]), {
 *   condition: '"id" IN ($1, $2)',
 *   params: ["1", "2"],
 * });
 * deepStrictEqual(keyCondition(dialect, ["a", "b"], [["x", 1], [null, 2]]), {
 *   condition: '("a" = $1 AND "b" = $2)',
 *   params: ["x", 1],
 * });
 * ```
 */
export function keyCondition(
  dialect: Dialect,
  fields: string[],
  keys: unknown[][],
): { condition: string; params: unknown[] } {
  const params: unknown[] = [];
  const next = (value: unknown) => {
    params.push(value);
    return dialect.placeholder(params.length);
  };
  const quoted = fields.map((k) => dialect.quoteIdent(k));
  const usable = keys.filter((key) => key.every((v) => v !== null && v !== undefined));
  const condition = !usable.length
    ? "1 = 0"
    : fields.length === 1
    ? `${quoted[0]} IN (${usable.map((key) => next(key[0])).join(", ")})`
    : usable.map((key) => `(${quoted.map((q, i) => `${q} = ${next(key[i])}`).join(" AND ")})`)
      .join(" OR ");
  return { condition, params };
}

/** ` WHERE (a) AND (b)` of the conditions given (undefined ones left out); `""` for none. */
export function whereClause(conditions: (string | undefined)[]): string {
  const given = conditions.filter((c) => c !== undefined);
  return given.length ? ` WHERE ${given.map((c) => `(${c})`).join(" AND ")}` : "";
}

/** Whether `importer` is a SQL adapter. */
export function isSqlImporter(importer: Importer): importer is SqlImporter {
  return "dialect" in importer && importer.dialect !== undefined;
}

/** Whether `target` can print SQL. */
export function isSqlTarget(target: Target): target is SqlTarget {
  return typeof (target as Partial<SqlTarget>).sqlStatements === "function";
}

/** Quotes an identifier the ANSI way (SQLite, PostgreSQL): `"name"`, inner quotes doubled. */
export function ansiQuote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Splits `a.b` or `"my schema"."my.table"` into its parts, unquoting quoted parts (`quote` is
 * the dialect's quote character).
 */
export function splitQualifiedName(text: string, quote = '"'): string[] {
  const parts: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === quote) {
      let part = "";
      i++;
      while (i < text.length) {
        if (text[i] === quote && text[i + 1] === quote) {
          part += quote;
          i += 2;
        } else if (text[i] === quote) {
          i++;
          break;
        } else part += text[i++];
      }
      parts.push(part);
    } else {
      const end = text.indexOf(".", i);
      parts.push(text.slice(i, end < 0 ? text.length : end));
      i = end < 0 ? text.length : end;
    }
    if (text[i] === ".") i++;
  }
  return parts;
}

/** How a dialect spells the values that differ between databases. */
export interface LiteralSpelling {
  boolean(value: boolean): string;
  /** Infinity, -Infinity and NaN. */
  nonFinite(value: number): string;
  /** Bytes as a hex string (`"00ff"`) into the dialect's binary literal. */
  bytes(hex: string): string;
  /** A string literal (default: single quotes, inner ones doubled). */
  string?(value: string): string;
}

/**
 * A value as a SQL literal, with the parts that differ between databases spelled by `spell`;
 * JSON values become their text.
 */
export function sqlLiteral(value: unknown, spell: LiteralSpelling): string {
  if (value === null || value === undefined) return "NULL";
  switch (typeof value) {
    case "boolean":
      return spell.boolean(value);
    case "bigint":
      return value.toString();
    case "number":
      return Number.isFinite(value) ? String(value) : spell.nonFinite(value);
    case "string":
      return spell.string ? spell.string(value) : `'${value.replaceAll("'", "''")}'`;
  }
  if (value instanceof Uint8Array) {
    return spell.bytes(Array.from(value, (b) => b.toString(16).padStart(2, "0")).join(""));
  }
  return sqlLiteral(stableStringify(value), spell);
}

/**
 * `CREATE TABLE` for `fields` with the key fields as primary key, in `dialect`; a field's
 * `nativeType` from a source of dialect `sourceDialect` is copied when the dialect says it can be.
 */
export function createTableSql(
  dialect: Dialect,
  table: string,
  fields: Field[],
  keyIndexes: number[],
  sourceDialect?: string,
): string {
  const columns = fields.map((f, i) => {
    const key = keyIndexes.includes(i);
    const copied = sourceDialect && f.nativeType
      ? dialect.copiedType?.(f.nativeType, sourceDialect, key)
      : undefined;
    const type = copied ??
      (dialect.keyType && key ? dialect.keyType(f.type) : dialect.declaredType(f.type));
    return `${dialect.quoteIdent(f.name)} ${type}`.trimEnd();
  });
  const key = keyIndexes.map((i) => dialect.quoteIdent(fields[i].name));
  return `CREATE TABLE ${table} (${columns.join(", ")}, PRIMARY KEY (${key.join(", ")}))`;
}

/**
 * The statements that perform exactly `plan` on `table` (already quoted), wrapped in
 * BEGIN/COMMIT; the table is created first when the plan says so.
 */
export function* changeSetSql(plan: WritePlan, table: string, dialect: Dialect): Generator<string> {
  const names = plan.fields.map((f) => dialect.quoteIdent(f.name));
  // A JSON value is JSON text, also a string or boolean scalar (`'"abc"'`, not `'abc'`).
  const literal = (value: unknown, i: number) =>
    dialect.literal(
      plan.fields[i].type === "json" && value !== null && value !== undefined
        ? stableStringify(value)
        : value,
    );
  const keyMatch = (key: unknown[]) =>
    plan.keyIndexes.map((f, k) => `${names[f]} = ${literal(key[k], f)}`).join(" AND ");
  yield "BEGIN;";
  if (plan.createTarget) {
    yield createTableSql(dialect, table, plan.fields, plan.keyIndexes, plan.sourceDialect) + ";";
  }
  for (const c of plan.creates) {
    yield `INSERT INTO ${table} (${names.join(", ")}) VALUES (${
      c.after.map((v, i) => literal(v, i)).join(", ")
    });`;
  }
  for (const c of plan.updates) {
    const sets = c.changed.map((i) => `${names[i]} = ${literal(c.after[i], i)}`);
    yield `UPDATE ${table} SET ${sets.join(", ")} WHERE ${keyMatch(c.key)};`;
  }
  for (const c of plan.deletes) yield `DELETE FROM ${table} WHERE ${keyMatch(c.key)};`;
  yield "COMMIT;";
}

/** One compared field of a join diff: its column on each side and its comparison type. */
export interface JoinField {
  /** The source column. */
  source: string;
  /** The target column. */
  target: string;
  /** The comparison type (the layout's: the target's declared type). */
  type: FieldType;
}

/** What the engine asks a {@linkcode JoinDiffTarget} to compare. */
export interface JoinRequest {
  /** Compared fields; rows come back in this order on both sides. */
  fields: JoinField[];
  /** Indexes into `fields` of the key, in key order. */
  keyIndexes: number[];
  /** Whether the create rows are wanted (false: only counted, for `--no-create`). */
  keepCreates: boolean;
}

/**
 * One row found by a join diff: a source row the target lacks, a pair that may differ, or a
 * target row the source lacks. Rows are raw, exactly as the adapter's `read` gives them, in
 * {@linkcode JoinRequest.fields} order; `position` (rowid, or 0) is for messages.
 */
export type JoinRow =
  | { op: "create"; source: unknown[]; position: number }
  | { op: "update"; source: unknown[]; target: unknown[]; position: number }
  | { op: "delete"; target: unknown[] };

/**
 * The rows that may differ, found by the database. A pair left out must convert to the same
 * values in the engine (which checks the rest); both sides must hold non-empty, unique keys that
 * pair in SQL exactly as in the engine.
 */
export interface JoinScan {
  /** How `-v` names it: `a join inside sqlite`. */
  readonly description: string;
  readonly sourceCount: number;
  readonly targetCount: number;
  /** Every row that may differ, in batches; creates only when `keepCreates`. */
  rows(): AsyncIterable<JoinRow[]>;
  /** How many source rows have a key the target lacks, once `rows()` has been read. */
  readonly createCount: number;
  /** Ends the read (its snapshot) and releases the connection. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * A target that can compare itself with a source inside its own database (same SQLite file or
 * one it can ATTACH, same PostgreSQL database): the engine then reads only the differing rows.
 */
export interface JoinDiffTarget extends Target {
  /**
   * Starts the scan; or says in a few words why this pair, both in its database, cannot be
   * compared exactly in SQL (a query source, a type whose rule SQL cannot follow exactly);
   * or undefined when the source is not in a database this target can reach.
   */
  joinDiff(source: Dataset, request: JoinRequest): Promise<JoinScan | string | undefined>;
}

/** Whether `target` can compute a join diff. */
export function isJoinDiffTarget(target: Target): target is JoinDiffTarget {
  return typeof (target as Partial<JoinDiffTarget>).joinDiff === "function";
}

/**
 * A SQL `SAVEPOINT` run through `exec` (SQLite and PostgreSQL spell it alike), for
 * {@linkcode Target.savepoint}.
 */
export async function sqlSavepoint(
  exec: (statement: string) => unknown,
  name = "dsync_stream",
): Promise<Savepoint> {
  await exec(`SAVEPOINT ${name}`);
  return {
    rollback: async () => {
      await exec(`ROLLBACK TO SAVEPOINT ${name}`);
      await exec(`RELEASE SAVEPOINT ${name}`);
    },
    release: async () => {
      await exec(`RELEASE SAVEPOINT ${name}`);
    },
  };
}
