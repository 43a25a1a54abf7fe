/**
 * Local HTTP servers for the HTTP adapter tests, all on 127.0.0.1 with a free port: a recorder
 * around Deno.serve, an in-memory REST resource that can fail on cue, a webhook receiver that
 * checks the HMAC-SHA256 signature, and json-server (the npm package) in a child process.
 *
 * @example
 * ```ts
 * await using server = serve(() => Response.json([{ id: 1 }]));
 * await dsync(["http:csv", server.url + "/users", "out.csv"]);
 * server.requests.length; // 1
 * ```
 * @module
 */

/** One request as the server saw it. */
export interface SeenRequest {
  method: string;
  /** Path and query: `/users?page=2`. */
  path: string;
  headers: Headers;
  body: string;
  /** `performance.now()` when it arrived. */
  at: number;
}

/** A running test server. */
export interface TestServer {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  url: string;
  port: number;
  requests: SeenRequest[];
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts Deno.serve on a free 127.0.0.1 port; every request is recorded before `handler` runs. */
export function serve(
  handler: (request: SeenRequest, url: URL) => Response | Promise<Response>,
): TestServer {
  const requests: SeenRequest[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    const seen: SeenRequest = {
      method: req.method,
      path: url.pathname + url.search,
      headers: req.headers,
      body: await req.text(),
      at: performance.now(),
    };
    requests.push(seen);
    return await handler(seen, url);
  });
  const port = server.addr.port;
  const close = async () => {
    await server.shutdown();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close,
    [Symbol.asyncDispose]: close,
  };
}

type Rec = Record<string, unknown>;

/**
 * GitHub-style paging: `GET /users?page=N&per_page=K` answers a JSON array with a
 * `Link: <…>; rel="next"` header while more pages follow.
 */
export function linkPagedServer(records: Rec[], perPageDefault = 2): TestServer {
  const server = serve((_req, url) => {
    const page = Number(url.searchParams.get("page") ?? "1");
    const perPage = Number(url.searchParams.get("per_page") ?? perPageDefault);
    const slice = records.slice((page - 1) * perPage, page * perPage);
    const headers = new Headers({ "content-type": "application/json" });
    const last = Math.ceil(records.length / perPage);
    const link = (p: number) => `<${server.url}${url.pathname}?page=${p}&per_page=${perPage}>`;
    const links = [`${link(1)}; rel="first"`, `${link(last)}; rel="last"`];
    if (page < last) links.unshift(`${link(page + 1)}; rel="next"`);
    headers.set("link", links.join(", "));
    return new Response(JSON.stringify(slice), { headers });
  });
  return server;
}

/**
 * Body paging: `GET /cursor` answers `{"data": [...], "meta": {"next_cursor": "c2"}}` (cursor),
 * `GET /next` answers `{"items": [...], "links": {"next": "/next?after=2"}}` (next URL),
 * `GET /pages?page=N&size=K` a plain array (empty past the end), `GET /offset?offset=O&limit=K`
 * a plain array.
 */
export function bodyPagedServer(records: Rec[], size = 2): TestServer {
  return serve((_req, url) => {
    const q = url.searchParams;
    switch (url.pathname) {
      case "/cursor": {
        const start = Number((q.get("cursor") ?? "c0").slice(1));
        const end = start + size;
        return Response.json({
          data: records.slice(start, end),
          meta: { next_cursor: end < records.length ? `c${end}` : null },
        });
      }
      case "/next": {
        const start = Number(q.get("after") ?? "0");
        const end = start + size;
        return Response.json({
          items: records.slice(start, end),
          links: { next: end < records.length ? `/next?after=${end}` : null },
        });
      }
      case "/pages": {
        const page = Number(q.get("page"));
        const k = Number(q.get("size") ?? size);
        return Response.json(records.slice((page - 1) * k, page * k));
      }
      case "/offset": {
        const offset = Number(q.get("offset"));
        const limit = Number(q.get("limit") ?? size);
        return Response.json(records.slice(offset, offset + limit));
      }
    }
    return new Response("not found", { status: 404 });
  });
}

/** An in-memory REST resource at /users (and item URLs /users/:id and /people/:id). */
export interface RestServer extends TestServer {
  /** The stored records, by id as text. */
  store: Map<string, Rec>;
  /** Answers 500 (once) to the request this returns true for. */
  failOnce?: (method: string, id: string | undefined) => boolean;
}

