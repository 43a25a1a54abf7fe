/**
 * What the throwaway test servers (scripts/pg_server.ts, mysql_server.ts, clickhouse_server.ts,
 * tests/store_servers.ts) share: a free port, a watchdog that stops a server and removes its data
 * directory once the process that started it is gone (even after kill -9), the root check, and
 * the command-line entry that keeps a server running until Ctrl-C.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { freePort } from "./throwaway.ts";
 * ok(freePort() > 0);
 * ```
 * @module
 */

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Whether this process runs as root (servers then run as their own OS user). */
export function isRoot(): boolean {
  return Deno.uid?.() === 0;
}

/**
 * Runs `stop` (shell) and removes `dir` once this process is gone, unless `dir` was removed
 * first (the server's own stop). A detached shell, so that it outlives kill -9 of this process.
 */
export function watchdog(dir: string, stop: string): void {
  const script = `while kill -0 ${Deno.pid} 2>/dev/null && [ -d '${dir}' ]; do sleep 1; done
if [ -d '${dir}' ]; then
  ${stop}
  rm -rf '${dir}'
fi`;
  for (const [cmd, args] of [["setsid", ["sh", "-c", script]], ["sh", ["-c", script]]] as const) {
    try {
      new Deno.Command(cmd, {
        args: [...args],
        cwd: "/",
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn().unref();
      return;
    } catch {
      // no setsid: a plain shell
    }
  }
}

/** A server a test uses: its URL, whether it was already running, and how to stop it. */
export interface TestServer {
  url: string;
  external: boolean;
  stop(): Promise<void>;
}

/**
 * The command-line entry of a server script: prints the URL, and for a throwaway server waits
 * for Ctrl-C (or SIGTERM), then stops it and removes its data.
 */
export async function serveFromCommandLine(
  start: (options: { throwaway: boolean; log: (line: string) => void }) => Promise<TestServer>,
): Promise<void> {
  const server = await start({
    throwaway: Deno.args.includes("--throwaway"),
    log: (line) => console.error(line),
  });
  console.log(server.url);
  if (server.external) {
    console.error("(an existing server: nothing to stop)");
    return;
  }
  console.error("running; Ctrl-C stops it and removes its data");
  await new Promise<void>((resolve) => {
    Deno.addSignalListener("SIGINT", resolve);
    Deno.addSignalListener("SIGTERM", resolve);
  });
  await server.stop();
  console.error("stopped");
}
