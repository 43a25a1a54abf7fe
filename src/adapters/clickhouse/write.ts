/**
 * Writing a change set to a ClickHouse table: every value checked first (nothing is written when
 * one would not be stored exactly), the table created when missing (`MergeTree ORDER BY` the
 * key), creates as batched `INSERT ... FORMAT JSONEachRow`, updates and deletes as mutations
 * (`ALTER TABLE ... UPDATE/DELETE`) waited for in `system.mutations` (18.16 has no
 * `mutations_sync`). Not transactional: a failure stops at the failing batch, reports every
 * change as applied / failed / not applied, and exits 4.
 *
 * @example
 * ```ts ignore
 * const created = await applyChanges(access, plan, (n) => console.error(n));
 * ```
 * @module
 */
import type { ClickHouseClient } from "@clickhouse/client";
import {
  type CreateChange,
  type DeleteChange,
  planChangeList,
  type RecordChange,
  reportChanges,
  showKey,
  sourceWhere,
  type UpdateChange,
  type WritePlan,
} from "../../adapter_kit/changes.ts";
import { InputError, showValue, TargetError } from "../../model/errors.ts";
import { chunked } from "../../adapter_kit/batches.ts";
import type { FieldType } from "../../model/types.ts";
import { clickhouseDialect } from "./dialect.ts";
import { APPEND_ENGINES, lowerVersion, MUTABLE_ENGINES, updatesByInsert } from "./engines.ts";
import { messageOf } from "./connection.ts";
import {
  castArray,
  castLiteral,
  type ChType,
  insertJson,
  parseChType,
  readExpression,
  readValue,
  typeComment,
  writeCheck,
} from "./types.ts";

const quote = clickhouseDialect.quoteIdent;
const literal = clickhouseDialect.literal;

/** What the statements of a plan depend on. */
export interface TableShape {
  label: string;
  /** `db`.`table`, quoted. */
  qualified: string;
  /** Its columns (and whether they are in its sorting or partition key); empty for a new one. */
  columns: { name: string; type: ChType; inKey?: boolean; inPartition?: boolean }[];
  /** The engine of an existing table; empty for a new one. */
  engine: string;
  /** Its sorting key's columns (empty when it is not plain columns). */
  sortingKey?: string[];
}

/** What the writer needs of a table. */
export interface TableAccess extends TableShape {
  client: ClickHouseClient;
  database: string;
  table: string;
  /** A ReplacingMergeTree's version column. */
  version?: string;
  secrets: string[];
  /** How long to wait for one mutation, in seconds. */
  mutationTimeout?: number;
}

/** Rows per INSERT: one block, so each INSERT is stored whole or not at all. */
const INSERT_ROWS = 100_000;
/**
 * Records per mutation: each mutation rewrites the parts it touches, so few and large; a
 * `multiIf` of more branches than this is slow, a `transform` lookup takes many more.
 */
const UPDATE_RECORDS = 1000;
const LOOKUP_RECORDS = 100_000;
const DELETE_RECORDS = 10_000;
/** Mutation statements list every key: allow long queries. */
const MUTATION_SETTINGS = { max_query_size: String(256 << 20) };

/** The column types the plan's fields are written as: the table's, or those of a new table. */
function planColumns(access: TableShape, plan: WritePlan): ChType[] {
  if (plan.createTarget) {
    const keys = new Set(plan.keyIndexes);
    const sign = plan.load === "collapse" ? plan.fields.length - 1 : -1;
    return plan.fields.map((f, i) => {
      if (i === sign) return parseChType("Int8");
      const declared = clickhouseDialect.declaredType(f.type);
      const type = parseChType(keys.has(i) ? declared : `Nullable(${declared})`);
      return f.type === "json" ? { ...type, json: true } : type;
    });
  }
  const byName = new Map(access.columns.map((c) => [c.name, c.type]));
  return plan.fields.map((f) => {
    const type = byName.get(f.name);
    if (!type) throw new InputError(`${access.label}: no column '${f.name}'`);
    return f.type === "json" && type.kind === "string" ? { ...type, json: true } : type;
  });
}

