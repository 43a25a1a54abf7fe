/**
 * A real PostgreSQL for tests and developers: the server at `DATABASE_URL` (or the libpq `PG*`
 * variables) when one answers there; otherwise a throwaway cluster started from the installed
 * server binaries (Debian: /usr/lib/postgresql/VERSION/bin) in a temporary directory, on
 * 127.0.0.1 and a free port, with trust authentication. As root, the cluster runs as the
 * `postgres` OS user. `stop()` stops it and removes its directory.
 *
 * @example
 * ```sh
 * deno run -A scripts/pg_server.ts        # prints a URL, runs until Ctrl-C
 * ```
 * ```ts
 * const server = await withPostgres();
 * try { console.log(server.url); } finally { await server.stop(); }
 * ```
 * @module
 */
import { freePort, isRoot, serveFromCommandLine, watchdog } from "./throwaway.ts";

/** A PostgreSQL server to use: its URL, and how to let go of it. */
export interface PgServer {
  /** `postgres://user@host:port/db`; may hold a password when DATABASE_URL did. */
  url: string;
  /** True for a server that was already running (DATABASE_URL / PG*): stop() leaves it alone. */
  external: boolean;
  /** Stops a throwaway server and removes its data; nothing for an external one. Idempotent. */
  stop(): Promise<void>;
}

/** Options, mostly for testing this script itself. */
export interface PgServerOptions {
  /** Skip looking for a running server and always start a throwaway one. */
  throwaway?: boolean;
  /** Where progress goes (default: nowhere). */
  log?: (line: string) => void;
}

/** Whether a server answers `select 1` at `url` (or, without one, at the PG* defaults). */
export async function reachable(url: string | undefined, timeoutSeconds = 3): Promise<boolean> {
  const { default: postgres } = await import("postgres");
  const options = {
    max: 1,
    connect_timeout: timeoutSeconds,
    onnotice: () => {},
    fetch_types: false,
  };
  const sql = url ? postgres(url, options) : postgres(options);
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

/** A libpq-style URL built from the PG* variables, when any is set. */
function urlFromPgEnv(): string | undefined {
  const env = (name: string) => Deno.env.get(name);
  if (!["PGHOST", "PGPORT", "PGUSER", "PGDATABASE"].some((n) => env(n))) return undefined;
  const user = env("PGUSER") ?? "postgres";
  const host = env("PGHOST") ?? "localhost";
  const port = env("PGPORT") ?? "5432";
  const db = env("PGDATABASE") ?? user;
  if (host.startsWith("/")) {
    return `postgres://${encodeURIComponent(user)}@/${encodeURIComponent(db)}?host=${
      encodeURIComponent(host)
    }&port=${port}`;
  }
  return `postgres://${encodeURIComponent(user)}@${host}:${port}/${encodeURIComponent(db)}`;
}

/** The directory holding initdb and pg_ctl: the newest Debian install, else PATH. */
export async function findBinDir(): Promise<string | undefined> {
  const versions: number[] = [];
  try {
    for await (const entry of Deno.readDir("/usr/lib/postgresql")) {
      if (/^\d+$/.test(entry.name)) versions.push(Number(entry.name));
    }
  } catch {
    // not Debian's layout
  }
  for (const v of versions.sort((a, b) => b - a)) {
    const dir = `/usr/lib/postgresql/${v}/bin`;
    if (await exists(`${dir}/initdb`) && await exists(`${dir}/pg_ctl`)) return dir;
  }
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir && await exists(`${dir}/initdb`) && await exists(`${dir}/pg_ctl`)) return dir;
  }
  return undefined;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Runs a server binary, as the `postgres` OS user when we are root; throws with its output. */
async function run(argv: string[], what: string): Promise<void> {
  const [cmd, ...args] = isRoot() ? ["runuser", "-u", "postgres", "--", ...argv] : argv;
  const out = await new Deno.Command(cmd, {
    args,
    cwd: "/",
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  })
    .output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`${what} failed (exit ${out.code}): ${text.trim().slice(-2000)}`);
  }
}

function runSync(argv: string[]): void {
  const [cmd, ...args] = isRoot() ? ["runuser", "-u", "postgres", "--", ...argv] : argv;
  try {
    new Deno.Command(cmd, { args, cwd: "/", stdout: "null", stderr: "null", stdin: "null" })
      .outputSync();
  } catch {
    // best effort
  }
}

