/**
 * The command tree: every `<src>:<tgt>` pair is a subcommand generated from the registry, with
 * the common options and the options of its two adapters; then diff, apply, run, schema,
 * capture, completions, help and adapters.
 *
 * @module
 */
import { Command } from "commander";
import { UsageError } from "../model/errors.ts";
import type { Importer, OpenOptions } from "../adapter_kit/importer.ts";
import { LOCK_TIMEOUT_OPTION } from "../adapter_kit/option_values.ts";
import { isCaptureImporter } from "../adapter_kit/capture.ts";
import { findImporter, listImporters, listPairs } from "../app/registry.ts";
import { FORMATS } from "../app/sync.ts";
import { DEFAULT_STATE } from "../app/state.ts";
import { watchedFile, watchLoop, watchOptions } from "../app/watch.ts";
import { addCaptureCommand } from "./capture.ts";
import { VERSION } from "./version.ts";
import { completionScript, optionFlags } from "./completions.ts";
import { pairExamples, topHelp } from "./help.ts";
import { adapterOf } from "./infer.ts";
import { addAdapterOptions, addOption, COMMON_OPTIONS, pairOptions } from "./options.ts";
import { printAdapters } from "./adapters_list.ts";
import { runPair } from "./pair.ts";
import { runApply } from "./apply.ts";
import { unknownCommand } from "./unknown.ts";
import { setExitCode } from "./exit_status.ts";

