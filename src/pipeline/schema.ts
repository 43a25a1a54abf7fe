/**
 * The config file's shape, written once as a JSON Schema: `dsync schema` prints it for editors
 * and the validator (validate.ts) checks YAML against this same object, so the two cannot
 * drift apart. Datastore options come from the adapter registry: an adapter's `--header-row <n>`
 * is the key `header_row`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { configSchema } from "./schema.ts";
 * const schema = configSchema();
 * deepStrictEqual(Object.keys(schema.properties!), ["datastores", "defaults", "watch", "pipelines"]);
 * ```
 * @module
 */
import type { AdapterOption, Importer } from "../adapter_kit/importer.ts";
import { listImporters } from "../app/registry.ts";
import { FORMATS } from "../app/sync.ts";
import { LOAD_MODES, MERGE_STRATEGIES } from "../app/modes.ts";

/** The part of JSON Schema (2020-12) the config schema uses, plus `x-unsupported`. */
export interface JsonSchema {
  $schema?: string;
  $id?: string;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  title?: string;
  description?: string;
  type?: JsonType | JsonType[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minimum?: number;
  minItems?: number;
  minProperties?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: false | JsonSchema;
  propertyNames?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  not?: JsonSchema;
  /** Accepted by name but not implemented yet: the validator reports this message. */
  "x-unsupported"?: string;
}

/** JSON Schema's value types. */
export type JsonType = "string" | "integer" | "number" | "boolean" | "array" | "object" | "null";

/** How a config key maps to an adapter option. */
export interface OptionKey {
  /** Config key (`header_row`). */
  key: string;
  /** Option name as commander gives it (`headerRow`). */
  name: string;
  /** `value` takes one value, `list` is repeatable (`-H`), `flag` is a switch. */
  kind: "value" | "list" | "flag";
  /** The option's help text. */
  description: string;
}

/** Keys a source or target names itself: not adapter options, even where the CLI has one. */
export const RESERVED_KEYS = ["table", "where", "delete_outside_where"];

/** The config key of each option of `importer`, except the reserved ones. */
export function optionKeys(importer: Importer): OptionKey[] {
  return importer.options.map(optionKey).filter((o) => !RESERVED_KEYS.includes(o.key));
}

function optionKey(option: AdapterOption): OptionKey {
  const long = /--([a-z0-9-]+)(?:\s+<[^>]*?(\.\.\.)?>)?/.exec(option.flags)!;
  const dashed = long[1];
  return {
    key: dashed.replaceAll("-", "_"),
    name: dashed.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase()),
    kind: !option.flags.includes("<") ? "flag" : long[2] ? "list" : "value",
    description: option.description,
  };
}

function optionSchema(option: OptionKey): JsonSchema {
  const description = option.description;
  if (option.kind === "flag") return { type: "boolean", description };
  if (option.kind === "list") {
    return {
      description,
      anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }],
    };
  }
  return { type: ["string", "number"], description };
}

/** How a datastore of each adapter is located: its `url` or its `path`. */
const LOCATED_BY: Record<string, { key: "url" | "path"; required: boolean }> = {
  postgres: { key: "url", required: false },
  mysql: { key: "url", required: false },
  clickhouse: { key: "url", required: false },
  http: { key: "url", required: true },
  webhook: { key: "url", required: true },
  redis: { key: "url", required: true },
  nats: { key: "url", required: true },
};

/** The locator key of `importer`'s datastores (`path` unless listed above). */
export function locatorKey(importer: Importer): { key: "url" | "path"; required: boolean } {
  return LOCATED_BY[importer.name] ?? { key: "path", required: true };
}

const NAME = { type: "string", pattern: "^[A-Za-z0-9_][A-Za-z0-9_.-]*$" } as const;
const NAMES: JsonSchema = {
  anyOf: [{ type: "string" }, { type: "array", items: { type: "string" }, minItems: 1 }],
};
const HANDLERS: JsonSchema = {
  description: "handler(s) run per change: {datastore, sql}, {url, ...} or {command}",
  anyOf: [{ $ref: "#/$defs/handler" }, {
    type: "array",
    items: { $ref: "#/$defs/handler" },
    minItems: 1,
  }],
};
const LIMIT: JsonSchema = {
  description: "at most N records, or N% of the target's records",
  anyOf: [
    { type: "integer", minimum: 0 },
    { type: "string", pattern: "^\\s*\\d+(\\.\\d+)?%?\\s*$" },
  ],
};

