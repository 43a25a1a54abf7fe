/**
 * What the `http` and `webhook` adapters share: one HTTP client with a timeout, bounded retries
 * with exponential backoff (connection errors, 429 and 5xx, honouring `Retry-After`), request
 * headers from `-H 'Name: value'` with `${ENV}` expansion, basic auth from the URL's user info,
 * and redaction, so that no password or token ever reaches a message.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { HttpClient } from "./http_client.ts";
 * const options = { timeout: 30, retries: 3, retryDelay: 1 };
 * const client = HttpClient.fromOptions("http://app:pw@127.0.0.1:3000/users", options, "source");
 * deepStrictEqual(client.url, "http://127.0.0.1:3000/users"); // requests send basic auth instead
 * deepStrictEqual(client.label, "http://***@127.0.0.1:3000/users"); // for messages
 * // const response = await client.request("GET", client.url);
 * ```
 * @module
 */
import {
  type DsyncError,
  InputError,
  TargetError,
  UnreachableError,
  UsageError,
} from "../model/errors.ts";
import type { AdapterOption, OpenOptions } from "./importer.ts";
import { encodeBase64 } from "../model/base64.ts";
import { exactJsonNumber, toJsonValue } from "../model/values.ts";
import { parseAdapterOptions, secondsOption, wholeNumberOption } from "./option_values.ts";
import { REDACTED, redactLocator, redactUrls } from "./redact.ts";

/** Options both adapters take; the same objects, so that a pair lists each once. */
export const HTTP_OPTIONS: AdapterOption[] = [
  {
    flags: "-H, --header <header...>",
    description:
      "HTTP request header 'Name: value' (repeatable, after SOURCE/TARGET); ${VAR} is read from the environment",
  },
  {
    flags: "--show-header <name...>",
    description:
      "HTTP: with -v, show this request header's value (repeatable); other values show as ***",
  },
  {
    flags: "--timeout <seconds>",
    description: "HTTP: seconds per request",
    defaultValue: "30",
    parse: secondsOption(false),
  },
  {
    flags: "--retries <n>",
    description: "HTTP: retries on connection errors, 429 and 5xx",
    defaultValue: "3",
    parse: wholeNumberOption(0),
  },
  {
    flags: "--retry-delay <seconds>",
    description: "HTTP: first retry delay, doubled on each retry (Retry-After wins)",
    defaultValue: "1",
    parse: secondsOption(true),
  },
];

/**
 * Why a `fetch` failed, in words (`connection refused`, `DNS lookup failed`, `TLS handshake
 * failed: ...`, `connection reset`), from the error and its `cause`; `raw` is the whole text,
 * without the URL Deno puts in it (it may hold a token).
 *
 * @example
 * ```ts
 * const cause = new Error("error sending request for url (http://h/): client error (Connect): tcp connect error: Connection refused (os error 111)");
 * fetchFailure(new TypeError("fetch failed", { cause })).cause; // "connection refused"
 * ```
 */
export function fetchFailure(error: Error): { cause: string; raw: string } {
  const inner = (error.cause as Error | undefined)?.message;
  const raw = [error.message, inner].filter(Boolean).join(": ")
    .replace(/error sending request for url \([^)]*\): /g, "");
  const last = raw.replace(/^(fetch failed: )?(client error \(Connect\): )?/i, "");
  const cause =
    /dns error|failed to lookup|name or service not known|no address associated/i.test(raw)
      ? "DNS lookup failed (unknown host)"
      : /connection refused/i.test(raw)
      ? "connection refused (nothing listens there)"
      : /certificate|tls|ssl|handshake|InvalidContentType|corrupt message|UnknownIssuer|alert/i
          .test(raw)
      ? `TLS handshake failed (${last})`
      : /connection reset/i.test(raw)
      ? "connection reset by the server"
      : /timed out/i.test(raw)
      ? "timed out"
      : last;
  return { cause, raw };
}

