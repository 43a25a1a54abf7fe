/**
 * A fast 53-bit string hash (cyrb53). The engine keeps only a key and this hash per target
 * record, so memory follows the key size, not the record size; 53 bits make a false "equal"
 * for one paired record about a 1 in 9·10^15 event.
 *
 * @example
 * ```ts
 * import { notStrictEqual, ok, strictEqual } from "node:assert/strict";
 * import { StringHasher } from "./hash.ts";
 * const hasher = new StringHasher();
 * hasher.add("1");
 * hasher.add("Ann");
 * const digest = hasher.digest();
 * ok(Number.isSafeInteger(digest) && digest >= 0); // below 2^53
 * hasher.reset();
 * hasher.add("1A"); // the parts are separated: ("1A", "nn") is another hash
 * hasher.add("nn");
 * notStrictEqual(hasher.digest(), digest);
 * hasher.reset();
 * hasher.add("1");
 * hasher.add("Ann");
 * strictEqual(hasher.digest(), digest);
 * ```
 * @module
 */

/**
 * cyrb53 over several strings without joining them: `add` each part (a separator is mixed in
 * after each), then `digest`.
 */
export class StringHasher {
  #h1 = 0;
  #h2 = 0;

  constructor(readonly seed = 0) {
    this.reset();
  }

  /** Starts a new hash. */
  reset(): void {
    this.#h1 = 0xdeadbeef ^ this.seed;
    this.#h2 = 0x41c6ce57 ^ this.seed;
  }

  /** Mixes in `text` followed by U+001F. */
  add(text: string): void {
    let h1 = this.#h1, h2 = this.#h2;
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    this.#h1 = Math.imul(h1 ^ 0x1f, 2654435761);
    this.#h2 = Math.imul(h2 ^ 0x1f, 1597334677);
  }

  /** The 53-bit hash of everything added since the last reset. */
  digest(): number {
    let h1 = this.#h1, h2 = this.#h2;
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
    h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
    h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return 4294967296 * (2097151 & h2) + (h1 >>> 0);
  }
}
