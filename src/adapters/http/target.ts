/**
 * A REST resource as a target: POST to create, PATCH/PUT and DELETE an item URL, with bounded
 * concurrency. HTTP is not transactional: a failure stops the run with a report of what was
 * applied, and running the same sync again finishes the job.
 * @module
 */
import {
  keyObject,
  planChangeList,
  rawValue,
  type RecordChange,
  reportChanges,
  type WritePlan,
} from "../../adapter_kit/changes.ts";
import { TargetError, UsageError } from "../../model/errors.ts";
import { type HttpClient, jsonBodyValue } from "../../adapter_kit/http_client.ts";
import { stableStringify, stringifyJsonExact } from "../../model/values.ts";
import type { OpenOptions, Target } from "../../adapter_kit/importer.ts";

import { HttpCollection, type JsonObject, unflattenObject } from "./collection.ts";

/** A REST resource: GET the collection, POST to create, PATCH/PUT and DELETE an item URL. */
export class HttpTarget extends HttpCollection implements Target {
  readonly #updateMethod: "PATCH" | "PUT";
  readonly #itemUrl: string | undefined;
  readonly #concurrency: number;

  constructor(client: HttpClient, options: OpenOptions) {
    super(client, options);
    this.#updateMethod = options.updateMethod as "PATCH" | "PUT";
    this.#itemUrl = options.itemUrl === undefined ? undefined : String(options.itemUrl);
    this.#concurrency = options.concurrency as number;
  }

  /** An empty collection has no fields yet: every source record is a create. */
  protected override existsWith(fields: string[]): boolean {
    return fields.length > 0;
  }

  async apply(plan: WritePlan, progress?: (written: number) => void): Promise<void> {
    const work = planChangeList(plan);
    if (work.length === 0) return;
    const itemUrl = this.#itemUrlOf(plan);
    const result: ("pending" | "applied" | "failed")[] = work.map(() => "pending");
    let failure: { index: number; error: Error } | undefined;
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (failure === undefined && next < work.length) {
        const index = next++;
        try {
          await this.#send(work[index], plan, itemUrl);
          result[index] = "applied";
          progress?.(++done);
        } catch (error) {
          result[index] = "failed";
          failure ??= { index, error: error as Error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, work.length) }, worker));
    if (!failure) return;
    const error = this.client.redact(failure.error.message);
    reportChanges(
      work,
      plan,
      (i) => result[i] === "pending" ? "not applied" : result[i],
      { index: failure.index, message: error },
    );
    const applied = result.filter((r) => r === "applied").length;
    const { op, key } = work[failure.index];
    throw new TargetError(
      `${this.label}: ${op} ${JSON.stringify(keyObject(plan, key))} failed: ${
        this.client.redact(failure.error.message)
      }; ${applied} of ${work.length} changes applied, ${
        work.length - applied
      } not (listed above as NDJSON); HTTP writes are not transactional`,
      "fix the cause and run the same sync again: it sends only what is still missing",
    );
  }

  async #send(
    change: RecordChange,
    plan: WritePlan,
    itemUrl: (row: unknown[]) => string,
  ): Promise<void> {
    const body = (after: unknown[], indexes: Iterable<number>) => {
      const object: JsonObject = {};
      for (const i of indexes) {
        object[plan.fields[i].name] = jsonBodyValue(rawValue(after[i]));
      }
      return stringifyJsonExact(this.paging.flatten ? unflattenObject(object) : object);
    };
    const all = plan.fields.map((_, i) => i);
    switch (change.op) {
      case "create":
        await this.client.request("POST", this.client.url, {
          body: body(change.after, all),
          idempotent: false,
        });
        break;
      case "update": {
        const fields = this.#updateMethod === "PUT" ? all : this.#patchFields(plan, change.changed);
        await this.client.request(this.#updateMethod, itemUrl(change.after), {
          body: body(change.after, fields),
        });
        break;
      }
      case "delete":
        await this.client.request("DELETE", itemUrl(change.before), { accept: [404, 410] });
    }
  }

  /**
   * The fields a PATCH sends: the changed ones; with `--flatten`, every field of a changed nested
   * object, since many servers merge only the top level (`address.city` changed → all `address.*`).
   */
  #patchFields(plan: WritePlan, changed: number[]): number[] {
    if (!this.paging.flatten) return changed;
    const tops = new Set(changed.map((i) => plan.fields[i].name.split(".")[0]));
    return plan.fields.flatMap((f, i) => tops.has(f.name.split(".")[0]) ? [i] : []);
  }

  /** The function that gives a record's item URL, checked before any request is sent. */
  #itemUrlOf(plan: WritePlan): (row: unknown[]) => string {
    const names = plan.fields.map((f) => f.name);
    const text = (value: unknown) => {
      const raw = rawValue(value);
      return encodeURIComponent(
        typeof raw === "string"
          ? raw
          : typeof raw === "bigint"
          ? raw.toString()
          : stableStringify(raw),
      );
    };
    if (this.#itemUrl !== undefined) {
      const template = this.#itemUrl;
      const used = [...template.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1]);
      if (used.length === 0) {
        throw new UsageError(
          `--item-url ${template}: no {field} in it`,
          "e.g. --item-url 'http://host/users/{id}'",
        );
      }
      for (const name of used) {
        if (!names.includes(name)) {
          throw new UsageError(
            `--item-url: no field '${name}' in the records`,
            `fields: ${names.join(", ")}`,
          );
        }
      }
      const expand = (row: unknown[]) =>
        template.replace(/\{([^{}]+)\}/g, (_, name: string) => text(row[names.indexOf(name)]));
      // Credentials in the template are handled as in the locator: only the URL is checked.
      return (row) => new URL(expand(row), this.client.url).href;
    }
    if (plan.keyIndexes.length !== 1) {
      throw new UsageError(
        `${this.label}: a key of ${plan.keyIndexes.length} fields needs --item-url`,
        `e.g. --item-url '${this.label.replace(/\/?(\?.*)?$/, "")}/${
          plan.keyIndexes.map((i) => `{${names[i]}}`).join("/")
        }'`,
      );
    }
    const base = new URL(this.client.url);
    const path = base.pathname.replace(/\/+$/, "");
    const k = plan.keyIndexes[0];
    return (row) => {
      const url = new URL(base.href);
      url.pathname = `${path}/${text(row[k])}`;
      return url.href;
    };
  }
}
