import assert from "node:assert/strict";
import { redactLocator, redactUrls } from "./redact.ts";

Deno.test("user info and every query value go, valid URL or not; names and hosts stay", () => {
  const cases: [string, string][] = [
    ["postgres://app:pw@db/shop", "postgres://***@db/shop"],
    ["postgres://app:p#w/x?y@db:5432/shop#crm.users", "postgres://***@db:5432/shop#crm.users"],
    ["'postgres://u:s3cr3t@h/d': not a valid URL", "'postgres://***@h/d': not a valid URL"],
    [
      "http://h:1/u?access_key=A&jwt=B&code=C&k=D&x=1",
      "http://h:1/u?access_key=***&jwt=***&code=***&k=***&x=***",
    ],
    ["GET https://ann:pw@h/u?bearer=zz: HTTP 500", "GET https://***@h/u?bearer=***: HTTP 500"],
    ["http://h/u?flag&pass=x#frag", "http://h/u?flag&pass=***#frag"],
    ["no url here: a@b?c=d", "no url here: a@b?c=d"],
    ["'http:/[bad?token=tok1': not a URL", "'http:/[bad?token=***': not a URL"],
    ["http://127.0.0.1:3000/users", "http://127.0.0.1:3000/users"],
  ];
  for (const [text, expected] of cases) assert.equal(redactUrls(text), expected);
});

Deno.test("a locator without a scheme loses user info and query values too", () => {
  assert.equal(redactLocator("u:pw@127.0.0.1/x?token=t"), "***@127.0.0.1/x?token=***");
  assert.equal(redactLocator("users.csv"), "users.csv");
});
