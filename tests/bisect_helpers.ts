/**
 * What the checksum bisection tests share: a database of their own on the test servers, a run
 * against the PostgreSQL server, the check that bisection plans the full read's bytes, and the
 * share of rows `-v` says were read.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, psqlAt, type RunResult } from "./helpers.ts";

/** The servers of one test file. */
export interface Servers {
  pg: string;
  mysql: string;
}

/** A database of its own on the PostgreSQL server; its URL. */
export async function pgDatabase(servers: Servers, name: string): Promise<string> {
  await psqlAt(servers.pg, `DROP DATABASE IF EXISTS ${name}; CREATE DATABASE ${name};`);
  return servers.pg.replace(/\/[^/]*$/, `/${name}`);
}

/** Runs `sql` in the `mariadb` client on the MySQL/MariaDB server. */
export async function mariadb(servers: Servers, sql: string): Promise<void> {
  const url = new URL(servers.mysql);
  const child = new Deno.Command("mariadb", {
    args: ["--no-defaults", "-h", url.hostname, "-P", url.port || "3306", "-u", "root"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(sql));
  await writer.close();
  const done = await child.output();
  if (!done.success) throw new Error(new TextDecoder().decode(done.stderr));
}

/** A fresh MySQL/MariaDB database, `sql` run in it; its URL. */
export async function mysqlDatabase(servers: Servers, name: string, sql: string): Promise<string> {
  await mariadb(
    servers,
    `DROP DATABASE IF EXISTS ${name}; CREATE DATABASE ${name}; USE ${name}; ${sql}`,
  );
  const url = new URL(servers.mysql);
  url.pathname = `/${name}`;
  return url.href;
}

/** Runs dsync in `cwd`, DATABASE_URL the PostgreSQL server. */
export function runAt(servers: Servers, args: string[], cwd: string): Promise<RunResult> {
  return dsync(args, { cwd, env: { DATABASE_URL: servers.pg } });
}

/**
 * The plan by bisection and by the full read: the same bytes; returns the bisection's run.
 * `hash` adds options of the bisection only (`--partition-column`).
 */
export async function samePlans(
  servers: Servers,
  cwd: string,
  args: string[],
  hash: string[] = [],
): Promise<RunResult> {
  const plan = ["-n", "--format", "ndjson", "-v"];
  const bisected = await runAt(servers, [...args, "--strategy", "hash", ...hash, ...plan], cwd);
  const merge = await runAt(servers, [...args, "--strategy", "merge", ...plan], cwd);
  assertEquals([bisected.code, merge.code], [0, 0], bisected.stderr + merge.stderr);
  assertMatch(merge.stderr, /strategy merge: paired by a sorted merge/);
  assertEquals(bisected.stdout, merge.stdout);
  return bisected;
}

/** The share of rows read, from `-v`. */
export function shareRead(stderr: string): number {
  const m =
    /checksum bisection \(.*\): \d+ segments checked in \d+ levels, (\d+) of (\d+) rows read/
      .exec(stderr);
  if (!m) throw new Error(`no bisection line in: ${stderr}`);
  return Number(m[1]) / Number(m[2]);
}
