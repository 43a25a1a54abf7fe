import assert from "node:assert/strict";
import { kvKey, kvKeyParts, parseNatsLocator, renderSubject } from "./locator.ts";

Deno.test("nats locators: kv bucket, subject template, credentials kept out of the origin", () => {
  const kv = parseNatsLocator("nats://app:s3cret@127.0.0.1:4222/kv/users");
  assert.deepStrictEqual([kv.bucket, kv.user, kv.pass, kv.origin], [
    "users",
    "app",
    "s3cret",
    "nats://127.0.0.1:4222",
  ]);
  assert.deepStrictEqual(kv.secrets, ["s3cret"]);
  const events = parseNatsLocator("nats://tok3n@h:4222/dsync.{table}.{op}");
  assert.deepStrictEqual([events.subject, events.token, events.secrets], [
    "dsync.{table}.{op}",
    "tok3n",
    ["tok3n"],
  ]);
  assert.equal(parseNatsLocator("nats://h:1").subject, undefined);
  assert.equal(renderSubject("dsync.{table}.{op}", "users", "*"), "dsync.users.*");
});

Deno.test("nats locators: bad forms are usage errors", () => {
  assert.throws(() => parseNatsLocator("redis://h/kv/x"), /expected nats:/);
  assert.throws(() => parseNatsLocator("nats://h/kv/a.b"), /bucket 'a.b'/);
  assert.throws(() => parseNatsLocator("nats://h/a..b"), /not a NATS subject/);
});

Deno.test("kv keys: any key text round-trips through the KV alphabet", () => {
  for (const parts of [["1"], ["EU west", "7"], ["a.b", "=", "ü:/*>"], ["-_x"]]) {
    const key = kvKey(parts);
    assert.match(key, /^[-\w=.]+$/);
    assert.deepStrictEqual(kvKeyParts(key), parts);
  }
  assert.equal(kvKey(["a.b"]), "a=2Eb");
});
