/**
 * Installing like a CLI. The npm package as a user gets it: `npm pack`, `npm install -g` into a
 * temporary prefix, then the `dsync` command on that prefix's PATH runs real syncs with the Deno
 * from the npm `deno` package, forwards exit codes and prints no Node deprecation warning. And
 * `deno install` from a clone.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { ROOT, sqliteRows, tempDir } from "./helpers.ts";
import { buildNpmPackage } from "../scripts/build_npm.ts";

async function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const out = await new Deno.Command(command, { args, cwd, env, stdout: "piped", stderr: "piped" })
    .output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("npm pack + npm install -g gives a dsync command that syncs CSV into SQLite and Excel", async () => {
  await using dir = await tempDir();
  const pkg = await buildNpmPackage(`${dir.path}/pkg`);
  const pack = await run("npm", ["pack", "--silent"], pkg);
  assertEquals(pack.code, 0, pack.stderr);
  const tarball = `${pkg}/${pack.stdout.trim().split("\n").at(-1)}`;
  const prefix = `${dir.path}/prefix`;
  const install = await run(
    "npm",
    ["install", "-g", "--silent", "--prefix", prefix, tarball],
    dir.path,
  );
  assertEquals(install.code, 0, install.stderr);
  const dsync = `${prefix}/bin/dsync`;
  // The man page comes along: npm links it where man(1) looks under the prefix.
  assertEquals(
    await Deno.readTextFile(`${prefix}/share/man/man1/dsync.1`),
    await Deno.readTextFile(`${ROOT}docs/dsync.1`),
  );
  const work = `${dir.path}/work`;
  await Deno.mkdir(work);
  // A deno.json in the user's directory must not change anything (--no-config).
  await Deno.writeTextFile(`${work}/deno.json`, `{"imports": {"commander": "npm:nothing@0.0.0"}}`);
  await Deno.copyFile(`${ROOT}samples/users.csv`, `${work}/users.csv`);
  const env = { PATH: `${prefix}/bin:${Deno.env.get("PATH")}`, NO_COLOR: "1" };
  const version = await run(dsync, ["--version"], work, env);
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  assertEquals(version.stdout.trim(), config.version, version.stderr);
  const load = await run(
    "dsync",
    ["csv:sqlite", "users.csv", "app.db#users", "--format", "summary"],
    work,
    env,
  );
  assertEquals(load.code, 0, load.stderr);
  assertEquals(JSON.parse(load.stdout).create, 5);
  assertEquals(sqliteRows(`${work}/app.db`, "users").length, 5);
  const again = await run("dsync", ["csv:sqlite", "users.csv", "app.db#users"], work, env);
  assertMatch(again.stderr, /\+0 ~0 -0/);
  const excel = await run("dsync", ["sqlite:xlsx", "app.db#users", "users.xlsx"], work, env);
  assertEquals(excel.code, 0, excel.stderr);
  const back = await run("dsync", ["xlsx:csv", "users.xlsx", "back.csv", "-q"], work, env);
  assertEquals(back.code, 0, back.stderr);
  for (const r of [load, again, excel, back]) {
    assertEquals(/DEP0005|Warning|Buffer\(\)/.test(r.stderr), false, r.stderr);
  }
  const missing = await run("dsync", ["csv:sqlite", "nope.csv", "app.db#users"], work, env);
  assertEquals(missing.code, 2, "the exit code comes through the wrapper");
  assertMatch(missing.stderr, /^dsync: nope\.csv: cannot open/);
});

Deno.test("deno install -g -A --no-lock -n dsync main.ts (from a clone) gives a working dsync", async () => {
  await using dir = await tempDir();
  const install = await run(
    Deno.execPath(),
    [
      "install",
      "-g",
      "-A",
      "--no-lock",
      "-n",
      "dsync",
      "--root",
      dir.path,
      "--config",
      "deno.json",
      "main.ts",
    ],
    ROOT,
  );
  assertEquals(install.code, 0, install.stderr);
  // Without the lock the command fetches adapter libraries on first use, not the whole snapshot.
  assertMatch(await Deno.readTextFile(`${dir.path}/bin/dsync`), / --no-lock /);
  await Deno.copyFile(`${ROOT}samples/users.csv`, `${dir.path}/users.csv`);
  const r = await run(
    `${dir.path}/bin/dsync`,
    ["csv:csv", "users.csv", "out.csv", "-q"],
    dir.path,
    {
      PATH: Deno.env.get("PATH")!,
      NO_COLOR: "1",
    },
  );
  assertEquals(r.code, 0, r.stderr);
  assertEquals(
    await Deno.readTextFile(`${dir.path}/out.csv`),
    await Deno.readTextFile(`${ROOT}samples/users.csv`),
  );
});

Deno.test("the release workflow compiles for five targets and attaches binaries and checksums", async () => {
  const { parse } = await import("yaml");
  const workflow = parse(await Deno.readTextFile(`${ROOT}.github/workflows/release.yml`));
  const targets = workflow.jobs.binaries.strategy.matrix.include.map((t: { target: string }) =>
    t.target
  );
  assertEquals(targets.sort(), [
    "aarch64-apple-darwin",
    "aarch64-unknown-linux-gnu",
    "x86_64-apple-darwin",
    "x86_64-pc-windows-msvc",
    "x86_64-unknown-linux-gnu",
  ]);
  const steps = JSON.stringify(workflow.jobs);
  assertMatch(steps, /deno compile -A --target/);
  assertMatch(steps, /sha256sum \* > SHA256SUMS/);
  assertMatch(steps, /gh release create/);
  assertMatch(steps, /bash \.ci\/run/);
});
