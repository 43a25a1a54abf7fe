import { deepStrictEqual } from "node:assert/strict";
import { partitionBound, partitionInterval } from "./partition.ts";

Deno.test("partitionBound: integers, dates and times in units, wrong values refused", () => {
  deepStrictEqual(partitionBound(" -42 ", "integer"), -42n);
  deepStrictEqual(partitionBound("4.5", "integer"), undefined);
  deepStrictEqual(partitionBound("1969-12-31", "date"), -1n);
  deepStrictEqual(partitionBound("2024-02-29", "date"), 19782n);
  deepStrictEqual(partitionBound("2023-02-29", "date"), undefined);
  deepStrictEqual(partitionBound("2024-01-01T10:00:00", "date"), undefined);
  deepStrictEqual(partitionBound("1970-01-01 00:01:01.9", "timestamp"), 61n);
  deepStrictEqual(partitionBound("1969-12-31T23:59:59.5Z", "timestamptz"), -1n);
  deepStrictEqual(partitionBound("1970-01-01T02:00:00+02:00", "timestamptz"), 0n);
  deepStrictEqual(partitionBound("1970-01-01T02:00:00+02:00", "timestamp"), undefined);
  deepStrictEqual(partitionBound("1970-01-01T24:00:00", "timestamp"), undefined);
  deepStrictEqual(partitionBound("soon", "timestamptz"), undefined);
});

Deno.test("partitionInterval: seconds or units with a suffix; days for dates", () => {
  deepStrictEqual(partitionInterval("90", "timestamp"), 90n);
  deepStrictEqual(partitionInterval("15m", "timestamptz"), 900n);
  deepStrictEqual(partitionInterval("2W", "timestamp"), 1209600n);
  deepStrictEqual(partitionInterval("36h", "date"), 2n);
  deepStrictEqual(partitionInterval("1", "date"), 1n);
  deepStrictEqual(partitionInterval("500", "integer"), 500n);
  deepStrictEqual(partitionInterval("5d", "integer"), undefined);
  deepStrictEqual(partitionInterval("0", "timestamp"), undefined);
  deepStrictEqual(partitionInterval("1y", "timestamp"), undefined);
});
