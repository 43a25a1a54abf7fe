/**
 * `${VAR}` interpolation over a whole YAML document, outside the paths that hold SQL or code,
 * with errors placed at the file offset of the variable.
 * @module
 */
import { type Document, isMap, isScalar, isSeq, parse, Scalar } from "yaml";
import { interpolate, InterpolationError } from "./interpolate.ts";
import { type ConfigIssue, pathText } from "./validate.ts";

/** Values that are SQL or code: never interpolated, so no variable ever becomes SQL or code. */
const LITERAL_PATHS = [
  /^pipelines\.[^.]+\.map\./,
  /^pipelines\.[^.]+\.enrichment\.\d+\.output/,
  /^pipelines\.[^.]+\.source\.(query|where)$/,
  /^pipelines\.[^.]+\.source\.joins\.\d+\.on$/,
];

/**
 * Reads, checks and orders a config file.
 *
 * @throws {UsageError} listing every problem with its `FILE:LINE:COLUMN`.
 */
/** Expands `${VAR}` in every string value outside {@linkcode LITERAL_PATHS}. */
export function interpolateDocument(
  doc: Document,
  text: string,
  env: (name: string) => string | undefined,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const walk = (node: unknown, path: (string | number)[]) => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : "?";
        walk(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, [...path, i]));
    } else if (isScalar(node) && typeof node.value === "string") {
      const dotted = path.join(".");
      if (LITERAL_PATHS.some((p) => p.test(dotted))) return;
      try {
        const value = interpolate(node.value, env);
        if (value === node.value) return;
        node.value = value;
        if (node.type === Scalar.PLAIN) node.value = plainScalar(value);
      } catch (error) {
        if (!(error instanceof InterpolationError)) throw error;
        issues.push({
          offset: offsetIn(node, text, error.offset),
          message: `${pathText(path)}: ${error.message}`,
        });
      }
    }
  };
  walk(doc.contents, []);
  return issues;
}

/** An unquoted value after interpolation reads as YAML would read it: `5000` is a number. */
function plainScalar(text: string): unknown {
  try {
    const value = parse(text);
    return value === null || typeof value !== "object" ? value : text;
  } catch {
    return text;
  }
}

/** The file offset of character `index` of a scalar's value, where the source shows it. */
export function offsetIn(node: Scalar, text: string, index: number): number {
  const start = node.range?.[0] ?? 0;
  const body = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE
    ? start + 1
    : start;
  const value = String(node.source ?? node.value);
  const probe = value.slice(index, index + 8);
  return text.startsWith(probe, body + index) ? body + index : start;
}
