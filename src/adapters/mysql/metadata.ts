/**
 * The column of a result set (a query source has no `information_schema` entry): its type from
 * the protocol's column definition (type code, flags, length, decimals, character set).
 *
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { fieldColumn } from "./metadata.ts";
 * const column = fieldColumn({ name: "ok", columnType: 1, columnLength: 1, flags: 0, decimals: 0, characterSet: 63 });
 * assertEquals(column.type, "boolean");
 * ```
 * @module
 */
import { columnOf, type MysqlColumn, type TimeAs } from "./values.ts";

/** The parts of mysql2's `FieldPacket` used here. */
export interface ResultField {
  name: string;
  columnType?: number;
  columnLength?: number;
  flags?: number | string[];
  decimals?: number;
  characterSet?: number;
}

const UNSIGNED_FLAG = 32;
const ENUM_FLAG = 256;
const SET_FLAG = 2048;
/** The `binary` character set: bytes, not text. */
const BINARY_CHARSET = 63;

/** The declared type a result column stands for, as `COLUMN_TYPE` would spell it. */
function declaredType(field: ResultField): string {
  const flags = typeof field.flags === "number" ? field.flags : 0;
  const unsigned = flags & UNSIGNED_FLAG ? " unsigned" : "";
  const binary = field.characterSet === BINARY_CHARSET;
  const length = field.columnLength ?? 0;
  const fsp = field.decimals && field.decimals < 7 ? `(${field.decimals})` : "";
  switch (field.columnType) {
    case 0:
    case 246: {
      const scale = field.decimals ?? 0;
      // columnLength counts the sign and the point.
      const precision = Math.max(1, length - (scale > 0 ? 1 : 0) - (unsigned ? 0 : 1));
      return `decimal(${precision},${scale})${unsigned}`;
    }
    case 1:
      return `tinyint(${length})${unsigned}`;
    case 2:
      return `smallint${unsigned}`;
    case 3:
      return `int${unsigned}`;
    case 4:
      return "float";
    case 5:
      return "double";
    case 7:
      return `timestamp${fsp}`;
    case 8:
      return `bigint${unsigned}`;
    case 9:
      return `mediumint${unsigned}`;
    case 10:
    case 14:
      return "date";
    case 11:
      return `time${fsp}`;
    case 12:
      return `datetime${fsp}`;
    case 13:
      return "year";
    case 16:
      return `bit(${length})`;
    case 245:
      return "json";
    case 247:
      return "enum";
    case 248:
      return "set";
    case 249:
    case 250:
    case 251:
    case 252:
      return binary ? "longblob" : "longtext";
    case 15:
    case 253:
      return binary ? "varbinary" : "varchar";
    case 254:
      if (flags & ENUM_FLAG) return "enum";
      if (flags & SET_FLAG) return "set";
      return binary ? "binary" : "char";
  }
  return binary ? "longblob" : "longtext";
}

/** A query result's column, typed as its metadata says (lengths are not checked: a source). */
export function fieldColumn(field: ResultField, timeAs?: TimeAs): MysqlColumn {
  return columnOf(field.name, declaredType(field), { timeAs });
}
