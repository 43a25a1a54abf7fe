/**
 * SQL helpers shared by the SQL adapters.
 *
 * @example
 * ```ts
 * quoteIdent('Order "Items"'); // "\"Order \"\"Items\"\"\""
 * ```
 * @module
 */

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