/** `CREATE TABLE` for a plan's new table: keys as they are, other columns Nullable. */
export function createTableSql(qualified: string, plan: WritePlan, types: ChType[]): string {
  const columns = plan.fields.map((f, i) => {
    const comment = typeComment(f.type);
    return `${quote(f.name)} ${types[i].text}${comment ? ` COMMENT ${literal(comment)}` : ""}`;
  });
  const key = plan.keyIndexes.map((i) => quote(plan.fields[i].name));
  // --merge-strategy collapse: the sign column is the plan's last field.
  const engine = plan.load === "collapse"
    ? `CollapsingMergeTree(${quote(plan.fields[plan.fields.length - 1].name)})`
    : "MergeTree";
  return `CREATE TABLE ${qualified} (${columns.join(", ")}) ENGINE = ${engine} ORDER BY (${
    key.join(", ")
  })`;
}

/**
 * Refuses, before anything is written, a plan the table cannot take as it is: updates or deletes
 * on an engine without mutations, writes to engines that fold rows, and values that would not be
 * stored exactly (exit 2, naming record, field and value).
 */
function checkPlan(
  access: TableAccess,
  plan: WritePlan,
  types: ChType[],
  byInsert: boolean,
): void {
  const { engine, label } = access;
  if (!plan.createTarget && !MUTABLE_ENGINES.test(engine) && plan.load !== "collapse") {
    if (!APPEND_ENGINES.test(engine)) {
      throw new InputError(
        `${label}: dsync does not write to ${engine} tables (they fold or forward rows)`,
        "sync into a MergeTree or ReplacingMergeTree table",
      );
    }
    if (plan.updates.length || plan.deletes.length) {
      throw new InputError(
        `${label}: a ${engine} table cannot update or delete rows (${plan.updates.length} updates, ${plan.deletes.length} deletes planned); nothing was written`,
        "use --no-update and leave out --delete, or sync into a MergeTree table",
      );
    }
  }
  const keys = new Set(plan.keyIndexes);
  const checks = types.map(writeCheck);
  const fail = (change: CreateChange | UpdateChange, i: number, why: string) =>
    new InputError(
      `${label}: record ${showKey(plan, change.key)}${sourceWhere(plan, change)}: field '${
        plan.fields[i].name
      }': ${why}`,
      "nothing was written; fix the value or change the column type",
    );
  for (const change of plan.creates) {
    for (let i = 0; i < checks.length; i++) {
      const why = checks[i](change.after[i]);
      if (why) throw fail(change, i, why);
    }
  }
  // A new row replaces the old one only in the same partition.
  const fixed = new Set(
    access.columns.filter((c) => byInsert ? c.inPartition : c.inKey).map((c) => c.name),
  );
  for (const change of plan.updates) {
    for (const i of change.changed) {
      if (keys.has(i)) continue;
      if (byInsert && plan.fields[i].name === access.version) {
        if (lowerVersion(change.after[i], change.before[i])) {
          throw fail(
            change,
            i,
            `${showValue(change.after[i])} is lower than the table's ${
              showValue(change.before[i])
            }: the ReplacingMergeTree keeps the row with the higher version, so the update would not take`,
          );
        }
      } else if (fixed.has(plan.fields[i].name)) {
        throw fail(
          change,
          i,
          "is in the table's sorting or partition key, or is its ReplacingMergeTree version, which ClickHouse cannot update in place",
        );
      }
      const why = checks[i](change.after[i]);
      if (why) throw fail(change, i, why);
    }
    // A new row carries every field: the unchanged ones are checked too.
    for (let i = 0; byInsert && i < checks.length; i++) {
      const why = change.changed.includes(i) ? undefined : checks[i](change.after[i]);
      if (why) throw fail(change, i, why);
    }
  }
}

