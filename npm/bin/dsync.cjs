#!/usr/bin/env node
// The `dsync` command of the npm package: runs the one-file bundle (dist/dsync.js) with the Deno
// that the `deno` npm package installed beside it, passing arguments, stdio and the exit code.
"use strict";
const path = require("node:path");
const fs = require("node:fs");
const { spawnSync } = require("node:child_process");

/** The deno executable of the `deno` dependency (its postinstall puts it next to bin.cjs). */
function denoExecutable() {
  const dir = path.dirname(require.resolve("deno/package.json"));
  const exe = path.join(dir, process.platform === "win32" ? "deno.exe" : "deno");
  if (fs.existsSync(exe)) return exe;
  // No postinstall ran (npm --ignore-scripts): the package's own installer finds the binary.
  return require(path.join(dir, "install_api.cjs")).runInstall();
}

const bundle = path.join(__dirname, "..", "dist", "dsync.js");
// --no-config: a deno.json in the user's directory must not change how dsync runs.
const result = spawnSync(
  denoExecutable(),
  ["run", "-A", "--no-config", "--quiet", bundle, ...process.argv.slice(2)],
  { stdio: "inherit" },
);
if (result.error) {
  console.error(`dsync: cannot start deno: ${result.error.message}`);
  process.exit(2);
}
if (result.signal) process.kill(process.pid, result.signal);
process.exit(result.status ?? 1);
