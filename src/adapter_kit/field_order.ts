/**
 * The fields of a store without a schema (Redis hashes, NATS KV entries), in an order that does
 * not depend on the order the store lists its keys in (SCAN's is arbitrary): each record's
 * fields keep their order, a field first seen in a later record goes right after the field
 * before it there, and the key fields come first. A CSV written from such a store gets the same
 * header on every run.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { FieldOrder } from "./field_order.ts";
 * const order = new FieldOrder();
 * order.add(["id", "name", "note"]); // a record without "age" (a NULL is not stored)
 * order.add(["name", "age", "note", "id"]);
 * deepStrictEqual(order.names(["id"]), ["id", "name", "age", "note"]);
 * ```
 * @module
 */

/** Field names merged from records, each record's order kept. */
export class FieldOrder {
  #names: string[] = [];
  #known = new Set<string>();

  /** Merges one record's field names. */
  add(fields: Iterable<string>): void {
    let after = -1;
    for (const name of fields) {
      if (this.#known.has(name)) {
        after = this.#names.indexOf(name);
        continue;
      }
      this.#known.add(name);
      this.#names.splice(++after, 0, name);
    }
  }

  /** The names seen, `keyFields` first (added when no record had them). */
  names(keyFields: string[]): string[] {
    return [...keyFields, ...this.#names.filter((name) => !keyFields.includes(name))];
  }

  /** Whether a record had the field. */
  has(name: string): boolean {
    return this.#known.has(name);
  }
}
