/**
 * A source with `map:` fields computed on every record before the diff: templates run here,
 * expressions in their sandbox (expression.ts). A mapped field replaces the source field of
 * the same name or is added after the others; its type is `auto` (the target's type, or the
 * type inferred from the values, decides), since a template or expression may give text or
 * numbers whatever the field held before.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import type { Dataset } from "../adapter_kit/importer.ts";
 * import { MappedDataset } from "./mapped.ts";
 * import { compileTemplate } from "./template.ts";
 * const source: Dataset = {
 *   label: "customers.csv",
 *   describe: () =>
 *     Promise.resolve({
 *       exists: true,
 *       fields: [
 *         { name: "id", type: "auto" },
 *         { name: "name", type: "auto" },
 *         { name: "total", type: "auto" },
 *       ],
 *       primaryKey: [],
 *       typed: false,
 *       textual: true,
 *     }),
 *   read: async function* () {
 *     yield { rows: [["1", " ann ", "1500"], ["2", "rob", "20"]], positions: [2, 3] };
 *   },
 *   close: () => Promise.resolve(),
 * };
 * const text = "{{ name | trim | title }}";
 * const mapped = new MappedDataset(source, [
 *   { field: "name", text, template: compileTemplate(text), at: "dsync.yaml:9:7" },
 *   { field: "tier", text: "r => Number(r.total) > 1000 ? 'gold' : 'std'", at: "dsync.yaml:10:7" },
 * ], { pipeline: "customers", keyFields: ["id"] });
 * const names = (await mapped.describe()).fields.map((field) => field.name);
 * deepStrictEqual(names, ["id", "name", "total", "tier"]);
 * deepStrictEqual(await Array.fromAsync(mapped.read(5000)), [{
 *   rows: [["1", "Ann", "1500", "gold"], ["2", "Rob", "20", "std"]],
 *   positions: [2, 3],
 * }]);
 * // runSync(mapped, target, options) then syncs the mapped records.
 * ```
 * @module
 */
import { InputError, UsageError } from "../model/errors.ts";
import type { Dataset, DatasetInfo } from "../adapter_kit/importer.ts";
import { showKey } from "../adapter_kit/changes.ts";
import type { Field, RowBatch } from "../model/types.ts";
import type { MapEntry } from "./config_types.ts";
import { ExpressionError, ExpressionSandbox, jsonRecordValue } from "./expression.ts";

/** Which pipeline the mapping belongs to, for messages. */
export interface MappingContext {
  pipeline: string;
  /** Source fields that identify a record in messages; the record number when absent. */
  keyFields: string[];
}

/**
 * The record a pipeline's message names: its key (`id=7`) when the row has every key field,
 * else its position in the source (`#12`).
 */
export function recordLabel(
  row: unknown[],
  info: DatasetInfo,
  keyFields: readonly string[],
  position: number,
): string {
  const names = info.fields.map((f) => f.name);
  const keyIndexes = keyFields.filter((k) => names.includes(k)).map((k) => names.indexOf(k));
  if (keyIndexes.length === 0 || keyIndexes.length !== keyFields.length) return `#${position}`;
  return showKey({ fields: info.fields, keyIndexes }, keyIndexes.map((i) => row[i]));
}

/** A dataset whose records get the `map:` fields. */
export class MappedDataset implements Dataset {
  #info: DatasetInfo | undefined;
  #slots: number[] = [];
  #sandbox: ExpressionSandbox | undefined;
  #expressionEntries: number[] = [];

  constructor(
    readonly inner: Dataset,
    readonly entries: MapEntry[],
    readonly context: MappingContext,
  ) {}

  get label(): string {
    return this.inner.label;
  }

  /**
   * The source's fields with the mapped ones replaced or added.
   *
   * @throws {UsageError} for a template that reads a field the source does not have.
   */
  async describe(): Promise<DatasetInfo> {
    if (this.#info) return this.#info;
    const info = await this.inner.describe();
    const names = info.fields.map((f) => f.name);
    for (const entry of this.entries) {
      for (const field of entry.template?.fields ?? []) {
        if (!names.includes(field)) {
          throw new UsageError(
            `${entry.at}: pipeline '${this.context.pipeline}': map '${entry.field}': source ${this.label} has no field '${field}'`,
            `fields: ${names.join(", ")}`,
          );
        }
      }
    }
    const fields: Field[] = [...info.fields];
    this.#slots = this.entries.map((entry) => {
      const at = fields.findIndex((f) => f.name === entry.field);
      const field: Field = { name: entry.field, type: "auto" };
      if (at >= 0) fields[at] = field;
      return at >= 0 ? at : fields.push(field) - 1;
    });
    const expressions = this.entries.flatMap((e, i) => e.template ? [] : [[e.field, i] as const]);
    this.#expressionEntries = expressions.map(([, i]) => i);
    if (expressions.length) {
      this.#sandbox = new ExpressionSandbox(
        Object.fromEntries(expressions.map(([field, i]) => [field, this.entries[i].text])),
      );
    }
    this.#info = { ...info, fields };
    return this.#info;
  }

  async *read(batchSize: number): AsyncGenerator<RowBatch> {
    const info = await this.inner.describe();
    await this.describe();
    const index = new Map(info.fields.map((f, i) => [f.name, i]));
    const width = this.#info!.fields.length;
    for await (const batch of this.inner.read(batchSize)) {
      const computed = this.#sandbox ? this.#evaluate(batch, info) : undefined;
      const rows = batch.rows.map((row, r) => {
        const out = row.length < width ? [...row, ...Array(width - row.length).fill(null)] : [
          ...row,
        ];
        this.entries.forEach((entry, e) => {
          if (!entry.template) return;
          try {
            out[this.#slots[e]] = entry.template.render((name) => row[index.get(name)!]);
          } catch (error) {
            throw this.#failure(entry.field, (error as Error).message, row, info, batch, r);
          }
        });
        computed?.[r].forEach((value, x) => out[this.#slots[this.#expressionEntries[x]]] = value);
        return out;
      });
      yield { rows, positions: batch.positions };
    }
  }

  #evaluate(batch: RowBatch, info: DatasetInfo): unknown[][] {
    const records = batch.rows.map((row) =>
      Object.fromEntries(info.fields.map((f, i) => [f.name, jsonRecordValue(row[i])]))
    );
    try {
      return this.#sandbox!.evaluate(records);
    } catch (error) {
      if (!(error instanceof ExpressionError)) throw error;
      if (error.record === undefined) {
        throw new InputError(
          `pipeline '${this.context.pipeline}': map '${error.field}': ${error.message}`,
        );
      }
      const r = error.record;
      throw this.#failure(error.field, error.message, batch.rows[r], info, batch, r);
    }
  }

  /** An {@linkcode InputError} naming the pipeline, the field and the record's key. */
  #failure(
    field: string,
    message: string,
    row: unknown[],
    info: DatasetInfo,
    batch: RowBatch,
    r: number,
  ): InputError {
    const record = recordLabel(row, info, this.context.keyFields, batch.positions[r]);
    const entry = this.entries.find((e) => e.field === field);
    return new InputError(
      `pipeline '${this.context.pipeline}': map '${field}': record ${record} of ${this.label}: ${message}`,
      entry ? `the map entry is at ${entry.at}` : undefined,
    );
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
