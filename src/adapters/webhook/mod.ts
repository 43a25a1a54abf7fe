/**
 * Webhook target: POSTs the change set as JSON batches to one URL, signed with HMAC-SHA256 when
 * a secret is given. An endpoint has no state to read back, so the "current state" is a state
 * file (`--state FILE`, SQLite) holding, per key, the record as last delivered; it is updated
 * batch by batch, only after the endpoint answered 2xx, so that the next run sends only what
 * changed since.
 *
 * @example
 * ```sh
 * DSYNC_WEBHOOK_SECRET=s3cret dsync csv:webhook users.csv https://hooks.example.org/dsync --state hook.db
 * ```
 * @module
 */
import { openSqlite } from "../../adapter_kit/sqlite.ts";
import {
  changeObject,
  planChangeList,
  rawValue,
  type RecordChange,
  reportChanges,
  type WritePlan,
} from "../../adapter_kit/changes.ts";
import type { DatabaseSync } from "node:sqlite";
import { InputError, TargetError, UsageError } from "../../model/errors.ts";
import { fileExists } from "../../adapter_kit/files.ts";
import {
  expandEnv,
  hmacSha256Hex,
  HTTP_OPTIONS,
  HttpClient,
  jsonBodyValue,
} from "../../adapter_kit/http_client.ts";
import { parseJsonExact, stringifyJsonExact } from "../../model/values.ts";
import type { DatasetInfo, Importer, OpenOptions, Target } from "../../adapter_kit/importer.ts";
import type { Field, RowBatch } from "../../model/types.ts";
import { canonical } from "../../model/values.ts";
import { batchRows, objectRow } from "../../adapter_kit/batches.ts";
import { wholeNumber } from "../../adapter_kit/option_values.ts";

/** Environment variable read for the signing secret when `--secret` is not given. */
export const SECRET_ENV = "DSYNC_WEBHOOK_SECRET";
/** Default name of the signature header. */
export const SIGNATURE_HEADER = "X-Dsync-Signature";

