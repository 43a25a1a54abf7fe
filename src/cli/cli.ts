/**
 * The command line: every `<src>:<tgt>` pair is a subcommand generated from the registry, with
 * the common options and the options of its two adapters.
 *
 * @example
 * ```ts ignore
 * const code = await runCli(["csv:sqlite", "users.csv", "--dry-run"]);
 * ```
 * @module
 */
import { Command, CommanderError, Option } from "commander";
import { DsyncError, UsageError } from "../model/errors.ts";
import { baseName, openText, readLines } from "../adapter_kit/files.ts";
import { applyPlan, readPlan } from "../app/apply.ts";
import { applyFeed } from "../app/apply_feed.ts";
import type { Importer, OpenOptions } from "../adapter_kit/importer.ts";
import { LOCK_TIMEOUT_OPTION } from "../adapter_kit/option_values.ts";
import { isSqlImporter } from "../adapter_kit/sql.ts";
import { isCaptureImporter } from "../adapter_kit/capture.ts";
import { addCaptureCommand } from "./capture.ts";
import { captureAdapters, openAndSyncChanges } from "../app/changes.ts";
import {
  findImporter,
  listImporters,
  listPairs,
  openAsSource,
  openAsTarget,
} from "../app/registry.ts";
import { summaryLine } from "../app/output.ts";
import {
  FORMATS,
  limitOptions,
  type SyncOptions,
  syncOptions,
  writeFailureSummary,
} from "../app/sync.ts";
import { loadOptions, runLoad } from "../app/modes.ts";
import { incrementalSource } from "./pushdown.ts";
import { VERSION } from "./version.ts";
import { completionScript, optionFlags } from "./completions.ts";
import { DEFAULT_STATE } from "../app/state.ts";
import { optionApplies, pairExamples, topHelp } from "./help.ts";
import { closest } from "./suggest.ts";
import { requestStop, watchedFile, watchLoop, watchOptions } from "../app/watch.ts";
import { adapterOf } from "./infer.ts";
import {
  interrupt,
  interruptedBy,
  runCleanups,
  SIGNAL_EXIT_CODES,
} from "../adapter_kit/interrupt.ts";

