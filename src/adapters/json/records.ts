/**
 * JSON record files, shared by the `ndjson` (one object per line) and `json` (one array of
 * objects) adapters. Fields are the union of the objects' keys in order of first appearance;
 * a missing key is NULL. Integers beyond 2^53 are read exactly (as bigint) and written as
 * JSON numbers; nested objects and arrays are JSON values.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { JsonRecordsFile } from "./records.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/events.ndjson`, '{"id":1,"kind":"open"}\n{"id":2}\n');
 * const events = new JsonRecordsFile(`${dir}/events.ndjson`, "ndjson", "source");
 * deepStrictEqual((await events.describe()).fields.map((field) => field.name), ["id", "kind"]);
 * const batches = await Array.fromAsync(events.read(1000));
 * deepStrictEqual(batches.flatMap((batch) => batch.rows), [[1, "open"], [2, null]]);
 * await events.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import type { WritePlan } from "../../adapter_kit/changes.ts";
import { InputError } from "../../model/errors.ts";
import {
  atomicWrite,
  fileExists,
  mergeChanges,
  openText,
  readLines,
} from "../../adapter_kit/files.ts";
import { fileColumns } from "../../adapter_kit/load.ts";
import type { DatasetInfo, Target } from "../../adapter_kit/importer.ts";
import type { Field, RowBatch } from "../../model/types.ts";
import {
  exactJsonNumber,
  isJsonObject,
  parseJsonExact,
  stringifyJsonExact,
  toJsonValue,
} from "../../model/values.ts";
import { batchRows, objectRow } from "../../adapter_kit/batches.ts";

/** `ndjson`: one object per line; `json`: a single array of objects. */
export type JsonLayout = "ndjson" | "json";

type JsonObject = Record<string, unknown>;

/** A JSON or NDJSON file of records, or `-` for standard input/output. */
export class JsonRecordsFile implements Target {
  readonly label: string;
  #fields: string[] | null | undefined;

  constructor(
    readonly path: string,
    readonly layout: JsonLayout,
    readonly role: "source" | "target",
  ) {
    this.label = path !== "-" ? path : `${role === "source" ? "stdin" : "stdout"}.${layout}`;
  }

  async describe(): Promise<DatasetInfo> {
    if (this.#fields === undefined) {
      if (this.role === "target" && (this.path === "-" || !await fileExists(this.path))) {
        this.#fields = null;
      } else {
        const names = new Set<string>();
        for await (const [object] of this.#objects()) for (const k in object) names.add(k);
        this.#fields = [...names];
      }
    }
    const fields: Field[] = (this.#fields ?? []).map((name) => ({ name, type: "auto" }));
    return {
      exists: this.#fields !== null,
      fields,
      primaryKey: [],
      typed: false,
      textual: false,
      jsonValues: true,
    };
  }

  async *read(batchSize: number): AsyncGenerator<RowBatch> {
    const names = (await this.describe()).fields.map((f) => f.name);
    yield* batchRows(
      this.#objects(),
      batchSize,
      ([object]) => objectRow(object, names),
      ([, at]) => at,
    );
  }

  async *#objects(): AsyncGenerator<[JsonObject, number]> {
    const text = await openText(this.path);
    if (this.layout === "ndjson") {
      for await (const [line, number] of readLines(text, this.label)) {
        if (line.trim() === "") continue;
        yield [this.#object(line, number), number];
      }
      return;
    }
    let whole = "";
    for await (const chunk of text) whole += chunk;
    if (whole.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = parseJsonExact(whole);
    } catch (error) {
      throw new InputError(`${this.label}: not valid JSON: ${(error as Error).message}`);
    }
    if (!Array.isArray(parsed)) {
      throw new InputError(
        `${this.label}: expected a JSON array of objects`,
        "for one object per line, use the ndjson adapter",
      );
    }
    for (let i = 0; i < parsed.length; i++) {
      if (!isJsonObject(parsed[i])) {
        throw new InputError(
          `${this.label}: record ${i + 1} is not an object: ${
            JSON.stringify(parsed[i]).slice(0, 60)
          }`,
        );
      }
      yield [parsed[i], i + 1];
    }
  }

  #object(line: string, number: number): JsonObject {
    let value: unknown;
    try {
      value = parseJsonExact(line);
    } catch (error) {
      throw new InputError(`${this.label}:${number}: not valid JSON: ${(error as Error).message}`);
    }
    if (!isJsonObject(value)) {
      throw new InputError(`${this.label}:${number}: not a JSON object: ${line.slice(0, 60)}`);
    }
    return value;
  }

  async apply(plan: WritePlan): Promise<void> {
    const info = await this.describe();
    const columns = info.exists
      ? fileColumns(this.#fields!, plan.fields)
      : plan.fields.map((f) => f.name);
    const existing = info.exists ? this.read(5000) : null;
    const ndjson = this.layout === "ndjson";
    await atomicWrite(this.path, async (write) => {
      if (!ndjson) await write("[");
      let first = true;
      for await (const row of mergeChanges(plan, columns, existing)) {
        const object: JsonObject = {};
        columns.forEach((name, i) => object[name] = jsonValue(row[i]));
        const line = stringifyJsonExact(object);
        await write(ndjson ? line + "\n" : (first ? "\n" : ",\n") + line);
        first = false;
      }
      if (!ndjson) await write(first ? "]\n" : "\n]\n");
    });
  }

  /** `--add-columns`: the new fields are written by {@linkcode apply}'s rewrite. */
  addColumns(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

function jsonValue(value: unknown): unknown {
  return typeof value === "bigint" ? exactJsonNumber(value) : toJsonValue(value);
}
