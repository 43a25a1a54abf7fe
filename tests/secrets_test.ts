/**
 * No secret in any message: URL user info and every query value are redacted wherever a URL is
 * shown (valid or not, with -v too); header values only appear when named by --show-header.
 */
import { assertEquals, assertOk } from "./assert.ts";
import { dsync, tempDir } from "./helpers.ts";
import { serve } from "./http_server.ts";

Deno.test("passwords, tokens and query values never reach stderr or stdout", async () => {
  await using dir = await tempDir();
  await using server = serve(() => new Response("nope", { status: 500 }));
  await Deno.writeTextFile(`${dir.path}/s.csv`, "id\n1\n");
  const secrets = ["pa#ss/wo?rd1", "jwt-value-2", "code-value-3", "kvalue4", "bearer-5", "acc-6"];
  const runs = [
    ["csv:pg", "s.csv", `postgres://app:${secrets[0]}@127.0.0.1:1/db#t`],
    ["csv:pg", "s.csv", `postgres://app:${secrets[0]}@127.0.0.1:1/db#t`, "-v"],
    ["http:ndjson", `http://x:${secrets[0]}@[bad/u?token=${secrets[1]}`, "o.ndjson"],
    [
      "http:ndjson",
      `${server.url}/u?jwt=${secrets[1]}&code=${secrets[2]}&k=${secrets[3]}&bearer=${
        secrets[4]
      }&access_key=${secrets[5]}`,
      "o.ndjson",
      "--retries",
      "0",
      "-v",
    ],
  ];
  for (const args of runs) {
    const r = await dsync(args, { cwd: dir.path });
    assertOk(r.code !== 0, r.stderr);
    for (const secret of secrets) {
      for (const form of [secret, encodeURIComponent(secret)]) {
        assertOk(!r.stderr.includes(form) && !r.stdout.includes(form), `${form} in: ${r.stderr}`);
      }
    }
  }
  assertEquals(server.requests.length, 1);
});
