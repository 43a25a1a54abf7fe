/**
 * The `on_create`, `on_update`, `on_delete` and `on_change` keys of a pipeline, checked: each is
 * one handler or a list of them, and each handler is exactly one of `sql:` (on a datastore that
 * runs statements), `url:` (an HTTP request) or `command:`.
 * @module
 */
import { listImporters } from "../app/registry.ts";
import { parseHeaders } from "../adapter_kit/http_client.ts";
import type { ConfigContext, HandlerConfig, HandlerEvent } from "./config_types.ts";

/** The events, in the order their handlers run for one change. */
export const HANDLER_EVENTS: HandlerEvent[] = ["on_create", "on_update", "on_delete", "on_change"];

/** Default time a handler's request or command may take. */
export const HANDLER_TIMEOUT_MS = 30_000;

/** One handler as written in the file. */
export interface RawHandler {
  datastore?: string;
  sql?: string;
  url?: string;
  method?: string;
  headers?: string | string[];
  body?: string;
  command?: string | string[];
  timeout?: number;
}

/** The handlers of a pipeline (`raw` is the pipeline's object), in {@linkcode HANDLER_EVENTS} order. */
export function parseHandlers(
  path: (string | number)[],
  raw: Record<string, unknown>,
  ctx: ConfigContext,
): HandlerConfig[] {
  const handlers: HandlerConfig[] = [];
  for (const event of HANDLER_EVENTS) {
    if (raw[event] === undefined) continue;
    const list = [raw[event] as RawHandler | RawHandler[]].flat();
    list.forEach((entry, i) => {
      const at = Array.isArray(raw[event]) ? [...path, event, i] : [...path, event];
      const handler = parseHandler(at, event, `${event}[${i}]`, entry, ctx);
      if (handler) handlers.push(handler);
    });
  }
  return handlers;
}

function parseHandler(
  path: (string | number)[],
  event: HandlerEvent,
  name: string,
  raw: RawHandler,
  ctx: ConfigContext,
): HandlerConfig | undefined {
  const kinds = (["sql", "url", "command"] as const).filter((k) => raw[k] !== undefined);
  if (kinds.length !== 1) {
    ctx.issue(path, "a handler is one of sql: (with datastore:), url: or command:");
    return undefined;
  }
  const base = {
    event,
    name,
    at: ctx.at(path),
    timeoutMs: raw.timeout === undefined ? HANDLER_TIMEOUT_MS : raw.timeout * 1000,
  };
  const misplaced = (keys: (keyof RawHandler)[]) => {
    const extra = keys.filter((k) => raw[k] !== undefined);
    for (const key of extra) {
      ctx.issue([...path, key], `'${key}' does not go with ${kinds[0]}:`, undefined, true);
    }
    return extra.length > 0;
  };
  if (kinds[0] === "sql") {
    if (misplaced(["method", "headers", "body"])) return undefined;
    const datastore = raw.datastore === undefined ? undefined : ctx.datastores.get(raw.datastore);
    if (!datastore) {
      ctx.issue(
        [...path, raw.datastore === undefined ? "sql" : "datastore"],
        raw.datastore === undefined
          ? "sql: needs datastore: (where the statement runs)"
          : `unknown datastore '${raw.datastore}'`,
        `datastores: ${[...ctx.datastores.keys()].join(", ") || "(none)"}`,
      );
      return undefined;
    }
    if (!datastore.importer.openStatements) {
      ctx.issue(
        [...path, "datastore"],
        `a ${datastore.importer.name} datastore cannot run statements${
          datastore.importer.noStatements ? `: ${datastore.importer.noStatements}` : ""
        }`,
        `statements: ${
          listImporters().filter((i) => i.openStatements).map((i) => i.name).join(", ")
        }; or send the change with url: or command:`,
      );
      return undefined;
    }
    return { ...base, sql: { datastore, text: raw.sql! } };
  }
  if (misplaced(["datastore"])) return undefined;
  if (kinds[0] === "command") {
    if (misplaced(["method", "headers", "body"])) return undefined;
    const command = Array.isArray(raw.command)
      ? raw.command.map(String)
      : ["sh", "-c", raw.command!];
    if (!command.length || command[0] === "") {
      ctx.issue([...path, "command"], "an empty command");
      return undefined;
    }
    return { ...base, command };
  }
  const url = ctx.template([...path, "url"], raw.url!);
  const body = raw.body === undefined ? undefined : ctx.template([...path, "body"], raw.body);
  let headers: [string, string][] = [];
  try {
    headers = raw.headers === undefined ? [] : parseHeaders([raw.headers].flat());
  } catch (error) {
    ctx.issue([...path, "headers"], (error as Error).message);
    return undefined;
  }
  if (!url || (raw.body !== undefined && !body)) return undefined;
  return {
    ...base,
    http: { url, method: (raw.method ?? "POST").toUpperCase(), headers, body },
  };
}