/** A small REST resource: GET /users, POST /users, PATCH/PUT/DELETE /users/:id. */
export function restServer(initial: Rec[] = []): RestServer {
  const store = new Map<string, Rec>(initial.map((r) => [String(r.id), { ...r }]));
  const rest = serve(async (req, url) => {
    const m = /^\/(users|people)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return new Response("not found", { status: 404 });
    const id = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    if (rest.failOnce?.(req.method, id)) {
      rest.failOnce = undefined;
      await new Promise((resolve) => setTimeout(resolve, 50));
      return new Response("database on fire", { status: 500 });
    }
    if (id === undefined) {
      if (req.method === "GET") return Response.json([...store.values()]);
      if (req.method === "POST") {
        const record = JSON.parse(req.body) as Rec;
        if (store.has(String(record.id))) return new Response("exists", { status: 409 });
        store.set(String(record.id), record);
        return Response.json(record, { status: 201 });
      }
      return new Response("method not allowed", { status: 405 });
    }
    const current = store.get(id);
    if (!current) return new Response("no such record", { status: 404 });
    if (req.method === "GET") return Response.json(current);
    if (req.method === "PATCH") {
      Object.assign(current, JSON.parse(req.body));
      return Response.json(current);
    }
    if (req.method === "PUT") {
      store.set(id, JSON.parse(req.body));
      return Response.json(store.get(id));
    }
    if (req.method === "DELETE") {
      store.delete(id);
      return new Response(null, { status: 204 });
    }
    return new Response("method not allowed", { status: 405 });
  }) as RestServer;
  rest.store = store;
  return rest;
}

/** HMAC-SHA256 of `body` with `secret`, hex: computed here independently of dsync. */
export async function hmacHex(secret: string, body: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify", "sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(body));
  return Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A webhook receiver. */
export interface WebhookServer extends TestServer {
  /** Batches whose signature checked out, parsed, in arrival order. */
  batches: { batch: number; batches: number; changes: Rec[] }[];
  /** Requests refused for a bad or missing signature. */
  rejected: number;
  /** Answers 500 to the request this returns true for (checked after the signature). */
  fail?: (batch: { batch: number; changes: Rec[] }) => boolean;
}

/** Receives POSTs at /hook, checks `X-Dsync-Signature: sha256=<hex>` against `secret`. */
export function webhookServer(secret: string): WebhookServer {
  const hook = serve(async (req) => {
    if (req.method !== "POST") return new Response("method not allowed", { status: 405 });
    const expected = `sha256=${await hmacHex(secret, req.body)}`;
    if (req.headers.get("x-dsync-signature") !== expected) {
      hook.rejected++;
      return new Response("bad signature", { status: 401 });
    }
    const batch = JSON.parse(req.body);
    if (hook.fail?.(batch)) return new Response("receiver down", { status: 500 });
    hook.batches.push(batch);
    return new Response(null, { status: 204 });
  }) as WebhookServer;
  hook.batches = [];
  hook.rejected = 0;
  return hook;
}

/** json-server 0.17.4, the npm package, run by Deno in a child process. */
export const JSON_SERVER = "npm:json-server@0.17.4";

/** A running json-server over a db.json file. */
export interface JsonServer {
  url: string;
  /** The db file json-server reads and writes. */
  dbPath: string;
  /** Requests json-server logged so far, as `METHOD /path STATUS`. */
  log(): string[];
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Starts json-server on a free 127.0.0.1 port over `dir/db.json` (holding `data`), and waits until
 * it answers. The first start downloads the package from the npm registry into Deno's cache.
 */
export async function startJsonServer(dir: string, data: Rec): Promise<JsonServer> {
  const dbPath = `${dir}/db.json`;
  await Deno.writeTextFile(dbPath, JSON.stringify(data, null, 2));
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-lock",
      "--no-config",
      JSON_SERVER,
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      "db.json",
    ],
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", FORCE_COLOR: "0" },
  }).spawn();
  let output = "";
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += decoder.decode(chunk, { stream: true });
  };
  const draining = Promise.all([drain(child.stdout), drain(child.stderr)]);
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
    await draining;
  };
  const deadline = Date.now() + 120_000;
  while (true) {
    try {
      const response = await fetch(`${url}/db`);
      await response.body?.cancel();
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await close();
      throw new Error(`json-server did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    dbPath,
    log: () =>
      output.replaceAll(String.fromCharCode(27), "").replace(/\[[0-9;]*m/g, "").split("\n")
        .map((line) => /^(GET|POST|PUT|PATCH|DELETE) (\S+) (\d{3})/.exec(line.trim()))
        .filter((m) => m !== null)
        .map((m) => `${m![1]} ${m![2]} ${m![3]}`)
        .filter((line) => !line.startsWith("GET /db ")),
    close,
    [Symbol.asyncDispose]: close,
  };
}
