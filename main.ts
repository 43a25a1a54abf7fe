/**
 * dsync: keeps a target in step with a source.
 *
 * @example
 * ```sh
 * deno run -A main.ts csv:sqlite users.csv
 * ```
 * @module
 */
import { runCli } from "./src/cli/cli.ts";

Deno.exit(await runCli(Deno.args));
