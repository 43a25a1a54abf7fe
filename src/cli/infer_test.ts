import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { adapterOf } from "./infer.ts";

const of = (text: string) => {
  const { importer, locator } = adapterOf(text);
  return [importer.name, locator];
};

Deno.test("adapterOf: explicit prefix, URL scheme, file extension", () => {
  assertEquals(of("old.csv"), ["csv", "old.csv"]);
  assertEquals(of("data/events.jsonl"), ["ndjson", "data/events.jsonl"]);
  assertEquals(of("app.db#users"), ["sqlite", "app.db#users"]);
  assertEquals(of("book.xlsx#Sheet 1"), ["xlsx", "book.xlsx#Sheet 1"]);
  assertEquals(of("pg:public.users"), ["postgres", "public.users"]);
  assertEquals(of("csv:export.txt"), ["csv", "export.txt"]);
  assertEquals(of("postgres://app@127.0.0.1/shop#users"), [
    "postgres",
    "postgres://app@127.0.0.1/shop#users",
  ]);
  assertEquals(of("https://api.example.org/users"), ["http", "https://api.example.org/users"]);
  throws(() => adapterOf("notes.txt"), /cannot tell which adapter reads 'notes\.txt'/);
});
