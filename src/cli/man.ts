/**
 * The man page, `dsync(1)`, in roff, built from the same definitions as `--help`: the commands,
 * the common options, the adapters and their options, the environment and the exit codes.
 *
 * @example
 * ```sh
 * dsync help --man | man -l -
 * ```
 * @module
 */
import type { Command } from "commander";
import { listImporters } from "../app/registry.ts";
import { adapterList, COMMANDS, ENVIRONMENT, EXAMPLES, EXIT_CODES } from "./help.ts";
import { VERSION } from "./version.ts";

/** Escapes text for roff: backslashes, and a leading dot or quote. */
function roff(text: string): string {
  return text.replaceAll("\\", "\\e").replaceAll("-", "\\-").replace(/^([.'])/, "\\&$1");
}

function item(term: string, text: string): string {
  return `.TP\n.B ${roff(term)}\n${roff(text)}\n`;
}

/** The roff source of dsync(1); `program` gives the common options of the pair commands. */
export function manPage(program: Command): string {
  const pair = program.commands.find((c) => c.name().includes(":"));
  const options = pair?.options ?? [];
  const adapters = listImporters().map((i) =>
    item(
      i.name + (i.aliases?.length ? ` (${i.aliases.join(", ")})` : ""),
      `${i.description}. Locator: ${i.locator}.`,
    ) + i.options.map((o) =>
      `.RS\n.TP\n.B ${roff(o.flags)}\n${roff(o.description)}\n.RE\n`
    ).join("")
  ).join("");
  return `.TH DSYNC 1 "" "dsync ${VERSION}" "User Commands"
.SH NAME
dsync \\- keep a target in step with a source: diff by key, then apply safely
.SH SYNOPSIS
${COMMANDS.map((c) => `.B dsync\n${roff(c.usage)}\n.br`).join("\n")}
.SH DESCRIPTION
dsync reads a source, reads the target, pairs records by key, and creates, updates and deletes
on the target until they agree, or prints the change set as NDJSON.
.SH COMMANDS
${COMMANDS.map((c) => item(`dsync ${c.usage}`, c.description)).join("")}.SH PAIRS
Any of ${roff(adapterList())} as SRC:TGT.
.SH OPTIONS
${options.map((o) => item(o.flags, o.description)).join("")}.SH ADAPTERS
${adapters}.SH EXAMPLES
${EXAMPLES.map(([command, text]) => item(command, text)).join("")}.SH ENVIRONMENT
${ENVIRONMENT.map(([name, text]) => item(name, text)).join("")}.SH EXIT STATUS
${EXIT_CODES.map(([code, text]) => item(String(code), text)).join("")}.SH SEE ALSO
.BR sqlite3 (1),
.BR psql (1),
.BR jq (1)
`;
}
