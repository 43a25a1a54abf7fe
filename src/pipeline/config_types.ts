/**
 * The shape of a loaded config file (`dsync run`): datastores, pipelines, sources, targets, field
 * mapping and enrichment, as src/pipeline/config.ts builds them from the YAML.
 * @module
 */
import type { Importer, OpenOptions } from "../adapter_kit/importer.ts";
import type { Template } from "./template.ts";
/** A named datastore. */
export interface DatastoreConfig {
  name: string;
  importer: Importer;
  /** Its `url` or `path`, when given. */
  locator?: string;
  /** Adapter options, by option name (`headerRow`). */
  options: OpenOptions;
}

/** A joined table of a source. */
export interface JoinConfig {
  table: string;
  on: string;
  as?: string;
  type?: "inner" | "left" | "right" | "full";
}

/** Where a pipeline reads. */
export interface SourceConfig {
  datastore: DatastoreConfig;
  table?: string;
  query?: string;
  joins: JoinConfig[];
  where?: string;
  fields?: string[];
  /** Adapter options of this source, over the datastore's. */
  options: OpenOptions;
}

/** Where a pipeline writes. */
export interface TargetConfig {
  datastore: DatastoreConfig;
  table?: string;
  options: OpenOptions;
}

/** One `map:` entry. */
export interface MapEntry {
  field: string;
  /** The template or the expression's source text. */
  text: string;
  /** Set for a template; an expression otherwise. */
  template?: Template;
  /** `FILE:LINE:COLUMN` of the entry, for messages. */
  at: string;
}

/** One computed field of an entry: a template over the value, or an expression `(v, r) =>`. */
export interface EnrichmentOutput {
  field: string;
  template?: Template;
  /** The expression's source text, when it is one. */
  expression?: string;
}

/** One `enrichment:` entry, checked. */
export interface EnrichmentEntry {
  datastore: DatastoreConfig;
  /** The request template (`key:` or `path:`). */
  request: Template;
  /** Whether request values are URL-encoded (HTTP paths). */
  encode: boolean;
  /** How Redis values are read: string, json, hash. */
  value?: string;
  concurrency?: number;
  /** The fields this entry gives, in order. */
  fields: string[];
  /** Per-field outputs (`output: {field: ...}`); empty for the other two forms. */
  outputs: EnrichmentOutput[];
  /** `output: "v => ({...})"`: one expression giving an object with `fields`. */
  objectExpression?: string;
  onMissing: "null" | "error";
  /** `FILE:LINE:COLUMN` of the entry. */
  at: string;
}

/** Which changes a handler runs for. */
export type HandlerEvent = "on_create" | "on_update" | "on_delete" | "on_change";

/** One `on_create`/`on_update`/`on_delete`/`on_change` handler, checked. */
export interface HandlerConfig {
  event: HandlerEvent;
  /** `FILE:LINE:COLUMN` of the entry, for messages. */
  at: string;
  /** How it names itself in messages and in the state file: `on_create[0]`. */
  name: string;
  /** `sql:` on `datastore`, with `:name` parameters. */
  sql?: { datastore: DatastoreConfig; text: string };
  /** `url:` (a template; values URL-encoded), `method`, `headers`, `body` (a template). */
  http?: { url: Template; method: string; headers: [string, string][]; body?: Template };
  /** `command:`: argv (a string runs through `sh -c`); the change line on stdin. */
  command?: string[];
  /** Milliseconds before the request or command counts as failed. */
  timeoutMs: number;
}

/** One pipeline, checked. */
export interface PipelineConfig {
  name: string;
  /** `FILE:LINE:COLUMN` of its name. */
  at: string;
  dependsOn: string[];
  source: SourceConfig;
  /** The first of {@linkcode targets}. */
  target: TargetConfig;
  /** `target:`, or every entry of `targets:`, in order. */
  targets: TargetConfig[];
  /** Pair-command options as commander names them (`maxDelete`, `map` renames, `dryRun`). */
  settings: OpenOptions;
  map: MapEntry[];
  /** `enrichment:` lookups, run in order before `map:`. */
  enrichment: EnrichmentEntry[];
  /** `on_*` handlers, in event order (create, update, delete, change). */
  handlers: HandlerConfig[];
  /** When they run: after the target committed (default), or instead of writing it. */
  handlerMode: "after_commit" | "instead";
  strategy: "full" | "hash" | "incremental" | "changes";
  watermark?: string;
  softDelete?: string;
  /** `change_store:` of `strategy: changes`: the Redis stream or NATS subject of the keys. */
  changeStore?: string;
}

/** A loaded config file. */
export interface Config {
  file: string;
  datastores: Map<string, DatastoreConfig>;
  /** Options of `defaults:`, as {@linkcode PipelineConfig.settings}. */
  defaults: OpenOptions;
  /** Every pipeline, in an order where each comes after those it depends on. */
  pipelines: PipelineConfig[];
  /** `watch:`: the time between rounds (ms) when the file asks to run round after round. */
  watchEveryMs?: number;
}

/** What the parsers of a pipeline's parts (references, enrichment, handlers) need from the builder. */
export interface ConfigContext {
  datastores: Map<string, DatastoreConfig>;
  /** Reports a problem at `path` (its key when `key`). */
  issue(path: (string | number)[], message: string, hint?: string, key?: boolean): void;
  /** The compiled template at `path`, or undefined with its problem reported. */
  template(path: (string | number)[], text: string): Template | undefined;
  /** `FILE:LINE:COLUMN` of `path`. */
  at(path: (string | number)[]): string;
}
