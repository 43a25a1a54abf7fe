/** CSV files end to end: records that cross read-chunk boundaries. */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, parseNdjson, tempDir } from "./helpers.ts";

Deno.test("CSV files larger than one read chunk: quotes, CRLF and multi-byte text across chunk boundaries", async () => {
  await using dir = await tempDir();
  const rows = ["id,name,note"];
  const expected: Record<string, unknown>[] = [];
  let line = 2;
  const lines: number[] = [];
  for (let i = 1; i <= 20_000; i++) {
    const name = ["Zoë", "李雷", '"quoted, ""twice"""', "😀 x", "plain"][i % 5];
    const note = i % 7 === 0 ? '"two\r\nlines"' : i % 3 === 0 ? '""' : i % 4 === 0 ? "" : `n${i}`;
    rows.push(`${i},${name},${note}`);
    expected.push({
      id: i,
      name: name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name,
      note: note === "" ? null : note.startsWith('"') ? note.slice(1, -1) : note,
    });
    lines.push(line);
    line += note.includes("\n") ? 2 : 1;
  }
  const text = rows.join("\r\n") + "\r\n";
  assertEquals(new TextEncoder().encode(text).length > 3 * 65536, true);
  await Deno.writeTextFile(`${dir.path}/big.csv`, text);
  const r = await dsync(["csv:ndjson", "big.csv", "-"], { cwd: dir.path });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(parseNdjson(r.stdout), expected);
  // A ragged last row names its line, counting the multi-line cells before it.
  await Deno.writeTextFile(`${dir.path}/bad.csv`, text + "20001,x\r\n");
  const bad = await dsync(["csv:ndjson", "bad.csv", "-"], { cwd: dir.path });
  assertEquals(bad.code, 2, bad.stderr);
  assertMatch(
    bad.stderr,
    new RegExp(`bad\\.csv:${line}: malformed CSV: 2 fields where the header has 3`),
  );
  // Duplicate keys name the start lines of both records.
  await Deno.writeTextFile(`${dir.path}/dup.csv`, text + "7,again,x\r\n");
  const dup = await dsync(["csv:sqlite", "dup.csv", "t.db#t"], { cwd: dir.path });
  assertEquals(dup.code, 2, dup.stderr);
  assertMatch(dup.stderr, new RegExp(`id="?7"? at dup\\.csv:${lines[6]} and dup\\.csv:${line}`));
});

Deno.test("a file target that is a symlink stays a link; a named pipe is written through, not replaced", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/s.csv`, "id,name\n1,Ann\n2,Bob\n");
  await Deno.mkdir(`${dir.path}/real`);
  await Deno.writeTextFile(`${dir.path}/real/t.csv`, "id,name\n1,Old\n");
  await Deno.symlink("real/t.csv", `${dir.path}/link.csv`);
  const linked = await dsync(["csv:csv", "s.csv", "link.csv"], { cwd: dir.path });
  assertEquals(linked.code, 0, linked.stderr);
  assertEquals((await Deno.lstat(`${dir.path}/link.csv`)).isSymlink, true);
  assertEquals(await Deno.readTextFile(`${dir.path}/real/t.csv`), "id,name\n1,Ann\n2,Bob\n");

  const fifo = `${dir.path}/pipe.csv`;
  const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assertEquals(made.success, true);
  // A reader on the pipe, as `dsync ... pipe.csv` would have in a shell pipeline.
  const reader = new Deno.Command("cat", { args: [fifo], stdout: "piped" }).spawn();
  const piped = await dsync(["csv:csv", "s.csv", "pipe.csv"], { cwd: dir.path });
  const out = new TextDecoder().decode((await reader.output()).stdout);
  assertEquals(piped.code, 0, piped.stderr);
  assertEquals(out, "id,name\n1,Ann\n2,Bob\n");
  const info = await Deno.lstat(fifo);
  assertEquals(info.isFile, false, "the pipe is still a pipe");
});
