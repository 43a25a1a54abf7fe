/**
 * `enrichment:` lookups of a pipeline: for every source record, a request (a Redis key, an HTTP
 * path) made from a template over the record, looked up in a datastore that offers lookups
 * (adapter_kit/lookup.ts), and the value found mapped into fields — by templates over the value,
 * by sandboxed expressions `(v, r) => ...`, or by taking the value's own fields. A batch of
 * records makes one batch of requests (pipelined for Redis, bounded concurrency for HTTP); each
 * distinct request is looked up once per run (a cache keyed by the request). A miss gives NULL
 * fields, or stops the run (exit 2) with `on_missing: error`.
 *
 * Enriched fields are `auto` fields like `map:` fields: the target's type (or the inferred one)
 * decides, and they are compared like any other field, so a second run plans nothing when the
 * looked-up values did not change.
 *
 * @example
 * ```ts ignore
 * const enriched = new EnrichedDataset(source, entries, { pipeline: "users", keyFields: ["id"] });
 * await runSync(enriched, target, sync);
 * ```
 * @module
 */
import { InputError, showValue } from "../model/errors.ts";
import type { Dataset, DatasetInfo } from "../adapter_kit/importer.ts";
import { type Lookup, MISSING } from "../adapter_kit/lookup.ts";
import type { Field, RowBatch } from "../model/types.ts";
import { isJsonObject } from "../model/values.ts";
import type { EnrichmentEntry } from "./config_types.ts";
import {
  ExpressionError,
  ExpressionSandbox,
  jsonRecordValue,
  lookupExpression,
} from "./expression.ts";
import { type MappingContext, recordLabel } from "./mapped.ts";

/** A value made safe to cross into the sandbox: 64-bit integers and bytes as text, deep. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object" && !(value instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return jsonRecordValue(value);
}

/** `v`, `v.a.b`, or a field `a` of the value, as output templates name them. */
function fromValue(value: unknown, name: string): unknown {
  const steps = name === "v" ? [] : name.startsWith("v.") ? name.slice(2).split(".") : [name];
  let current = value;
  for (const step of steps) {
    if (current === null || typeof current !== "object") return null;
    current = (current as Record<string, unknown>)[step];
  }
  return current ?? null;
}

/** A dataset whose records get the fields of the pipeline's lookups. */
export class EnrichedDataset implements Dataset {
  #info: DatasetInfo | undefined;
  /** For each entry, the index in the output row of each of its fields. */
  #slots: number[][] = [];
  #lookups: (Lookup | undefined)[] = [];
  #sandboxes: (ExpressionSandbox | undefined)[] = [];
  /** Values found, by entry and request: one lookup per distinct request per run. */
  readonly #cache = new Map<string, unknown>();

  constructor(
    readonly inner: Dataset,
    readonly entries: EnrichmentEntry[],
    readonly context: MappingContext,
  ) {}

  get label(): string {
    return this.inner.label;
  }

