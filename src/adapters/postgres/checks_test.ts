import assert from "node:assert/strict";
import type { WritePlan } from "../../adapter_kit/changes.ts";
import { InputError } from "../../model/errors.ts";
import type { FieldType } from "../../model/types.ts";
import { OID, type PgColumn } from "./catalog.ts";
import { checkValues, valueCheck } from "./checks.ts";

/** A column of base type `oid` with `typmod` (as pg_attribute.atttypmod holds it). */
function column(oid: number, typmod: number, native: string, type: FieldType): PgColumn {
  return {
    name: "c",
    baseOid: oid,
    baseName: native,
    typmod,
    typtype: "b",
    category: "",
    native,
    type,
    domain: false,
  };
}

/** atttypmod of numeric(precision, scale). */
const numericMod = (precision: number, scale: number) => ((precision << 16) | (scale & 0x7ff)) + 4;

Deno.test("valueCheck: smallint and integer ranges, numbers and bigints alike", () => {
  const int2 = valueCheck(column(OID.int2, -1, "smallint", "integer"), "integer")!;
  assert.equal(int2(32767), undefined);
  assert.equal(int2(-32768n), undefined);
  assert.match(int2(32768)!, /^32768 is out of range for smallint \(-32768 to 32767\)$/);
  assert.match(int2(-32769n)!, /out of range for smallint/);
  assert.equal(int2(null), undefined);
  assert.equal(int2("99999"), undefined);
  const int4 = valueCheck(column(OID.int4, -1, "integer", "integer"), "integer")!;
  assert.equal(int4(2147483647), undefined);
  assert.equal(int4(-2147483648n), undefined);
  assert.match(int4(2147483648n)!, /out of range for integer \(-2147483648 to 2147483647\)/);
  assert.match(int4(-2147483649)!, /out of range for integer/);
});

Deno.test("valueCheck: bigint columns have no check (the server refuses values past int8)", () => {
  assert.equal(valueCheck(column(OID.int8, -1, "bigint", "integer"), "integer"), undefined);
});

Deno.test("valueCheck: numeric(p,s) decimal places and digits before the point", () => {
  const check = valueCheck(
    column(OID.numeric, numericMod(5, 2), "numeric(5,2)", "decimal"),
    "decimal",
  )!;
  assert.equal(check("999.99"), undefined);
  assert.equal(check("-999.99"), undefined);
  assert.equal(check("0.5"), undefined);
  assert.equal(check("12"), undefined);
  assert.match(
    check("1.234")!,
    /^"?1\.234"? has more decimal places than numeric\(5,2\) keeps \(2\); PostgreSQL would round it$/,
  );
  assert.match(
    check("1000")!,
    /is out of range for numeric\(5,2\) \(at most 3 digits before the point\)$/,
  );
  assert.equal(check(12.5), undefined);
  const integral = valueCheck(
    column(OID.numeric, numericMod(3, 0), "numeric(3,0)", "decimal"),
    "decimal",
  )!;
  assert.match(integral("1.5")!, /keeps \(0\)/);
  assert.equal(integral("-999"), undefined);
  // Unconstrained numeric takes every decimal.
  assert.equal(valueCheck(column(OID.numeric, -1, "numeric", "decimal"), "decimal"), undefined);
});

Deno.test("valueCheck: varchar(n) and char(n) count characters (code points), not UTF-16 units", () => {
  const check = valueCheck(column(OID.varchar, 3 + 4, "varchar(3)", "text"), "text")!;
  assert.equal(check("abc"), undefined);
  assert.equal(check("\u{1F600}\u{1F600}\u{1F600}"), undefined);
  assert.match(check("abcd")!, /is too long for varchar\(3\) \(4 characters\)$/);
  assert.match(check("a\u0000")!, /NUL character/);
  assert.equal(check(12345), undefined);
  const char = valueCheck(column(OID.bpchar, 2 + 4, "char(2)", "text"), "text")!;
  assert.match(char("abc")!, /too long for char\(2\)/);
  // varchar without a length: only the NUL check of text.
  const plain = valueCheck(column(OID.varchar, -1, "varchar", "text"), "text")!;
  assert.equal(plain("x".repeat(10000)), undefined);
  assert.match(plain("\u0000")!, /NUL/);
});

Deno.test("valueCheck: NUL in text, \\u0000 in jsonb; json and bytea take them", () => {
  const text = valueCheck(column(OID.text, -1, "text", "text"), "text")!;
  assert.equal(text("a\nb"), undefined);
  assert.equal(
    text("a\u0000b"),
    "contains a NUL character, which PostgreSQL text cannot hold",
  );
  const jsonb = valueCheck(column(OID.jsonb, -1, "jsonb", "json"), "json")!;
  assert.equal(jsonb({ a: "x" }), undefined);
  assert.equal(jsonb(null), undefined);
  assert.equal(jsonb({ a: "x\u0000" }), "contains a \\u0000 character, which jsonb cannot hold");
  assert.equal(valueCheck(column(OID.json, -1, "json", "json"), "json"), undefined);
  assert.equal(valueCheck(column(OID.bytea, -1, "bytea", "bytes"), "text"), undefined);
  // A column dsync creates (not in the table yet): text and auto fields get the NUL check.
  assert.match(valueCheck(undefined, "text")!("\u0000")!, /NUL/);
  assert.match(valueCheck(undefined, "auto")!("\u0000")!, /NUL/);
  assert.equal(valueCheck(undefined, "json"), undefined);
  assert.equal(valueCheck(undefined, "integer"), undefined);
});

