/**
 * PostgreSQL tables through postgres.js (`npm:postgres`, loaded only when a PostgreSQL locator is
 * opened). Reads stream through a cursor; writes run in one transaction: creates through
 * `COPY ... FROM STDIN`, updates and deletes set-based through a temporary table loaded with
 * COPY. docs/types.md ("PostgreSQL") has the type mapping.
 *
 * @example
 * ```sh
 * export DATABASE_URL=postgres://app@127.0.0.1:5432/shop
 * dsync csv:postgres users.csv                  # public.users, created if missing
 * dsync pg:csv 'postgres://app@db/shop#crm.users' users.csv
 * ```
 * @module
 */
import { type CreateChange, showKey, type WritePlan } from "../../adapter_kit/changes.ts";
import type { Sql, TransactionSql } from "postgres";
import { InputError, showValue, TargetError, UsageError } from "../../model/errors.ts";
import type { DatasetInfo, OpenContext, Target } from "../../adapter_kit/importer.ts";
import { nth } from "../../adapter_kit/batches.ts";
import {
  ansiQuote as quoteIdent,
  changeSetSql,
  createTableSql,
  type SourceQuery,
  splitQualifiedName,
  type SqlImporter,
  type SqlOpenContext,
} from "../../adapter_kit/sql.ts";
import { postgresDialect } from "./dialect.ts";
import type { Field, FieldType, RowBatch } from "../../model/types.ts";
import { parseDecimal, stableStringify } from "../../model/values.ts";
import { encodeBase64 } from "../../model/base64.ts";

// Built-in type OIDs (stable across PostgreSQL versions).
const OID = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  oid: 26,
  json: 114,
  float4: 700,
  float8: 701,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

/** Key types {@linkcode PgTable.readSorted} orders the way the engine's merge expects. */
const INTEGER_OIDS = new Set<number>([OID.int2, OID.int4, OID.int8]);
const TEXT_OIDS = new Set<number>([OID.text, OID.varchar]);

/** Base types postgres.js hands over exactly as dsync wants them; every other is read as text. */
const NATIVE = new Set<number>([
  OID.bool,
  OID.bytea,
  OID.name,
  OID.int8,
  OID.int2,
  OID.int4,
  OID.text,
  OID.oid,
  OID.json,
  OID.float4,
  OID.float8,
  OID.varchar,
  OID.numeric,
  OID.uuid,
  OID.jsonb,
]);

/** What dsync knows of one column of an existing table. */
export interface PgColumn {
  name: string;
  /** OID of the type, or of a domain's base type. */
  baseOid: number;
  /** Base type's name (`int4`, `citext`, `_int4` for arrays). */
  baseName: string;
  /** typmod of the column (or of the domain's base type); -1 when none. */
  typmod: number;
  /** `e` enum, `b` base, `r` range, ... of the base type. */
  typtype: string;
  /** `A` for arrays, ... of the base type. */
  category: string;
  /** The declared type, shortened (`varchar(20)`, `numeric(10,2)`, `timestamptz`). */
  native: string;
  type: FieldType;
  /** True when it is a domain (read through a cast to its base type). */
  domain: boolean;
}

/** The dsync type of a PostgreSQL type (after resolving domains to their base type). */
export function pgType(
  column: Pick<PgColumn, "baseOid" | "baseName" | "category" | "typtype">,
): FieldType {
  switch (column.baseOid) {
    case OID.int2:
    case OID.int4:
    case OID.int8:
    case OID.oid:
      return "integer";
    case OID.numeric:
      return "decimal";
    case OID.float4:
    case OID.float8:
      return "float";
    case OID.bool:
      return "boolean";
    case OID.date:
      return "date";
    case OID.time:
      return "time";
    case OID.timestamp:
      return "timestamp";
    case OID.timestamptz:
      return "timestamptz";
    case OID.bytea:
      return "bytes";
    case OID.json:
    case OID.jsonb:
      return "json";
  }
  // text, varchar, char(n), uuid, citext, enums, interval, arrays, inet, ...: PG's text form.
  return "text";
}

/** format_type() output made short: `character varying(20)` → `varchar(20)`. */
function shortType(formatted: string): string {
  return formatted
    .replace(/^character varying/, "varchar")
    .replace(/^character\b/, "char")
    .replace(/^timestamp(\(\d+\))? with time zone$/, "timestamptz$1")
    .replace(/^timestamp(\(\d+\))? without time zone$/, "timestamp$1")
    .replace(/^time(\(\d+\))? without time zone$/, "time$1")
    .replace(/^time(\(\d+\))? with time zone$/, "timetz$1");
}

/** Where and as whom to connect, parsed from a locator; never holds the password in clear. */
interface Connection {
  /** The URL to hand to postgres.js, or undefined to use DATABASE_URL / PG* variables. */
  url?: string;
  /** Schema and table named by the locator (schema may be missing: the default schema). */
  schema?: string;
  table?: string;
}

