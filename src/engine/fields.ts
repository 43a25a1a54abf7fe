/**
 * Which source field lands in which target field, and with which type: `--map`, `--fields`,
 * `--exclude`, `--key` and the type rule "normalise both sides to the target's types".
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import type { DatasetInfo } from "../adapter_kit/importer.ts";
 * import { resolveFields } from "./fields.ts";
 * const csv: DatasetInfo & { label: string } = {
 *   label: "users.csv",
 *   exists: true,
 *   fields: [
 *     { name: "id", type: "auto" },
 *     { name: "name", type: "auto" },
 *     { name: "mail", type: "auto" },
 *   ],
 *   primaryKey: [],
 *   typed: false,
 *   textual: true,
 * };
 * const table: DatasetInfo & { label: string } = {
 *   label: "sqlite:app.db#users",
 *   exists: true,
 *   fields: [
 *     { name: "id", type: "integer" },
 *     { name: "name", type: "text" },
 *     { name: "email", type: "text" },
 *   ],
 *   primaryKey: ["id"],
 *   typed: true,
 *   textual: false,
 * };
 * const layout = resolveFields(csv, table, { map: { mail: "email" }, key: ["id"] });
 * deepStrictEqual(layout.fields.map((f) => f.name), ["id", "name", "email"]);
 * deepStrictEqual(layout.fields.map((f) => f.type), ["integer", "text", "text"]); // the target's
 * deepStrictEqual(layout.keyIndexes, [0]);
 * ```
 * @module
 */
import { InputError, UsageError } from "../model/errors.ts";
import type { DatasetInfo } from "../adapter_kit/importer.ts";
import type { Field, FieldType } from "../model/types.ts";

/** Field selection options, as given on the command line. */
export interface FieldOptions {
  /** Key field names (target names); default: the target's primary key, else the source's, else `id`. */
  key?: string[];
  /** Only these fields (target names) are compared and written; default: all source fields. */
  fields?: string[];
  /** These fields (target names) are neither compared nor written. */
  exclude?: string[];
  /** Source field name → target field name. */
  map?: Record<string, string>;
}

/** One compared field: its target name, where it sits in source and target rows, its type. */
export interface FieldSlot extends Field {
  /** Index of the field in a source row. */
  sourceIndex: number;
  /** Index of the field in a target row, or -1 when the target does not exist yet. */
  targetIndex: number;
  /** The source's type for the field. */
  sourceType: FieldType;
  /** A `json` field whose source values are JSON values, not JSON text (`DatasetInfo.jsonValues`). */
  sourceJsonValues?: boolean;
  /** The same for the target's values. */
  targetJsonValues?: boolean;
}

/** The resolved field layout of one sync. */
export interface FieldLayout {
  /** Compared and written fields, in source order; `type` is the comparison type. */
  fields: FieldSlot[];
  /** Indexes into `fields` of the key fields, in key order. */
  keyIndexes: number[];
  /** The key field names. */
  key: string[];
}

/**
 * Resolves field names, key and comparison types. Comparison type of a field: the target's
 * declared type; else the source's declared type; else `auto` (both untyped).
 *
 * @throws {UsageError} for names in `--map`/`--fields`/`--exclude`/`--key` that do not exist.
 * @throws {InputError} when a source field has no column in an existing target.
 */
export function resolveFields(
  source: DatasetInfo & { label: string },
  target: DatasetInfo & { label: string },
  options: FieldOptions,
): FieldLayout {
  const map = options.map ?? {};
  const sourceNames = new Set(source.fields.map((f) => f.name));
  for (const from of Object.keys(map)) {
    if (!sourceNames.has(from)) {
      throw new UsageError(
        `--map ${from}=${map[from]}: source ${source.label} has no field '${from}'`,
      );
    }
  }
  const renamed = source.fields.map((f, i) => ({
    field: f,
    index: i,
    name: map[f.name] ?? f.name,
  }));
  const seen = new Set<string>();
  for (const r of renamed) {
    if (seen.has(r.name)) throw new UsageError(`two source fields map to the field '${r.name}'`);
    seen.add(r.name);
  }
  const known = (names: string[] | undefined, option: string) => {
    for (const name of names ?? []) {
      if (!seen.has(name)) {
        throw new UsageError(
          `${option}: no field '${name}' in source ${source.label}`,
          source.fieldsHint ?? `fields: ${[...seen].join(", ")}`,
        );
      }
    }
  };
  known(options.fields, "--fields");
  known(options.exclude, "--exclude");

  const targetIndex = new Map(target.fields.map((f, i) => [f.name, i]));
  const key = options.key?.length
    ? options.key
    : target.primaryKey.length
    ? target.primaryKey
    : source.primaryKey.length
    ? source.primaryKey.map((name) => map[name] ?? name)
    : seen.has("id")
    ? ["id"]
    : null;
  if (!key) {
    throw new UsageError(
      `no key: ${target.label} has no primary key and the source has no 'id' field`,
      source.fieldsHint ?? "name the key fields with --key, e.g. --key email or --key a,b",
    );
  }
  known(key, "--key");
  if (options.exclude?.some((name) => key.includes(name))) {
    throw new UsageError(`--exclude: a key field cannot be excluded (key: ${key.join(",")})`);
  }

  const wanted = options.fields?.length ? new Set([...key, ...options.fields]) : null;
  const excluded = new Set(options.exclude ?? []);
  const fields: FieldSlot[] = [];
  for (const r of renamed) {
    if ((wanted && !wanted.has(r.name)) || excluded.has(r.name)) continue;
    const tIndex = target.exists ? targetIndex.get(r.name) ?? -1 : -1;
    if (target.exists && tIndex < 0) {
      throw new InputError(
        `field '${r.name}' of ${source.label} is not in ${target.label}`,
        `add it with --add-columns (add_columns: true in a pipeline), add the column yourself, or leave the field out with --exclude ${r.name}`,
      );
    }
    const targetField = tIndex >= 0 ? target.fields[tIndex] : undefined;
    const type = target.exists && target.typed && targetField
      ? targetField.type
      : source.typed
      ? r.field.type
      : "auto";
    fields.push({
      name: r.name,
      type,
      nativeType: targetField?.nativeType ?? (source.typed ? r.field.nativeType : undefined),
      respell: target.exists && target.typed ? targetField?.respell : undefined,
      sourceIndex: r.index,
      targetIndex: tIndex,
      sourceType: r.field.type,
      sourceJsonValues: type === "json" && source.jsonValues === true,
      targetJsonValues: type === "json" && target.jsonValues === true,
    });
  }
  const keyIndexes = key.map((name) => fields.findIndex((f) => f.name === name));
  return { fields, keyIndexes, key };
}