/** Longest `Retry-After` dsync waits for; a server asking for more fails the request at once. */
export const MAX_RETRY_AFTER_SECONDS = 120;
/** Longest backoff between two attempts. */
const MAX_BACKOFF_MS = 30_000;

/** Query parameters whose values are secrets. */
const SECRET_PARAM =
  /token|secret|passw|pwd|apikey|api[-_]key|auth|signature|^sig$|^key$|session|credential/i;
/** Request headers whose values are secrets (Authorization keeps its scheme). */
const SECRET_HEADER =
  /^(authorization|proxy-authorization|cookie)$|token|secret|passw|api[-_]?key|signature|session|auth/i;

/** A response whose body has been read. */
export interface HttpResponse {
  status: number;
  statusText: string;
  headers: Headers;
  /** The body as text. */
  text: string;
  /** The URL that answered (after redirects). */
  url: string;
}

/** Settings of an {@linkcode HttpClient}. */
export interface HttpClientSettings {
  /** Headers sent with every request (expanded already). */
  headers: [string, string][];
  /** Values to redact besides the ones recognised by name (e.g. from `${ENV}`). */
  secrets?: string[];
  /** Milliseconds per attempt, body included. */
  timeoutMs: number;
  /** Retries after the first attempt. */
  retries: number;
  /** First backoff in milliseconds; doubled on each retry. */
  retryDelayMs: number;
  /** Log every request (secrets redacted) on stderr. */
  verbose: boolean;
  /** Headers whose values `-v` shows (`--show-header`); every other value is `***`. */
  showHeaders?: string[];
  /** No retry notes on stderr. */
  quiet: boolean;
  /** `source` failures exit 2, `target` failures exit 4. */
  role: "source" | "target";
}

/** Options of one request. */
export interface RequestOptions {
  /** JSON or other text body. */
  body?: string;
  /** Extra headers for this request only. */
  headers?: Record<string, string>;
  /**
   * Whether the request may be repeated after it may have reached the server (GET, PUT, PATCH,
   * DELETE and webhook deliveries). A non-idempotent POST is retried only when the server cannot
   * have acted on it: 429, 502, 503, 504 or a refused connection.
   */
  idempotent?: boolean;
  /** Statuses that are not failures (besides 2xx), e.g. 404 for a DELETE. */
  accept?: number[];
}

/**
 * An HTTP client bound to one locator URL: its credentials (user info, `-H` headers) go only to
 * that URL's origin, and its secrets are redacted from every message.
 */
export class HttpClient {
  /** The locator without user info, as requests use it. */
  readonly url: string;
  /** The locator with secrets replaced by `***`, for labels and messages. */
  readonly label: string;
  readonly #origin: string;
  readonly #secrets: string[] = [];
  readonly #headers: [string, string][];

  constructor(locator: string, readonly settings: HttpClientSettings) {
    let url: URL;
    try {
      url = new URL(locator);
    } catch {
      throw new UsageError(
        `'${redactLocator(locator)}': not a URL`,
        "write the full URL, e.g. http://127.0.0.1:3000/users",
      );
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new UsageError(`'${redactUrl(locator)}': only http:// and https:// URLs are supported`);
    }
    this.#headers = [...settings.headers];
    for (const secret of settings.secrets ?? []) this.#addSecret(secret);
    for (const [name, value] of this.#headers) {
      if (SECRET_HEADER.test(name)) this.#addSecret(value.replace(/^(Bearer|Basic|Token)\s+/i, ""));
    }
    if (url.username || url.password) {
      const user = decodeURIComponent(url.username);
      const password = decodeURIComponent(url.password);
      this.#addSecret(password);
      this.#addSecret(url.password);
      if (!url.password) {
        this.#addSecret(user);
        this.#addSecret(url.username);
      }
      if (!this.#headers.some(([name]) => name.toLowerCase() === "authorization")) {
        const basic = encodeBase64(new TextEncoder().encode(`${user}:${password}`));
        this.#headers.push(["Authorization", `Basic ${basic}`]);
        this.#addSecret(basic);
      }
      url.username = "";
      url.password = "";
    }
    for (const [name, value] of url.searchParams) {
      if (SECRET_PARAM.test(name)) {
        this.#addSecret(value);
        this.#addSecret(encodeURIComponent(value));
      }
    }
    this.url = url.href;
    this.#origin = url.origin;
    this.label = redactUrl(locator);
  }