Deno.test("valueCheck: real keeps what reads back the same; fractional seconds by precision", () => {
  const real = valueCheck(column(OID.float4, -1, "real", "float"), "float")!;
  assert.equal(real(1.5), undefined);
  assert.equal(real(0.1), undefined);
  assert.equal(real(Infinity), undefined);
  assert.match(real(0.123456789)!, /does not fit a real \(it would read back as 0\.12345679\)/);
  const ts = valueCheck(column(OID.timestamp, 3, "timestamp(3)", "timestamp"), "timestamp")!;
  assert.equal(ts("2024-01-02 03:04:05.123"), undefined);
  assert.match(
    ts("2024-01-02 03:04:05.1234")!,
    /more fractional seconds than timestamp\(3\) keeps \(3 digits\)/,
  );
  const time = valueCheck(column(OID.time, -1, "time", "time"), "time")!;
  assert.equal(time("03:04:05.123456"), undefined);
  assert.match(time("03:04:05.1234567")!, /\(6 digits\)/);
});

Deno.test("checkValues: the first bad created field, or bad changed field of an update", () => {
  const columns = [
    { ...column(OID.int4, -1, "integer", "integer"), name: "id" },
    { ...column(OID.varchar, 2 + 4, "varchar(2)", "text"), name: "code" },
  ];
  const plan = {
    fields: [{ name: "id", type: "integer" }, { name: "code", type: "text" }],
    keyIndexes: [0],
    creates: [{ key: [1], after: [1, "ok"], position: 7 }],
    updates: [{ key: [2], after: [2, "long"], changed: [1] }],
    deletes: [],
  } as unknown as WritePlan;
  assert.throws(() => checkValues(plan, columns, "pg:t"), (e: Error) => {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /^pg:t: record .*2.*: field 'code': .* is too long for varchar\(2\)/);
    return true;
  });
  const creates = { ...plan, creates: [{ key: [1], after: [1, "bad"], position: 7 }], updates: [] };
  assert.throws(
    () => checkValues(creates as unknown as WritePlan, columns, "pg:t"),
    /\(source record 7\): field 'code'/,
  );
  const unchanged = { ...plan, updates: [{ key: [2], after: [2, "long"], changed: [] }] };
  checkValues(unchanged as unknown as WritePlan, columns, "pg:t");
});

Deno.test("valueCheck: a leap second into time and timestamp columns (PostgreSQL rolls it over)", () => {
  const time = valueCheck(column(OID.time, -1, "time", "time"), "time")!;
  assert.match(time("23:59:60")!, /^"23:59:60" is a leap second/);
  assert.equal(time("24:00:00"), undefined);
  assert.equal(time("23:59:59.999999"), undefined);
  const ts = valueCheck(column(OID.timestamptz, -1, "timestamptz", "timestamptz"), "timestamptz")!;
  assert.match(ts("2016-12-31T23:59:60.5Z")!, /is a leap second/);
  assert.equal(ts("2016-12-31T23:59:59Z"), undefined);
});

Deno.test("valueCheck: uuid in every form PostgreSQL reads, anything else named before writing", () => {
  const uuid = valueCheck(column(OID.uuid, -1, "uuid", "text"), "text")!;
  for (
    const ok of [
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
      "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
      "a0eebc999c0b4ef8bb6d6bb9bd380a11",
      "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
      "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}",
    ]
  ) assert.equal(uuid(ok), undefined, ok);
  for (
    const bad of [
      "not-a-uuid",
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
      "a0eeb-c99-9c0b-4ef8-bb6d-6bb9bd380a11",
      " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      "",
    ]
  ) assert.match(uuid(bad)!, /is not a uuid/, bad);
  assert.equal(uuid(null), undefined);
});

Deno.test("valueCheck: integer and uuid arrays whose elements the type cannot read, before writing", () => {
  const ints = valueCheck(
    { ...column(1007, -1, "integer[]", "text"), baseName: "_int4", category: "A" },
    "text",
  )!;
  assert.match(ints("{1,x}")!, /element "x" is not a value of integer\[\]/);
  assert.equal(ints("{1, 2 ,NULL,{3}}"), undefined);
  // A form dsync does not parse is left to the server.
  assert.equal(ints("[1:2]={1,2}"), undefined);
  const uuids = valueCheck(
    { ...column(2951, -1, "uuid[]", "text"), baseName: "_uuid", category: "A" },
    "text",
  )!;
  assert.match(uuids("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,nope}")!, /element "nope"/);
  const texts = valueCheck(
    { ...column(1009, -1, "text[]", "text"), baseName: "_text", category: "A" },
    "text",
  );
  assert.equal(texts?.("{x,y}"), undefined);
});
