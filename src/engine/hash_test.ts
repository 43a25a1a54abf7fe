import { assertEquals, assertOk } from "../../tests/assert.ts";
import { StringHasher } from "./hash.ts";

Deno.test("StringHasher: same parts same hash; part boundaries count", () => {
  const hash = (parts: string[]) => {
    const hasher = new StringHasher();
    for (const part of parts) hasher.add(part);
    return hasher.digest();
  };
  assertEquals(hash(["1", "Ann"]), hash(["1", "Ann"]));
  assertOk(hash(["1", "Ann"]) !== hash(["1A", "nn"]));
  assertOk(hash(["", "x"]) !== hash(["x", ""]));
  assertOk(Number.isSafeInteger(hash(["ünï", "x".repeat(1000)])));
});
