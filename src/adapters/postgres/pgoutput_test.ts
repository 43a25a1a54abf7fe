import assert from "node:assert/strict";
import { PgOutputDecoder } from "./pgoutput.ts";

/** Messages as PostgreSQL 15 wrote them for `public.users (id int primary key, name text)`. */
const BEGIN = "420000000001516bd00003049beecfe612000002d6";
const RELATION =
  "52000040007075626c6963007573657273006400020169640000000017ffffffff006e616d650000000019ffffffff";
const INSERT_1 = "49000040004e0002740000000131740000000161";
const UPDATE_2_TO_5 = "55000040004b00027400000001326e4e0002740000000135740000000162";
const DELETE_3 = "44000040004b00027400000001336e";
const TRUNCATE = "54000000010000004000";

const bytes = (hex: string) => new Uint8Array(hex.match(/../g)!.map((b) => parseInt(b, 16)));

Deno.test("pgoutput: inserts, a key-changing update (old key deleted) and deletes give the key as text", () => {
  const decoder = new PgOutputDecoder("public", "users", ["id"]);
  assert.deepEqual(decoder.decode(bytes(BEGIN)), []);
  assert.deepEqual(decoder.decode(bytes(RELATION)), []);
  assert.deepEqual(decoder.decode(bytes(INSERT_1)), [{ op: "insert", key: { id: "1" } }]);
  assert.deepEqual(decoder.decode(bytes(UPDATE_2_TO_5)), [
    { op: "delete", key: { id: "2" } },
    { op: "update", key: { id: "5" } },
  ]);
  assert.deepEqual(decoder.decode(bytes(DELETE_3)), [{ op: "delete", key: { id: "3" } }]);
});

Deno.test("pgoutput: another table's rows are not ours; a TRUNCATE of ours cannot be captured", () => {
  assert.deepEqual(
    (() => {
      const other = new PgOutputDecoder("crm", "users", ["id"]);
      other.decode(bytes(RELATION));
      return other.decode(bytes(INSERT_1));
    })(),
    [],
  );
  const decoder = new PgOutputDecoder("public", "users", ["id"]);
  assert.throws(() => decoder.decode(bytes(INSERT_1)), /before its relation/);
  decoder.decode(bytes(RELATION));
  assert.throws(() => decoder.decode(bytes(TRUNCATE)), /public\.users was truncated/);
});
