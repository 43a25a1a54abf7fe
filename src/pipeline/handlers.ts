/**
 * The `on_create`, `on_update`, `on_delete` and `on_change` handlers of a pipeline: for each
 * change of a run, each matching handler runs once — a SQL statement with the change's values
 * bound as parameters, an HTTP request from templates, or a command reading the change line on
 * stdin. After a commit the calls are first recorded as pending (handler_state.ts) and removed as
 * they succeed, so a failed call is retried on the next run; with `handlers: instead` the target
 * is not written and the calls made are remembered, so the next run (planning the same changes)
 * makes only the ones that failed. Every failure is reported with the change's key; any failure
 * makes the run exit 4.
 * @module
 */
import { createHash } from "node:crypto";
import { TargetError } from "../model/errors.ts";
import { stringifyJsonExact, toJsonValue } from "../model/values.ts";
import {
  changeObject,
  planChanges,
  rawValue,
  showKey,
  type WritePlan,
} from "../adapter_kit/changes.ts";
import { namedParameters, type StatementRunner } from "../adapter_kit/statements.ts";
import { isSqlImporter } from "../adapter_kit/sql.ts";
import { redactUrl } from "../adapter_kit/http_client.ts";
import type { DatastoreConfig, HandlerConfig } from "./config_types.ts";
import type { HandlerCall, HandlerState } from "./handler_state.ts";

/** What one call gets: the change line as printed, and the values its parameters name. */
interface Job {
  line: Record<string, unknown>;
  params: Record<string, unknown>;
}

/** Failures shown one by one; past this many, a count. */
const SHOWN_FAILURES = 20;

/**
 * The calls the plan's changes make, in change order (creates, updates, deletes), each change's
 * handlers in event order. Parameters: every field of the record (the new values; a delete's
 * old ones), `before.FIELD` and `after.FIELD` (NULL where the change has none), and `_op`.
 */
export function* handlerCalls(plan: WritePlan, handlers: HandlerConfig[]): Generator<HandlerCall> {
  for (const change of planChanges(plan)) {
    const matching = handlers.filter((h) =>
      h.event === `on_${change.op}` || h.event === "on_change"
    );
    if (!matching.length) continue;
    const params: Record<string, unknown> = {};
    const put = (prefix: string, row: unknown[] | undefined) =>
      plan.fields.forEach((f, i) =>
        params[prefix + f.name] = row ? toJsonValue(rawValue(row[i])) : null
      );
    // A create has no old values and a delete no new ones: NULL, so that on_change can name both.
    put("before.", change.op === "create" ? undefined : change.before);
    put("after.", change.op === "delete" ? undefined : change.after);
    put("", change.op === "delete" ? change.before : change.after);
    params._op = change.op;
    const job = stringifyJsonExact({ line: changeObject(change, plan), params });
    for (const handler of matching) {
      const id = createHash("sha256").update(handler.name + "\n" + job).digest("hex");
      yield { id, handler: handler.name, key: showKey(plan, change.key), job };
    }
  }
}

/** Runs calls: one connection per SQL datastore, opened on first use. */
class Caller {
  #statements = new Map<DatastoreConfig, Promise<StatementRunner>>();

  constructor(readonly handlers: HandlerConfig[]) {}

  async call(call: HandlerCall): Promise<void> {
    const handler = this.handlers.find((h) => h.name === call.handler)!;
    const job = JSON.parse(call.job) as Job;
    if (handler.sql) return await this.#sql(handler.sql, job);
    if (handler.http) return await http(handler, job);
    return await command(handler, job);
  }

  async #sql(sql: NonNullable<HandlerConfig["sql"]>, job: Job): Promise<void> {
    const { datastore } = sql;
    const { importer } = datastore;
    if (!this.#statements.has(datastore)) {
      this.#statements.set(
        datastore,
        importer.openStatements!(datastore.locator ?? "", { options: datastore.options }),
      );
    }
    const runner = await this.#statements.get(datastore)!;
    const placeholder = isSqlImporter(importer) ? importer.dialect.placeholder : () => "?";
    const { text, names } = namedParameters(sql.text, placeholder);
    await runner.run(text, names.map((name) => value(job, name)));
  }

  async close(): Promise<void> {
    for (const runner of this.#statements.values()) {
      await runner.then((r) => r.close(), () => {});
    }
  }
}

/** A parameter's value; a name the change does not have fails the call. */
function value(job: Job, name: string): unknown {
  if (!(name in job.params)) {
    const fields = Object.keys(job.params).filter((f) => !f.includes(".") && f !== "_op");
    throw new Error(`no field '${name}' in the change (fields: ${fields.join(", ")})`);
  }
  return job.params[name];
}