const URL_RE = /^postgres(?:ql)?:\/\//i;

/** A URL with its password replaced by `***`, for messages. */
export function redactUrl(text: string): string {
  return text.replace(/^(postgres(?:ql)?:\/\/[^:@/?#]*):[^@/?#]*@/i, "$1:***@");
}

/** Splits a locator into connection URL and table. */
export function parseLocator(locator: string): Connection {
  let url: string | undefined;
  let name: string;
  if (URL_RE.test(locator)) {
    const hash = locator.indexOf("#");
    url = hash < 0 ? locator : locator.slice(0, hash);
    name = hash < 0 ? "" : locator.slice(hash + 1);
    try {
      new URL(url);
    } catch {
      throw new UsageError(
        `postgres locator '${redactUrl(url)}': not a valid URL`,
        "write postgres://USER@HOST:PORT/DATABASE#SCHEMA.TABLE (percent-encode special characters)",
      );
    }
  } else {
    name = locator;
  }
  if (name.trim() === "") return { url };
  const parts = splitQualifiedName(name);
  if (parts.length > 2 || parts.some((p) => p === "")) {
    throw new UsageError(
      `postgres locator '${url ? redactUrl(url) + "#" : ""}${name}': expected [SCHEMA.]TABLE`,
      `quote names with dots or spaces as in SQL: 'public."Order Items"'`,
    );
  }
  return parts.length === 2 ? { url, schema: parts[0], table: parts[1] } : { url, table: parts[0] };
}

/** An identifier as SQL would need it written: bare when it can be, quoted otherwise. */
function showIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : quoteIdent(name);
}

/** The password for host/port/db/user from ~/.pgpass (or PGPASSFILE), as libpq finds it. */
export function pgpassPassword(
  host: string,
  port: string,
  database: string,
  user: string,
  file = Deno.env.get("PGPASSFILE") ??
    (Deno.env.get("HOME") ? `${Deno.env.get("HOME")}/.pgpass` : undefined),
): string | undefined {
  if (!file) return undefined;
  let text: string;
  try {
    const info = Deno.statSync(file);
    // libpq ignores a password file that group or others can read.
    if (Deno.build.os !== "windows" && info.mode !== null && (info.mode & 0o077) !== 0) {
      return undefined;
    }
    text = Deno.readTextFileSync(file);
  } catch {
    return undefined;
  }
  const wanted = [host.startsWith("/") ? "localhost" : host, port, database, user];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const fields: string[] = [];
    let field = "";
    for (let i = 0; i < line.length; i++) {
      if (line[i] === "\\" && i + 1 < line.length) field += line[++i];
      else if (line[i] === ":" && fields.length < 4) {
        fields.push(field);
        field = "";
      } else field += line[i];
    }
    fields.push(field);
    if (fields.length < 5) continue;
    if (wanted.every((w, i) => fields[i] === "*" || fields[i] === w)) return fields[4];
  }
  return undefined;
}

/** Message of any error, with secrets removed. */
function messageOf(error: unknown, secrets: string[]): string {
  const e = error as { message?: string; detail?: string; code?: string };
  let text = e?.message ?? String(error);
  if (e?.code && /^E[A-Z]+$/.test(e.code) && !text.includes(e.code)) text += ` (${e.code})`;
  if (e?.detail) text += ` (${e.detail})`;
  return redact(text, secrets);
}

function redact(text: string, secrets: string[]): string {
  let out = redactUrl(text).replace(/(postgres(?:ql)?:\/\/[^:@/?#\s]*):[^@/?#\s]*@/gi, "$1:***@");
  for (const secret of secrets) if (secret) out = out.replaceAll(secret, "***");
  return out;
}

/** Rows of COPY text data per chunk written to the server. */
const COPY_CHUNK_BYTES = 1 << 20;
/** Up to this many distinct changed-field sets, one UPDATE each; beyond, one UPDATE with CASEs. */
const MAX_UPDATE_STATEMENTS = 16;

/** One PostgreSQL table (or view, as a source). */
export class PgTable implements Target {
  #sql: Sql | undefined;
  #info: DatasetInfo | undefined;
  #columns: PgColumn[] = [];
  #schema: string | undefined;
  #table: string;
  #connectionLabel: string;
  #secrets: string[] = [];
  #oid = 0;

  constructor(
    readonly connection: Connection,
    table: string,
    readonly role: "source" | "target",
    readonly where?: string,
    /** Read this SELECT instead of the table (a source only). */
    readonly query?: SourceQuery,
  ) {
    this.#table = table;
    this.#schema = connection.schema;
    this.#connectionLabel = "";
  }

  get label(): string {
    const name = this.query
      ? this.query.name
      : this.#schema !== undefined
      ? `${showIdent(this.#schema)}.${showIdent(this.#table)}`
      : showIdent(this.#table);
    return `pg:${this.#connectionLabel ? this.#connectionLabel + "#" : ""}${name}`;
  }

  /** `schema.table`, quoted. */
  get #qualified(): string {
    return `${quoteIdent(this.#schema!)}.${quoteIdent(this.#table)}`;
  }

  async #connect(): Promise<Sql> {
    if (this.#sql) return this.#sql;
    const { default: postgres } = await import("postgres");
    const url = this.connection.url ?? (Deno.env.get("DATABASE_URL") || undefined);
    const sslmode = Deno.env.get("PGSSLMODE");
    const options: Record<string, unknown> = {
      max: 1,
      onnotice: () => {},
      fetch_types: false,
      idle_timeout: 0,
      // One long sync keeps its connection: no recycling after postgres.js's 30-60 minutes.
      max_lifetime: 0,
      connect_timeout: Number(Deno.env.get("PGCONNECT_TIMEOUT")) || 10,
      connection: {
        application_name: Deno.env.get("PGAPPNAME") ?? "dsync",
        TimeZone: "UTC",
        DateStyle: "ISO, YMD",
        IntervalStyle: "postgres",
        extra_float_digits: "1",
        // A source is only ever read.
        ...(this.role === "source" ? { default_transaction_read_only: "on" } : {}),
      },
    };
    if (sslmode && !/[?&]sslmode=/.test(url ?? "")) {
      options.ssl = sslmode === "disable" ? false : sslmode;
    }
    let sql: Sql;
    try {
      sql = url ? postgres(url, options) : postgres(options);
    } catch (error) {
      throw new UsageError(
        `cannot use the PostgreSQL connection settings: ${messageOf(error, [])}`,
      );
    }
    const o = sql.options as unknown as {
      host: string[];
      port: number[];
      database: string;
      user: string;
      pass: string | (() => string);
    };
    if (typeof o.pass === "string" && o.pass) this.#secrets.push(o.pass);
    if (url) {
      try {
        const password = decodeURIComponent(new URL(url).password);
        if (password) this.#secrets.push(password, new URL(url).password);
      } catch {
        // already checked by parseLocator
      }
    }
    if (!o.pass) {
      const found = pgpassPassword(o.host[0], String(o.port[0]), o.database, o.user);
      if (found) {
        this.#secrets.push(found);
        o.pass = found;
      }
    }
    this.#connectionLabel = `${o.user}@${o.host.join(",")}:${o.port[0]}/${o.database}`;
    this.#sql = sql;
    return sql;
  }

  /** Runs a query while opening the dataset: connection problems are input errors (exit 2). */
  async #query<T>(run: (sql: Sql) => Promise<T>): Promise<T> {
    const sql = await this.#connect();
    try {
      return await run(sql);
    } catch (error) {
      const code = (error as { code?: string }).code ?? "";
      const hint = /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|CONNECT_TIMEOUT|ETIMEDOUT|EHOSTUNREACH)$/
          .test(code)
        ? "is the server running? the connection comes from the locator URL, else DATABASE_URL, else PGHOST/PGPORT/PGUSER/PGDATABASE"
        : code === "28P01" || code === "28000"
        ? "check the user and password (URL, PGPASSWORD or ~/.pgpass)"
        : undefined;
      throw new InputError(`${this.label}: ${messageOf(error, this.#secrets)}`, hint);
    }
  }

  async describe(): Promise<DatasetInfo> {
    if (this.#info) return this.#info;
    if (this.query) return this.#info = await this.#describeQuery(this.query);
    await this.#query(async (sql) => {
      if (this.#schema === undefined) {
        const [row] = await sql`select coalesce(current_schema(), 'public') as s`;
        this.#schema = row.s as string;
      }
      const rel = await sql`
        select c.oid::int8 as oid from pg_catalog.pg_class c
        join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where n.nspname = ${this.#schema} and c.relname = ${this.#table}
          and c.relkind in ('r', 'p', 'v', 'm', 'f')`;
      if (rel.length === 0) return;
      this.#oid = rel[0].oid as number;
      const rows = await sql`
        select a.attname as name, a.atttypid::int4 as oid, a.atttypmod as typmod,
          format_type(a.atttypid, a.atttypmod) as native,
          t.typtype, t.typcategory, t.typname, t.typbasetype::int4 as basetype,
          t.typtypmod as basetypmod
        from pg_catalog.pg_attribute a
        join pg_catalog.pg_type t on t.oid = a.atttypid
        where a.attrelid = ${this.#oid}::oid and a.attnum > 0 and not a.attisdropped
        order by a.attnum`;
      const columns: PgColumn[] = [];
      for (const r of rows) {
        let oid = r.oid as number, typmod = r.typmod as number;
        let { typtype, typcategory: category, typname: baseName } = r as unknown as {
          typtype: string;
          typcategory: string;
          typname: string;
        };
        const domain = typtype === "d";
        if (domain) {
          // Follow domains (maybe of domains) to the base type.
          let base = r.basetype as number, baseMod = r.basetypmod as number;
          for (let depth = 0; depth < 10; depth++) {
            const [b] = await sql`
              select typtype, typcategory, typname, typbasetype::int4 as basetype, typtypmod
              from pg_catalog.pg_type where oid = ${base}`;
            if (!b) break;
            oid = base;
            typmod = baseMod;
            ({ typtype, typcategory: category, typname: baseName } = b as unknown as {
              typtype: string;
              typcategory: string;
              typname: string;
            });
            if (b.typtype !== "d") break;
            base = b.basetype as number;
            baseMod = b.typtypmod as number;
          }
        }
        const column: PgColumn = {
          name: r.name as string,
          baseOid: oid,
          baseName,
          typmod,
          typtype,
          category,
          native: shortType(r.native as string),
          type: "text",
          domain,
        };
        column.type = pgType(column);
        columns.push(column);
      }
      this.#columns = columns;
    });
    if (this.#columns.length === 0 && this.role === "source") {
      const tables = await this.#query((sql) =>
        sql`select c.relname from pg_catalog.pg_class c
            join pg_catalog.pg_namespace n on n.oid = c.relnamespace
            where n.nspname = ${this.#schema!} and c.relkind in ('r','p','v','m','f')
            order by 1 limit 50`
      );
      throw new InputError(
        `${this.label}: no such table`,
        `tables in schema ${showIdent(this.#schema!)}: ${
          tables.map((t) => showIdent(t.relname as string)).join(", ") || "(none)"
        }`,
      );
    }
    const primaryKey = this.#columns.length
      ? (await this.#query((sql) =>
        sql`select a.attname from pg_catalog.pg_index i
            join lateral unnest(i.indkey) with ordinality k(attnum, pos) on true
            join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
            where i.indrelid = ${this.#oid}::oid and i.indisprimary order by k.pos`
      )).map((r) => r.attname as string)
      : [];
    const fields: Field[] = this.#columns.map((c) => ({
      name: c.name,
      type: c.type,
      nativeType: c.native,
    }));
    this.#info = {
      exists: this.#columns.length > 0,
      fields,
      primaryKey,
      typed: true,
      textual: false,
    };
    return this.#info;
  }

  /** A query's columns, typed as PostgreSQL describes the prepared statement. */
  async #describeQuery(query: SourceQuery): Promise<DatasetInfo> {
    this.#columns = await this.#query(async (sql) => {
      const { columns } = await sql.unsafe(query.sql, (query.params ?? []) as never[]).describe();
      const oids = [...new Set(columns.map((c) => c.type))].join(",");
      const types = new Map(
        (await sql`select oid::int4 as oid, typname, typtype, typcategory,
              format_type(oid, null) as native
            from pg_catalog.pg_type where oid = any(string_to_array(${oids}, ',')::oid[])`)
          .map((t) => [t.oid as number, t]),
      );
      // A row description names a domain's base type, so there are no domains to follow.
      return columns.map((c): PgColumn => {
        const t = types.get(c.type);
        const column: PgColumn = {
          name: c.name,
          baseOid: c.type,
          baseName: t?.typname ?? "",
          typmod: -1,
          typtype: t?.typtype ?? "b",
          category: t?.typcategory ?? "",
          native: shortType(t?.native ?? "text"),
          type: "text",
          domain: false,
        };
        column.type = pgType(column);
        return column;
      });
    });
    const fields = this.#columns.map((c) => ({ name: c.name, type: c.type, nativeType: c.native }));
    return { exists: true, fields, primaryKey: [], typed: true, textual: false };
  }

  /** The SELECT list: native types as they are, the rest as PostgreSQL's text form. */
  #selectList(): string {
    return this.#columns.map((c) => {
      const name = quoteIdent(c.name);
      if (!NATIVE.has(c.baseOid)) return `${name}::text`;
      return c.domain ? `${name}::pg_catalog.${quoteIdent(c.baseName)}` : name;
    }).join(", ");
  }

  read(batchSize: number): AsyncGenerator<RowBatch> {
    return this.#read(batchSize, "");
  }

  /**
   * Key order by `ORDER BY`: integer columns as they are, text columns `COLLATE "C"` (code point
   * order, whatever the database's collation); keys of other types are not offered.
   */
  readSorted(keys: string[], batchSize: number): AsyncIterable<RowBatch> | undefined {
    if (!this.#info?.exists) return undefined;
    const terms: string[] = [];
    for (const key of keys) {
      const column = this.#columns.find((c) => c.name === key);
      if (column && INTEGER_OIDS.has(column.baseOid)) terms.push(quoteIdent(key));
      else if (column && TEXT_OIDS.has(column.baseOid)) {
        terms.push(`${quoteIdent(key)} collate "C"`);
      } else return undefined;
    }
    return this.#read(batchSize, ` order by ${terms.join(", ")}`);
  }

  async *#read(batchSize: number, orderBy: string): AsyncGenerator<RowBatch> {
    const info = await this.describe();
    if (!info.exists) return;
    const sql = await this.#connect();
    const filter = this.role === "source" && this.where ? ` where (${this.where})` : "";
    const from = this.query ? `(${this.query.sql}) q` : this.#qualified;
    const text = `select ${this.#selectList()} from ${from}${filter}${orderBy}`;
    let position = 0;
    // numeric comes as PostgreSQL prints it (`9.90`): hand over the canonical decimal (`9.9`),
    // so that a target storing decimals as text compares equal to what dsync wrote there.
    const decimals = this.#columns.flatMap((c, i) => c.baseOid === OID.numeric ? [i] : []);
    const cursor = sql.unsafe(text, (this.query?.params ?? []) as never[]).values().cursor(
      batchSize,
    );
    try {
      for await (const rows of cursor) {
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
      throw new InputError(`${this.label}: ${messageOf(error, this.#secrets)}`);
    }
  }

  /**
   * Values the table would refuse or change (too long for varchar(n), out of range for
   * smallint/integer/numeric(p,s), more digits than the column keeps, NUL characters): an
   * {@linkcode InputError} naming the record, before anything is written.
   */
  #checkValues(plan: WritePlan): void {
    const byName = new Map(this.#columns.map((c) => [c.name, c]));
    const checks = plan.fields.map((f) => valueCheck(byName.get(f.name), f.type));
    const fail = (change: { key: unknown[]; position?: number }, i: number, why: string) => {
      const field = plan.fields[i];
      return new InputError(
        `${this.label}: record ${showKey(plan, change.key)}${
          change.position ? ` (source record ${change.position})` : ""
        }: field '${field.name}': ${why}`,
        "nothing was written; fix the value or widen the column",
      );
    };
    if (checks.every((c) => c === undefined)) return;
    for (const change of plan.creates) {
      for (let i = 0; i < checks.length; i++) {
        const why = checks[i]?.(change.after[i]);
        if (why) throw fail(change, i, why);
      }
    }
    for (const change of plan.updates) {
      for (const i of change.changed) {
        const why = checks[i]?.(change.after[i]);
        if (why) throw fail(change, i, why);
      }
    }
  }

  async apply(plan: WritePlan, progress?: (written: number) => void): Promise<void> {
    const total = plan.creates.length + plan.updates.length + plan.deletes.length;
    if (total === 0 && !plan.createTarget) return;
    if (this.#schema === undefined) await this.describe();
    this.#checkValues(plan);
    const sql = await this.#connect();
    const table = this.#qualified;
    const names = plan.fields.map((f) => quoteIdent(f.name));
    let current = "starting the transaction";
    let failing: string | undefined;
    let written = 0;
    try {
      await sql.begin(async (tx) => {
        if (plan.createTarget) {
          current = "creating the table";
          await tx.unsafe(
            createTableSql(postgresDialect, this.#qualified, plan.fields, plan.keyIndexes),
          );
        }
        if (plan.creates.length) {
          current = "creating records (COPY)";
          try {
            await copyIn(
              tx,
              `copy ${table} (${names.join(", ")}) from stdin`,
              copyRows(plan.fields, afterValues(plan.creates), (n) => {
                written = n;
                progress?.(n);
              }),
            );
          } catch (error) {
            const line = /\bline (\d+)\b/.exec((error as { where?: string }).where ?? "");
            const change = line ? nth(plan.creates, Number(line[1]) - 1) : undefined;
            if (change) failing = `creating record ${showKey(plan, change.key)}`;
            throw error;
          }
          written = plan.creates.length;
          progress?.(written);
        }
        if (plan.updates.length) {
          current = "updating records";
          await this.#update(tx, plan, (what) => failing = what);
          written += plan.updates.length;
          progress?.(written);
        }
        if (plan.deletes.length) {
          current = "deleting records";
          await this.#delete(tx, plan, (what) => failing = what);
          written += plan.deletes.length;
          progress?.(written);
        }
        current = "committing";
      });
    } catch (error) {
      const hint = current === "creating the table" &&
          (error as { code?: string }).code === "3F000"
        ? `create the schema first: CREATE SCHEMA ${showIdent(this.#schema!)}`
        : undefined;
      throw new TargetError(
        `${this.label}: failed while ${failing ?? current}: ${
          messageOf(error, this.#secrets)
        }; rolled back, nothing written`,
        hint,
      );
    }
  }

  /** Loads keys (and values) of `changes` into a temporary table, numbered from 1. */
  async #loadTemp(
    tx: TransactionSql,
    name: string,
    plan: WritePlan,
    fieldIndexes: number[],
    rows: unknown[][],
    extra: { name: string; type: string }[],
  ): Promise<void> {
    const select = fieldIndexes.map((f, i) => `t.${quoteIdent(plan.fields[f].name)} as f${i}`)
      .concat(extra.map((e) => `null::${e.type} as ${e.name}`));
    await tx.unsafe(
      `create temp table ${name} on commit drop as select ${
        select.join(", ")
      } from ${this.#qualified} t with no data`,
    );
    const columns = fieldIndexes.map((_, i) => `f${i}`).concat(extra.map((e) => e.name));
    const fields = fieldIndexes.map((f) => plan.fields[f]).concat(
      extra.map((e) => ({ name: e.name, type: "auto" as FieldType })),
    );
    await copyIn(tx, `copy ${name} (${columns.join(", ")}) from stdin`, copyRows(fields, rows));
    await tx.unsafe(`analyze ${name}`);
  }

  async #update(
    tx: TransactionSql,
    plan: WritePlan,
    onFailing: (what: string) => void,
  ): Promise<void> {
    const keySet = new Set(plan.keyIndexes);
    const updates = [...plan.updates];
    const changedSet = new Set<number>();
    for (const u of updates) for (const i of u.changed) changedSet.add(i);
    const setFields = [...changedSet].filter((i) => !keySet.has(i)).sort((a, b) => a - b);
    if (setFields.length === 0) return;
    const tempFields = [...plan.keyIndexes, ...setFields];
    const signatures = new Map<string, number>();
    const sigOf = updates.map((u) => {
      const s = u.changed.filter((i) => !keySet.has(i)).join(",");
      if (!signatures.has(s)) signatures.set(s, signatures.size);
      return signatures.get(s)!;
    });
    const useCase = signatures.size > MAX_UPDATE_STATEMENTS;
    const rows = updates.map((u, r) => {
      const row: unknown[] = tempFields.map((f) => u.after[f]);
      row.push(r + 1, sigOf[r]);
      if (useCase) {
        const changed = new Set(u.changed);
        row.push(`{${setFields.map((f) => changed.has(f) ? "t" : "f").join(",")}}`);
      }
      return row;
    });
    await this.#loadTemp(
      tx,
      "dsync_update",
      plan,
      tempFields,
      rows,
      [{ name: "n", type: "bigint" }, { name: "s", type: "int4" }].concat(
        useCase ? [{ name: "c", type: "boolean[]" }] : [],
      ),
    );
    const keyMatch = plan.keyIndexes.map((f, i) => `t.${quoteIdent(plan.fields[f].name)} = u.f${i}`)
      .join(" and ");
    const tempIndex = (f: number) => plan.keyIndexes.length + setFields.indexOf(f);
    const statements: string[] = [];
    if (useCase) {
      const sets = setFields.map((f, j) => {
        const col = quoteIdent(plan.fields[f].name);
        return `${col} = case when u.c[${j + 1}] then u.f${tempIndex(f)} else t.${col} end`;
      });
      statements.push(
        `update ${this.#qualified} t set ${sets.join(", ")} from dsync_update u where ${keyMatch}`,
      );
    } else {
      for (const [signature, id] of signatures) {
        const fields = signature.split(",").map(Number);
        const sets = fields.map((f) => `${quoteIdent(plan.fields[f].name)} = u.f${tempIndex(f)}`);
        statements.push(
          `update ${this.#qualified} t set ${
            sets.join(", ")
          } from dsync_update u where ${keyMatch} and u.s = ${id}`,
        );
      }
    }
    for (const statement of statements) {
      await runFindingRow(tx, statement, updates.length, (n) => {
        onFailing(`updating record ${showKey(plan, updates[n - 1].key)}`);
      });
    }
  }

  async #delete(
    tx: TransactionSql,
    plan: WritePlan,
    onFailing: (what: string) => void,
  ): Promise<void> {
    const deletes = [...plan.deletes];
    const rows = deletes.map((d, r) => [...d.key, r + 1]);
    await this.#loadTemp(tx, "dsync_delete", plan, plan.keyIndexes, rows, [{
      name: "n",
      type: "bigint",
    }]);
    const keyMatch = plan.keyIndexes.map((f, i) => `t.${quoteIdent(plan.fields[f].name)} = u.f${i}`)
      .join(" and ");
    await runFindingRow(
      tx,
      `delete from ${this.#qualified} t using dsync_delete u where ${keyMatch}`,
      deletes.length,
      (n) => onFailing(`deleting record ${showKey(plan, deletes[n - 1].key)}`),
    );
  }

  sqlStatements(plan: WritePlan): Iterable<string> {
    return changeSetSql(plan, this.#qualified, postgresDialect);
  }

  async close(): Promise<void> {
    const sql = this.#sql;
    this.#sql = undefined;
    await sql?.end({ timeout: 1 });
  }
}

