/**
 * The change set for a person: one block per change, old → new for updates, colours on a
 * terminal (none with `NO_COLOR` or in a pipe), long values cut with an ellipsis.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import type { WritePlan } from "../adapter_kit/changes.ts";
 * import { writeTable } from "./table.ts";
 * const plan: WritePlan = {
 *   fields: [{ name: "id", type: "integer" }, { name: "name", type: "text" }],
 *   keyIndexes: [0],
 *   createTarget: false,
 *   creates: [{ op: "create", key: [2], keyText: "2", after: [2, "Rob"] }],
 *   updates: [],
 *   deletes: [{ op: "delete", key: [3], keyText: "3", before: [3, "Eve"] }],
 *   targetKey: (row) => String(row[0]),
 *   targetIndexes: [0, 1],
 * };
 * let text = "";
 * const out = new WritableStream<Uint8Array>({
 *   write: (bytes) => void (text += new TextDecoder().decode(bytes)),
 * }).getWriter();
 * await writeTable(plan, out);
 * strictEqual(
 *   text.replace(/\x1b\[\d+m/g, ""), // colours, when stdout is a terminal
 *   "+ create id=2\n    id    2\n    name  \"Rob\"\n" +
 *     "- delete id=3\n    id    3\n    name  \"Eve\"\n",
 * );
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
