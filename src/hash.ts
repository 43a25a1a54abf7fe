/**
 * A fast 53-bit string hash (cyrb53). The engine keeps only a key and this hash per target
 * record, so memory follows the key size, not the record size; 53 bits make a false "equal"
 * for one paired record about a 1 in 9·10^15 event.
 *
 * @example
 * ```ts
 * hashString("1\u001fAnn") === hashString("1\u001fAnn"); // true
 * ```
 * @module
 */

/** 53-bit hash of a string, as a non-negative safe integer. */
export function hashString(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
