/**
 * The change set for a person: one block per change, old → new for updates, colours on a
 * terminal (none with `NO_COLOR` or in a pipe), long values cut with an ellipsis.
 *
 * @example
 * ```ts
 * await writeTable(plan.write, Deno.stdout.writable.getWriter());
 * ```
 * @module
 */
import { streamTextWriter } from "../adapter_kit/text_writer.ts";
import type { WritePlan } from "../adapter_kit/changes.ts";
import { planChangeObjects } from "./output.ts";

/** Lines stay within this many columns (values are cut with an ellipsis). */
const WIDTH = 80;

function show(value: unknown, width = WIDTH): string {
  const text = value === null ? "NULL" : JSON.stringify(value);
  return text.length > width ? text.slice(0, Math.max(1, width - 1)) + "…" : text;
}

/** Writes the plan as readable text blocks. */
export async function writeTable(
  plan: WritePlan,
  out: WritableStreamDefaultWriter<Uint8Array>,
): Promise<void> {
  const colour = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
  const paint = (code: number, text: string) => colour ? `\x1b[${code}m${text}\x1b[0m` : text;
  const text = streamTextWriter(out);
  for (const change of planChangeObjects(plan)) {
    const keyText = Object.entries(change.key as Record<string, unknown>).map(([k, v]) =>
      `${k}=${show(v)}`
    ).join(" ");
    const key = keyText.length > WIDTH - 10 ? keyText.slice(0, WIDTH - 11) + "…" : keyText;
    const before = change.before as Record<string, unknown> | undefined;
    const after = change.after as Record<string, unknown> | undefined;
    const fields = Object.keys(after ?? before ?? {});
    const pad = Math.min(Math.max(...fields.map((f) => f.length), 1), 24);
    const room = WIDTH - 6 - pad;
    const name = (f: string) => (f.length > pad ? f.slice(0, pad - 1) + "…" : f.padEnd(pad));
    let block: string;
    if (change.op === "create") {
      block = paint(32, `+ create ${key}`) + "\n";
      for (const f of fields) block += `    ${name(f)}  ${show(after![f], room)}\n`;
    } else if (change.op === "update") {
      block = paint(33, `~ update ${key}`) + "\n";
      const half = Math.floor((room - 3) / 2);
      for (const f of fields) {
        const change = `${paint(31, show(before![f], half))} → ${paint(32, show(after![f], half))}`;
        block += `    ${name(f)}  ${change}\n`;
      }
    } else {
      block = paint(31, `- delete ${key}`) + "\n";
      for (const f of fields) block += `    ${name(f)}  ${show(before![f], room)}\n`;
    }
    await text.write(block);
  }
  await text.flush();
}
