import assert from "node:assert/strict";
import { canonicalArray, canonicalUuid } from "./spelling.ts";

const same = (value: string) => value;

Deno.test("canonicalUuid: every spelling uuid_in takes, as PostgreSQL prints it", () => {
  const want = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
  for (
    const text of [
      "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
      "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
      "a0eebc999c0b4ef8bb6d6bb9bd380a11",
      "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
      want,
    ]
  ) assert.equal(canonicalUuid(text), want, text);
  for (
    const text of [
      "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
      " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
      "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    ]
  ) assert.equal(canonicalUuid(text), undefined, text);
});

Deno.test("canonicalArray: array_in's spellings, printed as array_out does", () => {
  assert.equal(canonicalArray("{a, b}", same), "{a,b}");
  assert.equal(canonicalArray(' { "a" , "b c" , "" } ', same), '{a,"b c",""}');
  assert.equal(canonicalArray('{NULL,null,"NULL","null"}', same), '{NULL,NULL,"NULL","null"}');
  assert.equal(canonicalArray('{"a\\"b","c\\\\d",e\\,f}', same), '{"a\\"b","c\\\\d","e,f"}');
  assert.equal(canonicalArray("{a b ,c\\ }", same), '{"a b","c "}');
  assert.equal(canonicalArray("{{a,b},{ c , d }}", same), "{{a,b},{c,d}}");
  assert.equal(canonicalArray("{}", same), "{}");
  assert.equal(canonicalArray('{"{x}"}', same), '{"{x}"}');
  assert.equal(canonicalArray("{é,😀}", same), "{é,😀}");
  for (
    const text of ["", "a,b", "{a,,b}", "{a", "{{a},b}", "{{a},{b,c}}", "[0:1]={a,b}", '{"a}']
  ) assert.equal(canonicalArray(text, same), undefined, text);
});
