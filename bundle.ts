/**
 * The entry of the bundle, the npm package and compiled binaries: main.ts plus a literal
 * `import()` for every adapter library, so that `deno bundle` and `deno compile` carry them.
 * (main.ts names them only through `importPackage`, which a run from source fetches on first
 * use; see src/adapter_kit/packages.ts.) The loaders still run only when an adapter needs them.
 *
 * @example
 * ```sh
 * deno bundle --platform deno -o dist/dsync.js bundle.ts
 * ```
 * @module
 */
import { registerPackageLoaders } from "./src/adapter_kit/packages.ts";
import { runCli } from "./src/cli/cli.ts";

registerPackageLoaders({
  "exceljs": () => import("exceljs"),
  "exceljs/lib/utils/parse-sax.js": () => import("exceljs/lib/utils/parse-sax.js"),
  "exceljs/lib/xlsx/xform/style/styles-xform.js": () =>
    import("exceljs/lib/xlsx/xform/style/styles-xform.js"),
  "postgres": () => import("postgres"),
  "mysql2/promise": () => import("mysql2/promise"),
  "ioredis": () => import("ioredis"),
  "@clickhouse/client": () => import("@clickhouse/client"),
  "@nats-io/transport-node": () => import("@nats-io/transport-node"),
  "@nats-io/jetstream": () => import("@nats-io/jetstream"),
  "@nats-io/kv": () => import("@nats-io/kv"),
});

Deno.exit(await runCli(Deno.args));
