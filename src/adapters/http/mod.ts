/**
 * JSON over HTTP: a GET-able collection as a source, a REST resource as a target.
 *
 * Reading follows pagination (a `Link: <…>; rel="next"` header, a next URL or cursor in the body
 * with `--next`, or page/offset query parameters) and spools the records to a temporary NDJSON
 * file page by page, so that the engine can read them twice without a second round of requests
 * and without holding the whole set in memory. Writing sends one request per change (POST,
 * PATCH/PUT, DELETE) with bounded concurrency; HTTP is not transactional, so a failure stops the
 * run with a report of what was applied, and running the same sync again finishes the job.
 *
 * @example
 * ```sh
 * dsync http:sqlite https://api.example.org/users app.db#users --records data --key id
 * dsync csv:http users.csv http://127.0.0.1:3000/users --key id --delete
 * ```
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
import { readLines } from "../../adapter_kit/files.ts";
import {
  HTTP_OPTIONS,
  HttpClient,
  type HttpResponse,
  jsonBodyValue,
} from "../../adapter_kit/http_client.ts";
import {
  isJsonObject,
  parseJsonExact,
  stableStringify,
  stringifyJsonExact,
} from "../../model/values.ts";
import type { DatasetInfo, Importer, OpenOptions, Target } from "../../adapter_kit/importer.ts";
import type { Field, RowBatch } from "../../model/types.ts";
import { batchRows, objectRow } from "../../adapter_kit/batches.ts";
import { wholeNumber, wholeNumberOption } from "../../adapter_kit/option_values.ts";

type JsonObject = Record<string, unknown>;

/** How records are found and paged through. */
export interface PagingOptions {
  /** Dotted path of the records in a JSON body, or `-` for NDJSON. */
  records?: string;
  /** Dotted path of the next page's URL or cursor in the body. */
  next?: string;
  /** Query parameter that carries a cursor from `next`. */
  cursorParam: string;
  /** Page-number query parameter (pages 1, 2, … until an empty page). */
  pageParam?: string;
  /** Offset query parameter (0, then the records read so far, until an empty page). */
  offsetParam?: string;
  /** First page number for `pageParam`. */
  pageStart: number;
  /** Records per page, sent as `sizeParam`. */
  pageSize?: number;
  /** Query parameter for `pageSize`. */
  sizeParam: string;
  /** Nested objects become `a.b` fields. */
  flatten: boolean;
}

function pagingOptions(options: OpenOptions): PagingOptions {
  const text = (name: string) =>
    options[name] === undefined || options[name] === "" ? undefined : String(options[name]);
  if (text("pageParam") && text("offsetParam")) {
    throw new UsageError("--page-param and --offset-param: give one of them");
  }
  if ((text("pageParam") || text("offsetParam")) && text("next")) {
    throw new UsageError("--next and --page-param/--offset-param: give one way to page");
  }
  return {
    records: text("records"),
    next: text("next"),
    cursorParam: text("cursorParam") ?? "cursor",
    pageParam: text("pageParam"),
    offsetParam: text("offsetParam"),
    pageStart: (options.pageStart as number | undefined) ?? 1,
    pageSize: options.pageSize as number | undefined,
    sizeParam: text("sizeParam") ?? (text("offsetParam") ? "limit" : "per_page"),
    flatten: options.flatten === true,
  };
}

/** The value at a dotted path (`data.items`), `undefined` when a step is missing. */
export function atPath(value: unknown, path: string): unknown {
  let current = value;
  for (const step of path.split(".")) {
    if (current === null || typeof current !== "object") return undefined;
    current = Array.isArray(current) && /^\d+$/.test(step)
      ? current[Number(step)]
      : (current as JsonObject)[step];
  }
  return current;
}

/** `{"a": {"b": 1}}` → `{"a.b": 1}`; arrays and empty objects stay values. */
export function flattenObject(object: JsonObject, prefix = "", out: JsonObject = {}): JsonObject {
  for (const [name, value] of Object.entries(object)) {
    if (isJsonObject(value) && Object.keys(value).length > 0) {
      flattenObject(value, `${prefix}${name}.`, out);
    } else out[prefix + name] = value;
  }
  return out;
}

