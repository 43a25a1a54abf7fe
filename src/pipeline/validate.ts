/**
 * Checks a parsed YAML document against a {@linkcode JsonSchema}, node by node, so that every
 * problem carries the offset of the node it is about (the config loader turns offsets into
 * `file:line:column`).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { parseDocument } from "yaml";
 * import { configSchema } from "./schema.ts";
 * import { validateDocument } from "./validate.ts";
 * const doc = parseDocument("datastores: {}\npipelinez: {}\n");
 * const issues = validateDocument(doc, configSchema());
 * deepStrictEqual(issues.map((issue) => issue.message), [
 *   "top level: unknown key 'pipelinez' (did you mean 'pipelines'?)",
 *   "top level: missing key 'pipelines'",
 * ]);
 * deepStrictEqual(issues[0].offset, 15); // where 'pipelinez' starts in the text
 * ```
 * @module
 */
import { type Document, isAlias, isMap, isScalar, isSeq, type Node } from "yaml";
import type { JsonSchema, JsonType } from "./schema.ts";

/** One problem found in a config file. */
export interface ConfigIssue {
  /** Character offset in the file of the node concerned. */
  offset: number;
  /** The message, starting with the path of the node (`pipelines.a.source: ...`). */
  message: string;
  /** What to do about it. */
  hint?: string;
}

/** Every way `doc` does not match `schema`, in document order. */
export function validateDocument(doc: Document, schema: JsonSchema): ConfigIssue[] {
  return new Walker(doc, schema).check(doc.contents, schema, []);
}

/** The JSON type of a YAML node (resolving aliases). */
function kindOf(node: unknown): JsonType {
  if (isMap(node)) return "object";
  if (isSeq(node)) return "array";
  const value = isScalar(node) ? node.value : node;
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "number" || typeof value === "bigint") {
    return Number.isInteger(Number(value)) ? "integer" : "number";
  }
  return typeof value === "string" ? "string" : "object";
}

const KIND_NAMES: Record<JsonType, string> = {
  string: "a string",
  integer: "a whole number",
  number: "a number",
  boolean: "true or false",
  array: "a list",
  object: "a mapping",
  null: "nothing",
};

/** `pipelines.a.joins[0].on` */
export function pathText(path: (string | number)[]): string {
  return path.map((p, i) => typeof p === "number" ? `[${p}]` : i ? `.${p}` : p).join("") ||
    "top level";
}

class Walker {
  constructor(readonly doc: Document, readonly root: JsonSchema) {}

