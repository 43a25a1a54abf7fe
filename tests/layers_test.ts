import { assertEquals } from "./assert.ts";
import { cycles, moduleGraph, problems, ruleBroken } from "../scripts/check_layers.ts";
import { ROOT } from "./helpers.ts";

Deno.test("layer rule: adapters import only the model and the kit; lower layers never upper", () => {
  assertEquals(
    ruleBroken("src/adapters/csv/mod.ts", "src/engine/plan.ts"),
    "an adapter imports the engine layer",
  );
  assertEquals(
    ruleBroken("src/adapters/csv/mod.ts", "src/app/output.ts"),
    "an adapter imports the app layer",
  );
  assertEquals(
    ruleBroken("src/adapters/webhook/mod.ts", "src/adapters/http/mod.ts"),
    "adapter 'webhook' imports adapter 'http'",
  );
  assertEquals(
    ruleBroken("src/engine/plan.ts", "src/app/sync.ts"),
    "engine imports the higher app layer",
  );
  assertEquals(
    ruleBroken("src/model/values.ts", "src/adapter_kit/sql.ts"),
    "model imports the higher adapter_kit layer",
  );
  assertEquals(
    ruleBroken("src/engine/plan.ts", "src/adapters/mod.ts"),
    "the engine imports an adapter",
  );
  assertEquals(ruleBroken("src/adapters/csv/mod.ts", "src/adapters/csv/reader.ts"), undefined);
  assertEquals(ruleBroken("src/adapters/csv/mod.ts", "src/adapter_kit/files.ts"), undefined);
  assertEquals(ruleBroken("src/adapters/mod.ts", "src/adapters/csv/mod.ts"), undefined);
  assertEquals(ruleBroken("src/app/registry.ts", "src/adapters/mod.ts"), undefined);
  assertEquals(ruleBroken("src/cli/cli.ts", "src/pipeline/run.ts"), undefined);
});

Deno.test("layer check: cycles are found, with the modules around them", () => {
  assertEquals(
    cycles([
      { path: "a", imports: ["b"] },
      { path: "b", imports: ["c"] },
      { path: "c", imports: ["a"] },
      { path: "d", imports: ["a"] },
    ]),
    [["a", "b", "c"]],
  );
  assertEquals(cycles([{ path: "a", imports: ["b"] }, { path: "b", imports: [] }]), []);
  assertEquals(
    problems([{ path: "src/model/x.ts", imports: ["jsr:@std/csv"] }])[0],
    "src/model/x.ts → jsr:@std/csv: jsr.io is unreachable; use npm:",
  );
});

Deno.test("the product's module graph keeps the layer rule and has no cycle", async () => {
  const modules = await moduleGraph("main.ts", ROOT.replace(/\/$/, ""));
  assertEquals(modules.some((m) => m.path === "src/adapters/postgres/mod.ts"), true);
  assertEquals(problems(modules), []);
});
