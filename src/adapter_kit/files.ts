/**
 * What file adapters share: opening a path or `-` as text, the atomic rewrite (temp file +
 * rename) and the merge of a change set into a file's existing records.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { atomicWrite } from "./files.ts";
 * const dir = await Deno.makeTempDir();
 * await atomicWrite(`${dir}/out.csv`, async (write) => {
 *   await write("id\n");
 *   await write("1\n");
 * });
 * deepStrictEqual(await Deno.readTextFile(`${dir}/out.csv`), "id\n1\n");
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
import type { UpdateChange, WritePlan } from "./changes.ts";
import { basename, dirname, extname, join } from "node:path";
import { DsyncError, InputError, TargetError, UsageError } from "../model/errors.ts";
import type { RowBatch } from "../model/types.ts";
import { fileTextWriter, streamTextWriter } from "./text_writer.ts";
import { decodeFile, decodeTextStream } from "./text_decode.ts";
import { checkInterrupt, onInterrupt } from "./interrupt.ts";

/** Whether a path exists as a file. */
export async function fileExists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

let stdinText: Promise<string> | undefined;

/**
 * Opens a file (or `-`, standard input) as a stream of text, decoded from `encoding`
 * (default utf-8; a byte-order mark is dropped). Standard input is read once and kept, as a
 * target may be read twice.
 */
export async function openText(
  path: string,
  encoding = "utf-8",
): Promise<ReadableStream<string>> {
  try {
    new TextDecoder(encoding);
  } catch {
    throw new InputError(`--encoding ${encoding}: unknown encoding`);
  }
  if (path === "-") {
    const decoder = decodeTextStream(encoding, "standard input");
    stdinText ??= (async () => {
      let all = "";
      for await (const chunk of Deno.stdin.readable.pipeThrough(decoder)) all += chunk;
      return all;
    })();
    const text = await stdinText;
    return new ReadableStream({
      start(controller) {
        controller.enqueue(text);
        controller.close();
      },
    });
  }
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (error) {
    throw new InputError(`${path}: cannot open: ${(error as Error).message.split(":")[0]}`);
  }
  if ((await file.stat()).isDirectory) {
    file.close();
    throw new InputError(`${path}: is a folder, not a file`, "name a file inside it");
  }
  return ReadableStream.from(decodeFile(file, encoding, path));
}

/**
 * Reads a text stream as lines, with 1-based line numbers; a decoding error is an
 * {@linkcode InputError} naming the file.
 */
export async function* readLines(
  text: ReadableStream<string>,
  label: string,
): AsyncGenerator<[string, number]> {
  let rest = "";
  let line = 0;
  try {
    for await (const chunk of text) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const part of parts) yield [part.endsWith("\r") ? part.slice(0, -1) : part, ++line];
    }
  } catch (error) {
    if (error instanceof TypeError) {
      throw new InputError(`${label}: not valid text in the given encoding (${error.message})`);
    }
    throw error;
  }
  if (rest !== "") yield [rest, ++line];
}

/**
 * Splits a `FILE#NAME` locator (a SQLite table, a worksheet) at its first `#`, so a name may
 * itself hold `#`; without one, the name is undefined. An empty name or file is a usage error.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { splitFileLocator } from "./files.ts";
 * deepStrictEqual(splitFileLocator("app.db#users"), { path: "app.db", name: "users" });
 * deepStrictEqual(splitFileLocator("book.xlsx"), { path: "book.xlsx", name: undefined });
 * ```
 */
export function splitFileLocator(
  locator: string,
  what = "name",
): { path: string; name: string | undefined } {
  const hash = locator.indexOf("#");
  const path = hash < 0 ? locator : locator.slice(0, hash);
  const name = hash < 0 ? undefined : locator.slice(hash + 1);
  if (path === "") throw new UsageError(`'${locator}': missing the file before '#'`);
  if (name === "") {
    throw new UsageError(
      `'${locator}': no ${what} after '#'`,
      `write ${path}#${what.toUpperCase()}`,
    );
  }
  return { path, name };
}

/**
 * The default target file when none is named: `<source name>.<extension>` (`out` without one),
 * in the current folder.
 *
 * @throws {UsageError} when that file exists already: a file the user did not name is never
 * rewritten (it may be the source itself, or anything else that happens to have the name).
 */
export function defaultTargetPath(sourceName: string | undefined, extension: string): string {
  const path = `${sourceName ?? "out"}.${extension}`;
  let exists = false;
  try {
    Deno.statSync(path);
    exists = true;
  } catch {
    // absent (or unreadable: the write will say so): the default is free
  }
  if (exists) {
    throw new UsageError(
      `no TARGET given, and the default target ${path} exists already: not overwriting a file that was not named`,
      `give it as TARGET to sync into it (dsync SRC:TGT SOURCE ${path}), or name another file`,
    );
  }
  return path;
}

/** The base name of a path without its extension: `data/users.csv` → `users`. */
export function baseName(path: string): string {
  return basename(path, extname(path));
}

/**
 * The name a target takes after its source when none is given: the source's table without its
 * schema or quotes, else its file's base name; undefined when it has neither.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { defaultTargetName } from "./files.ts";
 * strictEqual(defaultTargetName('crm."Users"', undefined), "Users");
 * strictEqual(defaultTargetName(undefined, "data/users.csv"), "users");
 * ```
 */
export function defaultTargetName(
  table: string | undefined,
  file: string | undefined,
): string | undefined {
  const name = table?.slice(table.lastIndexOf(".") + 1).replaceAll('"', "");
  if (name) return name;
  return file === undefined ? undefined : baseName(file);
}

