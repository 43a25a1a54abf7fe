/**
 * `dsync adapters`: the registry printed for people (text) or tools (JSON).
 *
 * @module
 */
import { UsageError } from "../model/errors.ts";
import { isCaptureImporter } from "../adapter_kit/capture.ts";
import { listImporters, listPairs } from "../app/registry.ts";

/** `dsync adapters`: every adapter, its roles, locator and options, as text or JSON. */
export function printAdapters(format: string): void {
  const adapters = listImporters().map((i) => ({
    name: i.name,
    aliases: i.aliases ?? [],
    description: i.description,
    source: !!i.openSource,
    target: !!i.openTarget,
    lookup: !!i.openLookup,
    statements: !!i.openStatements,
    changeFeed: !!i.openChangeFeed,
    capture: isCaptureImporter(i),
    transactional: i.transactional,
    locator: i.locator,
    options: i.options.map((o) => ({
      flags: o.flags,
      description: o.description,
      default: o.defaultValue,
    })),
  }));
  if (format === "json") {
    console.log(JSON.stringify({ adapters, pairs: listPairs() }, null, 2));
    return;
  }
  if (format !== "text") throw new UsageError(`--format ${format}: expected text or json`);
  for (const a of adapters) {
    const roles = [a.source && "source", a.target && "target"].filter(Boolean).join(", ");
    const serves = [
      a.lookup && "enrichment lookups (dsync run)",
      a.statements && "statements of on_* handlers (dsync run)",
      a.changeFeed && "a change feed (dsync apply)",
      a.capture && "change capture (dsync capture, --strategy changes)",
    ].filter(Boolean).join(", ");
    console.log(
      `${a.name}${a.aliases.length ? ` (${a.aliases.join(", ")})` : ""}  ${a.description}`,
    );
    console.log(
      `  roles: ${roles}; writes ${a.transactional ? "all or nothing" : "NOT transactional"}`,
    );
    if (serves) console.log(`  also serves: ${serves}`);
    console.log(`  locator: ${a.locator}`);
    for (const o of a.options) {
      console.log(`  ${o.flags}  ${o.description}${o.default ? ` (default ${o.default})` : ""}`);
    }
  }
  console.log(`pairs: ${listPairs().join(" ")}`);
}
