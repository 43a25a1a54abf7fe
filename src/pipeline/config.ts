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
import { findImporter } from "../app/registry.ts";
import { compileTemplate, isTemplate, type Template, TemplateError } from "./template.ts";
import { ExpressionError, ExpressionSandbox, isExpression } from "./expression.ts";
import { configSchema, locatorKey, optionKeys } from "./schema.ts";
import { adapterOptions, besideConfig, names, settingsOf } from "./config_settings.ts";
import { parseHandlers } from "./config_handlers.ts";
import { watchEvery } from "./config_watch.ts";
import { parseEnrichment, type RawEnrichment } from "./config_enrichment.ts";
import { type RawRef, sourceRef } from "./config_ref.ts";
import { orderPipelines } from "./config_order.ts";

export { besideConfig };
import { type ConfigIssue, pathText, validateDocument } from "./validate.ts";
import { interpolateDocument, offsetIn } from "./interpolate_document.ts";
import type {
  Config,
  ConfigContext,
  DatastoreConfig,
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

/** Turns the checked document into a {@linkcode Config}, collecting what is still wrong. */
class ConfigBuilder {
  readonly issues: ConfigIssue[] = [];
  readonly #raw: {
    datastores: Record<string, Record<string, unknown>>;
    defaults?: Record<string, unknown>;
    pipelines: Record<string, RawPipeline>;
    watch?: unknown;
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

  /** What the parsers of a pipeline's parts need from the builder. */
  #context(datastores: Map<string, DatastoreConfig>): ConfigContext {
    return {
      datastores,
      issue: (at, message, hint, key) => this.#issue(at, message, hint, key),
      template: (at, text) => this.#template(at, text),
      at: (at) => this.at(this.#offset(at)),
    };
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
      pipelines: orderPipelines(pipelines, this.#raw.pipelines, (...args) => this.#issue(...args)),
      watchEveryMs: watchEvery(this.#raw.watch, (m) => this.#issue(["watch", "every"], m)),
    };
  }

  #pipeline(
    name: string,
    raw: RawPipeline,
    datastores: Map<string, DatastoreConfig>,
  ): PipelineConfig | undefined {
    const path = ["pipelines", name];
    const source = sourceRef([...path, "source"], raw.source, "source", this.#context(datastores));
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
    if (raw.change_store !== undefined && strategy !== "changes") {
      this.#issue(
        [...path, "change_store"],
        "change_store needs strategy: changes",
        undefined,
        true,
      );
    }
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
      const checked = parseEnrichment([...path, "enrichment", i], entry, this.#context(datastores));
      return checked ? [checked] : [];
    });
    const handlers = parseHandlers(path, raw, this.#context(datastores));
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
      changeStore: raw.change_store as string | undefined,
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
      const target = sourceRef(
        [...path, "target"],
        raw.target,
        "target",
        this.#context(datastores),
      );
      return target && [target];
    }
    const targets = raw.targets!.map((entry, i) =>
      sourceRef(
        [...path, "targets", i],
        typeof entry === "string" ? { datastore: entry } : entry,
        "target",
        this.#context(datastores),
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
    // where: is a condition on the fetched rows (src/app/changes.ts); the rest reshape them.
    const shaped = ["query", "joins", "fields"].find((k) => raw.source[k] !== undefined);
    if (shaped || raw.source.table === undefined) {
      this.#issue(
        path,
        shaped
          ? `changes reads the captured table as it is: no source ${shaped}:`
          : "changes needs a source table:",
      );
    }
    if (raw.handlers === "instead") {
      this.#issue(path, "changes writes the target: handlers run after_commit, not instead");
    }
    if (raw.map !== undefined || raw.enrichment !== undefined) {
      this.#issue(
        path,
        "changes fetches the changed rows by key as the table has them: no map: or enrichment:",
        "compute the fields in a view or with strategy: full; rename: and where: do work",
      );
    }
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
}

/** The key node of the last step of `path`. */
function findKey(doc: Document, path: (string | number)[]): { range?: number[] } | undefined {
  const parent = doc.getIn(path.slice(0, -1), true);
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === path[path.length - 1]);
  return pair?.key as { range?: number[] } | undefined;
}