/**
 * Starts a throwaway cluster; see the module doc. With `password`, TCP connections must give it
 * (scram-sha-256) and the URL holds none: for testing authentication. `settings`: server
 * settings for the command line (`{ wal_level: "logical" }`).
 */
export async function startThrowaway(
  log: (line: string) => void = () => {},
  options: { password?: string; settings?: Record<string, string> } = {},
): Promise<PgServer> {
  const settings = Object.entries(options.settings ?? {}).map(([k, v]) => `-c ${k}=${v}`);
  const bin = await findBinDir();
  if (!bin) {
    throw new Error(
      "no PostgreSQL server binaries (initdb, pg_ctl) found: install them (Debian: apt-get install postgresql) or set DATABASE_URL",
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "dsync-pg-" });
  if (isRoot()) {
    const uid = await idOf("-u");
    const gid = await idOf("-g");
    await Deno.chown(dir, uid, gid);
  }
  const data = `${dir}/data`;
  log(`initdb ${data} (${bin})`);
  const auth = ["-A", "trust"];
  if (options.password !== undefined) {
    await Deno.writeTextFile(`${dir}/pwfile`, options.password + "\n", { mode: 0o600 });
    if (isRoot()) await Deno.chown(`${dir}/pwfile`, await idOf("-u"), await idOf("-g"));
    auth.splice(0, 2, "--auth-local=trust", "--auth-host=scram-sha-256", `--pwfile=${dir}/pwfile`);
  }
  await run([
    `${bin}/initdb`,
    "-D",
    data,
    "-U",
    "postgres",
    ...auth,
    "-E",
    "UTF8",
    "--no-locale",
    "--no-sync",
  ], "initdb");
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = freePort();
    const flags = [
      `-p ${port}`,
      `-k ${dir}`,
      "-c listen_addresses=127.0.0.1",
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off",
      "-c max_connections=100",
      ...settings,
    ].join(" ");
    try {
      await run(
        [
          `${bin}/pg_ctl`,
          "-D",
          data,
          "-l",
          `${dir}/server.log`,
          "-o",
          flags,
          "-w",
          "-t",
          "60",
          "start",
        ],
        "pg_ctl start",
      );
    } catch (error) {
      lastError = error;
      continue;
    }
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    log(`throwaway server at ${url}`);
    let stopped = false;
    const stopSync = () => {
      if (stopped) return;
      stopped = true;
      runSync([`${bin}/pg_ctl`, "-D", data, "-m", "immediate", "-w", "stop"]);
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // already gone
      }
    };
    // A test run that ends without calling stop() still takes the server down: on unload, and,
    // should this process be killed, through a watchdog in its own session.
    globalThis.addEventListener("unload", stopSync);
    watchdog(
      dir,
      `${
        isRoot() ? "runuser -u postgres -- " : ""
      }'${bin}/pg_ctl' -D '${dir}/data' -m immediate -w stop >/dev/null 2>&1`,
    );
    return {
      url,
      external: false,
      async stop() {
        if (stopped) return;
        stopped = true;
        globalThis.removeEventListener("unload", stopSync);
        await run([`${bin}/pg_ctl`, "-D", data, "-m", "fast", "-w", "stop"], "pg_ctl stop")
          .catch(() => runSync([`${bin}/pg_ctl`, "-D", data, "-m", "immediate", "-w", "stop"]));
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      },
    };
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  throw lastError;
}

async function idOf(flag: string): Promise<number> {
  const out = await new Deno.Command("id", { args: [flag, "postgres"], stdout: "piped" }).output();
  if (!out.success) throw new Error("running as root, but there is no 'postgres' OS user");
  return Number(new TextDecoder().decode(out.stdout).trim());
}

/**
 * A PostgreSQL server: the one at DATABASE_URL (or PG*) when it answers, else a throwaway one.
 */
export async function withPostgres(options: PgServerOptions = {}): Promise<PgServer> {
  const log = options.log ?? (() => {});
  if (!options.throwaway) {
    const url = Deno.env.get("DATABASE_URL") || urlFromPgEnv();
    if (url && await reachable(url)) {
      log(`using the server at DATABASE_URL / PG*`);
      return { url, external: true, stop: () => Promise.resolve() };
    }
  }
  return await startThrowaway(log);
}

if (import.meta.main) await serveFromCommandLine(withPostgres);
