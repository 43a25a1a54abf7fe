/**
 * ClickHouse tables over the HTTP interface (`npm:@clickhouse/client`, loaded only when a
 * ClickHouse locator is opened). Reads stream `SELECT ... FORMAT JSONEachRow`, sorted by key when
 * asked; writes are batched INSERTs and mutations waited for (write.ts). ClickHouse has no
 * transactions: a failure part way leaves the batches before it written, and says which.
 * docs/types.md ("ClickHouse") has the type mapping; tested against ClickHouse 18.16.
 *
 * @example
 * ```sh
 * export CLICKHOUSE_URL=http://default@127.0.0.1:8123/shop
 * dsync csv:clickhouse events.csv                      # shop.events, created if missing
 * dsync clickhouse:csv 'clickhouse://app:pw@db:8123/shop#events' events.csv
 * ```
 * @module
 */
import { CONNECT_TIMEOUT_OPTION, connectSecondsOf } from "../../adapter_kit/server_probe.ts";
import { type LoadTarget, type LoadWrite, stagingName } from "../../adapter_kit/load.ts";
import type { ClickHouseClient } from "@clickhouse/client";
import type { WritePlan } from "../../adapter_kit/changes.ts";
import type { DatasetInfo, OpenContext } from "../../adapter_kit/importer.ts";
import type { SourceQuery, SqlImporter, SqlOpenContext, SqlTarget } from "../../adapter_kit/sql.ts";
import { DsyncError, InputError, TargetError, UsageError } from "../../model/errors.ts";
import { wholeNumber } from "../../adapter_kit/option_values.ts";
import type { Field, FieldType, RowBatch } from "../../model/types.ts";
import { bindParams, clickhouseDialect } from "./dialect.ts";
import {
  type ChEndpoint,
  type ChLocator,
  endpointOf,
  messageOf,
  openClient,
  parseLocator,
  readError,
  redactUrl,
} from "./connection.ts";
import {
  chFieldType,
  type ChType,
  commentType,
  needsExactJson,
  parseChType,
  readExpression,
  readValue,
} from "./types.ts";
import { parseJsonExact } from "../../model/values.ts";
import { applyChanges, changeStatements, type TableAccess } from "./write.ts";
import { replacingVersion } from "./engines.ts";
import { batchRows } from "../../adapter_kit/batches.ts";

const quote = clickhouseDialect.quoteIdent;

/** One column of a table or query result. */
export interface ChColumn {
  name: string;
  type: ChType;
  /** In the sorting or partition key, or a ReplacingMergeTree's version: mutations cannot change it. */
  inKey?: boolean;
  /** In the partition key: a new row with another value would land in another partition. */
  inPartition?: boolean;
  /** The dsync type a String column of a table dsync created holds (its comment says). */
  as?: FieldType;
}

/** Engines whose final rows are only certain after merges: read with FINAL. */
const FINAL_ENGINES = /^(Replicated)?(Replacing|Collapsing|VersionedCollapsing)MergeTree$/;

/** An identifier as SQL would need it written: bare when it can be, quoted otherwise. */
function showIdent(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : quote(name);
}

/** One ClickHouse table (or view, or query, as a source). */
export class ChTable implements SqlTarget, LoadTarget {
  readonly loadWrites: readonly LoadWrite[] = ["truncate", "replace", "collapse"];
  #client: ClickHouseClient | undefined;
  #endpoint: ChEndpoint;
  #info: DatasetInfo | undefined;
  #columns: ChColumn[] = [];
  #engine = "";
  /** The sorting key's columns, when it is plain columns. */
  #sortingKey: string[] = [];
  /** A ReplacingMergeTree's version column. */
  #version: string | undefined;
  #database: string;
  #secrets: string[];

  constructor(
    locator: ChLocator,
    readonly table: string,
    readonly role: "source" | "target",
    readonly where?: string,
    readonly query?: SourceQuery,
    /** Seconds to wait for one mutation (a target only). */
    readonly mutationTimeout?: number,
  ) {
    this.#endpoint = endpointOf(locator);
    this.#database = locator.database ?? this.#endpoint.database;
    this.#secrets = [this.#endpoint.password, encodeURIComponent(this.#endpoint.password)];
  }

  get label(): string {
    const name = this.query
      ? this.query.name
      : `${showIdent(this.#database)}.${showIdent(this.table)}`;
    return `clickhouse:${this.#endpoint.label}#${name}`;
  }