/**
 * Replaces a file atomically: `write` fills a temporary file beside it (`.NAME.dsync-PID.tmp`),
 * which is flushed to disk and then replaces the file in one rename. On failure (or SIGINT /
 * SIGTERM) the temporary file is removed and the file is left as it was; the error is a
 * {@linkcode TargetError} naming the path (dsync's own errors pass through). Temporary files
 * that runs killed with -9 left beside the file are removed first ({@linkcode removeStaleTemps}).
 *
 * A symbolic link stays a link: the file it points to is replaced. A path that is not a regular
 * file — a device such as `/dev/null`, a named pipe — cannot be replaced by a rename (as root the
 * rename would succeed and turn `/dev/null` into a plain file), so it is written in place.
 */
export async function atomicReplace(
  path: string,
  write: (temp: string) => Promise<void>,
): Promise<void> {
  const info = await Deno.stat(path).catch(() => undefined);
  if (info?.isDirectory) throw new TargetError(`${path}: is a directory, not a file`);
  if (info && !info.isFile) {
    try {
      return await write(path);
    } catch (error) {
      if (error instanceof DsyncError) throw error;
      throw new TargetError(`${path}: cannot write: ${(error as Error).message}`);
    }
  }
  const real = info ? await Deno.realPath(path) : path;
  const temp = join(dirname(real), `.${basename(real)}.dsync-${Deno.pid}.tmp`);
  await removeStaleTemps(real);
  const forget = onInterrupt(() => Deno.removeSync(temp));
  try {
    await write(temp);
    const file = await Deno.open(temp, { read: true, write: true });
    try {
      await file.sync();
    } finally {
      file.close();
    }
    checkInterrupt();
    await Deno.rename(temp, real);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    if (error instanceof DsyncError) throw error;
    throw new TargetError(`${path}: cannot write: ${(error as Error).message}`);
  } finally {
    forget();
  }
}

/**
 * Removes the temporary files of {@linkcode atomicReplace} beside `path` whose process is gone
 * (or is this one): what a run killed with -9 leaves behind. Returns the names removed.
 */
export async function removeStaleTemps(path: string): Promise<string[]> {
  const pattern = new RegExp(`^\\.${escapeRegExp(basename(path))}\\.dsync-(\\d+)\\.tmp$`);
  const removed: string[] = [];
  try {
    for await (const entry of Deno.readDir(dirname(path))) {
      const pid = pattern.exec(entry.name)?.[1];
      if (pid === undefined || (Number(pid) !== Deno.pid && await processAlive(Number(pid)))) {
        continue;
      }
      await Deno.remove(join(dirname(path), entry.name)).then(
        () => removed.push(entry.name),
        () => {},
      );
    }
  } catch {
    // an unreadable folder: the write itself will say what is wrong
  }
  return removed;
}

/** Whether process `pid` runs (where /proc tells; elsewhere assumed so: nothing is removed). */
async function processAlive(pid: number): Promise<boolean> {
  if (Deno.build.os !== "linux") return true;
  return await Deno.stat(`/proc/${pid}`).then(() => true, () => false);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Writes a text file atomically ({@linkcode atomicReplace}) from what `produce` writes, buffered;
 * `-` writes to standard output instead.
 */
export async function atomicWrite(
  path: string,
  produce: (write: (text: string) => Promise<void>) => Promise<void>,
): Promise<void> {
  if (path === "-") {
    const writer = Deno.stdout.writable.getWriter();
    const text = streamTextWriter(writer);
    await produce((chunk) => text.write(chunk));
    await text.flush();
    writer.releaseLock();
    return;
  }
  await atomicReplace(path, async (temp) => {
    const file = await Deno.open(temp, { write: true, create: true, truncate: true });
    try {
      const text = fileTextWriter(file, 1 << 20);
      await produce((chunk) => text.write(chunk));
      await text.flush();
    } finally {
      file.close();
    }
  });
}

/**
 * The records of a file target after the change set: existing records in their order, with
 * updates applied in place and deletes left out, then the creates. Rows come out in the order
 * of `columns` (the file's own columns, or the plan's fields for a new file). `encode` turns a
 * written value of plan field `i` into the file's form (existing records are the file's own).
 */
export async function* mergeChanges(
  plan: WritePlan,
  columns: string[],
  existing: AsyncIterable<RowBatch> | null,
  encode?: (value: unknown, i: number) => unknown,
): AsyncGenerator<unknown[]> {
  const position = plan.fields.map((f) => columns.indexOf(f.name));
  const value = encode ?? ((v: unknown) => v);
  const updates = new Map<string, UpdateChange>([...plan.updates].map((c) => [c.keyText, c]));
  const deletes = new Set([...plan.deletes].map((c) => c.keyText));
  if (existing) {
    for await (const batch of existing) {
      for (let row of batch.rows) {
        // Columns added by --add-columns: empty in the records already there.
        if (row.length < columns.length) row = [...row, ...new Array(columns.length - row.length)];
        if (deletes.size || updates.size) {
          const key = plan.targetKey(row);
          if (deletes.has(key)) continue;
          const update = updates.get(key);
          if (update) {
            const out = row.slice();
            for (const i of update.changed) out[position[i]] = value(update.after[i], i);
            yield out;
            continue;
          }
        }
        yield row;
      }
    }
  }
  for (const create of plan.creates) {
    const out = new Array(columns.length).fill(null);
    for (let i = 0; i < position.length; i++) out[position[i]] = value(create.after[i], i);
    yield out;
  }
}