  /**
   * A client from the options of {@linkcode HTTP_OPTIONS} (`-H`, `--timeout`, `--retries`,
   * `--retry-delay`), parsed by their declared parsers.
   */
  static fromOptions(locator: string, values: OpenOptions, role: "source" | "target"): HttpClient {
    // Parsed again here (a no-op for values parsed already): lookups and other callers that do not
    // open through the registry get the same checked values.
    const options = parseAdapterOptions(HTTP_OPTIONS, values);
    const secrets: string[] = [];
    return new HttpClient(locator, {
      headers: parseHeaders(options.header, secrets),
      secrets,
      timeoutMs: (options.timeout as number) * 1000,
      retries: options.retries as number,
      retryDelayMs: (options.retryDelay as number) * 1000,
      verbose: options.verbose === true,
      showHeaders: (options.showHeader as string[] | undefined) ?? [],
      quiet: options.quiet === true,
      role,
    });
  }

  #addSecret(value: string): void {
    if (value.length >= 3 && !this.#secrets.includes(value)) this.#secrets.push(value);
    this.#secrets.sort((a, b) => b.length - a.length);
  }

  /** Marks `value` as secret: it is replaced by `***` in every message of this client. */
  addSecret(value: string): void {
    this.#addSecret(value);
  }

  /** A request URL for messages: the locator as the user wrote it (redacted), else redacted. */
  #show(url: string): string {
    return url === this.url ? this.label : this.redact(url);
  }

  /** `text` with every known secret and every URL's secrets replaced by `***`. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.#secrets) out = out.replaceAll(secret, REDACTED);
    return redactUrls(out);
  }

  /** The error of this client's role: {@linkcode InputError} (exit 2) or TargetError (exit 4). */
  error(message: string, hint?: string): DsyncError {
    const text = this.redact(message);
    const help = hint === undefined ? undefined : this.redact(hint);
    return this.settings.role === "source"
      ? new InputError(text, help)
      : new TargetError(text, help);
  }

  /**
   * A server that cannot be reached or keeps failing (connection errors, time-outs, 429/5xx
   * after the retries): exit 4 for a source as for a target, so that a script can retry later.
   */
  unreachable(message: string, hint?: string): DsyncError {
    return new UnreachableError(
      this.redact(message),
      hint === undefined ? undefined : this.redact(hint),
    );
  }

  /**
   * Sends a request, retrying as the settings say; returns the response of the first attempt
   * that answered 2xx (or a status in `accept`).
   *
   * @throws {InputError | TargetError} when it fails for good, naming the redacted URL and status.
   */
  async request(method: string, url: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const { retries, timeoutMs } = this.settings;
    const headers = this.#headersFor(url, options);
    const attempts = retries + 1;
    for (let attempt = 1;; attempt++) {
      const outcome = await this.#attempt(method, url, headers, options.body, timeoutMs);
      const last = attempt >= attempts;
      if ("response" in outcome) {
        const r = outcome.response;
        if ((r.status >= 200 && r.status < 300) || options.accept?.includes(r.status)) return r;
        const retryable = r.status === 429 || r.status >= 500;
        const safe = options.idempotent !== false || [429, 502, 503, 504].includes(r.status);
        const after = retryAfter(r.headers.get("retry-after"));
        const what = `${method} ${this.#show(url)}: HTTP ${r.status}${
          r.statusText ? " " + r.statusText : ""
        }`;
        if (after !== undefined && after > MAX_RETRY_AFTER_SECONDS * 1000) {
          throw this.error(
            `${what}; the server asks to retry after ${Math.round(after / 1000)} s`,
            `dsync waits at most ${MAX_RETRY_AFTER_SECONDS} s; run again later`,
          );
        }
        if (!retryable || !safe || last) {
          throw (retryable ? this.unreachable : this.error).call(
            this,
            `${what}${retryable && safe ? ` after ${attempt} attempts` : ""}${snippet(r.text)}`,
            hintFor(r.status),
          );
        }
        await this.#wait(method, url, `HTTP ${r.status}`, attempt, attempts, after);
        continue;
      }
      const { error, timedOut } = outcome;
      const detail = fetchFailure(error);
      const refused = !timedOut &&
        /\(Connect\)|refused|dns error|failed to lookup/i.test(detail.raw);
      const reason = timedOut
        ? `no answer within ${timeoutMs / 1000} s`
        : `connection failed: ${detail.cause}`;
      if (last || (options.idempotent === false && !refused)) {
        throw this.unreachable(
          `${method} ${this.#show(url)}: ${reason}${
            attempts > 1 && !(options.idempotent === false && !refused)
              ? ` after ${attempt} attempts`
              : ""
          }`,
          timedOut ? "raise --timeout, or check the server" : "check the URL and the server",
        );
      }
      await this.#wait(method, url, timedOut ? "timeout" : "connection error", attempt, attempts);
    }
  }

  #headersFor(url: string, options: RequestOptions): Headers {
    const headers = new Headers();
    let sameOrigin = false;
    try {
      sameOrigin = new URL(url).origin === this.#origin;
    } catch {
      throw this.error(`'${url}': not a URL`);
    }
    headers.set("Accept", "application/json, application/x-ndjson;q=0.9, */*;q=0.1");
    headers.set("User-Agent", "dsync");
    if (options.body !== undefined) headers.set("Content-Type", "application/json");
    for (const [name, value] of this.#headers) {
      // Credentials go only to the locator's origin (a next-page link may point elsewhere).
      if (!sameOrigin && SECRET_HEADER.test(name)) continue;
      headers.set(name, value);
    }
    for (const [name, value] of Object.entries(options.headers ?? {})) headers.set(name, value);
    return headers;
  }

  async #attempt(
    method: string,
    url: string,
    headers: Headers,
    body: string | undefined,
    timeoutMs: number,
  ): Promise<{ response: HttpResponse } | { error: Error; timedOut: boolean }> {
    const started = performance.now();
    if (this.settings.verbose) this.#logRequest(method, url, headers);
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    try {
      const response = await fetch(url, { method, headers, body, signal: controller.signal });
      const text = await response.text();
      if (this.settings.verbose) {
        this.#log(
          `< ${response.status} ${response.statusText} (${
            Math.round(performance.now() - started)
          } ms, ${text.length} bytes)`,
        );
      }
      return {
        response: {
          status: response.status,
          statusText: response.statusText,
          headers: response.headers,
          text,
          url: response.url || url,
        },
      };
    } catch (error) {
      if (this.settings.verbose) {
        this.#log(`< ${timedOut ? "timeout" : (error as Error).message}`);
      }
      return { error: error as Error, timedOut };
    } finally {
      clearTimeout(timer);
    }
  }

  async #wait(
    method: string,
    url: string,
    why: string,
    attempt: number,
    attempts: number,
    retryAfterMs?: number,
  ): Promise<void> {
    const backoff = Math.min(
      retryDelayBackoff(this.settings.retryDelayMs, attempt),
      MAX_BACKOFF_MS,
    );
    const ms = retryAfterMs ?? backoff;
    if (!this.settings.quiet) {
      this.#log(
        `${method} ${this.#show(url)}: ${why}; retry ${attempt} of ${attempts - 1} in ${
          (ms / 1000).toFixed(1)
        } s${retryAfterMs !== undefined ? " (Retry-After)" : ""}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, ms));
  }

  #logRequest(method: string, url: string, headers: Headers): void {
    this.#log(`> ${method} ${this.#show(url)}`);
    for (const [name, value] of headers) {
      this.#log(`>   ${name}: ${redactHeader(name, value, this.settings.showHeaders)}`);
    }
  }

  #log(line: string): void {
    console.error(`dsync: ${this.redact(line)}`);
  }
}

