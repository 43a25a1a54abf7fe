/**
 * Helpers of the config loader that read plain values: name lists, paths beside the config file,
 * adapter options and the pair-command settings of a pipeline or of `defaults:`.
 * @module
 */
import { dirname, isAbsolute, relative, resolve } from "node:path";
import type { OpenOptions } from "../adapter_kit/importer.ts";
import type { OptionKey } from "./schema.ts";

/** `a,b` or `[a, b]` as names. */
export function names(value: unknown): string[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value.map(String) : String(value).split(",");
  return list.map((s) => s.trim()).filter((s) => s !== "");
}

/**
 * A datastore `path` as the process opens it: a relative path is relative to the config file's
 * folder, not to wherever the run was started (a cron job's home). It is given relative to the
 * current folder when it lies below it (short messages), else absolute. `-` (stdio) and `:memory:` stay as they are.
 *
 * @example
 * ```ts
 * besideConfig("/etc/dsync/dsync.yaml", "shop.db"); // "/etc/dsync/shop.db" (from /root)
 * ```
 */
export function besideConfig(file: string, path: string | undefined): string | undefined {
  if (path === undefined || path === "-" || path === ":memory:" || isAbsolute(path)) return path;
  const absolute = resolve(dirname(file), path);
  const short = relative(Deno.cwd(), absolute);
  return short === "" ? "." : short.startsWith("..") ? absolute : short;
}

/** Adapter options as the adapters read them: by option name, values as on a command line. */
export function adapterOptions(keys: OptionKey[], raw: Record<string, unknown>): OpenOptions {
  const options: OpenOptions = {};
  for (const [key, value] of Object.entries(raw)) {
    const option = keys.find((k) => k.key === key)!;
    options[option.name] = option.kind === "flag"
      ? value
      : option.kind === "list"
      ? [value].flat().map(String)
      : String(value);
  }
  return options;
}

/** Pipeline (or `defaults:`) keys as the pair commands' options. */
export function settingsOf(raw: Record<string, unknown>, file: string): OpenOptions {
  const settings: OpenOptions = {};
  const set = (name: string, value: unknown) => {
    if (value !== undefined) settings[name] = value;
  };
  for (const list of ["key", "fields", "exclude"]) {
    if (raw[list] !== undefined) set(list, names(raw[list]).join(","));
  }
  if (raw.rename !== undefined) {
    set(
      "map",
      Object.entries(raw.rename as Record<string, string>).map(([from, to]) => `${from}=${to}`),
    );
  }
  const policy = (raw.policy ?? {}) as Record<string, unknown>;
  set("create", policy.create);
  set("update", policy.update);
  set("delete", policy.delete);
  set("createTable", policy.create_table);
  set("deleteOutsideWhere", policy.delete_outside_where);
  for (const kind of ["create", "update", "delete", "changes"]) {
    const limit = policy[`max_${kind}`];
    if (limit !== undefined) set(`max${kind[0].toUpperCase()}${kind.slice(1)}`, String(limit));
  }
  set("mode", raw.mode);
  set("mergeStrategy", raw.merge_strategy);
  set("updateKey", raw.update_key);
  set("range", raw.range);
  set("addColumns", raw.add_columns);
  set("signColumn", raw.sign_column);
  // Reconciliation by checksum bisection is the engine's `--strategy hash`.
  if (raw.strategy === "hash") set("strategy", "hash");
  const partition = (raw.partition ?? {}) as Record<string, unknown>;
  for (const key of ["column", "start", "end", "interval"]) {
    const value = partition[key];
    if (value !== undefined) set(`partition${key[0].toUpperCase()}${key.slice(1)}`, String(value));
  }
  set("batchSize", raw.batch_size);
  set("dryRun", raw.dry_run);
  set("format", raw.format);
  set("output", besideConfig(file, raw.output as string | undefined));
  set("exitCode", raw.exit_code);
  set("quiet", raw.quiet);
  set("verbose", raw.verbose);
  set("progress", raw.progress);
  return settings;
}
