/**
 * Deterministic test data: `deno run -A scripts/gen_data.ts ROWS FILE.csv [--seed N] [--changed
 * PCT]`. Columns: id, name (quotes, commas, unicode), email, amount (decimal), qty, created
 * (date), active (boolean), note (text or empty). With --changed, writes the "next version" of the
 * same data: PCT % of rows updated, PCT/2 % deleted and PCT/2 % new rows appended.
 *
 * @example
 * ```sh
 * deno run -A scripts/gen_data.ts 1000000 /tmp/1m.csv
 * deno run -A scripts/gen_data.ts 1000000 /tmp/1m-next.csv --changed 1
 * ```
 * @module
 */
import { parseArgs } from "node:util";

/** Writes `rows` generated records to `path`; see the module doc for the columns. */
export async function generateCsv(
  rows: number,
  path: string,
  options: { seed?: number; changedPercent?: number; columns?: number; changedRows?: number } = {},
): Promise<void> {
  let state = options.seed ?? 42;
  const random = () => (state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff);
  const changed = options.changedPercent ?? 0;
  const extra = Math.max(0, (options.columns ?? 8) - 8);
  const extraHeader = Array.from({ length: extra }, (_, i) => `,c${i + 9}`).join("");
  const extraCells = (r: number) =>
    Array.from({ length: extra }, (_, i) => `,x${(r >> i) % 1000}`).join("");
  const touched = new Set<number>();
  for (let k = 1; k <= (options.changedRows ?? 0); k++) {
    touched.add(Math.floor((k * rows) / ((options.changedRows ?? 0) + 1)));
  }
  const every = changed > 0 ? Math.round(100 / changed) : 0;
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  let chunk = `id,name,email,amount,qty,created,active,note${extraHeader}\n`;
  const line = (i: number, r: number, version: number) =>
    `${i},"Name ${r % 9973}, ${
      ["Jr.", "Zoë", 'the ""Boss""', "李"][r % 4]
    }",user${i}@example.org,` +
    `${(r % 1000000) / 100 + version},${r % 50},2024-${String(1 + (r % 12)).padStart(2, "0")}-${
      String(1 + (r % 28)).padStart(2, "0")
    },${r % 2 ? "true" : "false"},${r % 5 ? `"note ${r % 7}"` : ""}${extraCells(r)}\n`;
  for (let i = 1; i <= rows; i++) {
    const r = random();
    if (every && i % (every * 2) === 0) continue;
    chunk += line(i, r, (every && i % every === 1) || touched.has(i) ? 1 : 0);
    if (chunk.length > 1 << 20) {
      await file.write(encoder.encode(chunk));
      chunk = "";
    }
  }
  for (let i = 1; every && i <= Math.floor(rows / every / 2); i++) {
    chunk += line(rows + i, random(), 0);
  }
  await file.write(encoder.encode(chunk));
  file.close();
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      seed: { type: "string" },
      changed: { type: "string" },
      "changed-rows": { type: "string" },
      columns: { type: "string" },
    },
  });
  const [rows, path] = positionals;
  if (!rows || !path) {
    console.error(
      "usage: gen_data.ts ROWS FILE.csv [--seed N] [--changed PCT] [--changed-rows N] [--columns N]",
    );
    Deno.exit(2);
  }
  await generateCsv(Number(rows), path, {
    seed: Number(values.seed ?? 42),
    changedPercent: Number(values.changed ?? 0),
    changedRows: Number(values["changed-rows"] ?? 0),
    columns: Number(values.columns ?? 8),
  });
}
