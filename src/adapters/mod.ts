/**
 * Every adapter, in the order `dsync adapters` lists them: adding an adapter is one folder
 * beside this file and one entry here. The registry (src/app/registry.ts) builds every
 * `<src>:<tgt>` pair, its help and its completions from this list.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { ADAPTERS } from "./mod.ts";
 * ok(ADAPTERS.some((adapter) => adapter.name === "csv"));
 * ```
 * @module
 */
import type { Importer } from "../adapter_kit/importer.ts";
import { csvImporter } from "./csv/mod.ts";
import { jsonImporter, ndjsonImporter } from "./json/mod.ts";
import { sqliteImporter } from "./sqlite/mod.ts";
import { httpImporter } from "./http/mod.ts";
import { webhookImporter } from "./webhook/mod.ts";
import { postgresImporter } from "./postgres/mod.ts";
import { xlsxImporter } from "./xlsx/mod.ts";
import { mysqlImporter } from "./mysql/mod.ts";
import { clickhouseImporter } from "./clickhouse/mod.ts";
import { redisImporter } from "./redis/mod.ts";
import { natsImporter } from "./nats/mod.ts";

/** The registered adapters. */
export const ADAPTERS: readonly Importer[] = [
  csvImporter,
  ndjsonImporter,
  jsonImporter,
  sqliteImporter,
  httpImporter,
  webhookImporter,
  postgresImporter,
  xlsxImporter,
  mysqlImporter,
  clickhouseImporter,
  redisImporter,
  natsImporter,
];
