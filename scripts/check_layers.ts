/**
 * The layering check run by `.ci/run`: reads the module graph of main.ts (`deno info --json`,
 * static, dynamic and type-only imports alike) and fails on an import against the layer rule of
 * ARCHITECTURE.md, on any import cycle, on a `jsr:` import, and on a file under src/ that nothing
 * imports.
 *
 * The rule, lower layers first: `model` ← `adapter_kit` ← {`engine`, `adapters/<name>`} ←
 * `app` ← `pipeline` ← `cli` ← main.ts. A layer imports its own layer and those below it;
 * adapters import only the model and the adapter kit (never the engine, app, cli or each other),
 * and only `adapters/mod.ts`, the list, imports every adapter.
 *
 * @example
 * ```sh
 * deno run -A scripts/check_layers.ts     # prints "layers: 84 modules, ..." or the violations
 * ```
 * @module
 */

/** Layers from the bottom up; a layer may import those at or below its rank. */
const RANKS: Record<string, number> = {
  model: 0,
  adapter_kit: 1,
  engine: 2,
  adapters: 2,
  app: 3,
  pipeline: 4,
  cli: 5,
  main: 6,
};

/** One module of the graph: its path from the repository root and what it imports. */
export interface GraphModule {
  path: string;
  imports: string[];
}

/** Where a module sits: its layer and, for adapters, the adapter's folder. */
export function layerOf(path: string): { layer: string; adapter?: string } | undefined {
  if (path === "main.ts") return { layer: "main" };
  const m = /^src\/([^/]+)\/(?:([^/]+)\/)?/.exec(path);
  if (!m || !(m[1] in RANKS)) return undefined;
  if (m[1] === "adapters") return { layer: "adapters", adapter: m[2] };
  return { layer: m[1] };
}

/** Why `from` may not import `to`, or undefined when it may. */
export function ruleBroken(from: string, to: string): string | undefined {
  const a = layerOf(from), b = layerOf(to);
  if (!a) return `${from} is outside the layers (src/<layer>/ or main.ts)`;
  if (!b) return `${to} is outside the layers (src/<layer>/ or main.ts)`;
  if (a.layer === "adapters") {
    if (b.layer === "adapters") {
      if (a.adapter === undefined || a.adapter === b.adapter) return undefined;
      return `adapter '${a.adapter}' imports adapter '${b.adapter ?? "mod.ts"}'`;
    }
    if (b.layer === "model" || b.layer === "adapter_kit") return undefined;
    return `an adapter imports the ${b.layer} layer`;
  }
  if (b.layer === "adapters" && a.layer === "engine") return "the engine imports an adapter";
  if (b.layer === "adapters" && b.adapter !== undefined && a.layer !== "adapters") {
    return `${a.layer} imports adapter '${b.adapter}' directly; use the list in src/adapters/mod.ts`;
  }
  if (RANKS[b.layer] > RANKS[a.layer]) return `${a.layer} imports the higher ${b.layer} layer`;
  return undefined;
}

/** Import cycles, each as the paths around it (Tarjan's strongly connected components). */
export function cycles(modules: GraphModule[]): string[][] {
  const edges = new Map(modules.map((m) => [m.path, m.imports]));
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (edges.get(v) ?? []).includes(v)) found.push(component.reverse());
    }
  };
  for (const m of modules) if (!index.has(m.path)) visit(m.path);
  return found;
}

/** Every problem of the graph, one line each. */
export function problems(modules: GraphModule[], sourceFiles: string[] = []): string[] {
  const lines: string[] = [];
  for (const m of modules) {
    for (const to of m.imports) {
      if (to.startsWith("jsr:")) lines.push(`${m.path} → ${to}: jsr.io is unreachable; use npm:`);
      else if (!/^(npm:|node:|https?:)/.test(to)) {
        const why = ruleBroken(m.path, to);
        if (why) lines.push(`${m.path} → ${to}: ${why}`);
      }
    }
  }
  for (const cycle of cycles(modules.filter((m) => !/^(npm|node|https?):/.test(m.path)))) {
    lines.push(`import cycle: ${[...cycle, cycle[0]].join(" → ")}`);
  }
  const reached = new Set(modules.map((m) => m.path));
  for (const file of sourceFiles) {
    if (!reached.has(file)) lines.push(`${file}: nothing imports it (dead code?)`);
  }
  return lines;
}

/** The module graph of `root` as paths relative to the repository, from `deno info --json`. */
export async function moduleGraph(root: string, repo: string): Promise<GraphModule[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root],
    cwd: repo,
    stdout: "piped",
  }).output();
  if (!out.success) throw new Error(`deno info --json ${root} failed`);
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: {
      specifier: string;
      dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
    }[];
    redirects?: Record<string, string>;
  };
  const base = new URL(`file://${repo.endsWith("/") ? repo : repo + "/"}`).href;
  const resolve = (s: string) => info.redirects?.[s] ?? s;
  const name = (s: string) => s.startsWith(base) ? s.slice(base.length) : s;
  return info.modules.filter((m) => m.specifier.startsWith(base)).map((m) => ({
    path: name(m.specifier),
    imports: [
      ...new Set(
        (m.dependencies ?? []).flatMap((d) =>
          [d.code?.specifier, d.type?.specifier].filter((s): s is string => !!s)
        ).map((s) => name(resolve(s))),
      ),
    ],
  }));
}

/** Product source files: everything under src/ but tests. */
async function sourceFiles(repo: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(`${repo}/${dir}`)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (path.endsWith(".ts") && !path.endsWith("_test.ts")) files.push(path);
    }
  };
  await walk("src");
  return files.sort();
}

if (import.meta.main) {
  const repo = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const modules = await moduleGraph("main.ts", repo);
  const lines = problems(modules, await sourceFiles(repo));
  if (lines.length) {
    console.error(`layers: ${lines.length} problem${lines.length > 1 ? "s" : ""}`);
    for (const line of lines) console.error(`  ${line}`);
    Deno.exit(1);
  }
  console.log(`layers: ${modules.length} modules, no import against the rule, no cycle`);
}
