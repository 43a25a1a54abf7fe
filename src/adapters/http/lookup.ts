/**
 * HTTP as an enrichment lookup: each request is a path (joined to the datastore's URL) or a full
 * URL on the same origin, fetched with GET through the kit's {@linkcode HttpClient} (its
 * timeout, retries and redaction) with at most `concurrency` requests in flight. A JSON body is
 * the value (numbers exact); another body is its text; 404 is a miss.
 *
 * @module
 */
import { HttpClient } from "../../adapter_kit/http_client.ts";
import { type Lookup, MISSING } from "../../adapter_kit/lookup.ts";
import type { OpenOptions } from "../../adapter_kit/importer.ts";
import { UsageError } from "../../model/errors.ts";
import { parseJsonExact } from "../../model/values.ts";

/** Lookups under one base URL. */
export class HttpLookup implements Lookup {
  readonly label: string;
  readonly #client: HttpClient;
  readonly #base: URL;

  constructor(locator: string, options: OpenOptions, readonly concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
      throw new UsageError(`http lookup: concurrency ${concurrency}: expected 1 to 64`);
    }
    this.#client = HttpClient.fromOptions(locator, options, "source");
    this.#base = new URL(this.#client.url);
    this.label = this.#client.label;
  }

  /** The URL of a request: a path joined to the base URL's path, or a URL of the same origin. */
  #url(request: string): string {
    if (/^https?:\/\//i.test(request)) {
      if (new URL(request).origin !== this.#base.origin) {
        throw new UsageError(
          `${this.label}: lookup ${this.#client.redact(request)} leaves the datastore's origin`,
          "credentials go only to the datastore's own host; give a path",
        );
      }
      return request;
    }
    const base = this.#base.href.replace(/\/$/, "");
    return base + (request.startsWith("/") || request.startsWith("?") ? "" : "/") + request;
  }

  async get(requests: string[]): Promise<unknown[]> {
    const out: unknown[] = new Array(requests.length);
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        const i = next++;
        const response = await this.#client.request("GET", this.#url(requests[i]), {
          accept: [404],
          headers: { Accept: "application/json" },
        });
        if (response.status === 404) {
          out[i] = MISSING;
          continue;
        }
        const type = response.headers.get("content-type") ?? "";
        let value: unknown = response.text;
        if (/json/i.test(type) || /^\s*[[{"]/.test(response.text)) {
          try {
            value = parseJsonExact(response.text);
          } catch {
            value = response.text;
          }
        }
        out[i] = value;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, requests.length) }, worker));
    return out;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
