/**
 * The change set for a person: one block per change, `old → new` for updates, colours when the
 * stream written gets them, lines as wide as the terminal (long values cut with an ellipsis),
 * and on a terminal at most a screenful of changes, then how many more and how to see them all.
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
 * await writeTable(plan, out, { colour: false, width: 80 });
 * strictEqual(
 *   text,
 *   "+ create id=2\n    id    2\n    name  \"Rob\"\n" +
 *     "- delete id=3\n    id    3\n    name  \"Eve\"\n",
 * );
 * ```
 * @module
 */
import { streamTextWriter } from "../adapter_kit/text_writer.ts";
import type { WritePlan } from "../adapter_kit/changes.ts";
import { planChangeObjects } from "./output.ts";

/** Changes shown on a terminal before the rest is only counted. */
export const TERMINAL_CHANGES = 20;

/** How the table is drawn. */
export interface TableOptions {
  /** ANSI colours: green creates, yellow updates, red deletes and old values. */
  colour: boolean;
  /** Columns per line (at least 40 are used). */
  width: number;
  /** At most this many changes, then a line counting the others; absent: all. */
  limit?: number;
}

function show(value: unknown, width: number): string {
  const text = value === null ? "NULL" : JSON.stringify(value);
  return text.length > width ? text.slice(0, Math.max(1, width - 1)) + "…" : text;
}

/** `199980` as `199,980`. */
function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** Writes the plan as readable text blocks. */
export async function writeTable(
  plan: WritePlan,
  out: WritableStreamDefaultWriter<Uint8Array>,
  options: TableOptions,
): Promise<void> {
  const width = Math.max(40, options.width);
  const paint = (code: number, text: string) =>
    options.colour ? `\x1b[${code}m${text}\x1b[0m` : text;
  const text = streamTextWriter(out);
  let shown = 0;
  for (const change of planChangeObjects(plan)) {
    if (options.limit !== undefined && shown === options.limit) {
      const total = plan.creates.length + plan.updates.length + plan.deletes.length;
      await text.write(
        `… and ${count(total - shown)} more (-o plan.ndjson or --format ndjson for all)\n`,
      );
      break;
    }
    shown++;
    const keyText = Object.entries(change.key).map(([k, v]) => `${k}=${show(v, width)}`).join(" ");
    const key = keyText.length > width - 10 ? keyText.slice(0, width - 11) + "…" : keyText;
    const fields = Object.keys(change.op === "delete" ? change.before : change.after);
    const pad = Math.min(Math.max(...fields.map((f) => f.length), 1), 24);
    const room = width - 6 - pad;
    const name = (f: string) => (f.length > pad ? f.slice(0, pad - 1) + "…" : f.padEnd(pad));
    let block: string;
    if (change.op === "create") {
      block = paint(32, `+ create ${key}`) + "\n";
      for (const f of fields) block += `    ${name(f)}  ${show(change.after[f], room)}\n`;
    } else if (change.op === "update") {
      block = paint(33, `~ update ${key}`) + "\n";
      const half = Math.floor((room - 3) / 2);
      for (const f of fields) {
        const [before, after] = [show(change.before[f], half), show(change.after[f], half)];
        block += `    ${name(f)}  ${paint(31, before)} → ${paint(32, after)}\n`;
      }
    } else {
      block = paint(31, `- delete ${key}`) + "\n";
      for (const f of fields) block += `    ${name(f)}  ${show(change.before[f], room)}\n`;
    }
    await text.write(block);
  }
  await text.flush();
}