/** Builds the whole command tree from the registry. */
export function buildProgram(
  run: (pair: [Importer, Importer], args: string[], options: OpenOptions) => Promise<number>,
): Command {
  const program = new Command("dsync")
    .description("Keep a target in step with a source: CSV, JSON, SQLite, PostgreSQL, ...")
    .version(VERSION, "-V, --version")
    .usage("<src>:<tgt> SOURCE [TARGET] [options]")
    .showHelpAfterError(false)
    .helpCommand(false)
    .exitOverride()
    .configureOutput({
      writeErr: (text) =>
        Deno.stderr.writeSync(new TextEncoder().encode(text.replace(/^error: /, "dsync: "))),
    });
  program.helpInformation = topHelp;
  for (const pair of listPairs()) {
    const [s, t] = pair.split(":").map((n) => findImporter(n)!);
    const command = program.command(pair)
      .description(`sync ${s.name} → ${t.name}`)
      .argument("SOURCE", s.locator)
      .argument("[TARGET]", t.locator)
      .exitOverride();
    for (const o of COMMON_OPTIONS) addOption(command, o.flags, o.description, o.defaultValue);
    addOption(
      command,
      "--watermarks <file>",
      `incremental: the watermark state file (${DEFAULT_STATE})`,
    );
    for (const o of pairOptions(s, t)) {
      addOption(command, o.flags, o.description, o.defaultValue);
    }
    command.addHelpText("after", () => "\n" + pairExamples(s, t));
    command.action(async (source: string, target: string | undefined, options: OpenOptions) => {
      const args = target === undefined ? [source] : [source, target];
      const watch = watchOptions(options);
      if (!watch) return setExitCode(await run([s, t], args, options));
      const file = watchedFile(source);
      setExitCode(
        await watchLoop(() => run([s, t], args, options), { ...watch, files: file ? [file] : [] }),
      );
    });
  }
  const diff = program.command("diff")
    .description("the changes that turn A into B (a dry run of B into A); exit 1 when they differ")
    .argument("A", "what the changes start from: FILE.csv, app.db#t, pg:TABLE, URL, ...")
    .argument("B", "what they lead to")
    .exitOverride();
  const diffOwn = [
    "--dry-run",
    "--exit-code",
    "--delete",
    "--no-create-table",
    "--watch",
    "--every",
  ];
  for (const o of COMMON_OPTIONS.filter((o) => !diffOwn.some((f) => o.flags.includes(f)))) {
    addOption(diff, o.flags, o.description, o.defaultValue);
  }
  addAdapterOptions(diff, listImporters());
  diff.addHelpText(
    "after",
    "\nA and B name their adapter by extension (.csv .ndjson .json .xlsx .db), URL scheme, or\n" +
      "as ADAPTER:LOCATOR. Rows only in A show as deletes.\n\nexamples:\n" +
      "  dsync diff old.csv new.csv\n  dsync diff app.db#users pg:public.users --format html -o diff.html\n",
  );
  diff.action(async (a: string, b: string, options: OpenOptions) => {
    const [from, to] = [adapterOf(a), adapterOf(b)];
    if (!from.importer.openTarget || !to.importer.openSource) {
      throw new UsageError(
        `diff: ${from.importer.name} cannot be read as A or ${to.importer.name} as B`,
      );
    }
    setExitCode(
      await runPair([to.importer, from.importer], [to.locator, from.locator], {
        ...options,
        dryRun: true,
        exitCode: true,
        delete: true,
      }, { title: `diff ${a} → ${b}`, diff: true }),
    );
  });
  program.command("apply")
    .description(
      "apply a saved change set (NDJSON from --dry-run), checking it against the target first",
    )
    .argument("<tgt>", "target adapter")
    .argument("TARGET", "target locator")
    .argument("[PLAN]", "plan file, or - for stdin", "-")
    .option("--force", "apply even where the target moved on since the plan was made")
    .option(
      "--durable <name>",
      "change feed (PLAN = nats://host/SUBJECTS): durable consumer name (default: one per TARGET)",
    )
    .option("--stream <name>", "change feed: the JetStream stream (default: the one found)")
    .option(LOCK_TIMEOUT_OPTION.flags, LOCK_TIMEOUT_OPTION.description)
    .option("--max-create <n>", "refuse more creates than N or N% of the target")
    .option("--max-update <n>", "refuse more updates than N or N% of the target")
    .option("--max-delete <n>", "refuse more deletes than N or N% of the target")
    .option("--max-changes <n>", "refuse more changes than N or N% of the target")
    .option("-q, --quiet", "stderr: errors only")
    .option("-v, --verbose", "stderr: more detail")
    .exitOverride()
    .action(runApply);
  const runCommand = program.command("run")
    .description("run pipelines from a YAML config file (--validate: check only)")
    .argument("CONFIG", "YAML config file (see docs/pipelines.md)")
    .argument("[PIPELINE...]", "pipelines to run (default: all, in depends_on order)")
    .option("--validate", "check the file and connect to every datastore; move no data")
    .option("--continue-on-error", "after a failure, run the pipelines that do not depend on it")
    .option(
      "--state <file>",
      `watermarks of incremental pipelines (default: ${DEFAULT_STATE} beside CONFIG)`,
    )
    .exitOverride();
  for (const o of COMMON_OPTIONS) addOption(runCommand, o.flags, o.description);
  runCommand.action(
    async (file: string, names: string[], options: OpenOptions, command: Command) => {
      const own = ["validate", "continueOnError", "state", "watch", "every"];
      const overrides = Object.fromEntries(
        Object.entries(options).filter(([name]) =>
          !own.includes(name) && command.getOptionValueSource(name) === "cli"
        ),
      );
      // Loaded on use: YAML parsing and the sandbox would cost every other command's start-up.
      const { runConfig } = await import("../pipeline/run.ts");
      setExitCode(
        await runConfig(file, names, {
          overrides,
          validate: options.validate === true,
          continueOnError: options.continueOnError === true,
          state: options.state as string | undefined,
          watch: watchOptions(options),
        }),
      );
    },
  );
  program.command("schema")
    .description("print the config file's JSON Schema (for editors)")
    .action(async () => {
      const { configSchema } = await import("../pipeline/schema.ts");
      console.log(JSON.stringify(configSchema(), null, 2));
    });
  addCaptureCommand(
    program,
    // Their connection options; not the ones about reading a source or writing a target.
    (command) =>
      addAdapterOptions(
        command,
        listImporters().filter(isCaptureImporter).map((i) => ({
          ...i,
          options: i.options.filter((o) =>
            o.role !== "target" && !/--where|--delete-outside-where/.test(o.flags)
          ),
        })),
      ),
  );
  program.command("completions")
    .description("print a shell completion script: bash, zsh or fish")
    .argument("<shell>", "bash|zsh|fish")
    .action((shell: string) => {
      const common = optionFlags([...COMMON_OPTIONS.map((o) => o.flags), "-h, --help"]);
      const commands = program.commands.map((c) => c.name()).filter((n) => !n.includes(":"));
      console.log(completionScript(shell, { common, formats: FORMATS, commands }));
    });
  program.command("help")
    .description("this help; --man: the man page (roff)")
    .argument("[COMMAND]", "a command or SRC:TGT pair")
    .option("--man", "print the man page (roff), for man -l - or docs/dsync.1")
    .action(async (name: string | undefined, options: { man?: boolean }) => {
      if (options.man) {
        const { manPage } = await import("./man.ts");
        console.log(manPage(program));
        return;
      }
      const command = name === undefined
        ? undefined
        : program.commands.find((c) => c.name() === name);
      if (name !== undefined && !command) throw unknownCommand(name, program);
      console.log((command ?? program).helpInformation().trimEnd());
    });
  program.command("adapters")
    .description("list adapters, their locators, options and pairs")
    .option("--format <fmt>", "text|json", "text")
    .action((options: { format: string }) => printAdapters(options.format));
  return program;
}
