/** The type rules of docs/types.md, value by value. */
import { assertEquals, assertOk } from "../../tests/assert.ts";
import { ConversionError } from "./errors.ts";
import type { FieldType } from "./types.ts";
import {
  canonical,
  convertValue,
  isPlainNumber,
  parseDecimal,
  parseJsonExact,
  stringifyJsonExact,
} from "./values.ts";
import { inferType } from "./inference.ts";

function same(type: FieldType, a: unknown, b: unknown): boolean {
  return canonical(convertValue(a, type), type) === canonical(convertValue(b, type), type);
}

Deno.test("equal after normalising to the target type", () => {
  assertOk(same("integer", "1", 1));
  assertOk(same("integer", "1.0", 1));
  assertOk(same("float", "1.50", 1.5));
  assertOk(same("decimal", "1.50", "1.5"));
  assertOk(same("decimal", "-0.0", "0"));
  assertOk(same("decimal", "1e3", "1000"));
  assertOk(same("boolean", "t", true));
  assertOk(same("boolean", "1", "yes"));
  assertOk(same("boolean", 0n, "false"));
  assertOk(same("date", "2024-01-02", "2024-01-02T00:00:00"));
  assertOk(same("timestamp", "2024-01-02 03:04:05", "2024-01-02T03:04:05.000"));
  assertOk(same("timestamptz", "2024-01-02T03:04:05+02:00", "2024-01-02T01:04:05Z"));
  assertOk(same("timestamptz", "2024-01-02T00:30:00-01:00", "2024-01-02 01:30:00"));
  assertOk(same("json", '{"b":1,"a":[1,2]}', { a: [1, 2], b: 1 }));
  assertOk(same("bytes", "AQI=", "\\x0102"));
  assertOk(same("auto", "1", 1));
  assertOk(same("auto", "0.5", 0.5));
  assertOk(same("auto", "true", true));
  assertOk(same("auto", "9007199254740993", 9007199254740993n));
  assertOk(same("auto", '{"a":1,"b":[1,2]}', { b: [1, 2], a: 1 }));
});

Deno.test("different where the type says so", () => {
  assertOk(!same("text", "1.50", "1.5"));
  assertOk(!same("auto", "007", "7"));
  // Untyped text is compared exactly; a value equals only its canonical spelling.
  assertOk(!same("auto", "0E0", "0E8"));
  assertOk(!same("auto", "1.0", 1));
  assertOk(!same("auto", "1.0", "1"));
  assertOk(!same("auto", "100", "1e2"));
  assertOk(!same("auto", "TRUE", true));
  assertOk(!same("auto", "-0", "0"));
  assertOk(!same("auto", "2024-01-02 10:00", "2024-01-02T10:00:00"));
  assertOk(!same("auto", '{"b":1,"a":2}', { a: 2, b: 1 }));
  assertOk(!same("text", "", null));
  assertOk(!same("timestamp", "2024-01-02T03:04:05", "2024-01-02T03:04:06"));
  assertOk(!same("integer", "9007199254740993", "9007199254740992"));
});

Deno.test("64-bit integers and decimals keep every digit", () => {
  assertEquals(convertValue("9007199254740993", "integer"), 9007199254740993n);
  assertEquals(convertValue("-9223372036854775808", "integer"), -9223372036854775808n);
  assertEquals(parseDecimal("123456789012345678901234.567890"), "123456789012345678901234.56789");
  assertEquals(parseDecimal("-001.500e2"), "-150");
  assertEquals(parseDecimal("1.5e-3"), "0.0015");
});

Deno.test("24:00:00 is a time (the end of the day, as PostgreSQL stores it)", () => {
  assertEquals(convertValue("24:00:00", "time"), "24:00:00");
  assertEquals(convertValue("24:00", "time"), "24:00:00");
  assertEquals(convertValue("24:00:00.000", "time"), "24:00:00");
  assertEquals(convertValue("23:59:60", "time"), "23:59:60");
});

Deno.test("empty string is NULL except for text", () => {
  for (const type of ["integer", "float", "decimal", "boolean", "date", "json"] as const) {
    assertEquals(convertValue("", type), null, type);
  }
  assertEquals(convertValue("", "text"), "");
});

Deno.test("values that do not fit are errors, never coerced", () => {
  const bad: [unknown, FieldType][] = [
    ["abc", "integer"],
    ["1.5", "integer"],
    ["9223372036854775808", "integer"],
    ["maybe", "boolean"],
    ["2024-02-30", "date"],
    ["2024-01-02T10:00:00", "date"],
    ["25:00", "time"],
    ["24:00:01", "time"],
    ["24:00:00.5", "time"],
    ["2024-01-02T24:00:00", "timestamp"],
    ["{oops", "json"],
    ["not base64!", "bytes"],
    ["1,5", "float"],
  ];
  for (const [value, type] of bad) {
    try {
      convertValue(value, type);
      throw new Error(`${value} converted to ${type}`);
    } catch (error) {
      assertOk(error instanceof ConversionError, `${value} → ${type}: ${error}`);
    }
  }
});