/** Options a pipeline takes that also go in `defaults:` (the pair commands' options). */
function runOptions(): Record<string, JsonSchema> {
  return {
    policy: {
      type: "object",
      description: "what may change: --no-create, --no-update, --delete, --max-*",
      additionalProperties: false,
      properties: {
        create: { type: "boolean", description: "create missing records (default true)" },
        update: { type: "boolean", description: "update differing records (default true)" },
        delete: {
          type: "boolean",
          description: "delete target records missing from the source (default false)",
        },
        create_table: {
          type: "boolean",
          description: "create a missing target table or file (default true)",
        },
        delete_outside_where: {
          type: "boolean",
          description:
            "with where: and delete: the target mirrors the filtered source; delete records outside the condition too (default false: deletes only inside it, or refused)",
        },
        max_create: LIMIT,
        max_update: LIMIT,
        max_delete: LIMIT,
        max_changes: LIMIT,
      },
    },
    mode: {
      enum: [...LOAD_MODES],
      description: "how the target is loaded (--mode; default sync, the keyed diff)",
    },
    merge_strategy: {
      enum: [...MERGE_STRATEGIES],
      description: "how changes are written (--merge-strategy; default upsert)",
    },
    update_key: {
      type: "string",
      description: "mode incremental/backfill: the source field that grows with every change",
    },
    range: {
      type: "string",
      pattern: "\\.\\.",
      description: "mode backfill: FROM..TO over update_key, inclusive",
    },
    add_columns: {
      type: "boolean",
      description: "add source fields the target lacks as new columns (default false)",
    },
    sign_column: { type: "string", description: "merge_strategy collapse: the sign column (sign)" },
    batch_size: { type: "integer", minimum: 1, description: "records per round trip (5000)" },
    dry_run: { type: "boolean", description: "compute and print the change set; change nothing" },
    format: { enum: [...FORMATS], description: "change set on stdout" },
    exit_code: { type: "boolean", description: "with dry_run: exit 1 when there are differences" },
    quiet: { type: "boolean", description: "stderr: errors only" },
    verbose: { type: "boolean", description: "stderr: more detail" },
    progress: { type: "boolean", description: "progress on stderr (default: on a terminal)" },
  };
}

