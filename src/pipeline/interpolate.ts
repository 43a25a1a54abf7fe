/**
 * `${VAR}` and `${VAR:-default}` in config strings, read from the environment; `$${` is a
 * literal `${`.
 *
 * @example
 * ```ts
 * import { strictEqual, throws } from "node:assert/strict";
 * import { interpolate, InterpolationError } from "./interpolate.ts";
 * const env = (vars: Record<string, string>) => (name: string) => vars[name];
 * const url = "postgres://${PGUSER:-app}@db/shop";
 * strictEqual(interpolate(url, env({})), "postgres://app@db/shop");
 * strictEqual(interpolate(url, env({ PGUSER: "" })), "postgres://app@db/shop");
 * strictEqual(interpolate(url, env({ PGUSER: "ann" })), "postgres://ann@db/shop");
 * strictEqual(interpolate("$${HOME}", env({})), "${HOME}"); // $$ escapes
 * throws(() => interpolate("${TOKEN}", env({})), InterpolationError);
 * ```
 * @module
 */

/** A `${...}` that is malformed or names an unset variable; `offset` is where it starts. */
export class InterpolationError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = "InterpolationError";
  }
}

const REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/;

/**
 * Replaces every `${VAR}` (an error when VAR is unset) and `${VAR:-default}` (the default when
 * VAR is unset or empty, as in a shell) in `text`.
 *
 * @throws {InterpolationError} for an unset variable without default or a malformed reference.
 */
export function interpolate(text: string, lookup: (name: string) => string | undefined): string {
  if (!text.includes("$")) return text;
  let out = "";
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf("$", i);
    if (dollar < 0) break;
    out += text.slice(i, dollar);
    if (text.startsWith("$${", dollar)) {
      out += "${";
      i = dollar + 3;
      continue;
    }
    if (text[dollar + 1] !== "{") {
      out += "$";
      i = dollar + 1;
      continue;
    }
    const m = REFERENCE.exec(text.slice(dollar));
    if (!m) {
      const end = text.indexOf("}", dollar);
      const shown = end < 0 ? text.slice(dollar, dollar + 20) : text.slice(dollar, end + 1);
      throw new InterpolationError(
        `bad interpolation '${shown}': expected \${NAME} or \${NAME:-default}`,
        dollar,
      );
    }
    const value = lookup(m[1]);
    if (m[2] !== undefined) out += value ? value : m[2];
    else if (value === undefined) {
      throw new InterpolationError(`environment variable ${m[1]} is not set`, dollar);
    } else out += value;
    i = dollar + m[0].length;
  }
  return out + text.slice(i);
}
