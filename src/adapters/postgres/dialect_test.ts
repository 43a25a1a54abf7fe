import assert from "node:assert/strict";
import { postgresDialect } from "./dialect.ts";

const copied = (native: string, from: string, key = false) =>
  postgresDialect.copiedType!(native, from, key);

Deno.test("copiedType: PostgreSQL built-in types and their arrays are copied, others are not", () => {
  for (
    const native of [
      "uuid",
      "text[]",
      "numeric(12,3)",
      "numeric",
      "varchar(20)",
      "varchar(5)[]",
      "char(3)",
      "timestamp(3)",
      "timestamptz",
      "time(2)",
      "interval",
      "interval day to second(3)",
      "integer[][]",
      "bit varying(8)",
      "inet",
      "jsonb",
    ]
  ) assert.equal(copied(native, "postgres"), native, native);
  for (const native of ["citext", "mood", "public.mood", "money", "xml", "point", "mood[]"]) {
    assert.equal(copied(native, "postgres"), undefined, native);
  }
  assert.equal(copied("json", "postgres"), "json");
  assert.equal(copied("json", "postgres", true), "jsonb");
  assert.equal(copied("uuid", "sqlite"), undefined);
});

Deno.test("copiedType: MySQL types PostgreSQL holds exactly", () => {
  const cases: [string, string | undefined][] = [
    ["tinyint(4)", "smallint"],
    ["tinyint(1)", undefined],
    ["smallint(6)", "smallint"],
    ["smallint(5) unsigned", "integer"],
    ["mediumint(9)", "integer"],
    ["int(11)", "integer"],
    ["int(10) unsigned", "bigint"],
    ["bigint(20)", undefined],
    ["decimal(12,3)", "numeric(12,3)"],
    ["decimal(10,0) unsigned", "numeric(10,0)"],
    ["float", "real"],
    ["double", undefined],
    ["varchar(20)", "varchar(20)"],
    ["char(3)", undefined],
    ["datetime", "timestamp(0)"],
    ["datetime(6)", "timestamp(6)"],
    ["timestamp(3)", "timestamptz(3)"],
    ["time(2)", "time(2)"],
    ["year(4)", "smallint"],
    ["enum('a','b')", undefined],
    ["longtext", undefined],
  ];
  for (const [native, want] of cases) assert.equal(copied(native, "mysql"), want, native);
});
