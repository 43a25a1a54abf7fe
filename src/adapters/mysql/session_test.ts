import { strictEqual } from "node:assert/strict";
import { messageOf } from "./session.ts";

Deno.test("messageOf: MySQL's code names below 1900, the number above (MariaDB's differ there)", () => {
  const server = (errno: number, code: string) => ({ sqlMessage: "boom", errno, code });
  strictEqual(messageOf(server(1062, "ER_DUP_ENTRY"), []), "boom (ER_DUP_ENTRY)");
  strictEqual(
    messageOf(server(4025, "ER_INNODB_AUTOEXTEND_SIZE_OUT_OF_RANGE"), []),
    "boom (error 4025)",
  );
  strictEqual(
    messageOf({ message: "connect refused", code: "ECONNREFUSED" }, []),
    "connect refused (ECONNREFUSED)",
  );
  strictEqual(messageOf({ sqlMessage: "no pw s3cret", errno: 1045 }, ["s3cret"]), "no pw ***");
});
