/**
 * A real MySQL/MariaDB for tests and developers: the server at `MYSQL_URL` when one answers
 * there; otherwise a throwaway MariaDB started from the installed binaries (`mariadb-install-db`
 * and `mariadbd`, Debian package `mariadb-server`) in a temporary directory, on 127.0.0.1 and a
 * free port, user `root` without a password. As root, the server runs as the `mysql` OS user.
 * `stop()` stops it and removes its directory.
 *
 * @example
 * ```sh
 * deno run -A scripts/mysql_server.ts        # prints a URL, runs until Ctrl-C
 * ```
 * ```ts
 * const server = await withMysql();
 * try { console.log(server.url); } finally { await server.stop(); }
 * ```
 * @module
 */
import { freePort, isRoot, serveFromCommandLine, watchdog } from "./throwaway.ts";

/** A MySQL server to use: its URL (no database), and how to let go of it. */
export interface MysqlServer {
  /** `mysql://user@host:port/`; may hold a password when MYSQL_URL did. */
  url: string;
  /** True for a server that was already running (MYSQL_URL): stop() leaves it alone. */
  external: boolean;
  /** Stops a throwaway server and removes its data; nothing for an external one. Idempotent. */
  stop(): Promise<void>;
}

/** Whether a server answers `SELECT 1` at `url`. */
export async function reachable(url: string, timeoutSeconds = 3): Promise<boolean> {
  const mysql = await import("mysql2/promise");
  const u = new URL(url);
  try {
    const conn = await mysql.createConnection({
      host: u.hostname || "127.0.0.1",
      port: Number(u.port || 3306),
      user: decodeURIComponent(u.username || "root"),
      password: decodeURIComponent(u.password) || undefined,
      connectTimeout: timeoutSeconds * 1000,
    });
    try {
      await conn.query("SELECT 1");
      return true;
    } finally {
      await conn.end().catch(() => {});
    }
  } catch {
    return false;
  }
}

async function which(name: string): Promise<string | undefined> {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/usr/bin"]);
  for (const dir of dirs) {
    try {
      if ((await Deno.stat(`${dir}/${name}`)).isFile) return `${dir}/${name}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function idOf(flag: string): Promise<number> {
  const out = await new Deno.Command("id", { args: [flag, "mysql"], stdout: "piped" }).output();
  if (!out.success) throw new Error("running as root, but there is no 'mysql' OS user");
  return Number(new TextDecoder().decode(out.stdout).trim());
}

/** Starts a throwaway MariaDB; see the module doc. */
export async function startThrowaway(log: (line: string) => void = () => {}): Promise<MysqlServer> {
  const install = await which("mariadb-install-db") ?? await which("mysql_install_db");
  const server = await which("mariadbd") ?? await which("mysqld");
  if (!install || !server) {
    throw new Error(
      "no MariaDB server binaries (mariadb-install-db, mariadbd) found: install them (Debian: apt-get install mariadb-server) or set MYSQL_URL",
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "dsync-mysql-" });
  const user = isRoot() ? ["--user=mysql"] : [];
  if (isRoot()) await Deno.chown(dir, await idOf("-u"), await idOf("-g"));
  log(`${install} --datadir=${dir}/data`);
  const out = await new Deno.Command(install, {
    args: [
      "--no-defaults",
      `--datadir=${dir}/data`,
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
      "--skip-name-resolve",
      ...user,
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    cwd: "/",
  }).output();
  if (!out.success) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`mariadb-install-db failed: ${text.trim().slice(-2000)}`);
  }
  const port = freePort();
  const child = new Deno.Command(server, {
    args: [
      "--no-defaults",
      `--datadir=${dir}/data`,
      `--socket=${dir}/mysqld.sock`,
      `--pid-file=${dir}/mysqld.pid`,
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      "--skip-name-resolve",
      "--innodb-buffer-pool-size=64M",
      "--innodb-log-file-size=16M",
      "--innodb-flush-log-at-trx-commit=0",
      "--skip-log-bin",
      "--local-infile=1",
      `--log-error=${dir}/error.log`,
      ...user,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
    cwd: "/",
  }).spawn();
  // root@localhost has no password; with --skip-name-resolve, TCP connections are root@127.0.0.1.
  let ready = false;
  for (let i = 0; i < 120 && !ready; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const grant = await new Deno.Command("mariadb", {
      args: [
        "--no-defaults",
        `--socket=${dir}/mysqld.sock`,
        "-uroot",
        "-e",
        "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION",
      ],
      stdout: "null",
      stderr: "null",
      stdin: "null",
    }).output().catch(() => ({ success: false }));
    ready = grant.success;
  }
  const stopSync = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // gone
    }
  };
  if (!ready) {
    const error = await Deno.readTextFile(`${dir}/error.log`).catch(() => "");
    stopSync();
    throw new Error(`mariadbd did not start: ${error.slice(-2000)}`);
  }
  const url = `mysql://root@127.0.0.1:${port}/`;
  log(`throwaway server at ${url}`);
  globalThis.addEventListener("unload", stopSync);
  watchdog(dir, `[ -f '${dir}/mysqld.pid' ] && kill -9 "$(cat '${dir}/mysqld.pid')" 2>/dev/null`);
  let stopped = false;
  return {
    url,
    external: false,
    async stop() {
      if (stopped) return;
      stopped = true;
      globalThis.removeEventListener("unload", stopSync);
      try {
        child.kill("SIGTERM");
      } catch {
        // gone
      }
      const exit = await Promise.race([
        child.status,
        new Promise((r) => setTimeout(r, 10000, undefined)),
      ]);
      if (exit === undefined) stopSync();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** A MySQL server: the one at MYSQL_URL (default `mysql://root@127.0.0.1:3306/`) when it answers, else a throwaway one. */
export async function withMysql(
  options: { throwaway?: boolean; log?: (line: string) => void } = {},
): Promise<MysqlServer> {
  const log = options.log ?? (() => {});
  if (!options.throwaway) {
    const url = Deno.env.get("MYSQL_URL") || "mysql://root@127.0.0.1:3306/";
    if (await reachable(url)) {
      log(`using the server at ${url.replace(/:[^:@/]*@/, ":***@")}`);
      return { url, external: true, stop: () => Promise.resolve() };
    }
  }
  return await startThrowaway(log);
}

if (import.meta.main) await serveFromCommandLine(withMysql);
