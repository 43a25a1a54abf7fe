/**
 * Field templates of `map:` entries: `{{ name | trim | title }}`. A template that is one
 * `{{ ... }}` alone gives that value as it is (a number stays a number); text around or
 * between placeholders makes a string, with NULL as empty text.
 *
 * Filters: `lower`, `upper`, `trim`, `title`, `default(x)`, `date(format)` and `replace(a, b)`
 * (docs/pipelines.md has what each does).
 *
 * @example
 * ```ts
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 * import { compileTemplate } from "./template.ts";
 * const record: Record<string, unknown> = { first: " ann ", last: "lee", total: 1500 };
 * const t = compileTemplate("{{ first | trim }} {{ last | upper }}");
 * strictEqual(t.render((name) => record[name]), "ann LEE");
 * deepStrictEqual(t.fields, ["first", "last"]);
 * const total = compileTemplate("{{ total }}");
 * strictEqual(total.render((name) => record[name]), 1500); // one placeholder alone: still a number
 * ```
 * @module
 */
import { encodeBase64 } from "../model/base64.ts";
import { stableStringify } from "../model/values.ts";

/** A malformed template; `offset` is where in the template text the problem is. */
export class TemplateError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = "TemplateError";
  }
}

type Filter = (value: unknown, args: unknown[]) => unknown;

