/**
 * The statements that write a change set into a MySQL table, inside the caller's transaction:
 * multi-row prepared INSERTs, and updates and deletes set-based through a temporary table of the
 * changed records (numbered, so that the record a failing statement trips on is found by
 * bisection in savepoints).
 *
 * @example
 * ```ts ignore
 * await updateByKey(conn, "`shop`.`users`", plan, columns, (what) => failing = what);
 * ```
 * @module
 */
import type { Connection as PromiseConnection } from "mysql2/promise";
import { showKey, type WritePlan } from "../../adapter_kit/changes.ts";
import { firstFailingRow } from "../../adapter_kit/failing_row.ts";
import type { FieldType } from "../../model/types.ts";
import { quoteIdent } from "./dialect.ts";
import { bindValue, type MysqlColumn, placeholderFor } from "./values.ts";

/** Most values bound by one statement (the protocol's limit is 65,535). */
const MAX_PARAMETERS = 30000;
/** Most rows per INSERT; and about the most bytes, well under the default max_allowed_packet. */
const INSERT_ROWS = 1000;
const INSERT_BYTES = 4 << 20;
/** Up to this many distinct changed-field sets, one UPDATE each; beyond, one with IFs. */
const MAX_UPDATE_STATEMENTS = 16;

/**
 * Multi-row prepared INSERTs of `rows` (values in `columns` order, of `fields` types). When one
 * fails, finds the row that fails alone (in a savepoint, undone) and reports its 0-based index
 * before rethrowing; without `report` (a non-transactional table, where a probe would stay
 * written), it just rethrows.
 */
export async function insertRows(
  conn: PromiseConnection,
  insert: string,
  columns: (MysqlColumn | undefined)[],
  fields: { type: FieldType }[],
  rows: Iterable<unknown[]>,
  progress: (rows: number) => void,
  report?: (index: number) => void,
): Promise<void> {
  const width = columns.length;
  const types = fields.map((f) => f.type);
  const tuple = `(${columns.map(placeholderFor).join(", ")})`;
  const maxRows = Math.max(1, Math.min(INSERT_ROWS, Math.floor(MAX_PARAMETERS / width)));
  const statements = new Map<number, string>();
  const statement = (n: number) => {
    let sql = statements.get(n);
    if (!sql) statements.set(n, sql = insert + Array(n).fill(tuple).join(", "));
    return sql;
  };
  let values: unknown[] = [];
  let bytes = 0;
  let count = 0;
  let done = 0;
  const flush = async () => {
    const n = count;
    if (n === 0) return;
    try {
      await conn.execute(statement(n), values as never[]);
    } catch (error) {
      if (!report) throw error;
      const first = done;
      const chunk = values;
      for (let r = 0; r < n; r++) {
        await conn.query("SAVEPOINT dsync_probe");
        try {
          await conn.execute(statement(1), chunk.slice(r * width, (r + 1) * width) as never[]);
        } catch {
          report(first + r);
          break;
        } finally {
          await conn.query("ROLLBACK TO SAVEPOINT dsync_probe");
        }
      }
      throw error;
    }
    done += n;
    progress(done);
    values = [];
    bytes = 0;
    count = 0;
  };
  for (const row of rows) {
    for (let i = 0; i < width; i++) {
      const v = bindValue(row[i], types[i]);
      bytes += v === null ? 4 : v.length + 4;
      values.push(v);
    }
    if (++count >= maxRows || bytes >= INSERT_BYTES) await flush();
  }
  await flush();
}

/** Loads key (and value) fields of changes into a temporary table `name`, rows numbered. */
async function loadTemp(
  conn: PromiseConnection,
  table: string,
  name: string,
  plan: WritePlan,
  columns: (MysqlColumn | undefined)[],
  fieldIndexes: number[],
  rows: Iterable<unknown[]>,
  extra: string[],
): Promise<void> {
  const select = fieldIndexes.map((f, i) => `t.${quoteIdent(plan.fields[f].name)} AS f${i}`)
    .concat(extra);
  await conn.query(`DROP TEMPORARY TABLE IF EXISTS ${name}`);
  await conn.query(
    `CREATE TEMPORARY TABLE ${name} AS SELECT ${select.join(", ")} FROM ${table} t LIMIT 0`,
  );
  const names = fieldIndexes.map((_, i) => `f${i}`).concat(
    extra.map((e) => e.slice(e.lastIndexOf(" ") + 1)),
  );
  // The extra columns are numbers and flags: bound as they are.
  const fields = fieldIndexes.map((f) => plan.fields[f] as { type: FieldType })
    .concat(extra.map(() => ({ type: "integer" })));
  const cols = fieldIndexes.map((f) => columns[f]).concat(extra.map(() => undefined));
  await insertRows(
    conn,
    `INSERT INTO ${name} (${names.join(", ")}) VALUES `,
    cols,
    fields,
    rows,
    () => {},
  );
}