  async describe(): Promise<DatasetInfo> {
    if (this.#info) return this.#info;
    const info = await this.inner.describe();
    const fields: Field[] = [...info.fields];
    const slotOf = (name: string) => {
      const at = fields.findIndex((f) => f.name === name);
      const field: Field = { name, type: "auto" };
      if (at >= 0) fields[at] = field;
      return at >= 0 ? at : fields.push(field) - 1;
    };
    for (const [e, entry] of this.entries.entries()) {
      const names = fields.map((f) => f.name);
      for (const field of entry.request.fields) {
        if (!names.includes(field)) {
          throw new InputError(
            `${entry.at}: pipeline '${this.context.pipeline}': enrichment ${
              e + 1
            }: source ${this.label} has no field '${field}'`,
            `fields: ${names.join(", ")}`,
          );
        }
      }
      this.#slots[e] = entry.fields.map(slotOf);
    }
    this.#info = { ...info, fields };
    return this.#info;
  }

  async *read(batchSize: number): AsyncGenerator<RowBatch> {
    const info = await this.describe();
    const inner = await this.inner.describe();
    const width = info.fields.length;
    const names = info.fields.map((f) => f.name);
    for await (const batch of this.inner.read(batchSize)) {
      const rows = batch.rows.map((row) =>
        row.length < width ? [...row, ...Array(width - row.length).fill(null)] : [...row]
      );
      for (const [e, entry] of this.entries.entries()) {
        await this.#enrich(e, entry, rows, names, batch, inner);
      }
      yield { rows, positions: batch.positions };
    }
  }

  async #enrich(
    e: number,
    entry: EnrichmentEntry,
    rows: unknown[][],
    names: string[],
    batch: RowBatch,
    inner: DatasetInfo,
  ): Promise<void> {
    const index = new Map(names.map((n, i) => [n, i]));
    const requests = rows.map((row) => {
      const values = entry.request.fields.map((f) => row[index.get(f)!]);
      if (values.some((v) => v === null || v === undefined)) return undefined;
      return String(entry.request.render((name) => {
        const value = row[index.get(name)!];
        return entry.encode ? encodeURIComponent(String(jsonRecordValue(value))) : value;
      }));
    });
    const wanted = [
      ...new Set(
        requests.filter((r): r is string => r !== undefined && !this.#cache.has(`${e}\n${r}`)),
      ),
    ];
    if (wanted.length) {
      const lookup = this.#lookups[e] ??= await this.#open(entry);
      const found = await lookup.get(wanted);
      wanted.forEach((request, i) => this.#cache.set(`${e}\n${request}`, found[i]));
    }
    const values = requests.map((r) => r === undefined ? MISSING : this.#cache.get(`${e}\n${r}`));
    if (entry.onMissing === "error") {
      const r = values.indexOf(MISSING);
      if (r >= 0) {
        throw this.#failure(
          entry,
          e,
          requests[r] === undefined
            ? `no lookup: a field of the request template is NULL`
            : `nothing found for ${requests[r]}`,
          rows[r],
          inner,
          batch,
          r,
        );
      }
    }
    const slots = this.#slots[e];
    const computed = this.#evaluate(e, entry, values, rows, inner, batch);
    rows.forEach((row, r) => {
      const v = values[r];
      entry.fields.forEach((field, f) => {
        const output = entry.outputs[f];
        if (v === MISSING) row[slots[f]] = null;
        else if (entry.objectExpression !== undefined || output?.expression !== undefined) {
          row[slots[f]] = computed![r]![f];
        } else if (output?.template) {
          try {
            row[slots[f]] = output.template.render((name) => fromValue(v, name));
          } catch (error) {
            const message = `${field}: ${(error as Error).message}`;
            throw this.#failure(entry, e, message, row, inner, batch, r);
          }
        } else {row[slots[f]] = fromValue(
            v,
            entry.fields.length === 1 && !isJsonObject(v) ? "v" : field,
          );}
      });
    });
  }

  /** The expression outputs of one entry for the rows with a value, by row; undefined if none. */
  #evaluate(
    e: number,
    entry: EnrichmentEntry,
    values: unknown[],
    rows: unknown[][],
    inner: DatasetInfo,
    batch: RowBatch,
  ): (unknown[] | undefined)[] | undefined {
    const expressions = entry.objectExpression !== undefined
      ? { __object: entry.objectExpression }
      : Object.fromEntries(
        entry.outputs.filter((o) => o.expression !== undefined).map((
          o,
        ) => [o.field, o.expression!]),
      );
    if (Object.keys(expressions).length === 0) return undefined;
    this.#sandboxes[e] ??= new ExpressionSandbox(
      Object.fromEntries(Object.entries(expressions).map(([k, t]) => [k, lookupExpression(t)])),
    );
    const at = rows.flatMap((_, r) => values[r] === MISSING ? [] : [r]);
    const names = inner.fields.map((f) => f.name);
    const input = at.map((r) => ({
      v: plain(values[r]),
      r: Object.fromEntries(names.map((n, i) => [n, jsonRecordValue(rows[r][i])])),
    }));
    let results: unknown[][];
    try {
      results = input.length ? this.#sandboxes[e]!.evaluate(input) : [];
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      const r = error.record === undefined ? 0 : at[error.record];
      throw this.#failure(entry, e, `output: ${error.message}`, rows[r], inner, batch, r);
    }
    const out: (unknown[] | undefined)[] = new Array(rows.length);
    const fields = Object.keys(expressions);
    at.forEach((r, k) => {
      if (entry.objectExpression === undefined) {
        out[r] = entry.fields.map((field) => {
          const x = fields.indexOf(field);
          return x >= 0 ? results[k][x] : undefined;
        });
        return;
      }
      const object = results[k][0];
      if (!isJsonObject(object)) {
        throw this.#failure(
          entry,
          e,
          `output: expected an object with ${entry.fields.join(", ")}, got ${showValue(object)}`,
          rows[r],
          inner,
          batch,
          r,
        );
      }
      out[r] = entry.fields.map((f) => object[f] ?? null);
    });
    return out;
  }

  async #open(entry: EnrichmentEntry): Promise<Lookup> {
    const { importer, locator, options } = entry.datastore;
    return await importer.openLookup!(locator ?? "", {
      options,
      value: entry.value,
      concurrency: entry.concurrency,
    });
  }

  #failure(
    entry: EnrichmentEntry,
    e: number,
    message: string,
    row: unknown[],
    info: DatasetInfo,
    batch: RowBatch,
    r: number,
  ): InputError {
    const record = recordLabel(row, info, this.context.keyFields, batch.positions[r]);
    return new InputError(
      `pipeline '${this.context.pipeline}': enrichment ${
        e + 1
      } (${entry.datastore.name}): record ${record} of ${this.label}: ${message}`,
      `the entry is at ${entry.at}${
        entry.onMissing === "error" ? "; on_missing: null gives NULL fields instead" : ""
      }`,
    );
  }

  async close(): Promise<void> {
    const lookups = this.#lookups;
    this.#lookups = [];
    for (const lookup of lookups) await lookup?.close();
    await this.inner.close();
  }
}
