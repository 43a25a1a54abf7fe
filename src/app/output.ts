/**
 * The change set as users see it: NDJSON (one change per line), JSON, or a summary; and the
 * one-line summary for stderr.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import type { WritePlan } from "../adapter_kit/changes.ts";
 * import { type Summary, summaryLine, writeChanges } from "./output.ts";
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
 * const summary: Summary = {
 *   source: "users.csv",
 *   target: "sqlite:app.db#users",
 *   create: 1,
 *   update: 0,
 *   delete: 1,
 *   skipped: { create: 0, update: 0, delete: 0 },
 *   dryRun: true,
 *   seconds: 0.25,
 * };
 * let text = "";
 * const out = new WritableStream<Uint8Array>({
 *   write: (bytes) => void (text += new TextDecoder().decode(bytes)),
 * }).getWriter();
 * await writeChanges(plan, "ndjson", summary, out);
 * strictEqual(
 *   text,
 *   '{"op":"create","key":{"id":2},"after":{"id":2,"name":"Rob"}}\n' +
 *     '{"op":"delete","key":{"id":3},"before":{"id":3,"name":"Eve"}}\n',
 * );
 * strictEqual(summaryLine(summary).split("  ")[0], "users.csv → sqlite:app.db#users");
 * ```
 * @module
 */
import { streamTextWriter } from "../adapter_kit/text_writer.ts";
import { changeObject, planChanges, type WritePlan } from "../adapter_kit/changes.ts";
import { stringifyJsonExact } from "../model/values.ts";

/** Output formats of the change set. */
export type OutputFormat = "ndjson" | "json" | "summary";

/** The numbers of one run. */
export interface Summary {
  source: string;
  target: string;
  create: number;
  update: number;
  delete: number;
  skipped: { create: number; update: number; delete: number };
  dryRun: boolean;
  seconds: number;
}

/** Every change of the plan in SPEC.md order: creates, updates, deletes, each by key. */
export function* planChangeObjects(plan: WritePlan): Generator<Record<string, unknown>> {
  for (const change of planChanges(plan)) yield changeObject(change, plan);
}

/** Writes the change set in `format` to `out`, in chunks, closing nothing. */
export async function writeChanges(
  plan: WritePlan,
  format: OutputFormat,
  summary: Summary,
  out: WritableStreamDefaultWriter<Uint8Array>,
): Promise<void> {
  const text = streamTextWriter(out);
  if (format === "summary") {
    await text.write(JSON.stringify(summaryObject(summary)) + "\n");
    return await text.flush();
  }
  if (format === "json") {
    await text.write(`{"summary":${JSON.stringify(summaryObject(summary))},"changes":[`);
  }
  let first = true;
  for (const change of planChangeObjects(plan)) {
    const line = stringifyJsonExact(change);
    await text.write(format === "json" ? (first ? "\n" : ",\n") + line : line + "\n");
    first = false;
  }
  if (format === "json") await text.write("\n]}\n");
  await text.flush();
}

function summaryObject(s: Summary) {
  return {
    source: s.source,
    target: s.target,
    create: s.create,
    update: s.update,
    delete: s.delete,
    skipped: s.skipped,
    dry_run: s.dryRun,
    seconds: Math.round(s.seconds * 1000) / 1000,
  };
}

/** The one-line summary for stderr: `users.csv → sqlite:dsync.db#users  +12 ~3 -0  1.2 s`. */
export function summaryLine(s: Summary): string {
  const skipped: string[] = [];
  const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;
  if (s.skipped.create) skipped.push(`${count(s.skipped.create, "create")} skipped: --no-create`);
  if (s.skipped.update) skipped.push(`${count(s.skipped.update, "update")} skipped: --no-update`);
  if (s.skipped.delete) skipped.push(`${count(s.skipped.delete, "delete")} skipped: no --delete`);
  return `${s.source} → ${s.target}  +${s.create} ~${s.update} -${s.delete}` +
    (skipped.length ? ` (${skipped.join("; ")})` : "") +
    `  ${s.seconds.toFixed(1)} s` + (s.dryRun ? "  (dry run: nothing written)" : "");
}
