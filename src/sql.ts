/**
 * SQL helpers shared by the SQL adapters.
 *
 * @example
 * ```ts
 * quoteIdent('Order "Items"'); // "\"Order \"\"Items\"\"\""
 * ```
 * @module
 */
import type { WritePlan } from "./plan.ts";
import { stableStringify } from "./values.ts";

/** Quotes an identifier for SQLite and PostgreSQL: `"name"`, inner quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Splits `a.b` or `"my schema"."my.table"` into its parts, unquoting quoted parts. */
export function splitQualifiedName(text: string): string[] {
  const parts: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      let part = "";
      i++;
      while (i < text.length) {
        if (text[i] === '"' && text[i + 1] === '"') {
          part += '"';
          i += 2;
        } else if (text[i] === '"') {
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

/** SQL dialects dsync can print statements for. */
export type SqlDialect = "sqlite" | "postgres";

/** A value as a SQL literal of `dialect`, escaped for any content (quotes, backslashes, newlines). */
export function sqlLiteral(value: unknown, dialect: SqlDialect): string {
  if (value === null || value === undefined) return "NULL";
  switch (typeof value) {
    case "boolean":
      return dialect === "sqlite" ? (value ? "1" : "0") : (value ? "TRUE" : "FALSE");
    case "bigint":
      return value.toString();
    case "number":
      if (Number.isFinite(value)) return String(value);
      if (dialect === "postgres") return `'${value}'::float8`;
      return Number.isNaN(value) ? "NULL" : value > 0 ? "9e999" : "-9e999";
    case "string":
      return `'${value.replaceAll("'", "''")}'`;
  }
  if (value instanceof Uint8Array) {
    const hex = Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("");
    return dialect === "sqlite" ? `X'${hex}'` : `'\\x${hex}'::bytea`;
  }
  return sqlLiteral(stableStringify(value), dialect);
}

/**
 * The statements that perform exactly `plan` on `table` (already quoted), wrapped in
 * BEGIN/COMMIT: `createTable` first when the table must be created.
 */
export function* changeSetSql(
  plan: WritePlan,
  table: string,
  dialect: SqlDialect,
  createTable?: string,
): Generator<string> {
  const names = plan.fields.map((f) => quoteIdent(f.name));
  const keyMatch = (key: unknown[]) =>
    plan.keyIndexes.map((f, k) => `${names[f]} = ${sqlLiteral(key[k], dialect)}`).join(" AND ");
  yield "BEGIN;";
  if (plan.createTarget && createTable) yield createTable + ";";
  for (const c of plan.creates) {
    yield `INSERT INTO ${table} (${names.join(", ")}) VALUES (${
      c.after!.map((v) => sqlLiteral(v, dialect)).join(", ")
    });`;
  }
  for (const c of plan.updates) {
    const sets = c.changed!.map((i) => `${names[i]} = ${sqlLiteral(c.after![i], dialect)}`);
    yield `UPDATE ${table} SET ${sets.join(", ")} WHERE ${keyMatch(c.key)};`;
  }
  for (const c of plan.deletes) yield `DELETE FROM ${table} WHERE ${keyMatch(c.key)};`;
  yield "COMMIT;";
}
