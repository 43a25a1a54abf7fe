/**
 * Which row made a set-based statement fail: the servers say "value too long" or "violates
 * check constraint", not which of 5,000 rows. Bisection over the rows' numbers finds the first
 * one that fails alone, in about log2(count) probes; the caller undoes each probe (a savepoint).
 *
 * @example
 * ```ts
 * import { strictEqual as assertEquals } from "node:assert/strict";
 * import { firstFailingRow } from "./failing_row.ts";
 * const bad = new Set([700, 3100]);
 * const fails = (lo: number, hi: number) =>
 *   Promise.resolve([...bad].some((n) => n >= lo && n <= hi));
 * assertEquals(await firstFailingRow(5000, fails), 700);
 * assertEquals(await firstFailingRow(5000, () => Promise.resolve(false)), undefined);
 * ```
 * @module
 */

/** At most this many probes: 2^64 rows is more than any statement holds. */
const MAX_PROBES = 64;

/**
 * The smallest `n` in 1..`count` for which `fails(n, n)`, found by halving `[lo, hi]` ranges
 * that `fails`; undefined when the rows fail only together (a unique clash among them, say).
 */
export async function firstFailingRow(
  count: number,
  fails: (lo: number, hi: number) => Promise<boolean>,
): Promise<number | undefined> {
  let lo = 1, hi = count;
  for (let probes = 0; lo < hi && probes < MAX_PROBES; probes++) {
    const mid = Math.floor((lo + hi) / 2);
    if (await fails(lo, mid)) hi = mid;
    else lo = mid + 1;
  }
  return await fails(lo, lo) ? lo : undefined;
}