/** `{"a.b": 1}` → `{"a": {"b": 1}}`, the inverse of {@linkcode flattenObject}. */
export function unflattenObject(object: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [name, value] of Object.entries(object)) {
    const steps = name.split(".");
    let node = out;
    for (const step of steps.slice(0, -1)) {
      if (!isJsonObject(node[step])) node[step] = {};
      node = node[step] as JsonObject;
    }
    node[steps[steps.length - 1]] = value;
  }
  return out;
}

function spoolLine(object: JsonObject): string {
  return stringifyJsonExact(object) + "\n";
}

/**
 * A JSON collection behind a URL, read page by page into a temporary spool file. The source
 * and the target's current state.
 */
export class HttpCollection {
  readonly label: string;
  protected readonly paging: PagingOptions;
  #fields: string[] | undefined;
  #spool: string | undefined;
  #count = 0;
  /** The parsed body of the last JSON page, for `--next`. */
  #lastBody: unknown;

  constructor(readonly client: HttpClient, options: OpenOptions) {
    this.label = client.label;
    this.paging = pagingOptions(options);
  }

  /** Whether the collection counts as existing: a source always does. */
  protected existsWith(_fields: string[]): boolean {
    return true;
  }

  async describe(): Promise<DatasetInfo> {
    if (this.#fields === undefined) await this.#fetchAll();
    const fields: Field[] = this.#fields!.map((name) => ({ name, type: "auto" }));
    return {
      exists: this.existsWith(this.#fields!),
      fields,
      primaryKey: [],
      typed: false,
      textual: false,
    };
  }

  async *read(batchSize: number): AsyncGenerator<RowBatch> {
    const names = (await this.describe()).fields.map((f) => f.name);
    if (this.#count === 0) return;
    const file = await Deno.open(this.#spool!);
    const lines = readLines(file.readable.pipeThrough(new TextDecoderStream()), "spool");
    async function* spooled() {
      for await (const [line, number] of lines) {
        if (line !== "") yield [parseJsonExact(line) as JsonObject, number] as const;
      }
    }
    yield* batchRows(spooled(), batchSize, ([object]) => objectRow(object, names), ([, at]) => at);
  }

  async close(): Promise<void> {
    if (this.#spool) await Deno.remove(this.#spool).catch(() => {});
    this.#spool = undefined;
  }

  async #fetchAll(): Promise<void> {
    const names = new Set<string>();
    this.#spool = await Deno.makeTempFile({ prefix: "dsync-http-", suffix: ".ndjson" });
    const file = await Deno.open(this.#spool, { write: true, truncate: true });
    const encoder = new TextEncoder();
    try {
      for await (const page of this.pages()) {
        let chunk = "";
        for (const record of page) {
          const object = this.paging.flatten ? flattenObject(record) : record;
          for (const name in object) names.add(name);
          chunk += spoolLine(object);
          this.#count++;
        }
        const bytes = encoder.encode(chunk);
        let written = 0;
        while (written < bytes.length) written += await file.write(bytes.subarray(written));
      }
    } finally {
      file.close();
    }
    this.#fields = [...names];
  }

  /** The collection's records, one page at a time, following the pagination options. */
  async *pages(): AsyncGenerator<JsonObject[]> {
    const p = this.paging;
    const first = new URL(this.client.url);
    if (p.pageSize !== undefined) first.searchParams.set(p.sizeParam, String(p.pageSize));
    let page = p.pageStart;
    let offset = 0;
    if (p.pageParam) first.searchParams.set(p.pageParam, String(page));
    if (p.offsetParam) first.searchParams.set(p.offsetParam, "0");
    let url: string | undefined = first.href;
    const seen = new Set<string>();
    let previousBody: string | undefined;
    let position = 0;
    while (url !== undefined) {
      if (seen.has(url)) {
        throw this.client.error(
          `${this.label}: pagination loops: page ${seen.size + 1} is ${url} again`,
          "check --next / the server's next links",
        );
      }
      seen.add(url);
      const response = await this.client.request("GET", url);
      const records = this.#records(response, seen.size, position);
      position += records.length;
      if ((p.pageParam || p.offsetParam) && records.length > 0) {
        if (previousBody === response.text) {
          throw this.client.error(
            `${this.label}: page ${seen.size} is the same as page ${seen.size - 1}`,
            `does the server page with '${p.pageParam ?? p.offsetParam}'?`,
          );
        }
        previousBody = response.text;
      }
      yield records;
      url = this.#nextUrl(response, url, records.length);
      if (p.pageParam && url !== undefined) {
        const next = new URL(url);
        next.searchParams.set(p.pageParam, String(++page));
        url = next.href;
      } else if (p.offsetParam && url !== undefined) {
        offset += records.length;
        const next = new URL(url);
        next.searchParams.set(p.offsetParam, String(offset));
        url = next.href;
      }
    }
  }

  #nextUrl(response: HttpResponse, url: string, count: number): string | undefined {
    const p = this.paging;
    if (p.pageParam || p.offsetParam) return count === 0 ? undefined : url;
    if (p.next !== undefined) {
      const body = this.#lastBody;
      const value = body === undefined ? undefined : atPath(body, p.next);
      if (value === undefined || value === null || value === "" || value === false) {
        return undefined;
      }
      if (typeof value !== "string" && typeof value !== "number") {
        throw this.client.error(
          `${this.label}: --next ${p.next}: expected a URL or a cursor, got ${
            JSON.stringify(value).slice(0, 60)
          }`,
        );
      }
      const text = String(value);
      if (/^(https?:\/\/|\/|\?|\.)/.test(text)) return new URL(text, response.url).href;
      const next = new URL(this.client.url);
      if (p.pageSize !== undefined) next.searchParams.set(p.sizeParam, String(p.pageSize));
      next.searchParams.set(p.cursorParam, text);
      return next.href;
    }
    const link = response.headers.get("link");
    if (!link) return undefined;
    const next = linkNext(link);
    return next === undefined ? undefined : new URL(next, response.url).href;
  }

  #records(response: HttpResponse, page: number, position: number): JsonObject[] {
    const p = this.paging;
    const where = page > 1 ? `${this.label} (page ${page})` : this.label;
    const type = response.headers.get("content-type") ?? "";
    this.#lastBody = undefined;
    if (p.records === "-" || /ndjson|jsonl|json-seq|jsonlines/i.test(type)) {
      const records: JsonObject[] = [];
      const lines = response.text.split("\n");
      for (let i = 0; i < lines.length; i++) {
        const raw = lines[i].startsWith("\u001e") ? lines[i].slice(1) : lines[i];
        const line = raw.trim();
        if (line === "") continue;
        let value: unknown;
        try {
          value = parseJsonExact(line);
        } catch (error) {
          throw this.client.error(
            `${where}: line ${i + 1}: not valid JSON: ${(error as Error).message}`,
          );
        }
        if (!isJsonObject(value)) {
          throw this.client.error(
            `${where}: line ${i + 1}: not a JSON object: ${line.slice(0, 60)}`,
          );
        }
        records.push(value);
      }
      return records;
    }
    let body: unknown;
    try {
      body = parseJsonExact(response.text);
    } catch (error) {
      const start = response.text.trim().slice(0, 60).replace(/\s+/g, " ");
      throw this.client.error(
        `${where}: not valid JSON (${(error as Error).message})${
          start ? `; it begins: ${start}` : ""
        }`,
        /html/i.test(type) ? "the server sent HTML: check the URL" : undefined,
      );
    }
    this.#lastBody = body;
    let list: unknown = body;
    if (p.records !== undefined) {
      list = atPath(body, p.records);
      if (list === undefined) {
        throw this.client.error(
          `${where}: no records at --records ${p.records}`,
          isJsonObject(body)
            ? `the body has: ${Object.keys(body).slice(0, 12).join(", ")}`
            : undefined,
        );
      }
      if (list === null) list = [];
    }
    if (!Array.isArray(list)) {
      const arrays = isJsonObject(list)
        ? Object.keys(list).filter((k) => Array.isArray((list as JsonObject)[k]))
        : [];
      throw this.client.error(
        `${where}: expected a JSON array of records${
          p.records ? ` at --records ${p.records}` : ""
        }, got ${Array.isArray(list) ? "an array" : list === null ? "null" : typeof list}`,
        arrays.length ? `the records may be at --records ${arrays[0]}` : "use --records PATH",
      );
    }
    for (let i = 0; i < list.length; i++) {
      if (!isJsonObject(list[i])) {
        throw this.client.error(
          `${this.label}: record ${position + i + 1} is not an object: ${
            JSON.stringify(list[i])?.slice(0, 60)
          }`,
        );
      }
    }
    return list as JsonObject[];
  }
}

/** The `rel="next"` URL of a `Link` header (RFC 8288), if any. */
export function linkNext(header: string): string | undefined {
  for (const m of header.matchAll(/<([^>]*)>\s*((?:;\s*[^;,]*)*)/g)) {
    const rel = /;\s*rel\s*=\s*"?([^";]*)"?/i.exec(m[2]);
    if (rel && rel[1].toLowerCase().split(/\s+/).includes("next")) return m[1];
  }
  return undefined;
}

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

/** The `http` adapter. */
export const httpImporter: Importer = {
  name: "http",
  description: "JSON over HTTP: a paged collection (source) or a REST resource (target)",
  locator: "http(s)://host/path (user:password@ for basic auth); target: the collection URL",
  transactional: false,
  options: [
    ...HTTP_OPTIONS,
    {
      flags: "--records <path>",
      description:
        "where the records are in a JSON body (dotted: data, result.items), or - for NDJSON",
    },
    { flags: "--next <path>", description: "body path of the next page's URL or cursor" },
    {
      flags: "--cursor-param <name>",
      description: "query parameter that carries a --next cursor",
      defaultValue: "cursor",
    },
    {
      flags: "--page-param <name>",
      description: "page-number query parameter: pages 1, 2, ... until an empty page",
    },
    {
      flags: "--offset-param <name>",
      description: "offset query parameter: 0, then records read so far, until an empty page",
    },
    {
      flags: "--page-start <n>",
      description: "first page number of --page-param (default 1)",
      parse: wholeNumberOption(0),
    },
    {
      flags: "--page-size <n>",
      description: "records per page, sent as --size-param",
      parse: wholeNumberOption(1),
    },
    {
      flags: "--size-param <name>",
      description: "query parameter of --page-size (default per_page; limit with --offset-param)",
    },
    { flags: "--flatten", description: "nested objects become a.b fields (nested again on write)" },
    {
      flags: "--concurrency <n>",
      description: "target: requests in flight at once (1 to 64)",
      defaultValue: "4",
      parse: (text, flag) => {
        const n = wholeNumber(text, flag, 1);
        if (n > 64) throw new UsageError(`${flag} ${text}: expected 1 to 64`);
        return n;
      },
    },
    {
      flags: "--update-method <method>",
      description: "target: PATCH (changed fields) or PUT (whole record)",
      defaultValue: "PATCH",
      parse: (text, flag) => {
        const method = text.toUpperCase();
        if (method !== "PATCH" && method !== "PUT") {
          throw new UsageError(`${flag} ${text}: expected PATCH or PUT`);
        }
        return method;
      },
    },
    {
      flags: "--item-url <template>",
      description: "target: URL of one record, e.g. 'http://host/users/{id}' (default URL/{key})",
    },
  ],
  openSource: (locator, ctx) =>
    Promise.resolve(
      new HttpCollection(HttpClient.fromOptions(locator, ctx.options, "source"), ctx.options),
    ),
  openTarget: (locator, ctx) => {
    if (locator === undefined) {
      throw new UsageError("http target: which URL? give the collection URL as TARGET");
    }
    return Promise.resolve(
      new HttpTarget(HttpClient.fromOptions(locator, ctx.options, "target"), ctx.options),
    );
  },
};