/** Backoff before retry `attempt` (1-based): the delay, doubled each time, ±10% jitter. */
function retryDelayBackoff(delayMs: number, attempt: number): number {
  const base = delayMs * 2 ** (attempt - 1);
  return Math.round(base * (0.9 + Math.random() * 0.2));
}

/** Milliseconds a `Retry-After` value (seconds or an HTTP date) asks for. */
export function retryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function snippet(body: string): string {
  const text = body.replace(/\s+/g, " ").trim();
  if (text === "") return "";
  return `: ${text.length > 200 ? text.slice(0, 197) + "..." : text}`;
}

function hintFor(status: number): string | undefined {
  if (status === 401 || status === 403) {
    return "check the credentials: -H 'Authorization: Bearer ${TOKEN}' or user:password@ in the URL";
  }
  if (status === 404) return "check the URL (and --item-url for a target)";
  if (status === 429 || status >= 500) {
    return "the server is failing; try again later, or raise --retries";
  }
  return undefined;
}

/**
 * A header value for `-v`: `***` unless `name` is in `shown` (`--show-header`, names in any
 * case); Authorization keeps its scheme (`Bearer ***`), and a secret-looking header (token,
 * cookie, …) is `***` even when shown.
 */
export function redactHeader(name: string, value: string, shown: string[] = []): string {
  const scheme = /^(\w+)\s+\S/.exec(value);
  if (scheme && /^auth|^proxy-auth/i.test(name)) return `${scheme[1]} ${REDACTED}`;
  if (SECRET_HEADER.test(name)) return REDACTED;
  return shown.some((n) => n.toLowerCase() === name.toLowerCase()) ? value : REDACTED;
}

