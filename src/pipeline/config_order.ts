/**
 * The run order of a config's pipelines: `depends_on` first, file order otherwise; unknown names
 * and dependency cycles reported.
 *
 * @module
 */
import { names } from "./config_settings.ts";
import type { ConfigContext, PipelineConfig } from "./config_types.ts";

/** Pipelines in file order, moved after their dependencies; reports unknown names and cycles. */
export function orderPipelines(
  pipelines: PipelineConfig[],
  raw: Record<string, { depends_on?: string | string[] }>,
  issue: ConfigContext["issue"],
): PipelineConfig[] {
  const dependencies = new Map(
    Object.entries(raw).map(([name, raw]) => [name, names(raw.depends_on)]),
  );
  for (const [name, list] of dependencies) {
    for (const dependency of list) {
      if (!dependencies.has(dependency)) {
        issue(
          ["pipelines", name, "depends_on"],
          `unknown pipeline '${dependency}'`,
          `pipelines: ${[...dependencies.keys()].join(", ")}`,
        );
      }
    }
  }
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, trail: string[]): boolean => {
    if (state.get(name) === "done") return true;
    if (state.get(name) === "visiting") {
      const cycle = [...trail.slice(trail.indexOf(name)), name];
      issue(
        ["pipelines", cycle[0], "depends_on"],
        `dependency cycle: ${cycle.join(" → ")}`,
        "remove one of these depends_on entries",
      );
      return false;
    }
    state.set(name, "visiting");
    for (const dependency of dependencies.get(name)!) {
      if (dependencies.has(dependency) && !visit(dependency, [...trail, name])) return false;
    }
    state.set(name, "done");
    order.push(name);
    return true;
  };
  for (const name of dependencies.keys()) if (!visit(name, [])) break;
  return order.flatMap((name) => pipelines.filter((p) => p.name === name));
}
