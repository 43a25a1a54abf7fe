/**
 * A JSON collection behind a URL, as a source (and a target's current state): pagination (a
 * `Link: <…>; rel="next"` header, a next URL or cursor in the body with `--next`, or page/offset
 * query parameters), records found at a dotted path, nested objects flattened on request, and a
 * spool file so that the engine can read the records twice without a second round of requests.
 * @module
 */
import { UsageError } from "../../model/errors.ts";
import { readLines } from "../../adapter_kit/files.ts";
import type { HttpClient, HttpResponse } from "../../adapter_kit/http_client.ts";
import { isJsonObject, parseJsonExact, stringifyJsonExact } from "../../model/values.ts";
import type { DatasetInfo, OpenOptions } from "../../adapter_kit/importer.ts";
import type { Field, RowBatch } from "../../model/types.ts";
import { batchRows, objectRow } from "../../adapter_kit/batches.ts";
import { fileTextWriter } from "../../adapter_kit/text_writer.ts";

export type JsonObject = Record<string, unknown>;

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
      jsonValues: true,
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
    const text = fileTextWriter(file);
    try {
      for await (const page of this.pages()) {
        for (const record of page) {
          const object = this.paging.flatten ? flattenObject(record) : record;
          for (const name in object) names.add(name);
          await text.write(spoolLine(object));
          this.#count++;
        }
      }
      await text.flush();
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
