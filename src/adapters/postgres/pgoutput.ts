/**
 * The pgoutput logical replication protocol (version 1), as `pg_logical_slot_peek_binary_changes`
 * returns it, message by message: the key of every inserted, updated and deleted row of one table,
 * each value in the text the server's output function gives it (what `::text` gives).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { PgOutputDecoder } from "./pgoutput.ts";
 * const decoder = new PgOutputDecoder("public", "users", ["id"]);
 * assert.deepEqual(decoder.decode(new Uint8Array([0x42])), []); // BEGIN: no change
 * ```
 * @module
 */
import type { CaptureOp } from "../../adapter_kit/capture.ts";

/** One row change: the key's values as text (null for NULL). */
export interface DecodedChange {
  op: CaptureOp;
  key: Record<string, string | null>;
}

/** Reads the messages of one decoding session (relations are announced once per session). */
export class PgOutputDecoder {
  readonly #relations = new Map<number, { ours: boolean; columns: string[] }>();

  constructor(readonly schema: string, readonly table: string, readonly keys: string[]) {}

  /** The changes of the table one message carries (none for BEGIN, COMMIT, other tables…). */
  decode(data: Uint8Array): DecodedChange[] {
    const r = new Reader(data);
    const kind = r.char();
    if (kind === "R") {
      const id = r.int32();
      const schema = r.cstring(), table = r.cstring();
      r.int8(); // replica identity
      const columns: string[] = [];
      for (let n = r.int16(); n > 0; n--) {
        r.int8(); // flags
        columns.push(r.cstring());
        r.int32(), r.int32(); // type, typmod
      }
      this.#relations.set(id, { ours: schema === this.schema && table === this.table, columns });
      return [];
    }
    if (kind === "T") {
      const count = r.int32();
      r.int8();
      for (let n = 0; n < count; n++) {
        if (this.#relations.get(r.int32())?.ours) {
          throw new Error(
            `${this.schema}.${this.table} was truncated: logical decoding cannot name the rows it removed`,
          );
        }
      }
      return [];
    }
    if (kind !== "I" && kind !== "U" && kind !== "D") return [];
    const relation = this.#relations.get(r.int32());
    if (!relation) throw new Error(`pgoutput: a ${kind} message before its relation`);
    if (!relation.ours) return [];
    const keyOf = (tuple: (string | null)[]) =>
      Object.fromEntries(this.keys.map((k) => {
        const at = relation.columns.indexOf(k);
        if (at < 0) throw new Error(`pgoutput: ${this.table} has no column ${k} any more`);
        return [k, tuple[at]];
      }));
    let marker = r.char();
    if (kind === "I") return [{ op: "insert", key: keyOf(r.tuple()) }];
    if (kind === "D") return [{ op: "delete", key: keyOf(r.tuple()) }];
    const changes: DecodedChange[] = [];
    let old: Record<string, string | null> | undefined;
    if (marker === "K" || marker === "O") {
      old = keyOf(r.tuple());
      marker = r.char();
    }
    const key = keyOf(r.tuple());
    // An update that changed the key carries the old key: that record is gone.
    if (old && JSON.stringify(old) !== JSON.stringify(key)) {
      changes.push({ op: "delete", key: old });
    }
    changes.push({ op: "update", key });
    return changes;
  }
}

/** Big-endian reads through one message. */
class Reader {
  #at = 0;
  readonly #view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  char(): string {
    return String.fromCharCode(this.int8());
  }
  int8(): number {
    return this.#view.getUint8(this.#at++);
  }
  int16(): number {
    const v = this.#view.getInt16(this.#at);
    this.#at += 2;
    return v;
  }
  int32(): number {
    const v = this.#view.getInt32(this.#at);
    this.#at += 4;
    return v;
  }
  cstring(): string {
    const end = this.bytes.indexOf(0, this.#at);
    const text = new TextDecoder().decode(this.bytes.subarray(this.#at, end));
    this.#at = end + 1;
    return text;
  }
  /** TupleData: per column `n` (null), `u` (unchanged TOASTed value) or `t` + length + text. */
  tuple(): (string | null)[] {
    const values: (string | null)[] = [];
    for (let n = this.int16(); n > 0; n--) {
      const kind = this.char();
      if (kind === "t") {
        const length = this.int32();
        values.push(new TextDecoder().decode(this.bytes.subarray(this.#at, this.#at + length)));
        this.#at += length;
      } else values.push(null); // `n`; `u` is never a key column
    }
    return values;
  }
}