/**
 * Runs `statement` (an UPDATE/DELETE joined with a temp table aliased `u` with a row number `n`)
 * in a savepoint. When it fails, finds the first row that fails alone by bisection over `n`
 * (each probe in a savepoint, undone), reports it, and rethrows the original error.
 */
async function runFindingRow(
  tx: TransactionSql,
  statement: string,
  count: number,
  report: (n: number) => void,
): Promise<void> {
  await tx.unsafe("savepoint dsync_step");
  try {
    await tx.unsafe(statement);
    await tx.unsafe("release savepoint dsync_step");
    return;
  } catch (error) {
    await tx.unsafe("rollback to savepoint dsync_step");
    const fails = async (lo: number, hi: number) => {
      try {
        await tx.unsafe(`${statement} and u.n between ${lo} and ${hi}`);
        return false;
      } catch {
        return true;
      } finally {
        await tx.unsafe("rollback to savepoint dsync_step");
      }
    };
    let lo = 1, hi = count;
    for (let probes = 0; lo < hi && probes < 64; probes++) {
      const mid = Math.floor((lo + hi) / 2);
      if (await fails(lo, mid)) hi = mid;
      else lo = mid + 1;
    }
    if (await fails(lo, lo)) report(lo);
    throw error;
  }
}

/**
 * Streams COPY text data into `statement` (`copy ... from stdin`).
 *
 * postgres.js 3.4.9 never settles the writable when the server rejects the data after the last
 * chunk was sent (porsager/postgres#1173): the server's error only reaches the query's `reject`.
 * So that is watched too, and whichever settles first decides.
 */