/** Updates `plan.updates` by key through the temporary table `dsync_update`. */
export async function updateByKey(
  conn: PromiseConnection,
  table: string,
  plan: WritePlan,
  columns: (MysqlColumn | undefined)[],
  onFailing?: (what: string) => void,
): Promise<void> {
  const keySet = new Set(plan.keyIndexes);
  const changedSet = new Set<number>();
  for (const u of plan.updates) for (const i of u.changed) changedSet.add(i);
  const setFields = [...changedSet].filter((i) => !keySet.has(i)).sort((a, b) => a - b);
  if (setFields.length === 0) return;
  const tempFields = [...plan.keyIndexes, ...setFields];
  const signatures = new Map<string, number>();
  for (const u of plan.updates) {
    const s = u.changed.filter((i) => !keySet.has(i)).join(",");
    if (!signatures.has(s)) signatures.set(s, signatures.size);
  }
  const useIf = signatures.size > MAX_UPDATE_STATEMENTS;
  const updates = plan.updates;
  function* rows(): Generator<unknown[]> {
    let r = 0;
    for (const u of updates) {
      const s = u.changed.filter((i) => !keySet.has(i)).join(",");
      const row: unknown[] = tempFields.map((f) => u.after[f]);
      row.push(++r, signatures.get(s)!);
      if (useIf) {
        const changed = new Set(u.changed);
        row.push(setFields.map((f) => changed.has(f) ? "1" : "0").join(""));
      }
      yield row;
    }
  }
  const extra = ["CAST(0 AS SIGNED) AS n", "CAST(0 AS SIGNED) AS s"];
  if (useIf) extra.push(`CAST('' AS CHAR(${setFields.length})) AS c`);
  const tempPlan = { ...plan, fields: tempFields.map((f) => plan.fields[f]) };
  await loadTemp(
    conn,
    table,
    "dsync_update",
    tempPlan,
    tempFields.map((f) => columns[f]),
    tempFields.map((_, i) => i),
    rows(),
    extra,
  );
  const keyMatch = plan.keyIndexes.map((f, i) => `t.${quoteIdent(plan.fields[f].name)} = u.f${i}`)
    .join(" AND ");
  const tempIndex = (f: number) => plan.keyIndexes.length + setFields.indexOf(f);
  const from = `UPDATE ${table} t JOIN dsync_update u ON ${keyMatch} SET `;
  const statements: string[] = [];
  if (useIf) {
    const sets = setFields.map((f, j) => {
      const col = quoteIdent(plan.fields[f].name);
      return `t.${col} = IF(SUBSTRING(u.c, ${j + 1}, 1) = '1', u.f${tempIndex(f)}, t.${col})`;
    });
    statements.push(`${from}${sets.join(", ")} WHERE 1 = 1`);
  } else {
    for (const [signature, id] of signatures) {
      if (signature === "") continue;
      const sets = signature.split(",").map(Number).map((f) =>
        `t.${quoteIdent(plan.fields[f].name)} = u.f${tempIndex(f)}`
      );
      statements.push(`${from}${sets.join(", ")} WHERE u.s = ${id}`);
    }
  }
  for (const statement of statements) {
    await runFindingRow(
      conn,
      statement,
      updates.length,
      onFailing && ((n) => {
        const change = nthChange(updates, n - 1);
        if (change) onFailing(`updating record ${showKey(plan, change.key)}`);
      }),
    );
  }
}

/** Deletes `plan.deletes` by key through the temporary table `dsync_delete`. */
export async function deleteByKey(
  conn: PromiseConnection,
  table: string,
  plan: WritePlan,
  columns: (MysqlColumn | undefined)[],
  onFailing?: (what: string) => void,
): Promise<void> {
  const deletes = plan.deletes;
  function* rows(): Generator<unknown[]> {
    let r = 0;
    for (const d of deletes) yield [...d.key, ++r];
  }
  const keyFields = plan.keyIndexes.map((f) => plan.fields[f]);
  await loadTemp(
    conn,
    table,
    "dsync_delete",
    { ...plan, fields: keyFields },
    plan.keyIndexes.map((f) => columns[f]),
    keyFields.map((_, i) => i),
    rows(),
    ["CAST(0 AS SIGNED) AS n"],
  );
  const keyMatch = plan.keyIndexes.map((f, i) => `t.${quoteIdent(plan.fields[f].name)} = u.f${i}`)
    .join(" AND ");
  await runFindingRow(
    conn,
    `DELETE t FROM ${table} t JOIN dsync_delete u ON ${keyMatch} WHERE 1 = 1`,
    deletes.length,
    onFailing && ((n) => {
      const change = nthChange(deletes, n - 1);
      if (change) onFailing(`deleting record ${showKey(plan, change.key)}`);
    }),
  );
}

/** The `n`th (0-based) change of a list, reading no further. */
export function nthChange<T>(items: Iterable<T>, n: number): T | undefined {
  let i = 0;
  for (const item of items) if (i++ === n) return item;
  return undefined;
}

/**
 * Runs `statement` (an UPDATE/DELETE joined with a temp table `u` numbered by `n`, ending in a
 * WHERE clause). A failed statement is undone by the server; the first row that fails alone is
 * found by bisection over `n` (each probe in a savepoint, undone), reported, and the original
 * error rethrown. Without `report` (a non-transactional table, where a probe would stay
 * written), the error is rethrown as it is.
 */
async function runFindingRow(
  conn: PromiseConnection,
  statement: string,
  count: number,
  report?: (n: number) => void,
): Promise<void> {
  try {
    await conn.query(statement);
    return;
  } catch (error) {
    if (!report) throw error;
    const fails = async (lo: number, hi: number) => {
      await conn.query("SAVEPOINT dsync_probe");
      try {
        await conn.query(`${statement} AND u.n BETWEEN ${lo} AND ${hi}`);
        return false;
      } catch {
        return true;
      } finally {
        await conn.query("ROLLBACK TO SAVEPOINT dsync_probe");
      }
    };
    const row = await firstFailingRow(count, fails);
    if (row !== undefined) report(row);
    throw error;
  }
}