/** Builds the JSON Schema of a config file from the registered adapters. */
export function configSchema(): JsonSchema {
  const importers = listImporters();
  const allOptions = new Map<string, OptionKey>();
  for (const importer of importers) {
    for (const o of optionKeys(importer)) if (!allOptions.has(o.key)) allOptions.set(o.key, o);
  }
  const adapterProperties = Object.fromEntries(
    [...allOptions.values()].map((o) => [o.key, optionSchema(o)]),
  );
  const datastores: JsonSchema[] = importers.map((importer) => {
    const { key, required } = locatorKey(importer);
    return {
      type: "object",
      description: importer.description,
      additionalProperties: false,
      required: ["type", ...(required ? [key] : [])],
      properties: {
        type: { enum: [importer.name, ...(importer.aliases ?? [])] },
        [key]: {
          type: "string",
          description: key === "url" ? "where it is (${VAR} interpolated)" : "file path",
        },
        ...Object.fromEntries(optionKeys(importer).map((o) => [o.key, optionSchema(o)])),
      },
    };
  });
  const table = {
    type: "string",
    description: "SQL datastores: [schema.]table, quoted as in SQL where needed",
  } as const;
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://dsync.dev/schema/config.json",
    title: "dsync config file (dsync run)",
    type: "object",
    additionalProperties: false,
    required: ["datastores", "pipelines"],
    properties: {
      datastores: {
        type: "object",
        description: "named connections: {type: ADAPTER, url|path: ..., adapter options}",
        propertyNames: NAME,
        additionalProperties: { $ref: "#/$defs/datastore" },
      },
      defaults: {
        type: "object",
        description: "options every pipeline takes unless it sets its own",
        additionalProperties: false,
        properties: runOptions(),
      },
      watch: {
        description:
          "run the pipelines round after round until SIGTERM/SIGINT, as dsync run --watch: true, or {every: 30s} (default 60s); --watch/--every win",
        anyOf: [{ type: "boolean" }, {
          type: "object",
          additionalProperties: false,
          properties: {
            every: {
              type: "string",
              description: "time between rounds: 500ms, 30s, 5m, 1h (default 60s)",
            },
          },
        }],
      },
      pipelines: {
        type: "object",
        description: "named syncs, run in depends_on order",
        minProperties: 1,
        propertyNames: NAME,
        additionalProperties: { $ref: "#/$defs/pipeline" },
      },
    },
    $defs: {
      datastore: { oneOf: datastores },
      pipeline: {
        type: "object",
        additionalProperties: false,
        required: ["source"],
        properties: {
          description: { type: "string" },
          depends_on: { ...NAMES, description: "pipelines that must run first" },
          source: { $ref: "#/$defs/source" },
          target: { $ref: "#/$defs/target" },
          targets: {
            type: "array",
            description:
              "instead of target: several targets kept in step with the source, each planned and applied on its own",
            minItems: 1,
            items: { anyOf: [{ type: "string" }, { $ref: "#/$defs/target" }] },
          },
          key: { ...NAMES, description: "key fields (--key)" },
          fields: { ...NAMES, description: "only these fields are compared and written" },
          exclude: { ...NAMES, description: "these fields are neither compared nor written" },
          rename: {
            type: "object",
            description: "source field: target field (--map SRC=DST)",
            additionalProperties: { type: "string" },
          },
          map: {
            type: "object",
            description: "field: '{{ template }}' or 'r => expression', computed per record",
            additionalProperties: { type: "string" },
          },
          strategy: {
            description:
              "full (default): read everything; hash: checksum bisection between two SQL tables; incremental: rows past the watermark; changes: the rows of the keys change capture recorded (dsync capture install)",
            enum: ["full", "hash", "incremental", "changes"],
          },
          partition: {
            type: "object",
            description:
              "strategy hash: segments are ranges of this field, not of the key (synctool's md5sum_hash partition options)",
            additionalProperties: false,
            required: ["column"],
            properties: {
              column: {
                type: "string",
                description:
                  "a compared field: integer, date, timestamp or timestamptz (synctool: partition_column)",
              },
              start: {
                type: ["string", "integer"],
                description: "where the first segment starts (default: the smallest value)",
              },
              end: {
                type: ["string", "integer"],
                description: "where the segments end (default: past the largest value)",
              },
              interval: {
                description:
                  "the first segments' width: seconds or 15m, 6h, 1d, 1w; for an integer field a number (synctool: initial_partition_interval)",
                anyOf: [
                  { type: "integer", minimum: 1 },
                  { type: "string", pattern: "^\\s*\\d+\\s*[smhdwSMHDW]?\\s*$" },
                ],
              },
            },
          },
          watermark: { type: "string", description: "incremental: the ever-growing column" },
          change_store: {
            type: "string",
            description:
              "changes: take the changed keys from this Redis stream or NATS subject (redis://host:port/db#KEY, nats://host:port/SUBJECT) instead of dsync_changes",
          },
          soft_delete: {
            type: "string",
            description: "incremental: rows with this column true are deleted from the target",
          },
          output: { type: "string", description: "write the change set to this file" },
          on_create: HANDLERS,
          on_update: HANDLERS,
          on_delete: HANDLERS,
          on_change: HANDLERS,
          handlers: {
            enum: ["after_commit", "instead"],
            description:
              "when the on_* handlers run: after the target committed (default), or instead of writing the target",
          },
          enrichment: {
            type: "array",
            description: "lookups per source record (Redis, HTTP), run in order before map:",
            items: { $ref: "#/$defs/enrichment" },
          },
          ...runOptions(),
        },
      },
      source: {
        type: "object",
        additionalProperties: false,
        required: ["datastore"],
        properties: {
          datastore: { type: "string" },
          table,
          query: { type: "string", description: "SQL datastores: a SELECT to read" },
          joins: { type: "array", items: { $ref: "#/$defs/join" } },
          where: { type: "string", description: "SQL condition on the table and its joins" },
          fields: {
            type: "array",
            description: "columns to select: name, table.name, or 'table.name as alias'",
            items: { type: "string" },
            minItems: 1,
          },
          ...adapterProperties,
        },
      },
      target: {
        type: "object",
        additionalProperties: false,
        required: ["datastore"],
        properties: { datastore: { type: "string" }, table, ...adapterProperties },
      },
      enrichment: {
        type: "object",
        additionalProperties: false,
        required: ["datastore"],
        properties: {
          datastore: {
            type: "string",
            description: "a datastore that serves lookups (redis, http)",
          },
          key: { type: "string", description: "Redis: the key, a template over the record" },
          path: {
            type: "string",
            description: "HTTP: path (or same-origin URL) under the datastore's url, a template",
          },
          value: {
            enum: ["string", "json", "hash"],
            description: "Redis: GET as text (default), GET parsed as JSON, or HGETALL",
          },
          output: {
            description:
              "{field: '{{ v }}' template or '(v, r) => ...'}, or one 'v => ({...})' with fields:",
            anyOf: [{ type: "string" }, {
              type: "object",
              minProperties: 1,
              additionalProperties: { type: "string" },
            }],
          },
          fields: { ...NAMES, description: "fields taken from the value (or returned by output)" },
          on_missing: {
            enum: ["null", "error", null],
            description: "a lookup that finds nothing: NULL fields (default) or an error",
          },
          concurrency: {
            type: "integer",
            minimum: 1,
            description: "HTTP: requests in flight at once (default 8)",
          },
        },
      },
      handler: {
        type: "object",
        additionalProperties: false,
        properties: {
          datastore: { type: "string", description: "sql: the datastore the statement runs on" },
          sql: {
            type: "string",
            description:
              "a statement; :field, :before.field, :after.field, :_op bound as parameters",
          },
          url: { type: "string", description: "an HTTP request to this URL (a template)" },
          method: { type: "string", description: "HTTP method (default POST)" },
          headers: { ...NAMES, description: "'Name: value' headers (${ENV} expanded)" },
          body: {
            type: "string",
            description: "request body, a template (default: the change line as JSON)",
          },
          command: {
            ...NAMES,
            description: "argv, or a string for sh -c; gets the change line as JSON on stdin",
          },
          timeout: { type: "number", minimum: 0, description: "seconds (default 30)" },
        },
      },
      join: {
        type: "object",
        additionalProperties: false,
        required: ["table", "on"],
        properties: {
          table,
          as: { type: "string", description: "alias of the joined table" },
          on: { type: "string", description: "SQL join condition" },
          type: { enum: ["inner", "left", "right", "full"], description: "default inner" },
        },
      },
    },
  };
}