async function copyIn(
  tx: TransactionSql,
  statement: string,
  chunks: Iterable<string>,
): Promise<void> {
  const { Readable } = await import("node:stream");
  const { pipeline } = await import("node:stream/promises");
  const query = tx.unsafe(statement) as unknown as {
    reject: (error: unknown) => void;
    writable(): Promise<NodeJS.WritableStream>;
  };
  const failed = new Promise<never>((_, reject) => {
    const original = query.reject;
    query.reject = (error) => {
      reject(error);
      original(error);
    };
  });
  failed.catch(() => {});
  const writable = await Promise.race([query.writable(), failed]);
  await Promise.race([pipeline(Readable.from(chunks), writable), failed]);
}

const ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  "\t": "\\t",
  "\n": "\\n",
  "\r": "\\r",
};
const NEEDS_ESCAPE = /[\\\t\n\r]/;

/** A string as a COPY text-format field. */
function copyText(text: string): string {
  return NEEDS_ESCAPE.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]) : text;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]];
  return out;
}

/** One value as a COPY text-format field of a column of dsync type `type`. */
export function copyValue(value: unknown, type: FieldType): string {
  if (value === null || value === undefined) return "\\N";
  switch (typeof value) {
    case "string":
      return copyText(value);
    case "boolean":
      return value ? "t" : "f";
    case "bigint":
      return value.toString();
    case "number":
      if (Number.isFinite(value)) return String(value);
      return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  }
  if (value instanceof Uint8Array) {
    // bytea input `\x0102`, with COPY's backslash doubled; base64 text for a text column.
    return type === "bytes" ? "\\\\x" + hex(value) : encodeBase64(value);
  }
  return copyText(stableStringify(value));
}

