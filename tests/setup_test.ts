/**
 * The fresh-machine path: `deno task test` runs scripts/setup_tests.sh first, which installs the
 * programs the tests drive (apt-get, as root) or names them; `.ci/run` runs exactly the README's
 * test command.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { ROOT, tempDir } from "./helpers.ts";

const SCRIPT = `${ROOT}scripts/setup_tests.sh`;

async function setup(env: Record<string, string>) {
  const out = await new Deno.Command("/bin/sh", {
    args: [SCRIPT],
    clearEnv: true,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("setup names the Debian packages of missing programs when it cannot install them", async () => {
  await using dir = await tempDir();
  // A machine with none of the programs, and not root: only ls and an id that says uid 1000.
  await Deno.symlink("/bin/ls", `${dir.path}/ls`);
  await Deno.writeTextFile(`${dir.path}/id`, "#!/bin/sh\necho 1000\n");
  await Deno.chmod(`${dir.path}/id`, 0o755);
  const bare = await setup({ PATH: dir.path });
  assertEquals(bare.code, 0, "the tests still run; those needing a program fail naming it");
  const line = bare.stderr.split("\n").find((l) => l.includes("apt-get install")) ?? "";
  const named = line.replace(/.*apt-get install/, "").trim().split(" ");
  const expected = [
    "sqlite3",
    "libreoffice-calc-nogui",
    "mariadb-server",
    "redis-server",
    "nats-server",
    "clickhouse-server",
    "clickhouse-client",
    "chromium",
  ];
  // Debian's clickhouse-server lives in /usr/sbin, outside a normal user's PATH: found there.
  if (await Deno.stat("/usr/sbin/clickhouse-server").then(() => true, () => false)) {
    expected.splice(expected.indexOf("clickhouse-server"), 1);
  }
  const postgres = await Deno.stat("/usr/lib/postgresql").then(() => true, () => false);
  if (!postgres) expected.splice(1, 0, "postgresql");
  assertEquals(named, expected, bare.stderr);
  assertEquals((await setup({ PATH: dir.path, DSYNC_SKIP_SETUP: "1" })).stderr, "");
});

Deno.test("on this machine setup has nothing to do; .ci/run calls the README's test command", async () => {
  const full = await setup({ PATH: Deno.env.get("PATH")! });
  assertEquals([full.code, full.stderr], [0, ""]);
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const start = readme.indexOf("```sh\n") + 6;
  const first = readme.slice(start, readme.indexOf("\n```", start));
  const testCommand = first.split("\n").find((l) => l.includes(" task test"))!;
  assertMatch(testCommand, /^npx -y deno@[\d.]+ task test$/);
  const ci = await Deno.readTextFile(`${ROOT}.ci/run`);
  assertEquals(ci.split("\n").some((l) => l.startsWith(`${testCommand} 2>&1 | tee`)), true);
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  assertMatch(config.tasks.test, /^sh scripts\/setup_tests\.sh && deno test /);
});