type JsonObject = Record<string, unknown>;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS dsync_webhook (
  target TEXT PRIMARY KEY,
  fields TEXT NOT NULL,
  key TEXT NOT NULL,
  updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dsync_webhook_records (
  target TEXT NOT NULL,
  key TEXT NOT NULL,
  record TEXT NOT NULL,
  PRIMARY KEY (target, key)
);`;

/** One webhook URL, with its state in a SQLite file (or none). */
export class WebhookTarget implements Target {
  readonly label: string;
  readonly #client: HttpClient;
  readonly #state: string | undefined;
  readonly #secret: string | undefined;
  readonly #signatureHeader: string;
  readonly #batchSize: number;
  #db: DatabaseSync | undefined;
  #info: DatasetInfo | undefined;

  constructor(locator: string, options: OpenOptions) {
    this.#client = HttpClient.fromOptions(locator, options, "target");
    this.label = `webhook:${this.#client.label}`;
    this.#state = options.state === undefined ? undefined : String(options.state);
    const secret = options.secret !== undefined
      ? expandEnv(String(options.secret), "--secret")
      : Deno.env.get(SECRET_ENV);
    this.#secret = secret === "" ? undefined : secret;
    if (this.#secret) this.#client.addSecret(this.#secret);
    this.#signatureHeader = String(options.signatureHeader ?? SIGNATURE_HEADER);
    this.#batchSize = wholeNumber(options.batchSize ?? "1000", "--batch-size", 1);
    if (this.#state === undefined && !options.quiet && !options.dryRun) {
      console.error(
        `dsync: ${this.label}: no --state FILE: every record is sent as a create, and nothing is remembered`,
      );
    }
  }

  /** The state's key for this endpoint: the URL without secrets. */
  get #target(): string {
    return this.#client.label;
  }

  async #open(create: boolean): Promise<DatabaseSync | undefined> {
    if (this.#db || this.#state === undefined) return this.#db;
    if (!create && !await fileExists(this.#state)) return undefined;
    try {
      this.#db = openSqlite(this.#state);
      this.#db.exec(SCHEMA);
    } catch (error) {
      const Err = create ? TargetError : InputError;
      throw new Err(`--state ${this.#state}: cannot open as SQLite: ${(error as Error).message}`);
    }
    return this.#db;
  }

  async describe(): Promise<DatasetInfo> {
    if (this.#info) return this.#info;
    const db = await this.#open(false);
    const meta = db?.prepare("SELECT fields, key FROM dsync_webhook WHERE target = ?")
      .get(this.#target) as { fields: string; key: string } | undefined;
    const fields: Field[] = meta
      ? (JSON.parse(meta.fields) as string[]).map((name) => ({ name, type: "auto" }))
      : [];
    this.#info = {
      exists: meta !== undefined,
      fields,
      primaryKey: meta ? JSON.parse(meta.key) : [],
      typed: false,
      textual: false,
      jsonValues: true,
    };
    return this.#info;
  }

  async *read(batchSize: number): AsyncGenerator<RowBatch> {
    const info = await this.describe();
    const db = await this.#open(false);
    if (!db || !info.exists) return;
    const names = info.fields.map((f) => f.name);
    const statement = db.prepare(
      "SELECT record FROM dsync_webhook_records WHERE target = ? ORDER BY rowid",
    );
    const records = statement.iterate(this.#target) as Iterable<{ record: string }>;
    yield* batchRows(
      records,
      batchSize,
      ({ record }) => objectRow(parseJsonExact(record) as JsonObject, names),
    );
  }

  async apply(plan: WritePlan, progress?: (written: number) => void): Promise<void> {
    const work = planChangeList(plan);
    if (work.length === 0) return;
    const db = await this.#open(true);
    const batches = Math.ceil(work.length / this.#batchSize);
    let sent = 0;
    for (let b = 0; b < batches; b++) {
      const batch = work.slice(b * this.#batchSize, (b + 1) * this.#batchSize);
      const body = stringifyJsonExact({
        batch: b + 1,
        batches,
        changes: batch.map((change) => changeObject(change, plan)),
      });
      const headers: Record<string, string> = {
        "X-Dsync-Batch": `${b + 1}/${batches}`,
        "X-Dsync-Delivery": (await sha256Hex(body)).slice(0, 32),
      };
      if (this.#secret) {
        headers[this.#signatureHeader] = `sha256=${await hmacSha256Hex(this.#secret, body)}`;
      }
      try {
        await this.#client.request("POST", this.#client.url, { body, headers });
      } catch (error) {
        reportChanges(
          work,
          plan,
          (i) => i < sent ? "applied" : i < sent + batch.length ? "failed" : "not applied",
          { index: sent, message: this.#client.redact((error as Error).message) },
        );
        throw new TargetError(
          `${this.label}: batch ${b + 1} of ${batches} failed: ${
            this.#client.redact((error as Error).message.replace(/^POST \S+: /, ""))
          }; ${sent} of ${work.length} changes delivered${
            this.#state ? ` and recorded in ${this.#state}` : ""
          }, ${work.length - sent} not (listed above as NDJSON)`,
          this.#state
            ? "fix the cause and run the same sync again: it sends only what was not delivered"
            : "without --state, a re-run sends every record again",
        );
      }
      if (db) this.#record(db, batch, plan);
      sent += batch.length;
      progress?.(sent);
    }
  }

  /** Stores what one delivered batch changed, in one transaction. */
  #record(db: DatabaseSync, batch: RecordChange[], plan: WritePlan): void {
    const names = plan.fields.map((f) => f.name);
    const keyNames = plan.keyIndexes.map((i) => names[i]);
    const get = db.prepare(
      "SELECT record FROM dsync_webhook_records WHERE target = ? AND key = ?",
    );
    const put = db.prepare(
      "INSERT INTO dsync_webhook_records (target, key, record) VALUES (?, ?, ?) " +
        "ON CONFLICT (target, key) DO UPDATE SET record = excluded.record",
    );
    const remove = db.prepare("DELETE FROM dsync_webhook_records WHERE target = ? AND key = ?");
    db.exec("BEGIN IMMEDIATE");
    try {
      const meta = db.prepare("SELECT fields FROM dsync_webhook WHERE target = ?")
        .get(this.#target) as { fields: string } | undefined;
      const fields: string[] = meta ? JSON.parse(meta.fields) : [];
      for (const name of names) if (!fields.includes(name)) fields.push(name);
      db.prepare(
        "INSERT INTO dsync_webhook (target, fields, key, updated) VALUES (?, ?, ?, ?) " +
          "ON CONFLICT (target) DO UPDATE SET fields = excluded.fields, key = excluded.key, " +
          "updated = excluded.updated",
      ).run(
        this.#target,
        JSON.stringify(fields),
        JSON.stringify(keyNames),
        new Date().toISOString(),
      );
      for (const change of batch) {
        const key = stateKey(change.key);
        if (change.op === "delete") {
          remove.run(this.#target, key);
          continue;
        }
        const old = get.get(this.#target, key) as { record: string } | undefined;
        const record: JsonObject = old ? parseJsonExact(old.record) as JsonObject : {};
        const { after } = change;
        names.forEach((name, i) => record[name] = jsonBodyValue(rawValue(after[i])));
        put.run(this.#target, key, stringifyJsonExact(record));
      }
      db.exec("COMMIT");
    } catch (error) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw new TargetError(
        `${this.label}: delivered, but --state ${this.#state} could not be updated: ${
          (error as Error).message
        }`,
        "the next run may send these changes again",
      );
    }
  }

  close(): Promise<void> {
    this.#db?.close();
    this.#db = undefined;
    return Promise.resolve();
  }
}

/** A record's key in the state file: its values in the `auto` canonical form (1 = "1"). */
function stateKey(key: unknown[]): string {
  return key.map((v) => canonical(rawValue(v), "auto")).join("\u001f");
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The `webhook` adapter. */
export const webhookImporter: Importer = {
  name: "webhook",
  description: "POST the change set as signed JSON batches to one URL (target only)",
  locator: "http(s)://host/path of the endpoint",
  transactional: false,
  options: [
    ...HTTP_OPTIONS,
    {
      flags: "--state <file>",
      description: "SQLite file remembering what was delivered, so a run sends only changes",
    },
    {
      flags: "--secret <secret>",
      description: `HMAC-SHA256 signing key (\${VAR} expanded; default: env ${SECRET_ENV})`,
    },
    {
      flags: "--signature-header <name>",
      description: "header carrying sha256=<hex HMAC of the body>",
      defaultValue: SIGNATURE_HEADER,
    },
  ],
  openTarget: (locator, ctx) => {
    if (locator === undefined) {
      throw new UsageError("webhook target: which URL? give the endpoint URL as TARGET");
    }
    return Promise.resolve(new WebhookTarget(locator, ctx.options));
  },
};
