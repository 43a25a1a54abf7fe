/**
 * Loads a `dsync run` config file: YAML parsed with positions, `${VAR}` interpolation, the
 * schema check (schema.ts + validate.ts), then the checks the schema cannot express (unknown
 * datastore references, options of the wrong adapter, templates, expressions, dependency
 * cycles). Every problem is reported as `FILE:LINE:COLUMN: ...`, all of them at once.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, throws } from "node:assert/strict";
 * import { parseConfig } from "./config.ts";
 * // loadConfig("dsync.yaml") reads the file and does the same.
 * const yaml = `
 * datastores:
 *   shop: { type: sqlite, path: "\${SHOP_DB}" }
 *   exports: { type: csv, path: customers.csv }
 * pipelines:
 *   report:
 *     source: { datastore: shop, table: customers }
 *     target: { datastore: exports }
 *     depends_on: [load]
 *   load:
 *     source: { datastore: exports }
 *     target: { datastore: shop, table: customers }
 * `;
 * const env = (name: string) => name === "SHOP_DB" ? "shop.db" : undefined;
 * const config = parseConfig(yaml, "dsync.yaml", { env });
 * deepStrictEqual(config.pipelines.map((p) => p.name), ["load", "report"]); // depends_on order
 * deepStrictEqual(config.datastores.get("shop")?.locator, "shop.db");
 * const typo = yaml.replace("datastore: exports }", "datastore: export }");
 * throws(() => parseConfig(typo, "dsync.yaml", { env }), {
 *   message: "dsync.yaml:8:26: pipelines.report.target.datastore: unknown datastore 'export'\n" +
 *     "  datastores: shop, exports",
 * });
 * ```
 * @module
 */
import { type Document, isMap, isScalar, LineCounter, parseDocument, type Scalar } from "yaml";
import { UsageError } from "../model/errors.ts";
import { isCaptureImporter } from "../adapter_kit/capture.ts";
import { captureAdapters } from "../app/changes.ts";
import { isSqlImporter } from "../adapter_kit/sql.ts";
import { findImporter, listImporters } from "../app/registry.ts";
import { compileTemplate, isTemplate, type Template, TemplateError } from "./template.ts";
import {
  ExpressionError,
  ExpressionSandbox,
  isExpression,
  lookupExpression,
} from "./expression.ts";
import { configSchema, locatorKey, optionKeys } from "./schema.ts";
import { adapterOptions, besideConfig, names, settingsOf } from "./config_settings.ts";
import { parseHandlers } from "./config_handlers.ts";

export { besideConfig };
import { type ConfigIssue, pathText, validateDocument } from "./validate.ts";
import { interpolateDocument, offsetIn } from "./interpolate_document.ts";
import type {
  Config,
  DatastoreConfig,
  EnrichmentEntry,
  EnrichmentOutput,
  JoinConfig,
  MapEntry,
  PipelineConfig,
  SourceConfig,
} from "./config_types.ts";

/** How to load (defaults: the process environment). */
export interface LoadOptions {
  /** Looks up `${VAR}`s. */
  env?: (name: string) => string | undefined;
}

export async function loadConfig(file: string, options: LoadOptions = {}): Promise<Config> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new UsageError(`${file}: cannot read the config file: ${(error as Error).message}`);
  }
  return parseConfig(text, file, options);
}

/** {@linkcode loadConfig} on text already read; `file` names it in messages. */
export function parseConfig(text: string, file: string, options: LoadOptions = {}): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  const fail = (issues: ConfigIssue[]) => {
    issues.sort((a, b) => a.offset - b.offset);
    throw new UsageError(
      issues.map((i) => `${at(i.offset)}: ${i.message}${i.hint ? `\n  ${i.hint}` : ""}`)
        .join("\ndsync: "),
    );
  };
  // After the first syntax error the parser's further complaints are mostly its echoes.
  const [syntax] = doc.errors;
  if (syntax) fail([{ offset: syntax.pos[0], message: syntax.message.split("\n")[0] }]);
  const issues = [
    ...interpolateDocument(doc, text, options.env ?? ((name) => Deno.env.get(name))),
    ...validateDocument(doc, configSchema()),
  ];
  if (issues.length) fail(issues);
  const builder = new ConfigBuilder(doc, text, file, at);
  const config = builder.build();
  if (builder.issues.length) fail(builder.issues);
  return config;
}

