/**
 * Statements: the capability a SQL adapter offers for the `on_create`/`on_update`/`on_delete`
 * handlers of `dsync run` — one statement of the user's at a time, its values always bound as
 * parameters, each committed on its own. {@linkcode namedParameters} turns the handler's `:name`
 * placeholders into the dialect's own (`$1`, `?`), outside quotes and comments.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { namedParameters } from "./statements.ts";
 * deepStrictEqual(
 *   namedParameters("insert into log values (:id, ':id', :after.name::text)", (n) => `$${n}`),
 *   { text: "insert into log values ($1, ':id', $2::text)", names: ["id", "after.name"] },
 * );
 * ```
 * @module
 */

/** One open connection for statements; opening it connects (or checks the file), so a wrong datastore fails there. */
export interface StatementRunner {
  /** How messages name it; no secrets. */
  readonly label: string;
  /** Runs `text` with `params` bound to its placeholders, in order, and commits it. */
  run(text: string, params: unknown[]): Promise<void>;
  /** Releases the connection. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * `:name` (letters, digits, `_`, and `.` between names: `:after.email`) replaced by
 * `placeholder(n)`; the same name twice is bound twice. Text in single or double quotes, `--` and
 * `/* *\/` comments and PostgreSQL's `::type` casts are left as they are.
 */
export function namedParameters(
  sql: string,
  placeholder: (n: number) => string,
): { text: string; names: string[] } {
  const names: string[] = [];
  let text = "";
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === "`") {
      const end = closing(sql, i, c);
      text += sql.slice(i, end);
      i = end;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      const stop = end < 0 ? sql.length : end;
      text += sql.slice(i, stop);
      i = stop;
    } else if (c === "/" && sql[i + 1] === "*") {
      const end = sql.indexOf("*/", i + 2);
      const stop = end < 0 ? sql.length : end + 2;
      text += sql.slice(i, stop);
      i = stop;
    } else if (c === ":" && sql[i + 1] === ":") {
      text += "::";
      i += 2;
    } else if (c === ":" && /[A-Za-z_]/.test(sql[i + 1] ?? "")) {
      const name = /^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*/.exec(sql.slice(i + 1))![0];
      names.push(name);
      text += placeholder(names.length);
      i += 1 + name.length;
    } else {
      text += c;
      i++;
    }
  }
  return { text, names };
}

/** Index after the quote that closes the one at `start` (a doubled quote is part of the text). */
function closing(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}
