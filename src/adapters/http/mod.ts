/**
 * JSON over HTTP: a GET-able collection as a source, a REST resource as a target.
 *
 * Reading follows pagination (a `Link: <…>; rel="next"` header, a next URL or cursor in the body
 * with `--next`, or page/offset query parameters) and spools the records to a temporary NDJSON
 * file page by page, so that the engine can read them twice without a second round of requests
 * and without holding the whole set in memory. Writing sends one request per change (POST,
 * PATCH/PUT, DELETE) with bounded concurrency; HTTP is not transactional, so a failure stops the
 * run with a report of what was applied, and running the same sync again finishes the job.
 *
 * @example
 * ```sh
 * dsync http:sqlite https://api.example.org/users app.db#users --records data --key id
 * dsync csv:http users.csv http://127.0.0.1:3000/users --key id --delete
 * ```
 * @module
 */
import { UsageError } from "../../model/errors.ts";
import { HTTP_OPTIONS, HttpClient } from "../../adapter_kit/http_client.ts";
import type { Importer } from "../../adapter_kit/importer.ts";
import { wholeNumber, wholeNumberOption } from "../../adapter_kit/option_values.ts";
import { HttpLookup } from "./lookup.ts";

import { HttpCollection } from "./collection.ts";
import { HttpTarget } from "./target.ts";

/** The `http` adapter. */
export const httpImporter: Importer = {
  name: "http",
  description: "JSON over HTTP: a paged collection (source) or a REST resource (target)",
  locator: "http(s)://host/path (user:password@ for basic auth); target: the collection URL",
  transactional: false,
  options: [
    ...HTTP_OPTIONS,
    {
      flags: "--records <path>",
      description:
        "where the records are in a JSON body (dotted: data, result.items), or - for NDJSON",
    },
    { flags: "--next <path>", description: "body path of the next page's URL or cursor" },
    {
      flags: "--cursor-param <name>",
      description: "query parameter that carries a --next cursor",
      defaultValue: "cursor",
    },
    {
      flags: "--page-param <name>",
      description: "page-number query parameter: pages 1, 2, ... until an empty page",
    },
    {
      flags: "--offset-param <name>",
      description: "offset query parameter: 0, then records read so far, until an empty page",
    },
    {
      flags: "--page-start <n>",
      description: "first page number of --page-param (default 1)",
      parse: wholeNumberOption(0),
    },
    {
      flags: "--page-size <n>",
      description: "records per page, sent as --size-param",
      parse: wholeNumberOption(1),
    },
    {
      flags: "--size-param <name>",
      description: "query parameter of --page-size (default per_page; limit with --offset-param)",
    },
    { flags: "--flatten", description: "nested objects become a.b fields (nested again on write)" },
    {
      flags: "--concurrency <n>",
      description: "target: requests in flight at once (1 to 64)",
      role: "target",
      defaultValue: "4",
      parse: (text, flag) => {
        const n = wholeNumber(text, flag, 1);
        if (n > 64) throw new UsageError(`${flag} ${text}: expected 1 to 64`);
        return n;
      },
    },
    {
      flags: "--update-method <method>",
      description: "target: PATCH (changed fields) or PUT (whole record)",
      role: "target",
      defaultValue: "PATCH",
      parse: (text, flag) => {
        const method = text.toUpperCase();
        if (method !== "PATCH" && method !== "PUT") {
          throw new UsageError(`${flag} ${text}: expected PATCH or PUT`);
        }
        return method;
      },
    },
    {
      flags: "--item-url <template>",
      description: "target: URL of one record, e.g. 'http://host/users/{id}' (default URL/{key})",
      role: "target",
    },
  ],
  openSource: (locator, ctx) =>
    Promise.resolve(
      new HttpCollection(HttpClient.fromOptions(locator, ctx.options, "source"), ctx.options),
    ),
  openTarget: (locator, ctx) => {
    if (locator === undefined) {
      throw new UsageError("http target: which URL? give the collection URL as TARGET");
    }
    return Promise.resolve(
      new HttpTarget(HttpClient.fromOptions(locator, ctx.options, "target"), ctx.options),
    );
  },
  openLookup: (locator, ctx) =>
    Promise.resolve(new HttpLookup(locator, ctx.options, ctx.concurrency ?? 8)),
};
