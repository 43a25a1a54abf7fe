/**
 * Redis and NATS (with JetStream) for tests: the machine's own servers when they answer
 * (`REDIS_URL`, else 127.0.0.1:6379; `NATS_URL`, else 127.0.0.1:4222), otherwise throwaway ones
 * started from the installed binaries on a free port (`redis-server --save ''`,
 * `nats-server -js -sd TMPDIR`), stopped and removed on dispose. Tests then name their own
 * database, prefix, stream and bucket, since other test files share the servers.
 *
 * @example
 * ```ts
 * await using redis = await withRedis();
 * await redisCli(redis, 12, "HGETALL", "t1:1");
 * ```
 * @module
 */
import { freePort } from "../scripts/throwaway.ts";

/** A server to use and how to let go of it. */
export interface StoreServer {
  host: string;
  port: number;
  /** False for a server that was already running. */
  throwaway: boolean;
  [Symbol.asyncDispose](): Promise<void>;
}

async function answers(host: string, port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: host, port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

async function start(
  binary: string,
  args: (port: number, dir: string) => string[],
): Promise<StoreServer> {
  const dir = await Deno.makeTempDir({ prefix: "dsync-store-" });
  const port = freePort();
  const child = new Deno.Command(binary, {
    args: args(port, dir),
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 10_000;
  while (!await answers("127.0.0.1", port)) {
    if (Date.now() > deadline) throw new Error(`${binary} did not start on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    host: "127.0.0.1",
    port,
    throwaway: true,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

async function external(url: string | undefined, port: number): Promise<StoreServer | undefined> {
  const parsed = url ? new URL(url) : undefined;
  const host = parsed?.hostname || "127.0.0.1";
  const p = parsed?.port ? Number(parsed.port) : port;
  if (!await answers(host, p)) return undefined;
  return { host, port: p, throwaway: false, [Symbol.asyncDispose]: () => Promise.resolve() };
}

/** Redis: the running one, or a throwaway `redis-server` without persistence. */
export async function withRedis(): Promise<StoreServer> {
  return await external(Deno.env.get("REDIS_URL"), 6379) ??
    await start("redis-server", (port, dir) => [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--dir",
      dir,
    ]);
}

/** NATS with JetStream: the running one, or a throwaway `nats-server -js`. */
export async function withNats(): Promise<StoreServer> {
  return await external(Deno.env.get("NATS_URL"), 4222) ??
    await start(
      "nats-server",
      (port, dir) => ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", dir],
    );
}

/** Runs `redis-cli -n DB ARGS...` against `server` and returns its stdout lines. */
export async function redisCli(
  server: StoreServer,
  db: number,
  ...args: string[]
): Promise<string[]> {
  const out = await new Deno.Command("redis-cli", {
    args: ["-h", server.host, "-p", String(server.port), "-n", String(db), "--raw", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  const text = new TextDecoder().decode(out.stdout).replace(/\n$/, "");
  return text === "" ? [] : text.split("\n");
}

/** A hash as `redis-cli HGETALL` shows it, as an object; `{}` for a missing key. */
export async function redisHash(
  server: StoreServer,
  db: number,
  key: string,
): Promise<Record<string, string>> {
  const lines = await redisCli(server, db, "HGETALL", key);
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) out[lines[i]] = lines[i + 1];
  return out;
}

/** A name no other test run uses: `PREFIX_<time>_<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * A port where something listens, accepts connections and never says a word (a frozen server,
 * a firewall that swallows packets after the handshake): `port`, closed on dispose.
 */
export function silentListener(): { port: number; [Symbol.asyncDispose](): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async [Symbol.asyncDispose]() {
      listener.close();
      await accepting;
      for (const conn of held) conn.close();
    },
  };
}
