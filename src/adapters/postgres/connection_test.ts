import assert from "node:assert/strict";
import { UsageError } from "../../model/errors.ts";
import {
  connectionHint,
  messageOf,
  parseLocator,
  pgpassPassword,
  redact,
  redactUrl,
  tableOf,
} from "./connection.ts";

Deno.test("parseLocator: bare and quoted names, URLs with and without a table", () => {
  assert.deepStrictEqual(parseLocator("users"), { url: undefined, table: "users" });
  assert.deepStrictEqual(parseLocator('crm."Order Items"'), {
    url: undefined,
    schema: "crm",
    table: "Order Items",
  });
  assert.deepStrictEqual(parseLocator("postgres://a:b@h:1/db#s.t"), {
    url: "postgres://a:b@h:1/db",
    schema: "s",
    table: "t",
  });
  assert.deepStrictEqual(parseLocator("postgresql://h/db"), { url: "postgresql://h/db" });
  assert.deepStrictEqual(parseLocator(""), { url: undefined });
});

Deno.test("parseLocator: a bad URL or name is a usage error without the password", () => {
  assert.throws(() => parseLocator("postgres://app:s3cret@[bad/db#t"), (e: Error) => {
    assert.ok(e instanceof UsageError);
    assert.match(e.message, /not a valid URL/);
    assert.doesNotMatch(e.message, /s3cret/);
    return true;
  });
  assert.throws(() => parseLocator("a.b.c"), /expected \[SCHEMA\.\]TABLE/);
  assert.throws(() => parseLocator("postgres://app:s3cret@h/db#a..b"), (e: Error) => {
    assert.match(e.message, /postgres:\/\/\*\*\*@h\/db#a\.\.b/);
    return true;
  });
});

Deno.test("tableOf: the fallback name when the locator names no table, else a usage error", () => {
  assert.deepStrictEqual(tableOf("postgres://h/db", "users", "target"), {
    url: "postgres://h/db",
    table: "users",
  });
  assert.deepStrictEqual(tableOf("s.t", "users", "target"), {
    url: undefined,
    schema: "s",
    table: "t",
  });
  assert.throws(() => tableOf("postgres://u:pw@h/db", undefined, "source"), (e: Error) => {
    assert.ok(e instanceof UsageError);
    assert.match(e.message, /^postgres source 'postgres:\/\/\*\*\*@h\/db': which table\?/);
    return true;
  });
});

Deno.test("redaction: URL passwords and known secrets become ***", () => {
  assert.equal(redactUrl("postgres://app:s3cret@db:5432/shop"), "postgres://***@db:5432/shop");
  assert.equal(redactUrl("postgres://app@db/shop"), "postgres://***@db/shop");
  assert.equal(redactUrl("postgres://app:a#b/c?d@db/shop"), "postgres://***@db/shop");
  assert.equal(
    redact("to postgresql://u:pw@h/db and postgres://v:x@h/db failed", []),
    "to postgresql://***@h/db and postgres://***@h/db failed",
  );
  assert.equal(redact("password hunter2 rejected", ["hunter2", ""]), "password *** rejected");
  assert.equal(
    messageOf({ message: "connect failed", code: "ECONNREFUSED", detail: "pw=zz" }, ["zz"]),
    "connect failed (ECONNREFUSED) (pw=***)",
  );
  assert.equal(messageOf({ message: "bad", code: "28P01" }, []), "bad");
  assert.equal(messageOf("plain", []), "plain");
});

Deno.test("connectionHint: unreachable server and failed login get a hint, others none", () => {
  assert.match(connectionHint("ECONNREFUSED")!, /is the server running\?/);
  assert.match(connectionHint("28P01")!, /check the user and password/);
  assert.equal(connectionHint("42P01"), undefined);
});

Deno.test("pgpassPassword: libpq's matching, escapes, wildcards and file mode", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/pgpass`;
    await Deno.writeTextFile(
      file,
      "# comment\nother:5432:*:app:nope\ndb\\:1:5432:shop:app:pa\\:ss\n*:*:*:app:fallback\n",
    );
    await Deno.chmod(file, 0o600);
    assert.equal(pgpassPassword("db:1", "5432", "shop", "app", file), "pa:ss");
    assert.equal(pgpassPassword("elsewhere", "6543", "x", "app", file), "fallback");
    assert.equal(pgpassPassword("elsewhere", "6543", "x", "bob", file), undefined);
    assert.equal(pgpassPassword("/run/postgresql", "1", "x", "app", file), "fallback");
    assert.equal(pgpassPassword("h", "1", "x", "app", `${dir}/missing`), undefined);
    await Deno.chmod(file, 0o644);
    assert.equal(pgpassPassword("elsewhere", "6543", "x", "app", file), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