/** Options every pair command takes, in help order. */
export const COMMON_OPTIONS: { flags: string; description: string; defaultValue?: string }[] = [
  {
    flags: "-k, --key <cols>",
    description:
      "key fields, comma separated (default: target primary key, else source primary key, else id)",
  },
  { flags: "--fields <cols>", description: "only these fields are compared and written" },
  { flags: "--exclude <cols>", description: "these fields are neither compared nor written" },
  {
    flags: "--map <src=dst...>",
    description: "rename a source field to a target field (repeatable)",
  },
  { flags: "--no-create", description: "do not create missing records" },
  { flags: "--no-update", description: "do not update differing records" },
  {
    flags: "--delete",
    description: "delete target records missing from the source (off: only reported)",
  },
  { flags: "--max-create <n>", description: "refuse more creates than N or N% of the target" },
  { flags: "--max-update <n>", description: "refuse more updates than N or N% of the target" },
  { flags: "--max-delete <n>", description: "refuse more deletes than N or N% of the target" },
  { flags: "--max-changes <n>", description: "refuse more changes than N or N% of the target" },
  {
    flags: "--create-table",
    description:
      "create a missing target table even in PostgreSQL's implicit default database (no URL, DATABASE_URL or PG*)",
  },
  {
    flags: "--no-create-table",
    description: "fail instead of creating a missing target table or file",
  },
  {
    flags: "--strategy <name>",
    description:
      "how records are paired: auto (default), merge (both sides read into dsync), hash (checksum bisection between SQL databases), join (inside one database), or changes (only the keys change capture recorded: dsync capture install)",
  },
  {
    flags: "--partition-column <field>",
    description:
      "--strategy hash: segments are ranges of this integer, date or timestamp field, not of the key",
  },
  {
    flags: "--partition-start <value>",
    description: "--partition-column: where the segments start (default: the smallest value)",
  },
  {
    flags: "--partition-end <value>",
    description: "--partition-column: where the segments end (default: past the largest value)",
  },
  {
    flags: "--partition-interval <n>",
    description:
      "--partition-column: the first segments' width: seconds, or 15m, 6h, 1d, 1w (an integer field: a number)",
  },
  {
    flags: "--mode <mode>",
    description:
      "how the target is loaded: sync|full-refresh|truncate|snapshot|append|incremental|backfill (default sync)",
  },
  {
    flags: "--merge-strategy <s>",
    description:
      "how changes are written: upsert|insert|update|delete_insert|collapse (default upsert)",
  },
  {
    flags: "--update-key <col>",
    description: "incremental/backfill: the source field that grows with every change",
  },
  { flags: "--range <from..to>", description: "backfill: inclusive range of the update key" },
  {
    flags: "--add-columns",
    description: "add source fields the target lacks as new columns (default off)",
  },
  { flags: "--sign-column <col>", description: "collapse: the sign column (default sign)" },
  { flags: "-n, --dry-run", description: "compute and print the change set; change nothing" },
  {
    flags: "--format <fmt>",
    description:
      "stdout: ndjson|json|table|summary|sql|html (default: table on a terminal, else ndjson; cron: summary, one JSON line per run)",
  },
  {
    flags: "-o, --output <file>",
    description: "write the change set to FILE instead of stdout (-: stdout)",
  },
  {
    flags: "--color <when>",
    description: "colour the table: auto (the stream written is a terminal), always, never",
  },
  { flags: "--exit-code", description: "with --dry-run: exit 1 when there are differences" },
  {
    flags: "--watch",
    description: "repeat the sync until SIGTERM/SIGINT (a file source: also when it changes)",
  },
  {
    flags: "--every <duration>",
    description: "with --watch: time between rounds: 500ms, 30s, 5m, 1h (default 60s)",
  },
  {
    flags: "--batch-size <n>",
    description: "records per read/write round trip",
    defaultValue: "5000",
  },
  {
    flags: "-q, --quiet",
    description: "stderr: errors only (with --format summary: one JSON line per run, nothing else)",
  },
  { flags: "-v, --verbose", description: "stderr: more detail (stack traces on errors)" },
  { flags: "--progress", description: "progress on stderr (default: on a terminal)" },
  { flags: "--no-progress", description: "no progress on stderr" },
];

/**
 * Adds an option. A `<value...>` option is repeatable, one value per flag (`-H a -H b`), and
 * never takes the positional words that follow it.
 */
function addOption(command: Command, flags: string, description: string, defaultValue?: string) {
  const repeatable = flags.includes("...>");
  const option = new Option(flags.replace("...>", ">"), description);
  if (repeatable) {
    option.argParser((
      value: string,
      previous: string[] | undefined,
    ) => [...(previous ?? []), value]);
  }
  if (defaultValue !== undefined) option.default(defaultValue);
  command.addOption(option);
}

/** The options of a pair's two adapters that apply to their roles, each once. */
function pairOptions(source: Importer, target: Importer) {
  const seen = new Set<string>();
  return [
    ...source.options.filter((o) => optionApplies(o, "source")),
    ...target.options.filter((o) => optionApplies(o, "target")),
  ].filter((o) => !seen.has(o.flags) && !!seen.add(o.flags));
}

/** Adds the options of `importers` that `command` does not have yet, each once. */
function addAdapterOptions(command: Command, importers: readonly Importer[]): void {
  const longFlag = (flags: string) => flags.match(/--[\w-]+/)?.[0];
  const seen = new Set(command.options.map((o) => o.long));
  for (const o of importers.flatMap((i) => i.options)) {
    if (seen.has(longFlag(o.flags))) continue;
    seen.add(longFlag(o.flags));
    addOption(command, o.flags, o.description, o.defaultValue);
  }
}

