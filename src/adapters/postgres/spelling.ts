/**
 * PostgreSQL's own spelling of values it reads in several: a `uuid` lower-case with hyphens, an
 * array as `array_out` prints it. A source value is compared in that spelling (see
 * {@linkcode respelling}), so `A0EEBC99-…` or `{a, "b"}` written once is not an update on every
 * later run.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { canonicalArray, canonicalUuid } from "./spelling.ts";
 * deepStrictEqual(canonicalUuid("{A0EEBC999C0B4EF8BB6D6BB9BD380A11}"), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
 * deepStrictEqual(canonicalArray('{ a , "b" ,"c d",NULL,"NULL"}', (e) => e), '{a,b,"c d",NULL,"NULL"}');
 * ```
 * @module
 */
import type { Value } from "../../model/types.ts";
import { OID, type PgColumn } from "./catalog.ts";

const UUID = /^(\{?)([0-9a-f]{4}(?:-?[0-9a-f]{4}){7})(\}?)$/i;

/** A uuid as PostgreSQL prints it, or undefined when `uuid_in` would refuse the text. */
export function canonicalUuid(text: string): string | undefined {
  const m = UUID.exec(text);
  if (!m || m[1].length !== m[3].length) return undefined;
  const hex = m[2].replaceAll("-", "").toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

/** An array (or a nested one) of elements: text, or null for NULL. */
type Elements = (string | null | Elements)[];

/** PostgreSQL's `isspace` (array_in skips these around elements). */
const SPACE = /[ \t\n\r\v\f]/;

/** Parses array_in's text form (`{a,"b c",NULL}`, nested braces), or undefined when it cannot. */
function parseArray(text: string): Elements | undefined {
  let i = 0;
  const skip = () => {
    while (i < text.length && SPACE.test(text[i])) i++;
  };
  const array = (): Elements | undefined => {
    i++; // {
    const items: Elements = [];
    skip();
    if (text[i] === "}") {
      i++;
      return items;
    }
    for (;;) {
      skip();
      if (text[i] === "{") {
        const inner = array();
        if (!inner) return undefined;
        items.push(inner);
      } else if (text[i] === '"') {
        let value = "";
        for (i++; i < text.length && text[i] !== '"'; i++) {
          if (text[i] === "\\") i++;
          if (i < text.length) value += text[i];
        }
        if (i >= text.length) return undefined;
        i++;
        items.push(value);
      } else {
        let value = "", kept = 0;
        while (i < text.length && !/[,{}"]/.test(text[i])) {
          if (text[i] === "\\") {
            if (++i >= text.length) return undefined;
            value += text[i++];
            kept = value.length;
          } else value += text[i++];
        }
        // Trailing white space is dropped, unless a backslash escaped it.
        let end = value.length;
        while (end > kept && SPACE.test(value[end - 1])) end--;
        value = value.slice(0, end);
        if (value === "" && kept === 0) return undefined;
        items.push(kept === 0 && value.toUpperCase() === "NULL" ? null : value);
      }
      skip();
      if (text[i] === ",") i++;
      else if (text[i] === "}") {
        i++;
        return items;
      } else return undefined;
    }
  };
  skip();
  if (text[i] !== "{") return undefined;
  const parsed = array();
  skip();
  return parsed && i === text.length && rectangular(parsed) ? parsed : undefined;
}

/** Whether nested arrays have one shape (array_in refuses ragged ones) and no empty inner one. */
function rectangular(items: Elements): boolean {
  const nested = items.map((item) => Array.isArray(item));
  if (nested.some((n) => n !== nested[0])) return false;
  if (!nested[0]) return true;
  const inner = items as Elements[];
  return inner.every((a) => a.length > 0 && a.length === inner[0].length && rectangular(a)) &&
    new Set(inner.map(depth)).size === 1;
}

function depth(items: Elements): number {
  return Array.isArray(items[0]) ? 1 + depth(items[0] as Elements) : 1;
}

/** An element as array_out quotes it. */
function quoteElement(value: string): string {
  return value === "" || /[{},"\\ \t\n\r\v\f]/.test(value) || value.toUpperCase() === "NULL"
    ? `"${value.replace(/["\\]/g, (c) => "\\" + c)}"`
    : value;
}

/**
 * `text` as array_out prints it, each element respelled by `element` (undefined: the text as it
 * is, for PostgreSQL to judge).
 */
export function canonicalArray(
  text: string,
  element: (value: string) => string | undefined,
): string | undefined {
  const parsed = parseArray(text);
  if (!parsed) return undefined;
  let ok = true;
  const print = (items: Elements): string =>
    "{" + items.map((item) => {
      if (item === null) return "NULL";
      if (Array.isArray(item)) return print(item);
      const spelled = element(item);
      if (spelled === undefined) ok = false;
      return quoteElement(spelled ?? item);
    }).join(",") + "}";
  const out = print(parsed);
  return ok ? out : undefined;
}

/** An integer element as int2/4/8 print it. */
function canonicalInteger(text: string): string | undefined {
  const m = /^\s*([+-]?)0*(\d+)\s*$/.exec(text);
  return m ? (m[1] === "-" && m[2] !== "0" ? "-" : "") + m[2] : undefined;
}

/** Element respellings of the array types dsync canonicalises, by array type name. */
const ARRAY_ELEMENTS: Record<string, (value: string) => string | undefined> = {
  _text: (value) => value,
  _varchar: (value) => value,
  _int2: canonicalInteger,
  _int4: canonicalInteger,
  _int8: canonicalInteger,
  _uuid: canonicalUuid,
};

/**
 * The first element of an integer or uuid array literal that the element type cannot read
 * (`x` in `{1,x}` for `int[]`), or undefined: the literal reads, or it is a form dsync does not
 * parse (dimension decorations), which the server judges.
 */
export function badArrayElement(column: PgColumn, text: string): string | undefined {
  const element = column.category === "A" ? ARRAY_ELEMENTS[column.baseName] : undefined;
  const parsed = element && parseArray(text);
  if (!parsed) return undefined;
  const first = (items: Elements): string | undefined => {
    for (const item of items) {
      const bad = item === null
        ? undefined
        : Array.isArray(item)
        ? first(item)
        : element!(item) === undefined
        ? item
        : undefined;
      if (bad !== undefined) return bad;
    }
    return undefined;
  };
  return first(parsed);
}

/**
 * How `column` respells a text value, or undefined when it stores text as given: `uuid`
 * lower-case, arrays of text, varchar, integers and uuids as array_out prints them. Text it
 * cannot read is left as it is (the server, or {@linkcode valueCheck}, refuses it).
 */
export function respelling(column: PgColumn): ((value: Value) => Value) | undefined {
  const spell = column.baseOid === OID.uuid
    ? canonicalUuid
    : column.category === "A" && ARRAY_ELEMENTS[column.baseName]
    ? (text: string) => canonicalArray(text, ARRAY_ELEMENTS[column.baseName])
    : undefined;
  if (!spell) return undefined;
  return (value) => typeof value === "string" ? spell(value) ?? value : value;
}
