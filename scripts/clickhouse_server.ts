/**
 * A real ClickHouse for tests and developers: the server at `CLICKHOUSE_URL` when one answers
 * there; otherwise a throwaway one started from the installed `clickhouse-server` (Debian:
 * /usr/sbin/clickhouse-server) with a generated config: 127.0.0.1 only, free HTTP and native
 * ports, a temporary data directory, user `default` without password, time zone UTC. `stop()`
 * stops it and removes its directory.
 *
 * @example
 * ```sh
 * deno run -A scripts/clickhouse_server.ts    # prints the HTTP URL, runs until Ctrl-C
 * ```
 * ```ts
 * const server = await withClickHouse();
 * try { console.log(server.url, server.clientArgs); } finally { await server.stop(); }
 * ```
 * @module
 */
import { freePort, serveFromCommandLine, watchdog } from "./throwaway.ts";

/** A ClickHouse server to use: its HTTP URL, how `clickhouse-client` reaches it, how to stop it. */
export interface ClickHouseServer {
  /** `http://host:port` of the HTTP interface; may hold user and password when CLICKHOUSE_URL did. */
  url: string;
  /** Arguments that point `clickhouse-client` at it (`--host`, `--port`, `--user`, `--password`). */
  clientArgs: string[];
  /** True for a server that was already running (CLICKHOUSE_URL): stop() leaves it alone. */
  external: boolean;
  /** Stops a throwaway server and removes its data; nothing for an external one. Idempotent. */
  stop(): Promise<void>;
}

/** Whether a ClickHouse HTTP interface answers `/ping` at `url`. */
export async function reachable(url: string, timeoutSeconds = 3): Promise<boolean> {
  try {
    const u = new URL(url);
    const response = await fetch(`${u.protocol}//${u.host}/ping`, {
      signal: AbortSignal.timeout(timeoutSeconds * 1000),
    });
    const text = await response.text();
    return response.ok && text.trim() === "Ok.";
  } catch {
    return false;
  }
}

/** The installed server binary: Debian's path, else `clickhouse-server` or `clickhouse` on PATH. */
export async function findServerBinary(): Promise<string[] | undefined> {
  const candidates: string[][] = [["/usr/sbin/clickhouse-server"], ["/usr/bin/clickhouse-server"]];
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    candidates.push([`${dir}/clickhouse-server`], [`${dir}/clickhouse`, "server"]);
  }
  for (const candidate of candidates) {
    try {
      if ((await Deno.stat(candidate[0])).isFile) return candidate;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** The server's config.xml for `dir`, listening on 127.0.0.1 only. */
function configXml(dir: string, httpPort: number, tcpPort: number): string {
  return `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>${dir}/server.log</log>
    <errorlog>${dir}/server.err.log</errorlog>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <timezone>UTC</timezone>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mlock_executable>false</mlock_executable>
</yandex>
`;
}

const USERS_XML = `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default></default></quotas>
</yandex>
`;

/** Starts a throwaway server; see the module doc. */
export async function startThrowaway(
  log: (line: string) => void = () => {},
): Promise<ClickHouseServer> {
  const binary = await findServerBinary();
  if (!binary) {
    throw new Error(
      "no clickhouse-server found: install it (Debian: apt-get install clickhouse-server) or set CLICKHOUSE_URL",
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "dsync-ch-" });
  await Deno.writeTextFile(`${dir}/users.xml`, USERS_XML);
  let lastError = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const httpPort = freePort();
    const tcpPort = freePort();
    await Deno.writeTextFile(`${dir}/config.xml`, configXml(dir, httpPort, tcpPort));
    log(`clickhouse-server in ${dir} (HTTP ${httpPort}, native ${tcpPort})`);
    const child = new Deno.Command(binary[0], {
      args: [...binary.slice(1), `--config-file=${dir}/config.xml`],
      cwd: dir,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    let exited = false;
    const status = child.status.then((s) => {
      exited = true;
      return s;
    });
    const url = `http://127.0.0.1:${httpPort}`;
    const deadline = Date.now() + 60_000;
    while (!exited && Date.now() < deadline && !(await reachable(url, 1))) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (exited || !(await reachable(url, 1))) {
      if (!exited) child.kill("SIGKILL");
      await status;
      lastError = await Deno.readTextFile(`${dir}/server.err.log`).catch(() => "");
      continue;
    }
    log(`throwaway server at ${url}`);
    let stopped = false;
    const stopSync = () => {
      if (stopped) return;
      stopped = true;
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // already gone
      }
    };
    globalThis.addEventListener("unload", stopSync);
    watchdog(dir, `kill -9 ${child.pid} 2>/dev/null`);
    return {
      url,
      clientArgs: ["--host", "127.0.0.1", "--port", String(tcpPort)],
      external: false,
      async stop() {
        if (stopped) return;
        stopped = true;
        globalThis.removeEventListener("unload", stopSync);
        child.kill("SIGTERM");
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // already gone
          }
        }, 10_000);
        await status;
        clearTimeout(timer);
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      },
    };
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  throw new Error(`clickhouse-server did not start: ${lastError.trim().slice(-2000)}`);
}

/** `clickhouse-client` arguments for the server at `url` (native port: CLICKHOUSE_TCP_PORT or 9000). */
function clientArgsFor(url: string): string[] {
  const u = new URL(url);
  const args = ["--host", u.hostname, "--port", Deno.env.get("CLICKHOUSE_TCP_PORT") ?? "9000"];
  if (u.username) args.push("--user", decodeURIComponent(u.username));
  if (u.password) args.push("--password", decodeURIComponent(u.password));
  return args;
}

/** A ClickHouse server: the one at CLICKHOUSE_URL when it answers, else a throwaway one. */
export async function withClickHouse(
  options: { throwaway?: boolean; log?: (line: string) => void } = {},
): Promise<ClickHouseServer> {
  const log = options.log ?? (() => {});
  const url = Deno.env.get("CLICKHOUSE_URL");
  if (!options.throwaway && url && await reachable(url)) {
    log("using the server at CLICKHOUSE_URL");
    return {
      url,
      clientArgs: clientArgsFor(url),
      external: true,
      stop: () => Promise.resolve(),
    };
  }
  return await startThrowaway(log);
}

if (import.meta.main) await serveFromCommandLine(withClickHouse);
