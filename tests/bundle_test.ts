/** The one-file bundle (`deno task bundle` → dist/dsync.js) runs a real sync offline. */
import { assertEquals } from "./assert.ts";
import { dsync, parseNdjson, ROOT, sqliteRows, tempDir } from "./helpers.ts";

Deno.test("deno bundle gives dist/dsync.js, which syncs CSV from stdin into SQLite", async () => {
  await using dir = await tempDir();
  const out = `${dir.path}/dsync.js`;
  const bundle = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform", "deno", "-o", out, "main.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(bundle.code, 0, new TextDecoder().decode(bundle.stderr));
  const csv = await Deno.readTextFile(`${ROOT}samples/users.csv`);
  const r = await dsync(["csv:sqlite", "-", "demo.db#users"], {
    cwd: dir.path,
    stdin: csv,
    script: out,
  });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(parseNdjson(r.stdout).length, csv.trim().split("\n").length - 1);
  assertEquals(
    sqliteRows(`${dir.path}/demo.db`, "users").length,
    csv.trim().split("\n").length - 1,
  );
});
