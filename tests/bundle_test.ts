/**
 * What a run fetches and carries: from source, the module graph names only the CLI's own npm
 * packages (adapter libraries are fetched when an adapter first needs them); the one-file bundle
 * (`deno task bundle` → dist/dsync.js, from bundle.ts) carries every adapter library and runs
 * real syncs offline.
 */
import { assertEquals } from "./assert.ts";
import { dsync, parseNdjson, ROOT, sqliteRows, tempDir } from "./helpers.ts";
import { LAZY_PACKAGES } from "../src/adapter_kit/packages.ts";

/** The npm packages `entry` reaches through code imports (type-only imports left out). */
async function npmPackagesOf(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--no-lock", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    redirects: Record<string, string>;
    modules: { specifier: string; dependencies?: { code?: { specifier?: string } }[] }[];
  };
  const modules = new Map(graph.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const packages = new Set<string>();
  const stack = [...graph.roots];
  while (stack.length) {
    let specifier = stack.pop()!;
    specifier = graph.redirects[specifier] ?? specifier;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    if (specifier.startsWith("npm:")) {
      packages.add(specifier.replace(/^npm:\/?/, "").replace(/(?<=.)@[^/]+.*$/, ""));
      continue;
    }
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (dep.code?.specifier) stack.push(dep.code.specifier);
    }
  }
  return [...packages].sort();
}

Deno.test("a run from source names only the CLI's packages; adapter libraries load on first use", async () => {
  // Every package named by code (a literal import(), too) is fetched before main.ts runs: with
  // literal lazy imports a CSV → SQLite first run fetched 202 packages (67 MB), now 8 (2 MB).
  assertEquals(await npmPackagesOf("main.ts"), ["cli-progress", "commander", "yaml"]);
  // The bundle's entry names them all, so the bundle and compiled binaries carry them.
  const bundled = await npmPackagesOf("bundle.ts");
  for (const specifier of LAZY_PACKAGES) {
    const name = specifier.startsWith("@")
      ? specifier.split("/").slice(0, 2).join("/")
      : specifier.split("/")[0];
    assertEquals(bundled.includes(name), true, `${name} in ${bundled.join(" ")}`);
  }
});

Deno.test("deno bundle gives dist/dsync.js, which syncs CSV from stdin into SQLite and writes Excel", async () => {
  await using dir = await tempDir();
  const out = `${dir.path}/dsync.js`;
  const bundle = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform", "deno", "-o", out, "bundle.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(bundle.code, 0, new TextDecoder().decode(bundle.stderr));
  const csv = await Deno.readTextFile(`${ROOT}samples/users.csv`);
  const r = await dsync(["csv:sqlite", "-", "demo.db#users"], {
    cwd: dir.path,
    stdin: csv,
    script: out,
  });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(parseNdjson(r.stdout).length, csv.trim().split("\n").length - 1);
  assertEquals(
    sqliteRows(`${dir.path}/demo.db`, "users").length,
    csv.trim().split("\n").length - 1,
  );
  // exceljs is inside the bundle: outside the repository (no deno.json to resolve it) the
  // bundle still writes and reads a workbook.
  const book = await dsync(["sqlite:xlsx", "demo.db#users", "users.xlsx", "-q"], {
    cwd: dir.path,
    script: out,
  });
  assertEquals(book.code, 0, book.stderr);
  const back = await dsync(["xlsx:ndjson", "users.xlsx", "back.ndjson", "-q"], {
    cwd: dir.path,
    script: out,
  });
  assertEquals(back.code, 0, back.stderr);
  assertEquals(
    parseNdjson(await Deno.readTextFile(`${dir.path}/back.ndjson`)).length,
    csv.trim().split("\n").length - 1,
  );
});