/** COPY text data for `rows` (values in `fields` order), in chunks of about 1 MiB. */
function* afterValues(changes: Iterable<CreateChange>): Generator<unknown[]> {
  for (const change of changes) yield change.after;
}

function* copyRows(
  fields: { type: FieldType }[],
  rows: Iterable<unknown[]>,
  progress?: (rows: number) => void,
): Generator<string> {
  let chunk = "";
  const types = fields.map((f) => f.type);
  let r = 0;
  for (const row of rows) {
    r++;
    let line = "";
    for (let i = 0; i < types.length; i++) {
      line += (i ? "\t" : "") + copyValue(row[i], types[i]);
    }
    chunk += line + "\n";
    if (chunk.length >= COPY_CHUNK_BYTES) {
      yield chunk;
      chunk = "";
      progress?.(r);
    }
  }
  if (chunk) yield chunk;
}

const INT_RANGE: Record<number, [number, number, string]> = {
  [OID.int2]: [-32768, 32767, "smallint"],
  [OID.int4]: [-2147483648, 2147483647, "integer"],
};

/** Code points of a string (PostgreSQL counts characters, not UTF-16 units). */
function characters(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}

/** Digits before and after the point of a canonical decimal string. */
function digits(decimal: string): [number, number] {
  const [int, frac = ""] = decimal.replace(/^-/, "").split(".");
  return [int === "0" ? 0 : int.length, frac.length];
}