/** `key = value` of one record, for a mutation's CASE. */
function keyCondition(plan: WritePlan, types: ChType[], key: unknown[]): string {
  const terms = plan.keyIndexes.map((f, k) =>
    `${quote(plan.fields[f].name)} = ${castLiteral(key[k], types[f])}`
  );
  return terms.length === 1 ? terms[0] : `(${terms.join(" AND ")})`;
}

/** `key IN (...)` for a batch of records. */
function keySet(plan: WritePlan, types: ChType[], keys: unknown[][]): string {
  const names = plan.keyIndexes.map((f) => quote(plan.fields[f].name));
  const tuples = keys.map((key) => {
    const values = plan.keyIndexes.map((f, k) => castLiteral(key[k], types[f]));
    return values.length === 1 ? values[0] : `(${values.join(", ")})`;
  });
  const left = names.length === 1 ? names[0] : `(${names.join(", ")})`;
  return `${left} IN (${tuples.join(", ")})`;
}

/**
 * `ALTER TABLE ... UPDATE` for updates that all change the fields `fields`. With one key column
 * of an integer or String type, each new value is looked up by the row's key (`transform`, a hash
 * lookup); otherwise each field is a `multiIf` over the records' keys.
 */
function updateSql(
  qualified: string,
  plan: WritePlan,
  types: ChType[],
  fields: number[],
  updates: UpdateChange[],
): string {
  const [keyField] = plan.keyIndexes;
  const keyType = types[keyField];
  let sets: string[];
  if (lookupKey(plan, types)) {
    const positions = updates.map((_, r) => r + 1);
    const index = `transform(${quote(plan.fields[keyField].name)}, ${
      castArray(updates.map((u) => u.key[0]), keyType)
    }, ${castArray(positions, UINT32)}, CAST(0 AS UInt32))`;
    sets = fields.map((f) =>
      `${quote(plan.fields[f].name)} = arrayElement(${
        castArray(updates.map((u) => u.after[f]), types[f])
      }, ${index})`
    );
  } else {
    const conditions = updates.map((u) => keyCondition(plan, types, u.key));
    sets = fields.map((f) => {
      const name = quote(plan.fields[f].name);
      const branches = updates.map((u, r) =>
        `${conditions[r]}, ${castLiteral(u.after[f], types[f])}`
      );
      return `${name} = multiIf(${branches.join(", ")}, ${name})`;
    });
  }
  return `ALTER TABLE ${qualified} UPDATE ${sets.join(", ")} WHERE ${
    keySet(plan, types, updates.map((u) => u.key))
  }`;
}

const UINT32 = parseChType("UInt32");

/** Whether a mutation finds each record's values by a `transform` of its one key column. */
function lookupKey(plan: WritePlan, types: ChType[]): boolean {
  const [keyField, ...more] = plan.keyIndexes;
  const keyType = types[keyField];
  return more.length === 0 && !keyType.nullable &&
    (keyType.kind === "int" || keyType.kind === "string");
}

/** Records per update mutation for `plan`. */
function mutationRecords(plan: WritePlan, types: ChType[]): number {
  return lookupKey(plan, types) ? LOOKUP_RECORDS : UPDATE_RECORDS;
}

function deleteSql(qualified: string, plan: WritePlan, types: ChType[], deletes: DeleteChange[]) {
  return `ALTER TABLE ${qualified} DELETE WHERE ${keySet(plan, types, deletes.map((d) => d.key))}`;
}

/** Updates grouped by the fields they change (keys never change), in batches. */
function* updateBatches(plan: WritePlan, size: number): Generator<[number[], UpdateChange[]]> {
  const keys = new Set(plan.keyIndexes);
  const groups = new Map<string, UpdateChange[]>();
  for (const update of plan.updates) {
    const fields = update.changed.filter((i) => !keys.has(i));
    if (fields.length === 0) continue;
    const signature = fields.join(",");
    const group = groups.get(signature) ?? [];
    if (!groups.has(signature)) groups.set(signature, group);
    group.push(update);
  }
  for (const [signature, group] of groups) {
    const fields = signature.split(",").map(Number);
    for (let i = 0; i < group.length; i += size) yield [fields, group.slice(i, i + size)];
  }
}

