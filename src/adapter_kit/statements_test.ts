import { deepStrictEqual } from "node:assert/strict";
import { namedParameters } from "./statements.ts";

const pg = (n: number) => `$${n}`;

Deno.test("namedParameters: quotes, comments and casts are left alone", () => {
  deepStrictEqual(
    namedParameters(
      `insert into "a:b" values (:id, 'it''s :x', :id) -- :y\n/* :z */ returning :after.name::text`,
      pg,
    ),
    {
      text: `insert into "a:b" values ($1, 'it''s :x', $2) -- :y\n/* :z */ returning $3::text`,
      names: ["id", "id", "after.name"],
    },
  );
});

Deno.test("namedParameters: ? placeholders, a colon without a name, an unclosed quote", () => {
  deepStrictEqual(namedParameters("select :a, : b, x:1, ':c", () => "?"), {
    text: "select ?, : b, x:1, ':c",
    names: ["a"],
  });
});