/** Builds the whole command tree from the registry. */
export function buildProgram(
  run: (pair: [Importer, Importer], args: string[], options: OpenOptions) => Promise<void>,
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
      if (!watch) return await run([s, t], args, options);
      const file = watchedFile(source);
      exitCode = await watchLoop(async () => {
        exitCode = 0;
        await run([s, t], args, options);
        return exitCode;
      }, { ...watch, files: file ? [file] : [] });
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
    await runPair([to.importer, from.importer], [to.locator, from.locator], {
      ...options,
      dryRun: true,
      exitCode: true,
      delete: true,
    }, { title: `diff ${a} → ${b}`, diff: true });
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
      exitCode = await runConfig(file, names, {
        overrides,
        validate: options.validate === true,
        continueOnError: options.continueOnError === true,
        state: options.state as string | undefined,
        watch: watchOptions(options),
      });
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
      if (name !== undefined && !command) throw unknownCommand(name);
      console.log((command ?? program).helpInformation().trimEnd());
    });
  program.command("adapters")
    .description("list adapters, their locators, options and pairs")
    .option("--format <fmt>", "text|json", "text")
    .action((options: { format: string }) => printAdapters(options.format));
  return program;
}

function printAdapters(format: string): void {
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

/** Name a target takes after its source by default: the table, else the file's base name. */
function sourceName(locator: string): string {
  if (locator === "-") return "stdin";
  const hash = locator.lastIndexOf("#");
  if (hash < 0) return baseName(locator);
  const table = locator.slice(hash + 1);
  return table.slice(table.lastIndexOf(".") + 1).replaceAll('"', "") ||
    baseName(locator.slice(0, hash));
}

async function runPair(
  [sourceImporter, targetImporter]: [Importer, Importer],
  args: string[],
  options: OpenOptions,
  run: Pick<SyncOptions, "title" | "diff"> = {},
) {
  const started = performance.now();
  const sync = { ...syncOptions(options, args[1] === "-"), ...run, stamp: options.watch === true };
  let load = loadOptions(options);
  if (
    typeof options.where === "string" && isSqlImporter(sourceImporter) &&
    options.deleteOutsideWhere !== true
  ) {
    sync.partition = { condition: options.where, dialect: sourceImporter.dialect.name };
  }
  const ctx = { options, sourceName: sourceName(args[0]) };
  if (sync.changes) return await runChanges([sourceImporter, targetImporter], args, sync, ctx);
  let source, target;
  try {
    source = await openAsSource(sourceImporter, args[0], ctx);
    target = await openAsTarget(targetImporter, args[1], ctx);
  } catch (error) {
    await source?.close();
    if (sync.format === "summary") {
      const label = (importer: Importer, locator?: string) => `${importer.name}:${locator ?? ""}`;
      await writeFailureSummary(
        source?.label ?? label(sourceImporter, args[0]),
        label(targetImporter, args[1]),
        error,
        sync,
        started,
      );
    }
    throw error;
  }
  try {
    if (isSqlImporter(sourceImporter)) {
      ({ source, load } = await incrementalSource(
        sourceImporter,
        args[0],
        ctx,
        source,
        target,
        load,
      ));
    }
    const result = await runLoad(source, target, sync, load, started);
    if (result.exitCode) exitCode = result.exitCode;
  } finally {
    await source.close();
    await target.close();
  }
}

/** `--strategy changes`: the source's captured changes, not the whole source. */
async function runChanges(
  [sourceImporter, targetImporter]: [Importer, Importer],
  args: string[],
  sync: ReturnType<typeof syncOptions>,
  ctx: { options: OpenOptions; sourceName: string },
) {
  if (!isCaptureImporter(sourceImporter)) {
    throw new UsageError(
      `--strategy changes: ${sourceImporter.name} cannot capture changes`,
      `change capture works on tables of: ${captureAdapters()}`,
    );
  }
  if (ctx.options.where !== undefined) {
    throw new UsageError("--strategy changes reads the captured keys: it takes no --where");
  }
  const result = await openAndSyncChanges(
    () => sourceImporter.openCapture(args[0], ctx),
    () => openAsTarget(targetImporter, args[1], ctx),
    sync,
  );
  if (result.exitCode) exitCode = result.exitCode;
}

async function runApply(adapter: string, locator: string, planPath: string, options: OpenOptions) {
  const started = performance.now();
  const importer = findImporter(adapter);
  if (!importer?.openTarget) {
    throw new UsageError(
      `apply: '${adapter}' is not a target adapter`,
      `targets: ${listImporters().filter((i) => i.openTarget).map((i) => i.name).join(", ")}`,
    );
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(planPath)?.[1];
  const feedImporter = scheme ? findImporter(scheme) : undefined;
  if (feedImporter?.openChangeFeed) {
    await runApplyFeed(
      feedImporter.openChangeFeed,
      importer.openTarget,
      locator,
      planPath,
      options,
    );
    return;
  }
  const label = planPath === "-" ? "stdin" : planPath;
  const lines = await readPlan(readLines(await openText(planPath), label), label);
  const target = await openAsTarget(importer, locator, { options });
  try {
    const result = await applyPlan(target, lines, label, {
      force: options.force === true,
      limits: limitOptions(options),
    });
    if (!options.quiet) {
      for (const conflict of result.conflicts) {
        console.error(`dsync: forced past conflict: ${conflict}`);
      }
      console.error(summaryLine({
        source: label,
        target: target.label,
        create: result.plan.creates.length,
        update: result.plan.updates.length,
        delete: result.plan.deletes.length,
        skipped: { create: 0, update: 0, delete: 0 },
        dryRun: false,
        seconds: (performance.now() - started) / 1000,
      }));
    }
  } finally {
    await target.close();
  }
}

/** `dsync apply TGT TARGET nats://…`: the change feed applied batch by batch, acked after commit. */
async function runApplyFeed(
  openFeed: NonNullable<Importer["openChangeFeed"]>,
  openTarget: NonNullable<Importer["openTarget"]>,
  locator: string,
  feedLocator: string,
  options: OpenOptions,
) {
  const started = performance.now();
  const probe = await openTarget(locator, { options });
  const consumer = probe.label;
  await probe.close();
  const feed = await openFeed(feedLocator, { options, consumer });
  try {
    const totals = await applyFeed(feed, () => openTarget(locator, { options }), {
      force: options.force === true,
      limits: limitOptions(options),
    });
    if (!options.quiet) {
      console.error(
        summaryLine({
          source: feed.label,
          target: totals.target || consumer,
          create: totals.create,
          update: totals.update,
          delete: totals.delete,
          skipped: { create: 0, update: 0, delete: 0 },
          dryRun: false,
          seconds: (performance.now() - started) / 1000,
        }) +
          `  (${totals.acked} acked${totals.skipped ? `, ${totals.skipped} applied already` : ""})`,
      );
    }
  } finally {
    await feed.close();
  }
}

/** Every name an adapter answers to: names and aliases. */
function adapterNames(): string[] {
  return listImporters().flatMap((i) => [i.name, ...(i.aliases ?? [])]);
}

/** `cvs:sqlite`: which side is unknown, and the pair it probably meant. */
function unknownAdapterIn(pair: string): UsageError {
  const [sourceName, targetName] = pair.split(":");
  const names = adapterNames();
  const unknown = findImporter(sourceName) ? targetName : sourceName;
  const fix = (name: string) => findImporter(name) ? name : closest(name, names);
  const [s, t] = [fix(sourceName), fix(targetName)];
  return new UsageError(
    `unknown adapter '${unknown}' in '${pair}'`,
    s && t
      ? `did you mean ${s}:${t}? (adapters: dsync adapters)`
      : `adapters: ${listImporters().map((i) => i.name).join(", ")} (see: dsync adapters)`,
  );
}

/** A command name that is neither a command nor a pair, with the nearest of either. */
function unknownCommand(name: string): UsageError {
  const known = [...buildProgram(runPair).commands.map((c) => c.name()), ...adapterNames()];
  const near = name.includes(":") ? undefined : closest(name, known);
  return new UsageError(
    `unknown command '${name}'`,
    near ? `did you mean ${near}?` : "see: dsync --help",
  );
}

let exitCode = 0;

/** How long the work may take to unwind after SIGINT/SIGTERM before the exit is forced. */
const SIGNAL_GRACE_MS = 3000;

/**
 * SIGINT/SIGTERM: the run unwinds at its next check (transactions roll back, temporary files
 * go) and {@linkcode runCli} reports one line; when it does not within the grace time (a query
 * waiting on the network), temporary files are removed and the process exits — an open
 * transaction then ends with the connection (PostgreSQL) or the journal (SQLite).
 */
function listenForSignals(): () => void {
  const listeners = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const listener = () => {
      if (interruptedBy()) return;
      // --watch: the first signal ends the watch after the running round (exit 0).
      if (requestStop(signal)) return;
      interrupt(signal);
      setTimeout(() => {
        runCleanups();
        console.error(interruptedLine(signal));
        Deno.exit(SIGNAL_EXIT_CODES[signal]);
      }, SIGNAL_GRACE_MS);
    };
    Deno.addSignalListener(signal, listener);
    return () => Deno.removeSignalListener(signal, listener);
  });
  return () => listeners.forEach((remove) => remove());
}

