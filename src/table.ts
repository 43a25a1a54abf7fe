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
import type { WritePlan } from "./plan.ts";
import { planChangeObjects } from "./output.ts";

const WIDTH = 60;

function show(value: unknown): string {
  const text = value === null ? "NULL" : JSON.stringify(value);
  return text.length > WIDTH ? text.slice(0, WIDTH - 1) + "…" : text;
}

/** Writes the plan as readable text blocks. */
export async function writeTable(
  plan: WritePlan,
  out: WritableStreamDefaultWriter<Uint8Array>,
): Promise<void> {
  const colour = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
  const paint = (code: number, text: string) => colour ? `\x1b[${code}m${text}\x1b[0m` : text;
  const encoder = new TextEncoder();
  let chunk = "";
  for (const change of planChangeObjects(plan)) {
    const key = Object.entries(change.key as Record<string, unknown>).map(([k, v]) =>
      `${k}=${show(v)}`
    ).join(" ");
    const before = change.before as Record<string, unknown> | undefined;
    const after = change.after as Record<string, unknown> | undefined;
    const fields = Object.keys(after ?? before ?? {});
    const pad = Math.max(...fields.map((f) => f.length), 1);
    if (change.op === "create") {
      chunk += paint(32, `+ create ${key}`) + "\n";
      for (const f of fields) chunk += `    ${f.padEnd(pad)}  ${show(after![f])}\n`;
    } else if (change.op === "update") {
      chunk += paint(33, `~ update ${key}`) + "\n";
      for (const f of fields) {
        chunk += `    ${f.padEnd(pad)}  ${paint(31, show(before![f]))} → ${
          paint(32, show(after![f]))
        }\n`;
      }
    } else {
      chunk += paint(31, `- delete ${key}`) + "\n";
      for (const f of fields) chunk += `    ${f.padEnd(pad)}  ${show(before![f])}\n`;
    }
    if (chunk.length > 65536) {
      await out.write(encoder.encode(chunk));
      chunk = "";
    }
  }
  if (chunk) await out.write(encoder.encode(chunk));
}
