/**
 * A pipeline's reference to a datastore (`source:`, `target:`, an entry of `targets:`), checked
 * against the datastore's adapter.
 *
 * @module
 */
import { isSqlImporter } from "../adapter_kit/sql.ts";
import { listImporters } from "../app/registry.ts";
import { optionKeys } from "./schema.ts";
import { adapterOptions } from "./config_settings.ts";
import type { ConfigContext, JoinConfig, SourceConfig } from "./config_types.ts";

/** A datastore reference as written in the file. */
export interface RawRef {
  datastore: string;
  table?: string;
  query?: string;
  joins?: JoinConfig[];
  where?: string;
  fields?: string[];
  [option: string]: unknown;
}

/** The keys of a reference that are not adapter options (SQL sources). */
const SOURCE_KEYS = new Set(["datastore", "table", "query", "joins", "where", "fields"]);

/**
 * A pipeline's `source:` or one of its targets: the datastore it names can take the role, its
 * keys are the adapter's options (or, on SQL, `table`, `query`, `joins`, `where`, `fields`).
 */
export function sourceRef(
  path: (string | number)[],
  raw: RawRef,
  role: "source" | "target",
  { datastores, issue }: Pick<ConfigContext, "datastores" | "issue">,
): SourceConfig | undefined {
  const datastore = datastores.get(raw.datastore);
  if (!datastore) {
    issue(
      [...path, "datastore"],
      `unknown datastore '${raw.datastore}'`,
      `datastores: ${[...datastores.keys()].join(", ") || "(none)"}`,
    );
    return undefined;
  }
  const { importer } = datastore;
  if (!(role === "source" ? importer.openSource : importer.openTarget)) {
    issue(
      [...path, "datastore"],
      `a ${importer.name} datastore cannot be a ${role}`,
      `${role}s: ${
        listImporters().filter((i) => role === "source" ? i.openSource : i.openTarget)
          .map((i) => i.name).join(", ")
      }`,
    );
    return undefined;
  }
  const sql = isSqlImporter(importer);
  const keys = optionKeys(importer);
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (SOURCE_KEYS.has(key)) {
      if (key !== "datastore" && !sql) {
        issue(
          [...path, key],
          `'${key}' needs a SQL datastore; '${datastore.name}' is ${importer.name}`,
          undefined,
          true,
        );
      }
    } else if (keys.some((k) => k.key === key)) options[key] = value;
    else {
      issue(
        [...path, key],
        `'${key}' is not an option of ${importer.name} datastores`,
        `${importer.name} options: ${keys.map((k) => k.key).join(", ") || "(none)"}`,
        true,
      );
    }
  }
  if (role === "source" && sql) {
    if (raw.query !== undefined) {
      for (const key of ["table", "joins", "where", "fields"]) {
        if (raw[key] !== undefined) {
          issue(
            [...path, key],
            `'${key}' cannot go with 'query'`,
            "write it into the query",
            true,
          );
        }
      }
    } else if (raw.table === undefined) {
      issue(path, "a SQL source needs 'table' or 'query'");
    }
  }
  return {
    datastore,
    table: raw.table,
    query: raw.query,
    joins: raw.joins ?? [],
    where: raw.where,
    fields: raw.fields,
    options: adapterOptions(keys, options),
  };
}