/** The shortest decimal text PostgreSQL prints for a `real`, as the double it reads back as. */
function realReadBack(value: number): number {
  const single = Math.fround(value);
  for (let p = 1; p <= 9; p++) {
    const text = single.toPrecision(p);
    if (Math.fround(Number(text)) === single) return Number(text);
  }
  return single;
}

/**
 * A check for values written to `column`: returns why a value cannot be stored as it is, or
 * undefined. Undefined when the column takes every value of its type.
 */
function valueCheck(
  column: PgColumn | undefined,
  type: FieldType,
): ((value: unknown) => string | undefined) | undefined {
  const textCheck = (value: unknown) =>
    typeof value === "string" && value.includes("\u0000")
      ? "contains a NUL character, which PostgreSQL text cannot hold"
      : undefined;
  if (!column) return type === "text" || type === "auto" ? textCheck : undefined;
  const { baseOid, typmod, native } = column;
  const range = INT_RANGE[baseOid];
  if (range) {
    return (value) => {
      if (value === null || (typeof value !== "number" && typeof value !== "bigint")) return;
      if (value < range[0] || value > range[1]) {
        return `${showValue(value)} is out of range for ${range[2]} (${range[0]} to ${range[1]})`;
      }
    };
  }
  if (baseOid === OID.numeric && typmod >= 4) {
    const precision = ((typmod - 4) >> 16) & 0xffff;
    const scale = (((typmod - 4) & 0x7ff) ^ 1024) - 1024;
    return (value) => {
      if (typeof value !== "string") return;
      const [int, frac] = digits(value);
      if (frac > scale) {
        return `${showValue(value)} has more decimal places than ${native} keeps (${
          Math.max(scale, 0)
        }); PostgreSQL would round it`;
      }
      if (int > precision - scale) {
        return `${showValue(value)} is out of range for ${native} (at most ${
          precision - scale
        } digits before the point)`;
      }
    };
  }
  if ((baseOid === OID.varchar || baseOid === OID.bpchar) && typmod >= 4) {
    const max = typmod - 4;
    return (value) => {
      if (typeof value !== "string") return;
      const nul = textCheck(value);
      if (nul) return nul;
      const length = characters(value);
      if (length > max) {
        return `${showValue(value)} is too long for ${native} (${length} characters)`;
      }
    };
  }
  if (baseOid === OID.float4) {
    return (value) => {
      if (typeof value !== "number" || !Number.isFinite(value)) return;
      if (realReadBack(value) !== value) {
        return `${showValue(value)} does not fit a real (it would read back as ${
          realReadBack(value)
        }); use double precision`;
      }
    };
  }
  if (baseOid === OID.time || baseOid === OID.timestamp || baseOid === OID.timestamptz) {
    const precision = typmod >= 0 ? typmod : 6;
    return (value) => {
      if (typeof value !== "string") return;
      const m = /\.(\d+)/.exec(value);
      if (m && m[1].length > precision) {
        return `${
          showValue(value)
        } has more fractional seconds than ${native} keeps (${precision} digits)`;
      }
    };
  }
  if (baseOid === OID.jsonb) {
    return (value) =>
      value !== null && value !== undefined && stableStringify(value).includes("\\u0000")
        ? "contains a \\u0000 character, which jsonb cannot hold"
        : undefined;
  }
  if (type === "text" && baseOid !== OID.bytea) return textCheck;
  return undefined;
}

