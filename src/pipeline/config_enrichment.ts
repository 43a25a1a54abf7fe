/**
 * One `enrichment:` entry of a pipeline, checked: its datastore serves lookups, the request is
 * a `key:` (Redis) or a `path:` (HTTP) template, and its output templates and expressions
 * compile.
 *
 * @module
 */
import { listImporters } from "../app/registry.ts";
import {
  ExpressionError,
  ExpressionSandbox,
  isExpression,
  lookupExpression,
} from "./expression.ts";
import { names } from "./config_settings.ts";
import type { ConfigContext, EnrichmentEntry, EnrichmentOutput } from "./config_types.ts";

/** One enrichment entry as written in the file. */
export interface RawEnrichment {
  datastore: string;
  key?: string;
  path?: string;
  value?: string;
  output?: string | Record<string, string>;
  fields?: string | string[];
  on_missing?: "null" | "error" | null;
  concurrency?: number;
}

/** One `enrichment:` entry: its datastore serves lookups, its templates and expressions compile. */
export function parseEnrichment(
  path: (string | number)[],
  raw: RawEnrichment,
  ctx: ConfigContext,
): EnrichmentEntry | undefined {
  const { datastores } = ctx;
  const datastore = datastores.get(raw.datastore);
  // Problems found in this entry: it is not built when there is any.
  let problems = 0;
  const issue: ConfigContext["issue"] = (...args) => {
    problems++;
    ctx.issue(...args);
  };
  const compile = (at: (string | number)[], text: string) => {
    const template = ctx.template(at, text);
    if (!template) problems++;
    return template;
  };
  if (!datastore) {
    issue(
      [...path, "datastore"],
      `unknown datastore '${raw.datastore}'`,
      `datastores: ${[...datastores.keys()].join(", ") || "(none)"}`,
    );
  } else if (!datastore.importer.openLookup) {
    issue(
      [...path, "datastore"],
      `a ${datastore.importer.name} datastore cannot serve lookups`,
      `lookups: ${listImporters().filter((i) => i.openLookup).map((i) => i.name).join(", ")}`,
    );
  }
  const requestKey = raw.key !== undefined ? "key" : "path";
  const requestText = raw.key ?? raw.path;
  if ((raw.key === undefined) === (raw.path === undefined)) {
    issue(path, "give the request as key: (Redis) or path: (HTTP), one of them");
  }
  const request = requestText === undefined
    ? undefined
    : compile([...path, requestKey], requestText);
  const fields = raw.fields === undefined ? undefined : names(raw.fields);
  const outputs: EnrichmentOutput[] = [];
  let objectExpression: string | undefined;
  const expressions: Record<string, string> = {};
  if (typeof raw.output === "string") {
    if (!isExpression(raw.output)) {
      issue(
        [...path, "output"],
        "expected an expression 'v => ({ field: v })', or a map field: template",
      );
    } else if (!fields?.length) {
      issue(path, "output: an expression needs fields: [NAMES] (the keys it returns)");
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
        const template = compile([...path, "output", field], text);
        if (template) outputs.push({ field, template });
      }
    }
    if (fields !== undefined) {
      issue(
        [...path, "fields"],
        "output: {field: ...} names the fields already",
        undefined,
        true,
      );
    }
  } else if (!fields?.length) {
    issue(
      path,
      "which fields? give output: {field: template} or fields: [NAMES] of the value",
    );
  }
  for (const [key, text] of Object.entries(expressions)) {
    try {
      new ExpressionSandbox({ [key]: lookupExpression(text) });
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      issue([...path, ...key.split(".")], `expression: ${error.message}`);
    }
  }
  if (problems > 0 || !datastore || !request) return undefined;
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
    at: ctx.at(path),
  };
}
