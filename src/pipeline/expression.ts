/**
 * JavaScript `map:` expressions (`r => r.total > 1000 ? 'gold' : 'std'`), run in a sandbox
 * without file, network or environment access.
 *
 * How: every expression is compiled and run inside a fresh V8 context (`node:vm`) whose global
 * holds only the ECMAScript built-ins: no `Deno`, `fetch`, `process`, `require`, timers or
 * module loader (`import()` is refused: no dynamic-import callback). Nothing of the host realm
 * is handed in: records cross as JSON text parsed inside the context and results come back as
 * JSON text, so no host object (and no host `Function` constructor behind
 * `x.constructor.constructor`) is ever reachable. The context also refuses `eval` and
 * `new Function` of strings and WebAssembly, has its own microtask queue (a promise cannot run
 * code after a call returned) and every call has a time limit. docs/pipelines.md ("Sandbox")
 * explains it for users; tests/pipeline_test.ts tries the escapes.
 *
 * @example
 * ```ts
 * import { deepStrictEqual, throws } from "node:assert/strict";
 * import { ExpressionError, ExpressionSandbox } from "./expression.ts";
 * const sandbox = new ExpressionSandbox({ tier: "r => r.total > 1000 ? 'gold' : 'std'" });
 * deepStrictEqual(sandbox.evaluate([{ total: 1500 }, { total: 20 }]), [["gold"], ["std"]]);
 * // No Deno, fetch or process inside: reaching for them throws for that record.
 * const escape = new ExpressionSandbox({ env: "r => Deno.env.get('HOME')" });
 * throws(() => escape.evaluate([{}]), ExpressionError);
 * ```
 * @module
 */
import vm from "node:vm";
import { encodeBase64 } from "../model/base64.ts";

/** An expression that does not compile, or that threw for a record. */
export class ExpressionError extends Error {
  constructor(readonly field: string, message: string, readonly record?: number) {
    super(message);
    this.name = "ExpressionError";
  }
}

/** Sandbox settings. */
export interface SandboxOptions {
  /** Longest one call (a batch of records) may run, in milliseconds (default 10000). */
  timeoutMs?: number;
}

/** Whether a `map:` value looks like an arrow function (`r => ...`, `(r) => ...`). */
export function isExpression(text: string): boolean {
  return /^\s*(?:async\s+)?(?:[A-Za-z_$][\w$]*|\([^()]*\))\s*=>/.test(text);
}

// Runs inside the context: captures JSON before any expression runs, applies every function
// to every record, and reports the first throw as data, never as an object crossing realms.
const RUNNER = `"use strict";
(() => {
  const parse = JSON.parse, stringify = JSON.stringify, fns = globalThis.__dsync_fns;
  delete globalThis.__dsync_fns;
  Object.defineProperty(globalThis, "__dsync_run", { value: (input) => {
    const records = parse(input), rows = [];
    for (let r = 0; r < records.length; r++) {
      const row = [];
      for (let f = 0; f < fns.length; f++) {
        let value;
        try {
          value = fns[f](records[r]);
          if (value !== null && typeof value === "object" && typeof value.then === "function") {
            throw new TypeError("returned a promise; expressions must return a value");
          }
          value = value === undefined ? null : stringify(value) === undefined ? null : value;
        } catch (error) {
          let message;
          try { message = String(error && error.message !== undefined ? error.message : error); }
          catch { message = "threw an unprintable value"; }
          return stringify({ error: { record: r, field: f, message } });
        }
        row.push(value);
      }
      rows.push(row);
    }
    return stringify({ rows });
  } });
})();`;

const CALL = new vm.Script("__dsync_run(__dsync_input)");

let rejectionsMuted = false;

/**
 * A promise an expression rejects and drops (`import()` is one) would end the process as an
 * unhandled rejection: those of a sandbox's realm are dropped here; the host's still end it.
 */
function muteSandboxRejections(): void {
  if (rejectionsMuted) return;
  rejectionsMuted = true;
  globalThis.addEventListener("unhandledrejection", (event) => {
    if (!(event.promise instanceof Promise)) event.preventDefault();
  });
}

/** One pipeline's expressions, compiled into their own context. */
export class ExpressionSandbox {
  #context: vm.Context;
  #fields: string[];
  #timeoutMs: number;

  /**
   * Compiles `expressions` (field → arrow function source).
   *
   * @throws {ExpressionError} naming the field whose expression does not compile or is not a
   * function.
   */
  constructor(expressions: Record<string, string>, options: SandboxOptions = {}) {
    this.#fields = Object.keys(expressions);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    muteSandboxRejections();
    this.#context = vm.createContext(Object.create(null), {
      codeGeneration: { strings: false, wasm: false },
      microtaskMode: "afterEvaluate",
    });
    vm.runInContext("globalThis.__dsync_fns = [];", this.#context);
    for (const field of this.#fields) {
      let ok: unknown;
      try {
        ok = vm.runInContext(
          `__dsync_fns.push((\n${expressions[field]}\n)); typeof __dsync_fns.at(-1) === "function"`,
          this.#context,
          { timeout: this.#timeoutMs, filename: `map.${field}` },
        );
      } catch (error) {
        throw new ExpressionError(field, messageOf(error));
      }
      if (ok !== true) throw new ExpressionError(field, "is not a function (expected r => ...)");
    }
    vm.runInContext(RUNNER, this.#context);
  }

  /**
   * The expressions' values for each record (plain objects of JSON-able values: see
   * {@linkcode jsonRecordValue}), one array per record in field order.
   *
   * @throws {ExpressionError} for the first record and field whose expression threw (or for a
   * batch that ran out of time).
   */
  evaluate(records: Record<string, unknown>[]): unknown[][] {
    const context = this.#context as Record<string, unknown>;
    context.__dsync_input = JSON.stringify(records);
    let output: unknown;
    try {
      output = CALL.runInContext(this.#context, { timeout: this.#timeoutMs });
    } catch (error) {
      throw new ExpressionError(
        this.#fields.join(", "),
        /timed out/.test(messageOf(error))
          ? `took longer than ${
            this.#timeoutMs / 1000
          } s for ${records.length} records (an endless loop?)`
          : messageOf(error),
      );
    } finally {
      context.__dsync_input = undefined;
    }
    if (typeof output !== "string") {
      throw new ExpressionError(this.#fields.join(", "), "the sandbox was tampered with");
    }
    const result = JSON.parse(output) as {
      rows?: unknown[][];
      error?: { record: number; field: number; message: string };
    };
    if (result.error) {
      throw new ExpressionError(
        this.#fields[result.error.field] ?? "?",
        result.error.message,
        result.error.record,
      );
    }
    if (!Array.isArray(result.rows) || result.rows.length !== records.length) {
      throw new ExpressionError(this.#fields.join(", "), "the sandbox was tampered with");
    }
    return result.rows;
  }
}

/**
 * The sandbox text of an `enrichment:` output expression written `v => ...` or `(v, r) => ...`:
 * the sandbox calls it with `{v, r}`, the value looked up and the record.
 */
export function lookupExpression(text: string): string {
  return `(__in) => (\n${text}\n)(__in.v, __in.r)`;
}

/**
 * A record value as an expression sees it: 64-bit integers beyond 2^53 as strings, bytes as
 * base64, everything else as JSON has it.
 */
export function jsonRecordValue(value: unknown): unknown {
  if (typeof value === "bigint") {
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  }
  if (value instanceof Uint8Array) return encodeBase64(value);
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  return value ?? null;
}

/** A thrown value's message; only primitives are read, so a host error is all it can be. */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