  check(raw: unknown, schema: JsonSchema, path: (string | number)[]): ConfigIssue[] {
    const node = isAlias(raw) ? raw.resolve(this.doc) : raw;
    const issue = (message: string, hint?: string, at: unknown = node): ConfigIssue => ({
      offset: offsetOf(at),
      message: `${pathText(path)}: ${message}`,
      hint,
    });
    if (schema.$ref) {
      return this.check(node, this.#resolve(schema.$ref), path);
    }
    if (schema.anyOf) return this.#anyOf(node, schema.anyOf, path, issue);
    if (schema.oneOf) return this.#oneOf(node, schema.oneOf, path, issue);
    const kind = kindOf(node);
    if (schema.type !== undefined) {
      const types = Array.isArray(schema.type) ? schema.type : [schema.type];
      const ok = types.includes(kind) || (kind === "integer" && types.includes("number"));
      if (!ok) {
        return [
          issue(
            `expected ${types.map((t) => KIND_NAMES[t]).join(" or ")}, got ${KIND_NAMES[kind]}`,
          ),
        ];
      }
    }
    const value = isScalar(node) ? node.value : undefined;
    if (schema.const !== undefined && value !== schema.const) {
      return [issue(`expected ${JSON.stringify(schema.const)}`)];
    }
    if (schema.enum && !schema.enum.includes(value)) {
      return [issue(
        kind === "string" ? `unknown value '${value}'` : `expected one of the listed values`,
        `expected one of: ${schema.enum.join(", ")}`,
      )];
    }
    if (schema["x-unsupported"]) return [issue(schema["x-unsupported"])];
    if (typeof value === "string" && schema.pattern && !new RegExp(schema.pattern).test(value)) {
      return [issue(`'${value}' is not valid here`, `it must match ${schema.pattern}`)];
    }
    if (typeof value === "number" && schema.minimum !== undefined && value < schema.minimum) {
      return [issue(`must be at least ${schema.minimum}`)];
    }
    if (isSeq(node)) {
      if (schema.minItems !== undefined && node.items.length < schema.minItems) {
        return [issue(`needs at least ${schema.minItems} item${schema.minItems === 1 ? "" : "s"}`)];
      }
      if (!schema.items) return [];
      return node.items.flatMap((item, i) => this.check(item, schema.items!, [...path, i]));
    }
    if (isMap(node)) return this.#object(node, schema, path, issue);
    return [];
  }

  #object(
    node: import("yaml").YAMLMap,
    schema: JsonSchema,
    path: (string | number)[],
    issue: (message: string, hint?: string, at?: unknown) => ConfigIssue,
  ): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    const known = Object.keys(schema.properties ?? {});
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : undefined;
      if (typeof key !== "string") {
        issues.push(issue("keys must be plain names", undefined, pair.key));
        continue;
      }
      seen.add(key);
      if (schema.propertyNames) {
        const nameIssues = this.check(pair.key, schema.propertyNames, [...path, key]);
        if (nameIssues.length) {
          issues.push(
            issue(`'${key}' is not a valid name`, "use letters, digits, _ . -", pair.key),
          );
          continue;
        }
      }
      const property = schema.properties?.[key];
      if (property) issues.push(...this.check(pair.value, property, [...path, key]));
      else if (schema.additionalProperties) {
        issues.push(...this.check(pair.value, schema.additionalProperties, [...path, key]));
      } else if (schema.additionalProperties === false) {
        const near = known.find((k) => distance(k, key) <= 2);
        // A source or target takes every adapter's options: too many to list usefully.
        const hint = known.length <= 12
          ? `expected one of: ${known.join(", ")}`
          : near
          ? undefined
          : "docs/pipelines.md lists the keys, and so does `dsync schema`";
        issues.push(issue(
          `unknown key '${key}'${near ? ` (did you mean '${near}'?)` : ""}`,
          hint,
          pair.key,
        ));
      }
    }
    for (const name of schema.required ?? []) {
      if (!seen.has(name)) issues.push(issue(`missing key '${name}'`));
    }
    if (schema.minProperties !== undefined && node.items.length < schema.minProperties) {
      issues.push(issue("must not be empty"));
    }
    return issues;
  }

  #anyOf(
    node: unknown,
    branches: JsonSchema[],
    path: (string | number)[],
    issue: (message: string, hint?: string) => ConfigIssue,
  ): ConfigIssue[] {
    let fitting: ConfigIssue[] | undefined;
    for (const branch of branches) {
      const issues = this.check(node, branch, path);
      if (issues.length === 0) return [];
      // The errors of the first branch whose own type and value fit say the most.
      if (!fitting && this.check(node, shallow(branch), path).length === 0) fitting = issues;
    }
    if (fitting) return fitting;
    const kinds = [...new Set(branches.flatMap((b) => [b.type ?? []].flat()))];
    if (kinds.length === 0) return this.check(node, branches[0], path);
    return [issue(
      `expected ${kinds.map((t) => KIND_NAMES[t as JsonType]).join(" or ")}, got ${
        KIND_NAMES[kindOf(node)]
      }`,
    )];
  }

  /** A union told apart by its `type` key (datastores). */
  #oneOf(
    node: unknown,
    branches: JsonSchema[],
    path: (string | number)[],
    issue: (message: string, hint?: string, at?: unknown) => ConfigIssue,
  ): ConfigIssue[] {
    if (!isMap(node)) return [issue(`expected a mapping, got ${KIND_NAMES[kindOf(node)]}`)];
    const names = branches.flatMap((b) => b.properties?.type?.enum ?? []) as string[];
    const typeNode = node.get("type", true);
    if (typeNode === undefined) {
      return [issue("missing key 'type'", `expected one of: ${names.join(", ")}`)];
    }
    const type = isScalar(typeNode) ? typeNode.value : undefined;
    const branch = branches.find((b) => b.properties?.type?.enum?.includes(type));
    if (!branch) {
      return [issue(
        `unknown type ${typeof type === "string" ? `'${type}'` : KIND_NAMES[kindOf(typeNode)]}`,
        `expected one of: ${names.join(", ")}`,
        typeNode,
      )];
    }
    return this.check(node, branch, path);
  }

  #resolve(ref: string): JsonSchema {
    const name = /^#\/\$defs\/(.+)$/.exec(ref)?.[1];
    const target = name ? this.root.$defs?.[name] : undefined;
    if (!target) throw new Error(`schema: unresolved $ref ${ref}`);
    return target;
  }
}

/** A branch's own checks without what is inside it (type, const, enum). */
function shallow(schema: JsonSchema): JsonSchema {
  return { type: schema.type, const: schema.const, enum: schema.enum };
}

function offsetOf(node: unknown): number {
  return (node as Node | undefined)?.range?.[0] ?? 0;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}