/** One JSONEachRow line per create. */
function insertBody(plan: WritePlan, types: ChType[], creates: { after: unknown[] }[]): string {
  const names = plan.fields.map((f) => JSON.stringify(f.name) + ":");
  let body = "";
  for (const change of creates) {
    let line = "{";
    for (let i = 0; i < names.length; i++) {
      line += (i ? "," : "") + names[i] + insertJson(change.after[i], types[i]);
    }
    body += line + "}\n";
  }
  return body;
}

/**
 * Which changes are written, without holding them: creates and deletes are written in plan order
 * (counted), updates in groups (their keys kept). Changes from a list spilled to disk are new
 * objects each time it is read, so updates are told apart by key text.
 */
class WriteProgress {
  creates = 0;
  deletes = 0;
  readonly updates = new Set<string>();
  #batch: RecordChange[] = [];

  get written(): number {
    return this.creates + this.updates.size + this.deletes;
  }

  /** Changes of the batch being written (0 between batches). */
  get failing(): number {
    return this.#batch.length;
  }

  start(batch: RecordChange[]): void {
    this.#batch = batch;
  }

  finish(): void {
    for (const change of this.#batch) {
      if (change.op === "create") this.creates++;
      else if (change.op === "delete") this.deletes++;
      else this.updates.add(change.keyText);
    }
    this.#batch = [];
  }

  /** What became of change number `index` of the plan (creates, updates, deletes). */
  result(
    change: RecordChange,
    index: number,
    plan: WritePlan,
  ): "applied" | "failed" | "not applied" {
    const batch = this.#batch;
    const inBatch = batch.length > 0 && batch[0].op === change.op;
    if (change.op === "update") {
      if (this.updates.has(change.keyText)) return "applied";
      return inBatch && batch.some((c) => c.keyText === change.keyText) ? "failed" : "not applied";
    }
    const [position, count] = change.op === "create"
      ? [index, this.creates]
      : [index - plan.creates.length - plan.updates.length, this.deletes];
    if (position < count) return "applied";
    return inBatch && position < count + batch.length ? "failed" : "not applied";
  }
}

/** Whether a column of `types` holds floats (alone or in arrays). */
function hasFloats(types: ChType[]): boolean {
  return types.some((t) => t.kind === "float" || t.element?.kind === "float");
}

/**
 * Reads back the float fields of every created record and rewrites those the server parsed
 * differently, through a mutation with SQL number literals. ClickHouse 18.16 parses float text in
 * INSERT data (JSON, Values, CSV alike) inexactly for about one double in ten
 * (`5.81` → `5.8100000000000005`), while its SQL parser reads literals exactly.
 */
