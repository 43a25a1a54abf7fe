/**
 * The exit code a command's action leaves: commander's actions return nothing, so the action
 * records it here and {@linkcode exitCode} is what `runCli` returns.
 *
 * @module
 */

let code = 0;

/** Records `value` as the exit code of the running command. */
export function setExitCode(value: number): void {
  code = value;
}

/** The exit code the running command recorded (0 when it recorded none). */
export function exitCode(): number {
  return code;
}
