/**
 * Every adapter, registered by importing its module: adding an adapter is one line here.
 *
 * @example
 * ```ts
 * import "./importers/mod.ts";
 * ```
 * @module
 */
import "./csv.ts";
import "./ndjson.ts";
import "./json.ts";
import "./sqlite.ts";
import "./http.ts";
import "./webhook.ts";
import "./postgres.ts";
import "./xlsx.ts";