async function correctFloats(
  access: TableAccess,
  plan: WritePlan,
  types: ChType[],
  written: Iterable<CreateChange | UpdateChange>,
): Promise<void> {
  const floats = types.flatMap((t, i) =>
    (t.kind === "float" || t.element?.kind === "float") && !plan.keyIndexes.includes(i) ? [i] : []
  );
  if (floats.length === 0) return;
  // The wrong ones of all parts go in as few mutations as they fit: each is slow to run.
  const size = mutationRecords(plan, types);
  let wrong: UpdateChange[] = [];
  const rewrite = async () => {
    if (wrong.length === 0) return;
    await access.client.command({
      query: updateSql(access.qualified, plan, types, floats, wrong),
      clickhouse_settings: MUTATION_SETTINGS,
    });
    await waitForMutations(access);
    wrong = [];
  };
  for (const part of chunked(written, DELETE_RECORDS)) {
    const byKey = new Map(part.map((c) => [keyString(c.key), c]));
    const select = [...plan.keyIndexes, ...floats].map((f, j) =>
      `${readExpression(quote(plan.fields[f].name), types[f])} AS c${j}`
    );
    const result = await access.client.query({
      // FINAL: of a key's old and new rows (updates written as new rows), the one that counts.
      query: `SELECT ${select.join(", ")} FROM ${access.qualified}${
        /ReplacingMergeTree$/.test(access.engine) ? " FINAL" : ""
      } WHERE ${keySet(plan, types, part.map((c) => c.key))}`,
      format: "JSONEachRow",
      clickhouse_settings: MUTATION_SETTINGS,
    });
    for (const row of await result.json<Record<string, unknown>>()) {
      const key = plan.keyIndexes.map((f, j) => readValue(row[`c${j}`], types[f]));
      const change = byKey.get(keyString(key));
      if (!change) continue;
      const differs = floats.some((f, j) =>
        !sameFloat(readValue(row[`c${plan.keyIndexes.length + j}`], types[f]), change.after[f])
      );
      if (differs) {
        wrong.push({ ...change, op: "update", before: change.after, changed: floats });
      }
      if (wrong.length >= size) await rewrite();
    }
  }
  await rewrite();
}

/** Key values as one string, the same for a key as written and as read back. */
function keyString(key: unknown[]): string {
  return key.map((v) => String(v)).join("\u0001");
}

/** Whether two float values (or arrays of them) are the same, NaN equal to NaN. */
function sameFloat(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => sameFloat(v, b[i]));
  }
  return a === b || (typeof a === "number" && typeof b === "number" && isNaN(a) && isNaN(b));
}