/** A URL for messages: its whole user info and every query value are `***` (names stay). */
export function redactUrl(text: string): string {
  return redactUrls(text);
}

/**
 * Expands `${NAME}` from the environment.
 *
 * @throws {UsageError} naming the variable when it is not set.
 */
export function expandEnv(text: string, what: string, expanded?: string[]): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const value = Deno.env.get(name);
    if (value === undefined) {
      throw new UsageError(`${what}: environment variable ${name} is not set`);
    }
    expanded?.push(value);
    return value;
  });
}

/**
 * `-H 'Name: value'` options as header pairs, `${ENV}` expanded. Values read from the
 * environment are added to `secrets`: they are redacted wherever they would be shown.
 *
 * @throws {UsageError} for a value that is not `Name: value`.
 */
export function parseHeaders(values: unknown, secrets?: string[]): [string, string][] {
  const list = values === undefined ? [] : Array.isArray(values) ? values : [values];
  return list.map((raw) => {
    const text = String(raw);
    const m = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*:\s*(.*)$/.exec(text);
    if (!m) {
      throw new UsageError(
        `-H '${redactUrl(text)}': expected 'Name: value'`,
        "put -H after SOURCE and TARGET (it takes every word that follows), or write --header='Name: value'",
      );
    }
    return [m[1], expandEnv(m[2].trim(), `-H '${m[1]}: ...'`, secrets)];
  });
}

/** A value as it goes into a JSON body: bigints as exact JSON numbers, bytes as base64. */
export function jsonBodyValue(value: unknown): unknown {
  if (typeof value === "bigint") return exactJsonNumber(value);
  // toJsonValue keeps JSON objects and arrays, their nested bigints made exact JSON numbers.
  return toJsonValue(value);
}

/** HMAC-SHA256 of `body` with `secret`, as lowercase hex. */
export async function hmacSha256Hex(secret: string, body: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signature = await crypto.subtle.sign("HMAC", key, encoder.encode(body));
  return Array.from(new Uint8Array(signature), (b) => b.toString(16).padStart(2, "0")).join("");
}