/** The filters and how many arguments each takes. */
const FILTERS: Record<string, { arity: number; apply: Filter }> = {
  lower: { arity: 0, apply: (v) => mapText(v, (s) => s.toLowerCase()) },
  upper: { arity: 0, apply: (v) => mapText(v, (s) => s.toUpperCase()) },
  trim: { arity: 0, apply: (v) => mapText(v, (s) => s.trim()) },
  title: {
    arity: 0,
    apply: (v) =>
      mapText(v, (s) => s.toLowerCase().replace(/(^|[^\p{L}\p{N}'’])(\p{L})/gu, upperSecond)),
  },
  default: { arity: 1, apply: (v, [x]) => v === null || v === undefined || v === "" ? x : v },
  date: { arity: 1, apply: (v, [format]) => formatDate(v, String(format)) },
  replace: {
    arity: 2,
    apply: (v, [from, to]) => mapText(v, (s) => s.replaceAll(String(from), String(to))),
  },
};

/** Names of the template filters, for messages and docs. */
export const FILTER_NAMES: readonly string[] = Object.keys(FILTERS);

function upperSecond(_match: string, before: string, letter: string): string {
  return before + letter.toUpperCase();
}

/** A compiled template. */
export interface Template {
  /** Field names the template reads, in order of appearance. */
  fields: string[];
  /** The value for one record; `get` gives a field's value. Throws for a value a filter rejects. */
  render(get: (field: string) => unknown): unknown;
}

interface Placeholder {
  field: string;
  filters: { apply: Filter; args: unknown[] }[];
}

/** Whether a `map:` value is a template (it has a `{{`). */
export function isTemplate(text: string): boolean {
  return text.includes("{{");
}

/**
 * Parses a template.
 *
 * @throws {TemplateError} for an unclosed `{{`, an empty field, an unknown filter or a wrong
 * number of filter arguments.
 */
export function compileTemplate(text: string): Template {
  const parts: (string | Placeholder)[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf("{{", i);
    if (open < 0) {
      parts.push(text.slice(i));
      break;
    }
    if (open > i) parts.push(text.slice(i, open));
    const close = text.indexOf("}}", open + 2);
    if (close < 0) throw new TemplateError("unclosed '{{': expected '}}'", open);
    parts.push(parsePlaceholder(text, open + 2, close));
    i = close + 2;
  }
  const placeholders = parts.filter((p): p is Placeholder => typeof p !== "string");
  const alone = placeholders.length === 1 &&
    parts.every((p) => typeof p !== "string" || p.trim() === "");
  const value = (p: Placeholder, get: (field: string) => unknown) =>
    p.filters.reduce<unknown>((v, f) => f.apply(v, f.args), get(p.field) ?? null);
  return {
    fields: [...new Set(placeholders.map((p) => p.field))],
    render: (get) => {
      if (alone) return value(placeholders[0], get);
      let out = "";
      for (const part of parts) out += typeof part === "string" ? part : textOf(value(part, get));
      return out;
    },
  };
}

/** `field | f | g(1, 'x')` between `start` and `end` of `text`. */
function parsePlaceholder(text: string, start: number, end: number): Placeholder {
  const segments: { text: string; at: number }[] = [];
  let at = start, quote = "";
  for (let i = start; i <= end; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "|" || i === end) {
      segments.push({ text: text.slice(at, i), at });
      at = i + 1;
    }
  }
  const field = segments[0].text.trim();
  if (field === "") throw new TemplateError("'{{ }}' without a field name", start);
  const filters = segments.slice(1).map((segment) => {
    const lead = segment.text.length - segment.text.trimStart().length;
    const m = /^\s*([A-Za-z_]\w*)\s*(?:\((.*)\))?\s*$/s.exec(segment.text);
    if (!m) throw new TemplateError(`bad filter '${segment.text.trim()}'`, segment.at + lead);
    const filter = FILTERS[m[1]];
    if (!filter) {
      throw new TemplateError(
        `unknown filter '${m[1]}' (filters: ${FILTER_NAMES.join(", ")})`,
        segment.at + lead,
      );
    }
    const args = m[2] === undefined ? [] : parseArgs(m[2], segment.at + lead);
    if (args.length !== filter.arity) {
      throw new TemplateError(
        `filter '${m[1]}' takes ${filter.arity} argument${
          filter.arity === 1 ? "" : "s"
        }, got ${args.length}`,
        segment.at + lead,
      );
    }
    return { apply: filter.apply, args };
  });
  return { field, filters };
}

/** `'a', "b", 3`: quoted strings (a quote doubled inside) and numbers. */
function parseArgs(text: string, at: number): unknown[] {
  const args: unknown[] = [];
  const pattern = /\s*(?:'((?:[^']|'')*)'|"((?:[^"]|"")*)"|(-?\d+(?:\.\d+)?))\s*(,|$)/y;
  let last = "";
  while (pattern.lastIndex < text.length) {
    const m = pattern.exec(text);
    if (!m) {
      throw new TemplateError(
        `bad filter arguments '${text.trim()}': expected quoted strings or numbers`,
        at,
      );
    }
    args.push(
      m[1] !== undefined
        ? m[1].replaceAll("''", "'")
        : m[2] !== undefined
        ? m[2].replaceAll('""', '"')
        : Number(m[3]),
    );
    last = m[4];
    if (last === "") break;
  }
  if (last === ",") throw new TemplateError(`bad filter arguments '${text.trim()}'`, at);
  return args;
}

function mapText(value: unknown, f: (text: string) => string): unknown {
  return value === null || value === undefined ? null : f(textOf(value));
}

/** A value as template text: NULL empty, bytes base64, JSON values as JSON. */
function textOf(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return encodeBase64(value);
  if (typeof value === "object") return stableStringify(value);
  return String(value);
}

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * A date or timestamp written with `format`'s tokens `YYYY`, `YY`, `MM`, `DD`, `HH`, `mm`, `ss`
 * and `SSS`; other characters are kept. A value with a zone is shown in UTC.
 */
function formatDate(value: unknown, format: string): unknown {
  if (value === null || value === undefined || value === "") return null;
  const m = DATE_TIME.exec(textOf(value).trim());
  if (!m) throw new Error(`date: ${JSON.stringify(textOf(value))} is not a date or timestamp`);
  let [year, month, day, hour, minute, second] = m.slice(1, 7).map((p) => Number(p ?? 0));
  const millis = Number((m[7] ?? "").padEnd(3, "0").slice(0, 3));
  if (m[8] && m[8].toUpperCase() !== "Z") {
    const sign = m[8][0] === "-" ? -1 : 1;
    const digits = m[8].slice(1).replace(":", "");
    const offset = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0));
    const utc = new Date(Date.UTC(year, month - 1, day, hour, minute - offset, second));
    [year, month, day, hour, minute, second] = [
      utc.getUTCFullYear(),
      utc.getUTCMonth() + 1,
      utc.getUTCDate(),
      utc.getUTCHours(),
      utc.getUTCMinutes(),
      utc.getUTCSeconds(),
    ];
  }
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  const tokens: Record<string, string> = {
    YYYY: pad(year, 4),
    YY: pad(year % 100),
    MM: pad(month),
    DD: pad(day),
    HH: pad(hour),
    mm: pad(minute),
    ss: pad(second),
    SSS: pad(millis, 3),
  };
  return format.replace(/YYYY|YY|MM|DD|HH|mm|ss|SSS/g, (token) => tokens[token]);
}
