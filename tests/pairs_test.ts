/**
 * Every pair among csv, ndjson, json and sqlite: first run loads, second run changes nothing,
 * a modified source yields exactly the expected changes, and afterwards the target holds what
 * the source holds — read back with the datastore itself, not with dsync.
 */
import { assertEquals } from "./assert.ts";
import { DatabaseSync } from "node:sqlite";
import { checksum, dsync, parseCsvSimple, parseNdjson, sqliteRows, tempDir } from "./helpers.ts";

type Rec = { id: number; name: string; score: number };

const ORIGINAL: Rec[] = [
  { id: 1, name: "Ann", score: 1.5 },
  { id: 2, name: 'Bob "the builder", Jr.', score: 20 },
  { id: 3, name: "Zoë\nnew line", score: -3.25 },
  { id: 10, name: "Ten", score: 0 },
];
const MODIFIED: Rec[] = [
  { id: 1, name: "Ann", score: 1.5 },
  { id: 2, name: "Bob", score: 20 },
  { id: 3, name: "Zoë\nnew line", score: -3.25 },
  { id: 11, name: "Eleven", score: 11.125 },
];

const EXT: Record<string, string> = { csv: "csv", ndjson: "ndjson", json: "json", sqlite: "db" };

function csvCell(v: unknown): string {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

async function writeSource(kind: string, path: string, recs: Rec[]): Promise<string> {
  switch (kind) {
    case "csv":
      await Deno.writeTextFile(
        path,
        "id,name,score\n" +
          recs.map((r) => [r.id, r.name, r.score].map(csvCell).join(",")).join("\n") +
          "\n",
      );
      return path;
    case "ndjson":
      await Deno.writeTextFile(path, recs.map((r) => JSON.stringify(r)).join("\n") + "\n");
      return path;
    case "json":
      await Deno.writeTextFile(path, JSON.stringify(recs, null, 1));
      return path;
    default: {
      await Deno.remove(path).catch(() => {});
      const db = new DatabaseSync(path);
      db.exec("CREATE TABLE recs (id INTEGER PRIMARY KEY, name TEXT, score REAL)");
      const insert = db.prepare("INSERT INTO recs VALUES (?, ?, ?)");
      for (const r of recs) insert.run(r.id, r.name, r.score);
      db.close();
      return `${path}#recs`;
    }
  }
}

/** The target's records as sorted `id|name|score` strings, read without dsync. */
async function readTarget(kind: string, path: string): Promise<string[]> {
  let recs: Record<string, unknown>[];
  switch (kind) {
    case "csv": {
      const [header, ...rows] = parseCsvSimple(await Deno.readTextFile(path));
      recs = rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
      break;
    }
    case "ndjson":
      recs = parseNdjson(await Deno.readTextFile(path));
      break;
    case "json":
      recs = JSON.parse(await Deno.readTextFile(path));
      break;
    default:
      recs = sqliteRows(path, "recs", "id");
  }
  return recs.map((r) => `${Number(r.id)}|${r.name}|${Number(r.score)}`).sort();
}

const expected = (recs: Rec[]) => recs.map((r) => `${r.id}|${r.name}|${r.score}`).sort();
/** A change with every value as text: CSV-to-CSV plans carry the source's own text. */
function textValues(change: Record<string, unknown>): unknown {
  return JSON.parse(JSON.stringify(change, (_k, v) => typeof v === "number" ? String(v) : v));
}

const KINDS = ["csv", "ndjson", "json", "sqlite"];

for (const source of KINDS) {
  for (const target of KINDS) {
    Deno.test(`${source}:${target} loads, is idempotent, applies exactly the changes`, async () => {
      await using dir = await tempDir();
      const src = await writeSource(source, `${dir.path}/in.${EXT[source]}`, ORIGINAL);
      const tgtFile = `${dir.path}/out.${EXT[target]}`;
      const tgt = target === "sqlite" ? `${tgtFile}#recs` : tgtFile;
      const pair = `${source}:${target}`;

      const first = await dsync([pair, src, tgt, "--key", "id"]);
      assertEquals(first.code, 0, first.stderr);
      const creates = parseNdjson(first.stdout);
      assertEquals(creates.map((c) => c.op), ["create", "create", "create", "create"]);
      assertEquals(creates.map((c) => Number((c.key as { id: unknown }).id)), [1, 2, 3, 10]);
      assertEquals(await readTarget(target, tgtFile), expected(ORIGINAL));

      const sum = await checksum(tgtFile);
      const second = await dsync([pair, src, tgt, "--key", "id"]);
      assertEquals(second.code, 0, second.stderr);
      assertEquals(second.stdout, "");
      assertEquals(second.stderr.includes("+0 ~0 -0"), true, second.stderr);
      assertEquals(await checksum(tgtFile), sum);

      await writeSource(source, `${dir.path}/in.${EXT[source]}`, MODIFIED);
      const plan = await dsync([pair, src, tgt, "--key", "id", "--delete", "-n"]);
      assertEquals(plan.code, 0, plan.stderr);
      assertEquals(
        parseNdjson(plan.stdout).map(textValues),
        [
          { op: "create", key: { id: 11 }, after: { id: 11, name: "Eleven", score: 11.125 } },
          {
            op: "update",
            key: { id: 2 },
            before: { name: 'Bob "the builder", Jr.' },
            after: { name: "Bob" },
          },
          { op: "delete", key: { id: 10 }, before: { id: 10, name: "Ten", score: 0 } },
        ].map(textValues),
      );
      assertEquals(await checksum(tgtFile), sum, "dry run changed the target");

      const applied = await dsync([pair, src, tgt, "--key", "id", "--delete"]);
      assertEquals(applied.code, 0, applied.stderr);
      assertEquals(await readTarget(target, tgtFile), expected(MODIFIED));
      const again = await dsync([pair, src, tgt, "--key", "id", "--delete"]);
      assertEquals(again.stdout, "", again.stderr);
    });
  }
}
