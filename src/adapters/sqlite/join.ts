/**
 * The join diff inside SQLite: source and target in the same file, or the source's file
 * `ATTACH`ed to a read-only connection of the target's, compared by three statements (rows the
 * target lacks, rows the source lacks, pairs that may differ) in one read transaction.
 *
 * Exactness: SQLite keeps any value in any column, so a pair is left out only when every
 * compared field holds the very same stored value on both sides (same storage class, equal
 * under `BINARY`) and the source's value is one the type's conversion takes without error
 * ({@linkcode trusted}). Equal stored values convert to equal values in the engine, so nothing
 * that differs is left out; every other pair goes to the engine, which judges it by its rules.
 * Keys must be integers or non-empty text on both sides, unique: else the engine reads both
 * sides and reports what is wrong as it always does.
 *
 * @example
 * ```ts ignore
 * const scan = await sqliteJoinScan(target, source, request);
 * if (typeof scan !== "string") for await (const batch of scan.updates()) console.log(batch);
 * ```
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { openSqlite } from "../../adapter_kit/sqlite.ts";
import {
  ansiQuote as quote,
  type JoinRequest,
  type JoinRow,
  type JoinScan,
} from "../../adapter_kit/sql.ts";
import type { FieldType } from "../../model/types.ts";
import { decodeNulText, nulSafeSelect } from "./nul_text.ts";
import { sqliteAffinity } from "./affinity.ts";

/** One side of the join: its file, table and declared primary key. */
export interface JoinSide {
  path: string;
  table: string;
  primaryKey: string[];
}

/** Rows handed to the engine per batch. */
const BATCH = 2000;

/**
 * SQL that is true when the stored value `e` converts to `type` without an error (a value the
 * engine's rule takes as it is). Types missing here cannot be judged in SQL: no join.
 */
const TRUSTED: Partial<Record<FieldType, (e: string) => string>> = {
  integer: (e) => `typeof(${e}) IN ('integer', 'null')`,
  float: (e) => `typeof(${e}) IN ('integer', 'real', 'null')`,
  decimal: (e) =>
    `(typeof(${e}) IN ('integer', 'null') OR ` +
    `(typeof(${e}) = 'real' AND abs(${e}) <= 1.7976931348623157e308) OR ` +
    `(typeof(${e}) = 'text' AND (${e} GLOB '[0-9]*' OR ${e} GLOB '-[0-9]*') AND ` +
    `substr(${e}, 2) NOT GLOB '*[^0-9.]*' AND instr(substr(${e}, instr(${e}, '.') + 1), '.') = 0))`,
  boolean: (e) => `(${e} IS NULL OR (typeof(${e}) = 'integer' AND ${e} IN (0, 1)))`,
  text: (e) => `typeof(${e}) IN ('text', 'integer', 'real', 'null')`,
  date: (e) => textMatching(e, [`date(${e})`]),
  time: (e) => textMatching(e, [`time(${e})`]),
  timestamp: (e) => textMatching(e, [`strftime('%Y-%m-%dT%H:%M:%S', ${e})`, `datetime(${e})`]),
  timestamptz: (e) => textMatching(e, [`strftime('%Y-%m-%dT%H:%M:%SZ', ${e})`]),
  bytes: (e) => `typeof(${e}) IN ('blob', 'null')`,
};

/**
 * The same check, cheaper (a typeof() call is most of a scan's time), for two columns of the
 * same affinity: `a IS b` then converts neither value, and the only two stored values of
 * different storage classes it finds equal are an integer and a real of the same value, which
 * every type here converts to the same value too (decimal: below 2^53, where a real prints
 * exactly). Where the affinity is the type's own, plain operators tell the classes apart: an
 * INTEGER column holds reals and text only when they are not integers, a REAL column text only
 * when it is not a number; and text conversion takes any value.
 */
function trustedSameAffinity(type: FieldType, affinity: string, e: string): string {
  const or = (check: string) => `(${e} IS NULL OR ${check})`;
  switch (type) {
    case "integer":
      return or(
        affinity === "integer" ? `${e} = CAST(${e} AS INTEGER)` : `typeof(${e}) = 'integer'`,
      );
    case "float":
      return or(affinity === "real" ? `${e} = ${e} + 0` : `typeof(${e}) IN ('integer', 'real')`);
    case "decimal":
      return or(
        `(typeof(${e}) IN ('integer', 'real') AND abs(${e}) < 9007199254740992) OR ${
          TRUSTED.decimal!(e)
        }`,
      );
    case "boolean":
      return or(`${e} IN (0, 1)`);
    case "text":
      return affinity === "text" ? "1" : or(`typeof(${e}) = 'text'`);
    case "date":
      return or(`date(${e}) IS ${e} COLLATE BINARY`);
    case "time":
      return or(`time(${e}) IS ${e} COLLATE BINARY`);
    case "timestamp":
      return or(
        `strftime('%Y-%m-%dT%H:%M:%S', ${e}) IS ${e} COLLATE BINARY OR ` +
          `datetime(${e}) IS ${e} COLLATE BINARY`,
      );
    case "timestamptz":
      return or(`strftime('%Y-%m-%dT%H:%M:%SZ', ${e}) IS ${e} COLLATE BINARY`);
    default:
      return or(`typeof(${e}) = 'blob'`);
  }
}