  /** `db`.`table`, quoted. */
  get qualified(): string {
    return `${quote(this.#database)}.${quote(this.table)}`;
  }

  async #connect(): Promise<ClickHouseClient> {
    this.#client ??= await openClient(this.#endpoint, this.label);
    return this.#client;
  }

  /** Rows of a small query, as objects (while opening: failures are input errors). */
  async #select(sql: string): Promise<Record<string, unknown>[]> {
    const client = await this.#connect();
    try {
      const result = await client.query({ query: sql, format: "JSONEachRow" });
      return await result.json<Record<string, unknown>>();
    } catch (error) {
      throw readError(this.label, error, this.#secrets);
    }
  }

  async describe(): Promise<DatasetInfo> {
    if (this.#info) return this.#info;
    if (this.query) return this.#info = await this.#describeQuery(this.query);
    const literal = clickhouseDialect.literal;
    const [table] = await this.#select(
      `SELECT engine, engine_full, sorting_key FROM system.tables WHERE database = ${
        literal(this.#database)
      } AND name = ${literal(this.table)}`,
    );
    if (!table) {
      if (this.role === "target") {
        return this.#info = {
          exists: false,
          fields: [],
          primaryKey: [],
          typed: true,
          textual: false,
        };
      }
      const tables = await this.#select(
        `SELECT name FROM system.tables WHERE database = ${
          literal(this.#database)
        } ORDER BY name LIMIT 50`,
      );
      throw new InputError(
        `${this.label}: no such table`,
        `tables in database ${showIdent(this.#database)}: ${
          tables.map((t) => showIdent(t.name as string)).join(", ") || "(none)"
        }`,
      );
    }
    this.#engine = table.engine as string;
    const rows = await this.#select(`DESCRIBE TABLE ${this.qualified}`);
    // MATERIALIZED and ALIAS columns are computed: neither compared nor written.
    this.#columns = rows.filter((r) =>
      r.default_type !== "MATERIALIZED" && r.default_type !== "ALIAS"
    )
      .map((r) => ({ name: r.name as string, type: parseChType(r.type as string) }));
    const details = new Map(
      (await this.#select(
        `SELECT name, comment, is_in_sorting_key OR is_in_partition_key AS in_key, is_in_partition_key AS in_partition FROM system.columns WHERE database = ${
          literal(this.#database)
        } AND table = ${literal(this.table)}`,
      )).map((r) => [r.name as string, r]),
    );
    const version = replacingVersion(String(table.engine_full ?? ""));
    this.#version = version;
    for (const column of this.#columns) {
      const detail = details.get(column.name);
      column.inKey = Number(detail?.in_key) === 1 || column.name === version;
      column.inPartition = Number(detail?.in_partition) === 1;
      column.as = commentType(column.type, String(detail?.comment ?? ""));
    }
    const names = new Set(this.#columns.map((c) => c.name));
    const sortingKey = String(table.sorting_key ?? "").split(",").map((k) =>
      k.trim().replace(/^`(.*)`$/, "$1")
    ).filter((k) => k !== "");
    this.#sortingKey = sortingKey.every((k) => names.has(k)) ? sortingKey : [];
    return this.#info = {
      exists: true,
      fields: this.#fields(),
      // The sorting key is the key ClickHouse deduplicates by (ReplacingMergeTree) and the
      // only key it has; an expression in it (toDate(ts)) gives no default key.
      primaryKey: sortingKey.every((k) => names.has(k)) ? sortingKey : [],
      typed: true,
      textual: false,
    };
  }

  #fields(): Field[] {
    return this.#columns.map((c) => ({
      name: c.name,
      type: c.as ?? chFieldType(c.type),
      nativeType: c.type.text,
    }));
  }

  /** A query's columns, as ClickHouse names and types its result (FORMAT JSON's meta). */
  async #describeQuery(query: SourceQuery): Promise<DatasetInfo> {
    const client = await this.#connect();
    try {
      const result = await client.query({
        query: `SELECT * FROM (${bindParams(query.sql, query.params ?? [])}) LIMIT 0`,
        format: "JSON",
      });
      const { meta } = await result.json<unknown>();
      this.#columns = (meta ?? []).map((m) => ({ name: m.name, type: parseChType(m.type) }));
    } catch (error) {
      throw readError(this.label, error, this.#secrets);
    }
    return { exists: true, fields: this.#fields(), primaryKey: [], typed: true, textual: false };
  }

  read(batchSize: number): AsyncGenerator<RowBatch> {
    return this.#read(batchSize, "");
  }

  /**
   * Key order by `ORDER BY`: integer columns numerically, String columns by their bytes (UTF-8
   * byte order is code point order); keys of other types, or Nullable ones, are not offered.
   */
  readSorted(keys: string[], batchSize: number): AsyncIterable<RowBatch> | undefined {
    if (!this.#info?.exists) return undefined;
    for (const key of keys) {
      const column = this.#columns.find((c) => c.name === key);
      if (!column || column.type.nullable) return undefined;
      if (column.type.kind !== "int" && column.type.kind !== "string") return undefined;
    }
    return this.#read(batchSize, ` ORDER BY ${keys.map(quote).join(", ")}`);
  }

  async *#read(batchSize: number, orderBy: string): AsyncGenerator<RowBatch> {
    const info = await this.describe();
    if (!info.exists) return;
    const client = await this.#connect();
    const columns = this.#columns;
    const select = columns.map((c, i) => `${readExpression(quote(c.name), c.type)} AS dsync_c${i}`);
    const final = !this.query && FINAL_ENGINES.test(this.#engine) ? " FINAL" : "";
    const from = this.query
      ? `(${bindParams(this.query.sql, this.query.params ?? [])})`
      : this.qualified + final;
    const filter = this.role === "source" && this.where ? ` WHERE (${this.where})` : "";
    const sql = `SELECT ${select.join(", ")} FROM ${from}${filter}${orderBy}`;
    const names = columns.map((_, i) => `dsync_c${i}`);
    const parse = columns.some((c) => needsExactJson(c.type)) ? parseJsonExact : JSON.parse;
    async function* lines() {
      const result = await client.query({
        query: sql,
        format: "JSONEachRow",
        // A sort bigger than this goes to disk instead of failing for memory.
        clickhouse_settings: orderBy ? { max_bytes_before_external_sort: "1000000000" } : {},
      });
      for await (const chunk of result.stream()) yield* chunk as { text: string }[];
    }
    try {
      yield* batchRows(lines(), batchSize, (line) => {
        const object = parse(line.text) as Record<string, unknown>;
        return names.map((name, i) => readValue(object[name], columns[i].type));
      });
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw readError(this.label, error, this.#secrets);
    }
  }

  /** What the writer needs of this table. */
  #access(client: ClickHouseClient): TableAccess {
    return {
      client,
      label: this.label,
      qualified: this.qualified,
      database: this.#database,
      table: this.table,
      engine: this.#engine,
      columns: this.#columns,
      sortingKey: this.#sortingKey,
      version: this.#version,
      secrets: this.#secrets,
      mutationTimeout: this.mutationTimeout,
    };
  }

  async apply(plan: WritePlan, progress?: (written: number) => void): Promise<void> {
    const total = plan.creates.length + plan.updates.length + plan.deletes.length;
    if (total === 0 && !plan.createTarget) return;
    await this.describe();
    const client = await this.#connect();
    if (plan.load === "replace") return await this.#replace(client, plan, progress);
    const created = await applyChanges(this.#access(client), plan, progress);
    if (created) {
      this.#columns = created;
      this.#engine = plan.load === "collapse" ? "CollapsingMergeTree" : "MergeTree";
    }
  }

  /**
   * `--mode full-refresh`: the records go into a new MergeTree table `<table>__dsync_new`, which
   * one `RENAME TABLE` then puts in the table's place (the old table is dropped). A failure
   * before the rename drops the staging table and leaves the table as it was.
   */
  async #replace(
    client: ClickHouseClient,
    plan: WritePlan,
    progress?: (written: number) => void,
  ): Promise<void> {
    const staging = stagingName(this.table);
    const name = (table: string) => `${quote(this.#database)}.${quote(table)}`;
    const access: TableAccess = {
      ...this.#access(client),
      qualified: name(staging),
      table: staging,
      columns: [],
      engine: "",
    };
    const run = (query: string) => client.command({ query });
    try {
      await run(`DROP TABLE IF EXISTS ${name(staging)}`);
      await applyChanges(access, { ...plan, load: undefined, createTarget: true }, progress);
      await run(`DROP TABLE IF EXISTS ${name(`${this.table}__dsync_old`)}`);
      await run(
        `RENAME TABLE ${this.qualified} TO ${name(`${this.table}__dsync_old`)}, ${
          name(staging)
        } TO ${this.qualified}`,
      );
    } catch (error) {
      await run(`DROP TABLE IF EXISTS ${name(staging)}`).catch(() => {});
      if (error instanceof DsyncError) throw error;
      throw new TargetError(
        `${this.label}: failed while replacing the table: ${
          messageOf(error, this.#secrets)
        }; the table is as it was`,
      );
    }
    await run(`DROP TABLE ${name(`${this.table}__dsync_old`)}`).catch(() => {});
    this.#info = undefined;
  }

  /** `--add-columns`: `ALTER TABLE … ADD COLUMN` (Nullable); ClickHouse applies it at once. */
  async addColumns(fields: Field[]): Promise<void> {
    const client = await this.#connect();
    const columns = fields.map((f) =>
      `ADD COLUMN ${quote(f.name)} Nullable(${clickhouseDialect.declaredType(f.type)})`
    );
    try {
      await client.command({ query: `ALTER TABLE ${this.qualified} ${columns.join(", ")}` });
    } catch (error) {
      throw new TargetError(
        `${this.label}: cannot add columns: ${messageOf(error, this.#secrets)}; nothing written`,
      );
    }
    this.#info = undefined;
    await this.describe();
  }

  sqlStatements(plan: WritePlan): Iterable<string> {
    return changeStatements(
      {
        label: this.label,
        qualified: this.qualified,
        columns: this.#columns,
        engine: this.#engine,
        sortingKey: this.#sortingKey,
      },
      plan,
    );
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.close();
  }
}

/** The table of a locator, or the default table name for a target. */
function tableOf(locator: string, fallback: string | undefined, role: string): ChLocator {
  const parsed = parseLocator(locator);
  if (!parsed.table) {
    if (!fallback) {
      throw new UsageError(
        `clickhouse ${role} '${
          redactUrl(locator)
        }': which table? write URL#[DATABASE.]TABLE, or [DATABASE.]TABLE`,
      );
    }
    parsed.table = fallback;
  }
  return parsed;
}

/** The `clickhouse` adapter. */
export const clickhouseImporter: SqlImporter = {
  name: "clickhouse",
  aliases: ["ch"],
  description: "ClickHouse table (HTTP; batched INSERT, mutations waited for; NOT transactional)",
  locator:
    "clickhouse://USER:PASS@HOST:8123/DB#[DB.]TABLE, or [DB.]TABLE with CLICKHOUSE_URL; target default: <source name>",
  transactional: false,
  // Query parameters came with ClickHouse 19; 18.16 is supported, and a handler's values are
  // bound, never spliced into the SQL text.
  noStatements:
    "ClickHouse before 19 has no bound query parameters, and a change's values are never spliced into SQL",
  options: [{
    flags: "--where <sql>",
    description: "ClickHouse source: read only rows matching this SQL condition",
    role: "source",
  }, {
    flags: "--mutation-timeout <seconds>",
    description: "ClickHouse target: how long to wait for one UPDATE/DELETE mutation",
    role: "target",
    defaultValue: "600",
  }, CONNECT_TIMEOUT_OPTION],
  dialect: clickhouseDialect,
  openSource: (locator, ctx: SqlOpenContext) => {
    if (ctx.query) {
      return Promise.resolve(
        new ChTable(
          { ...parseLocator(locator), connectSeconds: connectSecondsOf(ctx.options) },
          "",
          "source",
          undefined,
          ctx.query,
        ),
      );
    }
    const parsed = {
      ...tableOf(locator, undefined, "source"),
      connectSeconds: connectSecondsOf(ctx.options),
    };
    const filter = ctx.options.where as string | undefined;
    return Promise.resolve(new ChTable(parsed, parsed.table!, "source", filter));
  },
  openTarget: (locator, ctx: OpenContext) => {
    const parsed = {
      ...tableOf(locator ?? "", ctx.sourceName, "target"),
      connectSeconds: connectSecondsOf(ctx.options),
    };
    const timeout = wholeNumber(ctx.options.mutationTimeout ?? 600, "--mutation-timeout", 1);
    return Promise.resolve(
      new ChTable(parsed, parsed.table!, "target", undefined, undefined, timeout),
    );
  },
};
