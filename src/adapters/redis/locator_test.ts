import assert from "node:assert/strict";
import { keyName, keyParts, matchPattern, parseRedisLocator } from "./locator.ts";

Deno.test("redis locator: host, port, db, prefix; the label has no password", () => {
  const l = parseRedisLocator("redis://app:s3cret@127.0.0.1:6380/4#users");
  assert.deepStrictEqual(
    [l.host, l.port, l.db, l.username, l.password, l.prefix, l.tls],
    ["127.0.0.1", 6380, 4, "app", "s3cret", "users", false],
  );
  assert.deepStrictEqual(l.label, "redis://127.0.0.1:6380/4#users");
  assert.deepStrictEqual(parseRedisLocator("redis://localhost", "people").db, 0);
  assert.deepStrictEqual(parseRedisLocator("redis://localhost", "people").prefix, "people");
  assert.deepStrictEqual(parseRedisLocator("rediss://h:1/0#a%20b").prefix, "a b");
});

Deno.test("redis locator: bad forms are usage errors without the password", () => {
  assert.throws(() => parseRedisLocator("redis://u:pw@h:1/x#p"), /database 'x'.*\n?/);
  assert.throws(() => parseRedisLocator("redis://h:1/0"), /add #PREFIX/);
  assert.throws(() => parseRedisLocator("http://h/0#p"), /expected redis:/);
  try {
    parseRedisLocator("redis://u:pw@h:1/x#p");
  } catch (error) {
    assert.deepStrictEqual((error as Error).message.includes("pw"), false);
  }
});

Deno.test("redis key names: composite keys round-trip through escaping", () => {
  for (
    const parts of [["1"], ["EU", "7"], ["a:b", "c\\d", ""], ["\\"], ["x:"], [":", ":"]]
  ) {
    assert.deepStrictEqual(keyParts("p", keyName("p", parts)), parts);
  }
  assert.deepStrictEqual(keyName("u", ["a:b"]), "u:a\\:b");
  assert.deepStrictEqual(keyParts("u", "other:1"), undefined);
  assert.deepStrictEqual(matchPattern("a*b[1]"), "a\\*b\\[1\\]:*");
});
