/**
 * Builds the npm package: `npm/` with the bundle at `npm/dist/dsync.js` and the man page at
 * `npm/man/dsync.1`, or a copy of `npm/` in OUT_DIR. Checks that the package's version is
 * deno.json's. Then `npm pack` (or publish) in it.
 *
 * @example
 * ```sh
 * deno task npm            # → npm/dist/dsync.js; then: cd npm && npm pack
 * deno run -A scripts/build_npm.ts /tmp/pkg
 * ```
 * @module
 */
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Builds the package into `out` (default `npm/` itself); returns the package directory. */
export async function buildNpmPackage(out = `${ROOT}npm`): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const manifest = JSON.parse(await Deno.readTextFile(`${ROOT}npm/package.json`));
  if (manifest.version !== config.version) {
    throw new Error(`npm/package.json ${manifest.version} != deno.json ${config.version}`);
  }
  if (out !== `${ROOT}npm`) {
    await Deno.mkdir(`${out}/bin`, { recursive: true });
    for (const file of ["package.json", "README.md", "bin/dsync.cjs"]) {
      await Deno.copyFile(`${ROOT}npm/${file}`, `${out}/${file}`);
    }
  }
  const bundle = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "deno", "-o", `${out}/dist/dsync.js`, "bundle.ts"],
    cwd: ROOT,
  }).output();
  if (!bundle.success) {
    throw new Error(`deno bundle failed: ${new TextDecoder().decode(bundle.stderr)}`);
  }
  await Deno.chmod(`${out}/bin/dsync.cjs`, 0o755);
  // The man page (docs/dsync.1, deno task man): npm links it into PREFIX/share/man/man1.
  await Deno.mkdir(`${out}/man`, { recursive: true });
  await Deno.copyFile(`${ROOT}docs/dsync.1`, `${out}/man/dsync.1`);
  return out;
}

if (import.meta.main) console.log(await buildNpmPackage(Deno.args[0]));