/** Waits until no mutation of the table is left to do. */
async function waitForMutations(access: TableAccess): Promise<void> {
  const timeout = (access.mutationTimeout ?? 600) * 1000;
  const deadline = Date.now() + timeout;
  const sql = `SELECT count() AS n FROM system.mutations WHERE database = ${
    literal(access.database)
  } AND table = ${literal(access.table)} AND is_done = 0`;
  for (let delay = 20;; delay = Math.min(delay * 2, 1000)) {
    const result = await access.client.query({ query: sql, format: "JSONEachRow" });
    const [row] = await result.json<{ n: string | number }>();
    if (Number(row?.n ?? 0) === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `the mutation did not finish within ${
          timeout / 1000
        } s (see system.mutations; --mutation-timeout)`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/**
 * Applies `plan`; returns the columns of the table it created, if it did.
 *
 * @throws {InputError} when the plan cannot be written exactly (nothing written).
 * @throws {TargetError} when the server fails part way (batches before it stay written).
 */
export async function applyChanges(
  access: TableAccess,
  plan: WritePlan,
  progress?: (written: number) => void,
): Promise<{ name: string; type: ChType; as?: FieldType }[] | undefined> {
  if (
    plan.load === "collapse" && !plan.createTarget && !/CollapsingMergeTree$/.test(access.engine)
  ) {
    throw new InputError(
      `${access.label}: --merge-strategy collapse writes sign rows, for a CollapsingMergeTree table; this one is ${access.engine}; nothing was written`,
      "sync into a CollapsingMergeTree(sign) table, or into a new table (dsync creates one)",
    );
  }
  const types = planColumns(access, plan);
  const byInsert = updatesByInsert(access, plan);
  checkPlan(access, plan, types, byInsert);
  const { client, qualified } = access;
  const { Readable } = await import("node:stream");
  const done = new WriteProgress();
  let doing = "creating the table";
  const step = async (what: string, changes: RecordChange[], run: () => Promise<void>) => {
    doing = what;
    done.start(changes);
    await run();
    done.finish();
    progress?.(done.written);
  };
  try {
    if (plan.createTarget) {
      await client.command({ query: createTableSql(qualified, plan, types) });
    }
    if (plan.load === "truncate") {
      doing = "emptying the table (TRUNCATE)";
      await client.command({ query: `TRUNCATE TABLE ${qualified}` });
    }
    const columns = plan.fields.map((f) => quote(f.name)).join(", ");
    const insert = (batch: { after: unknown[] }[]) => async () => {
      const result = await client.exec({
        query: `INSERT INTO ${qualified} (${columns}) FORMAT JSONEachRow`,
        values: Readable.from([insertBody(plan, types, batch)]),
      });
      for await (const _ of result.stream) { /* drain */ }
    };
    for (const batch of chunked(plan.creates, INSERT_ROWS)) {
      await step("creating records", batch, insert(batch));
    }
    // A collapsing table takes no mutations: its float values are checked, not corrected.
    if (plan.creates.length && hasFloats(types) && plan.load !== "collapse") {
      await step(
        "correcting float values",
        [],
        () => correctFloats(access, plan, types, plan.creates),
      );
    }
    for (const batch of byInsert ? chunked(plan.updates, INSERT_ROWS) : []) {
      await step("updating records (inserting their new rows)", batch, insert(batch));
    }
    if (byInsert && plan.updates.length && hasFloats(types)) {
      await step(
        "correcting float values",
        [],
        () => correctFloats(access, plan, types, plan.updates),
      );
    }
    for (
      const [fields, updates] of byInsert ? [] : updateBatches(plan, mutationRecords(plan, types))
    ) {
      await step("updating records", updates, async () => {
        await client.command({
          query: updateSql(qualified, plan, types, fields, updates),
          clickhouse_settings: MUTATION_SETTINGS,
        });
        await waitForMutations(access);
      });
    }
    for (const part of chunked(plan.deletes, DELETE_RECORDS)) {
      await step("deleting records", part, async () => {
        await client.command({
          query: deleteSql(qualified, plan, types, part),
          clickhouse_settings: MUTATION_SETTINGS,
        });
        await waitForMutations(access);
      });
    }
  } catch (error) {
    const message = messageOf(error, access.secrets);
    const total = plan.creates.length + plan.updates.length + plan.deletes.length;
    if (done.written > 0 || done.failing > 0) {
      const changes = planChangeList(plan);
      const results = changes.map((c, i) => done.result(c, i, plan));
      reportChanges(changes, plan, (i) => results[i], {
        index: results.indexOf("failed"),
        message,
      });
    }
    throw new TargetError(
      `${access.label}: failed while ${doing}: ${message}; ClickHouse writes are not transactional: ${done.written} of ${total} changes were written before it${
        done.written || done.failing ? " (listed above)" : ""
      }`,
      "fix the cause and run dsync again: it plans only what is still missing",
    );
  }
  if (plan.createTarget) {
    return plan.fields.map((f, i) => ({
      name: f.name,
      type: types[i],
      as: typeComment(f.type) ? f.type : undefined,
    }));
  }
  return undefined;
}

/** The statements that perform `plan` (`--format sql`); ClickHouse has no transaction to wrap them in. */
export function* changeStatements(access: TableShape, plan: WritePlan): Generator<string> {
  const types = planColumns(access, plan);
  const { qualified } = access;
  if (plan.createTarget) yield createTableSql(qualified, plan, types) + ";";
  const columns = plan.fields.map((f) => quote(f.name)).join(", ");
  const byInsert = updatesByInsert(access, plan);
  // Updates of a ReplacingMergeTree by dsync's key are new rows too (updatesByInsert).
  for (const list of byInsert ? [plan.creates, plan.updates] : [plan.creates]) {
    for (const c of list as Iterable<{ after: unknown[] }>) {
      const values = c.after.map((v, i) => castLiteral(v, types[i]));
      yield `INSERT INTO ${qualified} (${columns}) VALUES (${values.join(", ")});`;
    }
  }
  for (
    const [fields, updates] of byInsert ? [] : updateBatches(plan, mutationRecords(plan, types))
  ) {
    for (const u of updates) yield updateSql(qualified, plan, types, fields, [u]) + ";";
  }
  for (const d of plan.deletes) yield deleteSql(qualified, plan, types, [d]) + ";";
}
