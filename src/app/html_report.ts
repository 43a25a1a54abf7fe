/**
 * `--format html`: the plan as one self-contained HTML page (inline CSS, no script, nothing
 * fetched) — the summary, how many changes touch each column, and the changes in a grid where an
 * update's changed cells show `old → new`, as daff does for tables.
 *
 * @example
 * ```ts ignore
 * await writeHtmlReport(plan.write, summary, Deno.stdout.writable.getWriter());
 * ```
 * @module
 */
import { streamTextWriter } from "../adapter_kit/text_writer.ts";
import type { WritePlan } from "../adapter_kit/changes.ts";
import { planChangeObjects, runTitle, type Summary, summaryObject } from "./output.ts";

/** Rows shown in the grid; the rest are counted (the NDJSON change set has them all). */
export const HTML_ROWS = 10_000;

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1f2328; }
h1 { font-size: 20px; margin: 0 0 4px; }
.sub { color: #59636e; margin-bottom: 16px; }
.counts span { display: inline-block; margin-right: 16px; font-size: 18px; font-weight: 600; }
.create { color: #1a7f37; } .update { color: #9a6700; } .delete { color: #cf222e; }
table { border-collapse: collapse; margin: 12px 0 24px; }
th, td { border: 1px solid #d1d9e0; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; position: sticky; top: 0; }
tr.create td { background: #dafbe1; } tr.delete td { background: #ffebe9; }
tr.delete td.v { text-decoration: line-through; color: #59636e; }
td.changed { background: #fff8c5; } td.changed del { color: #cf222e; }
td.changed ins { color: #1a7f37; text-decoration: none; font-weight: 600; }
td.null { color: #8c959f; font-style: italic; }
td.op { font-weight: 600; white-space: nowrap; }
`;

function escape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/** A value as a cell shows it: text as it is, NULL marked, anything else as JSON. */
function show(value: unknown): string {
  if (value === null) return "NULL";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function cell(value: unknown, className = "v"): string {
  if (value === undefined) return "<td></td>";
  return `<td class="${value === null ? `${className} null` : className}">${
    escape(show(value))
  }</td>`;
}

/** Per field: how many updates change it. */
function changedCounts(plan: WritePlan): Map<string, number> {
  const counts = new Map(plan.fields.map((f) => [f.name, 0]));
  for (const update of plan.updates) {
    for (const i of update.changed) {
      const name = plan.fields[i].name;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
  }
  return counts;
}

/** Writes the report to `out`, in chunks, closing nothing. */
export async function writeHtmlReport(
  plan: WritePlan,
  summary: Summary,
  out: WritableStreamDefaultWriter<Uint8Array>,
): Promise<void> {
  const text = streamTextWriter(out);
  const s = summaryObject(summary);
  const keyNames = plan.keyIndexes.map((i) => plan.fields[i].name);
  const columns = plan.fields.map((f) => f.name).filter((n) => !keyNames.includes(n));
  const total = summary.create + summary.update + summary.delete;
  const title = runTitle(summary);
  await text.write(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dsync: ${escape(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escape(title)}</h1>
<div class="sub">${escape(String(s.timestamp))} · ${
    summary.dryRun ? "dry run: nothing written" : "applied"
  } · ${summary.seconds.toFixed(1)} s</div>
<div class="counts" id="summary"><span class="create">+${summary.create} create</span><span class="update">~${summary.update} update</span><span class="delete">-${summary.delete} delete</span>${
    summary.skipped.delete ? `<span>${summary.skipped.delete} deletes skipped</span>` : ""
  }</div>
<h2>Changes per column</h2>
<table id="columns"><tr><th>column</th><th>updates</th></tr>
`);
  for (const [name, count] of changedCounts(plan)) {
    if (keyNames.includes(name)) continue;
    await text.write(`<tr><td>${escape(name)}</td><td>${count}</td></tr>\n`);
  }
  await text.write(`</table>
<h2>Changes</h2>
<table id="changes"><thead><tr><th>op</th>${
    [...keyNames, ...columns].map((n) => `<th>${escape(n)}</th>`).join("")
  }</tr></thead><tbody>
`);
  let shown = 0;
  for (const change of planChangeObjects(plan)) {
    if (shown === HTML_ROWS) break;
    shown++;
    const { op, key } = change;
    let row = `<tr class="${op}" data-op="${op}"><td class="op">${
      op === "create" ? "+" : op === "update" ? "~" : "-"
    } ${op}</td>`;
    row += keyNames.map((n) => cell(key[n], "key")).join("");
    for (const name of columns) {
      if (change.op === "update") {
        row += name in change.before
          ? `<td class="changed"><del>${escape(show(change.before[name]))}</del> → <ins>${
            escape(show(change.after[name]))
          }</ins></td>`
          : "<td></td>";
      } else row += cell((change.op === "create" ? change.after : change.before)[name]);
    }
    await text.write(row + "</tr>\n");
  }
  await text.write("</tbody></table>\n");
  if (shown < total) {
    await text.write(
      `<p id="more">… and ${total - shown} more (--format ndjson for the whole change set)</p>\n`,
    );
  }
  await text.write("</body></html>\n");
  await text.flush();
}