Deno.test("type inference for new targets", () => {
  assertEquals(inferType(["1", "2", null, "-3"]), "integer");
  assertEquals(inferType(["1", "2.5"]), "float");
  assertEquals(inferType(["02134", "94103"]), "text");
  assertEquals(inferType(["true", "false"]), "boolean");
  assertEquals(inferType(["true", "FALSE"]), "text");
  assertEquals(inferType(["0E0", "0E8"]), "text");
  assertEquals(inferType(["1", "1.0"]), "text");
  assertEquals(inferType(["2024-01-02 10:00:00"]), "text");
  assertEquals(inferType(["2024-01-02T10:00:00+02:00"]), "text");
  assertEquals(inferType(["2024-01-02", "2023-12-31"]), "date");
  assertEquals(inferType(["2024-01-02T10:00:00"]), "timestamp");
  assertEquals(inferType(["2024-01-02T10:00:00Z"]), "timestamptz");
  assertEquals(inferType(["0.1000000000000000055511151231257827"]), "text");
  assertEquals(inferType([null, ""]), "text");
  assertEquals(inferType([1, 2.5]), "float");
  assertEquals(inferType([{ a: 1 }]), "json");
});

Deno.test("fast paths for canonical text give what the general rules give", () => {
  // Each pair: a value the fast path takes, then one that needs the general parse.
  const converts: [unknown, FieldType, unknown][] = [
    ["2024-02-29", "date", "2024-02-29"],
    [" 2024-02-29 ", "date", "2024-02-29"],
    ["2024-02-29T00:00:00", "date", "2024-02-29"],
    ["42", "integer", 42],
    [" 42 ", "integer", 42],
    ["+7", "integer", 7],
    ["-0", "integer", 0],
    ["123456789012345", "integer", 123456789012345],
    ["1234567890123456", "integer", 1234567890123456],
    ["9007199254740993", "integer", 9007199254740993n],
    ["1e3", "integer", 1000],
    [5n, "integer", 5],
    [2n ** 60n, "integer", 2n ** 60n],
    [-(2n ** 63n), "integer", -(2n ** 63n)],
    ["4960.27", "float", 4960.27],
    ["-0", "float", -0],
    [" 1.5", "float", 1.5],
    ["007.5", "float", 7.5],
    ["5.", "float", 5],
    [".5", "float", 0.5],
    ["true", "boolean", true],
    ["false", "boolean", false],
    [" TRUE ", "boolean", true],
    ["no", "boolean", false],
  ];
  for (const [value, type, expected] of converts) {
    assertEquals(convertValue(value, type), expected, `${value} → ${type}`);
  }
  for (const [value, type] of [["2023-02-29", "date"], ["2024-13-01", "date"]] as const) {
    try {
      convertValue(value, type);
      throw new Error(`${value} converted to ${type}`);
    } catch (error) {
      assertOk(error instanceof ConversionError && /no such date/.test(error.message));
    }
  }
  try {
    convertValue(2n ** 63n, "integer");
    throw new Error("2^63 converted to integer");
  } catch (error) {
    assertOk(error instanceof ConversionError && /64-bit range/.test(error.message));
  }
  const plain = ["0", "-0", "1.5", "0.0", "10", "1e5", "-1.5E-3", "2e+10"];
  const notPlain = ["01", "1.", "+1", ".5", "1e", "1e+", "-", "", "1 ", " 1", "1.5.2", "1e5e5"];
  for (const text of plain) assertOk(isPlainNumber(text), text);
  for (const text of notPlain) assertOk(!isPlainNumber(text), text);
});

Deno.test("type inference: short values by shape, long ones by the exact rules", () => {
  const inferred: [string, FieldType][] = [
    ["123456789012345678", "integer"],
    ["9223372036854775807", "integer"],
    ["-9223372036854775808", "integer"],
    ["9223372036854775808", "text"],
    ["99999999999999.9", "float"],
    ["0.00000000000001", "text"],
    ["1e-14", "float"],
    ["1234567890.1234567", "float"],
    ["0.10000000000000001", "text"],
    ["1.5e3", "text"],
    ["1.5e+300", "float"],
    ["-0", "text"],
    ["true", "boolean"],
    ["TRUE", "text"],
    ["2024-02-29", "date"],
    ["2023-02-29", "text"],
    ["2024-02-29 ", "text"],
  ];
  for (const [text, type] of inferred) assertEquals(inferType([text]), type, text);
});

Deno.test("JSON keeps every digit: big integers as bigint, long decimals as raw JSON numbers", () => {
  const text = '{"a":[9223372036854775807,0.1000000000000000001,1.5],"b":"9007199254740993"}';
  const value = convertValue(text, "json");
  assertEquals(stringifyJsonExact(value), text);
  assertEquals(canonical(value, "json"), text);
  assertEquals(
    convertValue(parseJsonExact("0.1000000000000000001"), "decimal"),
    "0.1000000000000000001",
  );
  assertEquals(convertValue('"123"', "json"), "123");
});
