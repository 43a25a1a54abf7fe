/**
 * `dsync diff A B` (the changes that turn A into B) and `--format html`, the plan as a
 * self-contained page, rendered in headless Chromium: a screenshot is taken and the DOM holds the
 * rows.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { dsync, parseNdjson, ROOT, tempDir } from "./helpers.ts";

async function samples(dir: string) {
  for (const name of ["users.csv", "users2.csv"]) {
    await Deno.copyFile(`${ROOT}samples/${name}`, `${dir}/${name}`);
  }
}

Deno.test("diff A B is the dry run of B into A with deletes: exit 1 when they differ, 0 when not", async () => {
  await using dir = await tempDir();
  await samples(dir.path);
  const diff = await dsync(["diff", "users.csv", "users2.csv"], { cwd: dir.path });
  assertEquals(diff.code, 1, diff.stderr);
  assertMatch(diff.stderr, /^diff users\.csv → users2\.csv {2}\+1 ~2 -1 /);
  const same = await dsync(["csv:csv", "users2.csv", "users.csv", "-n", "--delete"], {
    cwd: dir.path,
  });
  assertEquals(diff.stdout, same.stdout);
  const ops = parseNdjson(diff.stdout).map((c) => `${c.op} ${JSON.stringify(c.key)}`);
  assertEquals(ops, [
    'create {"id":"6"}',
    'update {"id":"2"}',
    'update {"id":"5"}',
    'delete {"id":"3"}',
  ]);
  const update = parseNdjson(diff.stdout)[1];
  assertEquals([update.before, update.after], [{ email: "bob@example.org" }, {
    email: "bob@example.com",
  }]);
  const table = await dsync(["diff", "users.csv", "users2.csv", "--format", "table"], {
    cwd: dir.path,
  });
  assertMatch(table.stdout, /~ update id="2"\n\s+email\s+"bob@example\.org" → "bob@example\.com"/);
  // The JSON summary reads in the changes' direction too: they turn a into b.
  const summary = await dsync(["diff", "users.csv", "users2.csv", "--format", "summary"], {
    cwd: dir.path,
  });
  const line = JSON.parse(summary.stdout);
  assertEquals([line.a, line.b, line.source, line.target], [
    "users.csv",
    "users2.csv",
    "users2.csv",
    "users.csv",
  ]);
  assertEquals([line.create, line.update, line.delete, line.exit_code], [1, 2, 1, 1]);
  const json = await dsync(["diff", "users.csv", "users2.csv", "--format", "json"], {
    cwd: dir.path,
  });
  assertEquals([JSON.parse(json.stdout).summary.a, JSON.parse(json.stdout).summary.b], [
    "users.csv",
    "users2.csv",
  ]);
  const synced = await dsync(["csv:csv", "users2.csv", "users.csv", "-n", "--format", "summary"], {
    cwd: dir.path,
  });
  assertEquals("a" in JSON.parse(synced.stdout), false);
  const equal = await dsync(["diff", "users.csv", "users.csv"], { cwd: dir.path });
  assertEquals([equal.code, equal.stdout], [0, ""]);
  // Both files are untouched, and A and B can name their adapter.
  assertEquals(
    await Deno.readTextFile(`${dir.path}/users.csv`),
    await Deno.readTextFile(`${ROOT}samples/users.csv`),
  );
  await Deno.copyFile(`${dir.path}/users2.csv`, `${dir.path}/users2.txt`);
  const named = await dsync(["diff", "users.csv", "csv:users2.txt", "-q"], { cwd: dir.path });
  assertEquals([named.code, named.stdout], [1, diff.stdout]);
  const unknown = await dsync(["diff", "users.csv", "users2.txt"], { cwd: dir.path });
  assertEquals(unknown.code, 2);
  assertMatch(
    unknown.stderr,
    /cannot tell which adapter reads 'users2\.txt'\n {2}write it as ADAPTER:LOCATOR/,
  );
});

/** Headless Chromium with a throwaway profile, as root and offline. */
async function chromium(args: string[], profile: string) {
  const out = await new Deno.Command("chromium", {
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output().catch((error) => {
    throw new Error(`chromium is needed (apt-get install chromium): ${error.message}`);
  });
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
}

Deno.test("--format html: a self-contained report that Chromium renders with every change", async () => {
  await using dir = await tempDir();
  await samples(dir.path);
  const r = await dsync([
    "diff",
    "users.csv",
    "users2.csv",
    "--format",
    "html",
    "-o",
    "report.html",
  ], {
    cwd: dir.path,
  });
  assertEquals(r.code, 1, r.stderr);
  const html = await Deno.readTextFile(`${dir.path}/report.html`);
  assertMatch(html, /^<!DOCTYPE html>/);
  assertEquals(/<script|<link|src=|@import|url\(/.test(html), false, "nothing fetched");
  const screenshot = `${dir.path}/report.png`;
  const shot = await chromium(
    ["--window-size=1100,700", `--screenshot=${screenshot}`, `file://${dir.path}/report.html`],
    `${dir.path}/profile1`,
  );
  assertEquals(shot.code, 0);
  const png = await Deno.readFile(screenshot);
  assertEquals([...png.slice(1, 4)], [0x50, 0x4e, 0x47], "a PNG");
  assertEquals(png.length > 20_000, true, `screenshot of ${png.length} bytes`);
  const dom = await chromium(
    ["--dump-dom", `file://${dir.path}/report.html`],
    `${dir.path}/profile2`,
  );
  assertEquals(dom.code, 0);
  const rows = dom.stdout.match(/<tr class="(create|update|delete)" data-op="\w+">/g) ?? [];
  assertEquals(rows.map((row) => row.match(/data-op="(\w+)"/)![1]), [
    "create",
    "update",
    "update",
    "delete",
  ]);
  assertMatch(
    dom.stdout,
    /<td class="changed"><del>bob@example\.org<\/del> → <ins>bob@example\.com<\/ins><\/td>/,
  );
  assertMatch(
    dom.stdout,
    /<span class="create">\+1 create<\/span><span class="update">~2 update<\/span><span class="delete">-1 delete<\/span>/,
  );
  assertMatch(dom.stdout, /<tr><td>email<\/td><td>1<\/td><\/tr>/);
  assertMatch(dom.stdout, /<td class="v">Finn Fox<\/td>/);
});

Deno.test("--format html escapes values and counts what it does not show", async () => {
  await using dir = await tempDir();
  let csv = "id,name\n";
  for (let i = 1; i <= 10_003; i++) csv += `${i},"<b>x</b> & ""y"""\n`;
  await Deno.writeTextFile(`${dir.path}/a.csv`, csv);
  const r = await dsync(["csv:sqlite", "a.csv", "t.db#a", "-n", "--format", "html"], {
    cwd: dir.path,
  });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stdout.includes("<b>x</b>"), false);
  assertMatch(r.stdout, /&lt;b&gt;x&lt;\/b&gt; &amp; &quot;y&quot;/);
  assertEquals(r.stdout.match(/<tr class="create"/g)?.length, 10_000);
  assertMatch(
    r.stdout,
    /<p id="more">… and 3 more \(--format ndjson for the whole change set\)<\/p>/,
  );
});