/** NULL, or text that SQLite's own calendar spells back byte for byte by one of `forms`. */
function textMatching(e: string, forms: string[]): string {
  const same = forms.map((form) => `${form} IS ${e} COLLATE BINARY`).join(" OR ");
  return `(${e} IS NULL OR (typeof(${e}) = 'text' AND (${same})))`;
}

/** Key types whose SQL equality is the engine's pairing, and the storage class they need. */
export const KEY_CLASS: Partial<Record<FieldType, string>> = { integer: "integer", text: "text" };

/**
 * Starts the join diff of `source` against `target`, or says why it cannot run exactly.
 */
export function sqliteJoinScan(
  target: JoinSide,
  source: JoinSide,
  request: JoinRequest,
): JoinScan | string {
  for (const f of request.fields) {
    if (!TRUSTED[f.type]) return `field '${f.target}' is compared as ${f.type}`;
  }
  for (const k of request.keyIndexes) {
    const f = request.fields[k];
    if (!KEY_CLASS[f.type]) return `key field '${f.target}' is compared as ${f.type}`;
  }
  const sameFile = realPath(source.path) === realPath(target.path);
  const db = openSqlite(target.path, { readOnly: true });
  try {
    const schema = sameFile ? "main" : "dsync_source";
    if (!sameFile) db.prepare(`ATTACH DATABASE ? AS ${schema}`).run(source.path);
    db.exec("BEGIN");
    const s = `${schema}.${quote(source.table)}`;
    const t = `main.${quote(target.table)}`;
    const keys = request.keyIndexes.map((k) => request.fields[k]);
    const keysOf = (column: (f: JoinRequest["fields"][number]) => string) =>
      keys.map((f) => ({ column: column(f), type: f.type }));
    const reason = keyProblem(db, s, keysOf((f) => f.source), source.primaryKey, "source") ??
      keyProblem(db, t, keysOf((f) => f.target), target.primaryKey, "target");
    if (reason) {
      db.close();
      return reason;
    }
    const declared = (schemaName: string, table: string) =>
      new Map(
        db.prepare(`PRAGMA ${schemaName}.table_info(${quote(table)})`).all()
          .map((c) => [c.name as string, sqliteAffinity(String(c.type ?? ""))]),
      );
    const [sourceAffinity, targetAffinity] = [
      declared(schema, source.table),
      declared("main", target.table),
    ];
    // The affinity both columns share, or undefined.
    const sameAffinity = request.fields.map((f) => {
      const a = sourceAffinity.get(f.source);
      return a === targetAffinity.get(f.target) ? a : undefined;
    });
    return new SqliteJoinScan(db, s, t, request, sameFile, sameAffinity);
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Why the keys of one side cannot pair in SQL as in the engine, or undefined: each key column
 * must hold non-empty text or integers (as `type` says) in every row, unique.
 */
export function keyProblem(
  db: DatabaseSync,
  table: string,
  keys: { column: string; type: FieldType }[],
  primaryKey: string[],
  name: string,
): string | undefined {
  const bad = keys.map((f) => {
    const c = quote(f.column);
    const text = KEY_CLASS[f.type] === "text" ? ` OR ${c} = ''` : "";
    return `typeof(${c}) <> '${KEY_CLASS[f.type]}'${text}`;
  }).join(" OR ");
  if (Object.values(db.prepare(`SELECT EXISTS (SELECT 1 FROM ${table} WHERE ${bad})`).get()!)[0]) {
    return `a ${name} key is not ${keys.map((f) => KEY_CLASS[f.type]).join("/")} in every row`;
  }
  const names = keys.map((f) => f.column);
  const isPrimary = names.length === primaryKey.length &&
    names.every((n) => primaryKey.includes(n));
  if (isPrimary) return undefined;
  const list = names.map((n) => `${quote(n)} COLLATE BINARY`).join(", ");
  const duplicate = db.prepare(
    `SELECT EXISTS (SELECT 1 FROM ${table} GROUP BY ${list} HAVING count(*) > 1)`,
  ).get()!;
  return Object.values(duplicate)[0] ? `the ${name} holds a key twice` : undefined;
}

function realPath(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return path;
  }
}

class SqliteJoinScan implements JoinScan {
  readonly description: string;
  readonly sourceCount: number;
  readonly targetCount: number;
  #createCount = 0;
  #db: DatabaseSync | undefined;
  readonly #sourceColumns: string;
  readonly #targetColumns: string;
  readonly #keyMatch: string;

  constructor(
    db: DatabaseSync,
    readonly source: string,
    readonly target: string,
    readonly request: JoinRequest,
    sameFile: boolean,
    readonly sameAffinity: (string | undefined)[],
  ) {
    this.#db = db;
    this.description = `a join inside sqlite (${sameFile ? "one file" : "two files, ATTACH"})`;
    const count = (table: string) =>
      Number(Object.values(db.prepare(`SELECT count(*) FROM ${table}`).get()!)[0]);
    this.sourceCount = count(source);
    this.targetCount = count(target);
    // Text holding a NUL comes whole (node:sqlite would cut it there), with a mask column.
    this.#sourceColumns = nulSafeSelect(request.fields.map((f) => `s.${quote(f.source)}`))
      .join(", ");
    this.#targetColumns = nulSafeSelect(request.fields.map((f) => `t.${quote(f.target)}`))
      .join(", ");
    this.#keyMatch = request.keyIndexes.map((k) => {
      const f = request.fields[k];
      return `t.${quote(f.target)} = s.${quote(f.source)} COLLATE BINARY`;
    }).join(" AND ");
  }

  get createCount(): number {
    return this.#createCount;
  }

  async *rows(): AsyncGenerator<JoinRow[]> {
    yield* this.#sourceRows();
    yield* this.#deletes();
  }

  /**
   * One pass over the source: rows the target lacks (creates) and pairs that may differ. Keys
   * are never NULL (checked), so a NULL target key means no match.
   */
  *#sourceRows(): Generator<JoinRow[]> {
    const { fields, keyIndexes, keepCreates } = this.request;
    const same = fields.map((f, i) => {
      const a = `s.${quote(f.source)}`, b = `t.${quote(f.target)}`;
      const shared = this.sameAffinity[i];
      return shared !== undefined
        ? `(${a} IS ${b} COLLATE BINARY AND ${trustedSameAffinity(f.type, shared, a)})`
        : `(typeof(${a}) = typeof(${b}) AND ${a} IS ${b} COLLATE BINARY AND ${
          TRUSTED[f.type]!(a)
        })`;
    }).join(" AND ");
    const missing = `t.${quote(fields[keyIndexes[0]].target)} IS NULL`;
    const from = `FROM ${this.source} s LEFT JOIN ${this.target} t ON ${this.#keyMatch}`;
    if (!keepCreates) {
      const counted = this.#prepare(`SELECT count(*) ${from} WHERE ${missing}`).get()!;
      this.#createCount = Number(Object.values(counted)[0]);
    }
    const width = fields.length;
    const sql = `SELECT s.rowid, ${missing}, ${this.#sourceColumns}, ${this.#targetColumns} ` +
      `${from} WHERE ${keepCreates ? `${missing} OR ` : `NOT ${missing} AND `}NOT (${same})`;
    for (const rows of this.#batches(sql, "0")) {
      const found: JoinRow[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i], position = Number(row[0]);
        const source = row.slice(2, 3 + width);
        decodeNulText(source);
        if (row[1]) {
          this.#createCount++;
          found[i] = { op: "create", source, position };
        } else {
          const target = row.slice(3 + width);
          decodeNulText(target);
          found[i] = { op: "update", source, target, position };
        }
      }
      yield found;
    }
  }

  /** Target rows the source lacks. */
  *#deletes(): Generator<JoinRow[]> {
    const { fields, keyIndexes } = this.request;
    const sql = `SELECT ${this.#targetColumns} FROM ${this.target} t LEFT JOIN ${this.source} s ` +
      `ON ${this.#keyMatch} WHERE s.${quote(fields[keyIndexes[0]].source)} IS NULL`;
    for (const rows of this.#batches(sql)) {
      yield rows.map((target) => {
        decodeNulText(target);
        return { op: "delete", target };
      });
    }
  }

  /** The rows of `sql` in batches; `rowidFallback` replaces `s.rowid` for WITHOUT ROWID. */
  *#batches(sql: string, rowidFallback?: string): Generator<unknown[][]> {
    let statement: StatementSync;
    try {
      statement = this.#prepare(sql);
    } catch (error) {
      if (rowidFallback === undefined || !sql.includes("s.rowid")) throw error;
      statement = this.#prepare(sql.replace("s.rowid", rowidFallback));
    }
    (statement as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(true);
    statement.setReadBigInts(true);
    let batch: unknown[][] = [];
    for (const row of statement.iterate()) {
      batch.push(row as unknown as unknown[]);
      if (batch.length === BATCH) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  }

  #prepare(sql: string): StatementSync {
    if (!this.#db) throw new Error("join scan already closed");
    return this.#db.prepare(sql);
  }

  close(): Promise<void> {
    if (this.#db?.isTransaction) this.#db.exec("COMMIT");
    this.#db?.close();
    this.#db = undefined;
    return Promise.resolve();
  }
}