interface RawRef {
  datastore: string;
  table?: string;
  query?: string;
  joins?: JoinConfig[];
  where?: string;
  fields?: string[];
  [option: string]: unknown;
}

interface RawPipeline {
  depends_on?: string | string[];
  source: RawRef;
  target?: RawRef;
  targets?: (string | RawRef)[];
  map?: Record<string, string>;
  strategy?: "full" | "hash" | "incremental" | "changes";
  watermark?: string;
  soft_delete?: string;
  policy?: Record<string, unknown>;
  enrichment?: RawEnrichment[];
  handlers?: "after_commit" | "instead";
  [option: string]: unknown;
}

interface RawEnrichment {
  datastore: string;
  key?: string;
  path?: string;
  value?: string;
  output?: string | Record<string, string>;
  fields?: string | string[];
  on_missing?: "null" | "error" | null;
  concurrency?: number;
}

const SOURCE_KEYS = new Set(["datastore", "table", "query", "joins", "where", "fields"]);

/** Turns the checked document into a {@linkcode Config}, collecting what is still wrong. */
class ConfigBuilder {
  readonly issues: ConfigIssue[] = [];
  readonly #raw: {
    datastores: Record<string, Record<string, unknown>>;
    defaults?: Record<string, unknown>;
    pipelines: Record<string, RawPipeline>;
  };

  constructor(
    readonly doc: Document,
    readonly text: string,
    readonly file: string,
    readonly at: (offset: number) => string,
  ) {
    this.#raw = doc.toJS();
  }

  /** Offset of the node at `path` (a key's value), else of its nearest parent. */
  #offset(path: (string | number)[], key = false): number {
    for (let n = path.length; n >= 0; n--) {
      const node = key && n === path.length
        ? findKey(this.doc, path)
        : this.doc.getIn(path.slice(0, n), true) as { range?: number[] } | undefined;
      if (node?.range) return node.range[0];
    }
    return 0;
  }

  #issue(path: (string | number)[], message: string, hint?: string, key = false): void {
    this.issues.push({
      offset: this.#offset(path, key),
      message: `${pathText(path)}: ${message}`,
      hint,
    });
  }

  build(): Config {
    const datastores = new Map<string, DatastoreConfig>();
    for (const [name, raw] of Object.entries(this.#raw.datastores)) {
      const importer = findImporter(raw.type as string)!;
      const { key } = locatorKey(importer);
      const { type: _type, [key]: locator, ...options } = raw;
      datastores.set(name, {
        name,
        importer,
        locator: key === "path"
          ? besideConfig(this.file, locator as string | undefined)
          : locator as string | undefined,
        options: adapterOptions(optionKeys(importer), options),
      });
    }
    const pipelines: PipelineConfig[] = [];
    for (const [name, raw] of Object.entries(this.#raw.pipelines)) {
      const pipeline = this.#pipeline(name, raw, datastores);
      if (pipeline) pipelines.push(pipeline);
    }
    return {
      file: this.file,
      datastores,
      defaults: settingsOf(this.#raw.defaults ?? {}, this.file),
      pipelines: this.#order(pipelines),
    };
  }

  #pipeline(
    name: string,
    raw: RawPipeline,
    datastores: Map<string, DatastoreConfig>,
  ): PipelineConfig | undefined {
    const path = ["pipelines", name];
    const source = this.#ref([...path, "source"], raw.source, datastores, "source");
    const targets = this.#targets(path, raw, datastores);
    const map = Object.entries(raw.map ?? {}).flatMap(([field, text]) => {
      const entry = this.#mapEntry([...path, "map", field], field, text);
      return entry ? [entry] : [];
    });
    const expressions = Object.fromEntries(
      map.filter((m) => !m.template).map((m) => [m.field, m.text]),
    );
    if (Object.keys(expressions).length) {
      try {
        new ExpressionSandbox(expressions);
      } catch (error) {
        if (!(error instanceof ExpressionError)) throw error;
        this.#issue([...path, "map", error.field], `expression: ${error.message}`);
      }
    }
    const strategy = raw.strategy ?? "full";
    if (strategy === "incremental") {
      if (!raw.watermark) {
        this.#issue([...path, "strategy"], "incremental needs a watermark: column");
      }
      if (source && !isSqlImporter(source.datastore.importer)) {
        this.#issue(
          [...path, "strategy"],
          `incremental needs a SQL source; ${source.datastore.importer.name} is not one`,
        );
      }
      if (raw.policy?.delete !== undefined) {
        this.#issue(
          [...path, "policy", "delete"],
          "an incremental pipeline deletes only what soft_delete marks",
          "set soft_delete: COLUMN, or use strategy: full",
          true,
        );
      }
    } else {
      if (strategy === "hash") {
        const sides = [["source", source], ...(targets ?? []).map((t) => ["target", t] as const)];
        for (const [role, side] of sides as [string, typeof source][]) {
          if (side && !isSqlImporter(side.datastore.importer)) {
            this.#issue(
              [...path, "strategy"],
              `hash needs SQL tables on both sides; the ${role} ${side.datastore.importer.name} is not one`,
            );
          }
        }
      }
      if (strategy === "changes") this.#changesSource([...path, "strategy"], raw);
      if (raw.partition !== undefined && strategy !== "hash") {
        this.#issue([...path, "partition"], "partition needs strategy: hash", undefined, true);
      }
      for (const key of ["watermark", "soft_delete"]) {
        if (raw[key] !== undefined) {
          this.#issue([...path, key], `${key} needs strategy: incremental`, undefined, true);
        }
      }
    }
    const enrichment = (raw.enrichment ?? []).flatMap((entry, i) => {
      const checked = this.#enrichment([...path, "enrichment", i], entry, datastores);
      return checked ? [checked] : [];
    });
    const handlers = parseHandlers(path, raw, {
      datastores,
      issue: (at, message, hint, key) => this.#issue(at, message, hint, key),
      template: (at, text) => this.#template(at, text),
      at: (at) => this.at(this.#offset(at)),
    });
    if (raw.handlers !== undefined && !handlers.length) {
      this.#issue(
        [...path, "handlers"],
        "handlers: says when on_create/on_update/on_delete/on_change run; there are none",
        undefined,
        true,
      );
    }
    if (!source || !targets) return undefined;
    return {
      name,
      at: this.at(this.#offset(path, true)),
      dependsOn: names(raw.depends_on),
      source,
      target: targets[0],
      targets,
      settings: settingsOf(raw, this.file),
      map,
      enrichment,
      handlers,
      handlerMode: raw.handlers ?? "after_commit",
      strategy,
      watermark: raw.watermark,
      softDelete: raw.soft_delete,
    };
  }

  /** `target:` or `targets:` (one of them), each checked; undefined when one is wrong. */
  #targets(
    path: (string | number)[],
    raw: RawPipeline,
    datastores: Map<string, DatastoreConfig>,
  ): SourceConfig[] | undefined {
    if ((raw.target === undefined) === (raw.targets === undefined)) {
      this.#issue(path, "give target: or targets: [...], one of them");
      return undefined;
    }
    if (raw.target !== undefined) {
      const target = this.#ref([...path, "target"], raw.target, datastores, "target");
      return target && [target];
    }
    const targets = raw.targets!.map((entry, i) =>
      this.#ref(
        [...path, "targets", i],
        typeof entry === "string" ? { datastore: entry } : entry,
        datastores,
        "target",
      )
    );
    const labels = targets.map((t) => t && `${t.datastore.name}#${t.table ?? ""}`);
    const twice = labels.findIndex((l, i) => l !== undefined && labels.indexOf(l) !== i);
    if (twice >= 0) {
      this.#issue([...path, "targets", twice], "the same target twice");
    }
    if (raw.output !== undefined && targets.length > 1) {
      this.#issue(
        [...path, "output"],
        "output: with several targets: each would overwrite the file",
        undefined,
        true,
      );
    }
    return targets.every((t) => t !== undefined) && twice < 0 ? targets : undefined;
  }

  /** `strategy: changes` reads a captured table's changed rows: a table, as it is. */
  #changesSource(path: (string | number)[], raw: RawPipeline): void {
    const importer = findImporter(this.#raw.datastores[raw.source.datastore]?.type as string);
    if (importer && !isCaptureImporter(importer)) {
      this.#issue(
        path,
        `changes needs a source that captures changes (${captureAdapters()}); ${importer.name} does not`,
      );
    }
    const shaped = ["query", "joins", "where", "fields"].find((k) => raw.source[k] !== undefined);
    if (shaped || raw.source.table === undefined) {
      this.#issue(
        path,
        shaped
          ? `changes reads the captured table as it is: no source ${shaped}:`
          : "changes needs a source table:",
      );
    }
    if (raw.map !== undefined || raw.enrichment !== undefined) {
      this.#issue(path, "changes cannot run map: or enrichment: yet");
    }
  }

  #ref(
    path: (string | number)[],
    raw: RawRef,
    datastores: Map<string, DatastoreConfig>,
    role: "source" | "target",
  ): SourceConfig | undefined {
    const datastore = datastores.get(raw.datastore);
    if (!datastore) {
      this.#issue(
        [...path, "datastore"],
        `unknown datastore '${raw.datastore}'`,
        `datastores: ${[...datastores.keys()].join(", ") || "(none)"}`,
      );
      return undefined;
    }
    const { importer } = datastore;
    if (!(role === "source" ? importer.openSource : importer.openTarget)) {
      this.#issue(
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
          this.#issue(
            [...path, key],
            `'${key}' needs a SQL datastore; '${datastore.name}' is ${importer.name}`,
            undefined,
            true,
          );
        }
      } else if (keys.some((k) => k.key === key)) options[key] = value;
      else {
        this.#issue(
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
            this.#issue(
              [...path, key],
              `'${key}' cannot go with 'query'`,
              "write it into the query",
              true,
            );
          }
        }
      } else if (raw.table === undefined) {
        this.#issue(path, "a SQL source needs 'table' or 'query'");
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

  /** One `enrichment:` entry: its datastore serves lookups, its templates and expressions compile. */
  #enrichment(
    path: (string | number)[],
    raw: RawEnrichment,
    datastores: Map<string, DatastoreConfig>,
  ): EnrichmentEntry | undefined {
    const datastore = datastores.get(raw.datastore);
    const before = this.issues.length;
    if (!datastore) {
      this.#issue(
        [...path, "datastore"],
        `unknown datastore '${raw.datastore}'`,
        `datastores: ${[...datastores.keys()].join(", ") || "(none)"}`,
      );
    } else if (!datastore.importer.openLookup) {
      this.#issue(
        [...path, "datastore"],
        `a ${datastore.importer.name} datastore cannot serve lookups`,
        `lookups: ${listImporters().filter((i) => i.openLookup).map((i) => i.name).join(", ")}`,
      );
    }
    const requestKey = raw.key !== undefined ? "key" : "path";
    const requestText = raw.key ?? raw.path;
    if ((raw.key === undefined) === (raw.path === undefined)) {
      this.#issue(path, "give the request as key: (Redis) or path: (HTTP), one of them");
    }
    const request = requestText === undefined
      ? undefined
      : this.#template([...path, requestKey], requestText);
    const fields = raw.fields === undefined ? undefined : names(raw.fields);
    const outputs: EnrichmentOutput[] = [];
    let objectExpression: string | undefined;
    const expressions: Record<string, string> = {};
    if (typeof raw.output === "string") {
      if (!isExpression(raw.output)) {
        this.#issue(
          [...path, "output"],
          "expected an expression 'v => ({ field: v })', or a map field: template",
        );
      } else if (!fields?.length) {
        this.#issue(path, "output: an expression needs fields: [NAMES] (the keys it returns)");
      } else {
        objectExpression = raw.output;
        expressions.output = raw.output;
      }
    } else if (raw.output !== undefined) {
      for (const [field, text] of Object.entries(raw.output)) {
        if (isExpression(text)) {
          outputs.push({ field, expression: text });
          expressions[`output.${field}`] = text;
        } else {
          const template = this.#template([...path, "output", field], text);
          if (template) outputs.push({ field, template });
        }
      }
      if (fields !== undefined) {
        this.#issue(
          [...path, "fields"],
          "output: {field: ...} names the fields already",
          undefined,
          true,
        );
      }
    } else if (!fields?.length) {
      this.#issue(
        path,
        "which fields? give output: {field: template} or fields: [NAMES] of the value",
      );
    }
    for (const [key, text] of Object.entries(expressions)) {
      try {
        new ExpressionSandbox({ [key]: lookupExpression(text) });
      } catch (error) {
        if (!(error instanceof ExpressionError)) throw error;
        this.#issue([...path, ...key.split(".")], `expression: ${error.message}`);
      }
    }
    if (this.issues.length > before || !datastore || !request) return undefined;
    return {
      datastore,
      request,
      encode: datastore.importer.name === "http",
      value: raw.value,
      concurrency: raw.concurrency,
      fields: raw.output !== undefined && typeof raw.output !== "string"
        ? outputs.map((o) => o.field)
        : fields!,
      outputs,
      objectExpression,
      onMissing: raw.on_missing === "error" ? "error" : "null",
      at: this.at(this.#offset(path)),
    };
  }

  /** A compiled template, or undefined with the problem reported at its place in the file. */
  #template(path: (string | number)[], text: string): Template | undefined {
    try {
      return compileTemplate(text);
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      const node = this.doc.getIn(path, true) as Scalar;
      this.issues.push({
        offset: offsetIn(node, this.text, error.offset),
        message: `${pathText(path)}: ${error.message}`,
      });
      return undefined;
    }
  }

  #mapEntry(path: (string | number)[], field: string, text: string): MapEntry | undefined {
    const at = this.at(this.#offset(path));
    if (isTemplate(text)) {
      try {
        return { field, text, template: compileTemplate(text), at };
      } catch (error) {
        if (!(error instanceof TemplateError)) throw error;
        const node = this.doc.getIn(path, true) as Scalar;
        this.issues.push({
          offset: offsetIn(node, this.text, error.offset),
          message: `${pathText(path)}: ${error.message}`,
        });
        return undefined;
      }
    }
    if (isExpression(text)) return { field, text, at };
    this.#issue(
      path,
      "expected a template ('{{ field | filter }}') or an arrow function ('r => ...')",
      "a plain rename of a source field goes under rename: {SOURCE: TARGET}",
    );
    return undefined;
  }

  /** Pipelines in file order, moved after their dependencies; reports unknown names and cycles. */
  #order(pipelines: PipelineConfig[]): PipelineConfig[] {
    const dependencies = new Map(
      Object.entries(this.#raw.pipelines).map(([name, raw]) => [name, names(raw.depends_on)]),
    );
    for (const [name, list] of dependencies) {
      for (const dependency of list) {
        if (!dependencies.has(dependency)) {
          this.#issue(
            ["pipelines", name, "depends_on"],
            `unknown pipeline '${dependency}'`,
            `pipelines: ${[...dependencies.keys()].join(", ")}`,
          );
        }
      }
    }
    const order: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (name: string, trail: string[]): boolean => {
      if (state.get(name) === "done") return true;
      if (state.get(name) === "visiting") {
        const cycle = [...trail.slice(trail.indexOf(name)), name];
        this.#issue(
          ["pipelines", cycle[0], "depends_on"],
          `dependency cycle: ${cycle.join(" → ")}`,
          "remove one of these depends_on entries",
        );
        return false;
      }
      state.set(name, "visiting");
      for (const dependency of dependencies.get(name)!) {
        if (dependencies.has(dependency) && !visit(dependency, [...trail, name])) return false;
      }
      state.set(name, "done");
      order.push(name);
      return true;
    };
    for (const name of dependencies.keys()) if (!visit(name, [])) break;
    return order.flatMap((name) => pipelines.filter((p) => p.name === name));
  }
}

/** The key node of the last step of `path`. */
function findKey(doc: Document, path: (string | number)[]): { range?: number[] } | undefined {
  const parent = doc.getIn(path.slice(0, -1), true);
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === path[path.length - 1]);
  return pair?.key as { range?: number[] } | undefined;
}