function interruptedLine(signal: string): string {
  return `dsync: interrupted by ${signal}; rolled back, nothing written`;
}

/** Runs dsync with `args` (without the program name) and returns the exit code. */
export async function runCli(args: string[]): Promise<number> {
  exitCode = 0;
  const stopListening = listenForSignals();
  try {
    const code = await runCommand(args);
    const signal = interruptedBy();
    if (signal && code === 0) {
      console.error(`dsync: interrupted by ${signal} after the changes were written`);
      return SIGNAL_EXIT_CODES[signal];
    }
    return code;
  } finally {
    stopListening();
  }
}

async function runCommand(args: string[]): Promise<number> {
  const verbose = args.includes("-v") || args.includes("--verbose");
  try {
    const first = args[0] ?? "";
    if (/^[^-][^:]*:[^:]*$/.test(first) && !listPairs().includes(first)) {
      const [s, t] = first.split(":").map((n) => findImporter(n));
      if (s && t) args = [`${s.name}:${t.name}`, ...args.slice(1)];
      else throw unknownAdapterIn(first);
      if (!listPairs().includes(args[0])) {
        throw new UsageError(`'${first}': ${s.name} cannot be a source or ${t.name} a target`);
      }
    }
    const adapter = findImporter(first);
    if (adapter && !first.includes(":")) {
      const other = adapter.name === "sqlite" ? "csv" : "sqlite";
      const pairs = [
        adapter.openSource && `dsync ${adapter.name}:${other}`,
        adapter.openTarget && `dsync ${other}:${adapter.name}`,
      ].filter(Boolean);
      throw new UsageError(
        `'${first}' is an adapter; a sync names two, SRC:TGT`,
        `e.g. ${pairs.join(" or ")} (see: dsync adapters)`,
      );
    }
    await buildProgram(runPair).parseAsync(args, { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    const signal = interruptedBy();
    if (signal) {
      // Whatever failed did so because the run was stopped: one line, the signal's exit code.
      console.error(interruptedLine(signal));
      if (verbose) console.error((error as Error)?.stack);
      return SIGNAL_EXIT_CODES[signal];
    }
    if (error instanceof DsyncError) {
      console.error(`dsync: ${error.message}`);
      if (error.hint) console.error(`  ${error.hint}`);
      if (verbose) console.error(error.stack);
      return error.exitCode;
    }
    if ((error as { code?: string })?.code === "ENOSPC") {
      // Not a target write (those are TargetErrors): the engine's temporary files.
      const folder = Deno.env.get("TMPDIR") || "/tmp";
      console.error(`dsync: no space left for temporary files in ${folder}; nothing written`);
      console.error("  set TMPDIR to a folder with more room");
      return 4;
    }
    console.error(`dsync: ${(error as Error)?.message ?? error}`);
    if (verbose) console.error((error as Error)?.stack);
    return 2;
  }
}