/** The table of a locator, or the default table name for a target. */
function tableOf(locator: string, fallback: string | undefined, role: string): Connection {
  const connection = parseLocator(locator);
  if (!connection.table) {
    if (!fallback) {
      throw new UsageError(
        `postgres ${role} '${
          redactUrl(locator)
        }': which table? write URL#[SCHEMA.]TABLE, or just [SCHEMA.]TABLE`,
      );
    }
    connection.table = fallback;
  }
  return connection;
}

/** The `postgres` adapter. */
export const postgresImporter: SqlImporter = {
  name: "postgres",
  aliases: ["pg"],
  description: "PostgreSQL table (postgres.js; COPY, one transaction)",
  locator:
    "postgres://USER@HOST:PORT/DB#[SCHEMA.]TABLE, or [SCHEMA.]TABLE with DATABASE_URL or PG* variables; target default: <source name> in the default schema",
  transactional: true,
  options: [{
    flags: "--where <sql>",
    description: "PostgreSQL source: read only rows matching this SQL condition",
  }],
  dialect: postgresDialect,
  openSource: (locator, ctx: SqlOpenContext) => {
    if (ctx.query) {
      return Promise.resolve(
        new PgTable(parseLocator(locator), "", "source", undefined, ctx.query),
      );
    }
    const connection = tableOf(locator, undefined, "source");
    const filter = ctx.options.where as string | undefined;
    return Promise.resolve(new PgTable(connection, connection.table!, "source", filter));
  },
  openTarget: (locator, ctx: OpenContext) => {
    const connection = tableOf(locator ?? "", ctx.sourceName, "target");
    return Promise.resolve(new PgTable(connection, connection.table!, "target"));
  },
};