async function http(handler: HandlerConfig, job: Job): Promise<void> {
  const { url: urlTemplate, method, headers, body } = handler.http!;
  for (const name of [...urlTemplate.fields, ...body?.fields ?? []]) value(job, name);
  const url = String(urlTemplate.render((name) => {
    const v = job.params[name];
    return v === null ? v : encodeURIComponent(typeof v === "string" ? v : JSON.stringify(v));
  }));
  const rendered = body?.render((name) => job.params[name]);
  const text = rendered === undefined
    ? JSON.stringify(job.line)
    : typeof rendered === "string"
    ? rendered
    : JSON.stringify(rendered);
  const sent = new Headers(headers);
  if (!sent.has("content-type")) sent.set("content-type", "application/json");
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: sent,
      body: method === "GET" || method === "HEAD" ? undefined : text,
      signal: AbortSignal.timeout(handler.timeoutMs),
    });
  } catch (error) {
    const cause = (error as Error).name === "TimeoutError"
      ? `no answer within ${handler.timeoutMs / 1000} s`
      : (error as Error).message;
    throw new Error(`${method} ${redactUrl(url)}: ${cause}`);
  }
  const answer = await response.text().catch(() => "");
  if (!response.ok) {
    throw new Error(
      `${method} ${redactUrl(url)}: HTTP ${response.status}${
        answer.trim() ? `: ${answer.trim().split("\n")[0].slice(0, 200)}` : ""
      }`,
    );
  }
}

async function command(handler: HandlerConfig, job: Job): Promise<void> {
  const [program, ...args] = handler.command!;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args,
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    throw new Error(`${program}: cannot run: ${(error as Error).message}`);
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), handler.timeoutMs);
  try {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stringifyJsonExact(job.line) + "\n"))
      .catch(() => {});
    await writer.close().catch(() => {});
    const { code, signal, stderr } = await child.output();
    if (code !== 0) {
      const last = new TextDecoder().decode(stderr).trim().split("\n").pop();
      throw new Error(
        `${program}: ${
          signal === "SIGKILL" ? `killed after ${handler.timeoutMs / 1000} s` : `exit ${code}`
        }${last ? `: ${last}` : ""}`,
      );
    }
  } finally {
    clearTimeout(timer);
  }
}

/** What the handlers of one run did. */
export interface HandlerTotals {
  /** Calls that succeeded. */
  ran: number;
  failed: number;
  /** `handlers: instead`: calls made by an earlier run. */
  before: number;
}

/**
 * Makes the calls of `plan` (and, after a commit, those left pending by earlier runs), reports
 * each failure on stderr, and fails with exit 4 when any failed.
 *
 * @throws {TargetError} when a call failed; it is retried on the next run.
 */
export async function runHandlers(
  name: string,
  handlers: HandlerConfig[],
  mode: "after_commit" | "instead",
  plan: WritePlan,
  state: HandlerState,
  written: string,
  quiet = false,
): Promise<HandlerTotals> {
  const totals: HandlerTotals = { ran: 0, failed: 0, before: 0 };
  const caller = new Caller(handlers);
  const known = new Set(handlers.map((h) => h.name));
  const fail = (call: HandlerCall, error: unknown) => {
    totals.failed++;
    if (totals.failed <= SHOWN_FAILURES) {
      console.error(
        `dsync: pipeline '${name}': ${call.handler} for ${call.key} failed: ${
          (error as Error).message
        }`,
      );
    }
  };
  // A call, then its record in the state file (a failure to write that is not the handler's).
  const attempt = async (
    call: HandlerCall,
    succeeded: () => void,
    failed?: (why: string) => void,
  ) => {
    try {
      await caller.call(call);
    } catch (error) {
      failed?.((error as Error).message);
      fail(call, error);
      return;
    }
    succeeded();
    totals.ran++;
  };
  try {
    if (mode === "after_commit") {
      state.addPending([...handlerCalls(plan, handlers)]);
      for (const call of state.pending()) {
        // A handler taken out of the file since: its calls are dropped.
        if (!known.has(call.handler)) {
          state.remove(call.id);
          continue;
        }
        await attempt(call, () => state.remove(call.id), (why) => state.failed(call.id, why));
      }
    } else {
      const done = state.done();
      const current = new Set<string>();
      for (const call of handlerCalls(plan, handlers)) {
        current.add(call.id);
        if (done.has(call.id)) {
          totals.before++;
          continue;
        }
        await attempt(call, () => state.markDone(call.id));
      }
      state.forgetDone(current);
    }
  } finally {
    await caller.close();
  }
  if (!quiet && (totals.ran || totals.failed || totals.before)) {
    console.error(
      `dsync: pipeline '${name}': handlers: ${totals.ran} ran${
        totals.failed ? `, ${totals.failed} failed` : ""
      }${totals.before ? `, ${totals.before} ran before` : ""}`,
    );
  }
  if (totals.failed) {
    if (totals.failed > SHOWN_FAILURES) {
      console.error(`dsync: … and ${totals.failed - SHOWN_FAILURES} more handler failures`);
    }
    throw new TargetError(
      `pipeline '${name}': ${totals.failed} handler call${
        totals.failed === 1 ? "" : "s"
      } failed${written}; retried on the next run`,
    );
  }
  return totals;
}
