/**
 * Writes the man page `docs/dsync.1` from the CLI's own definitions (`dsync help --man`: the
 * commands, the common and adapter options, the environment, the exit codes), or with `--check`
 * says whether the committed page is current (exit 1 when not). tests/help_test.ts runs the check.
 *
 * @example
 * ```sh
 * deno task man                     # regenerate docs/dsync.1 after changing an option
 * deno run -A scripts/gen_man.ts --check
 * man -l docs/dsync.1
 * ```
 * @module
 */
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Where the page is committed. */
export const MAN_PATH = `${ROOT}docs/dsync.1`;

/** The page as the CLI prints it now. */
export async function currentManPage(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", `${ROOT}main.ts`, "help", "--man"],
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  if (!out.success) {
    throw new Error(`dsync help --man failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

if (import.meta.main) {
  const page = await currentManPage();
  if (Deno.args.includes("--check")) {
    const committed = await Deno.readTextFile(MAN_PATH).catch(() => "");
    if (committed !== page) {
      console.error("docs/dsync.1 is out of date: run deno task man");
      Deno.exit(1);
    }
    console.error("docs/dsync.1 is current");
  } else {
    await Deno.writeTextFile(MAN_PATH, page);
    console.error(`wrote ${MAN_PATH}`);
  }
}
