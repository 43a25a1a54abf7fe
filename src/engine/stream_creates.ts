/**
 * Streaming a first load: the creates of a target that does not exist (or is empty) go into the
 * write session's transaction as the merge finds them, instead of waiting on disk for the plan
 * to be complete. All or nothing stays: they are written in the one transaction, which commits
 * only after the rest of the run (limits, the delete guard, the summary) and rolls back on an
 * error, a limit or an interrupt.
 *
 * Write types of a new table are inferred from the values: the first `sample` creates are held,
 * the types inferred from them fix the table, and every later value still goes through the
 * inference. A type that widens after the sample (a column of integers meeting `"n/a"`), or a
 * file found out of key order, rolls back to a savepoint taken before the first write and the
 * planner starts over the way it plans without streaming (both sides are re-read). The table is
 * therefore exactly what it would be without streaming. A load that ends within the sample
 * writes nothing here: it is planned and applied as before. A run that prints its change set
 * passes a {@linkcode StreamRecord}: each batch is recorded as it is written, and the record is
 * cleared with the writes, so the printed change set is the plan's, as if it had been held.
 *
 * @example
 * ```ts ignore
 * const stream = await CreateStream.open(target, setup); // undefined outside a session
 * const diff = await tryMergeDiff(source, target, layout, attempt, {
 *   ...options,
 *   createSink: stream.sink,
 * });
 * const { creates, streamed } = await stream.finish(); // or stream.undo() to start over
 * ```
 * @module
 */
import type { CreateChange, WritePlan } from "../adapter_kit/changes.ts";
import type { Savepoint, Target } from "../adapter_kit/importer.ts";
import { checkInterrupt } from "../adapter_kit/interrupt.ts";
import type { FieldType, Row } from "../model/types.ts";
import type { TypeInference } from "../model/inference.ts";
import { convertValue } from "../model/values.ts";
import type { DiffOptions, DiffResult } from "./hash_join.ts";

/** A type inferred from the sample widened later: the planner starts over without streaming. */
export class Widened extends Error {
  constructor() {
    super("a type inferred from the first records widened later");
    this.name = "Widened";
  }
}

/** Takes one create, in key order; a promise while a batch is written. */
export type CreateSink = NonNullable<DiffOptions["createSink"]>;

/** The write plan without its changes. */
export type PlanHeader = Omit<WritePlan, "creates" | "updates" | "deletes">;

/** What a {@linkcode CreateStream} needs. */
export interface StreamSetup {
  /** Creates held before the first write: the sample the write types are inferred from. */
  sample: number;
  /** Creates per write after the sample. */
  batch: number;
  /** The inferences of the fields whose write types come from the values (may be empty). */
  inferences: Map<number, TypeInference>;
  /** The plan without its changes, for the types inferred so far. */
  header: () => PlanHeader;
  /** The most creates the limits allow; past it the rest is only counted (the planner refuses). */
  maxCreates: number;
  /** Keeps a record of the creates written, for the printed change set. */
  record?: StreamRecord;
}

/**
 * A record of a stream's creates for the change set printed after the plan is complete (the
 * app keeps it as the text it will print). Told of every batch before it is written, and
 * cleared when the stream is undone, so it holds exactly the creates the stream kept.
 */
export interface StreamRecord {
  /** One batch of creates, typed as the plan holds them, with the plan they belong to. */
  add(creates: readonly CreateChange[], header: PlanHeader): Promise<void>;
  /** Forgets every create added: the stream was undone. */
  clear(): Promise<void>;
}

/** Converts a create's values to the inferred write types (`types[k]` for field `indexes[k]`). */
export function typeCreate<C extends { key: unknown[]; after: Row }>(
  change: C,
  indexes: number[],
  types: FieldType[],
  keyIndexes: number[],
): C {
  const after = change.after;
  for (let k = 0; k < indexes.length; k++) {
    const i = indexes[k];
    after[i] = convertValue(after[i], types[k]);
  }
  change.key = keyIndexes.map((i) => after[i]);
  return change;
}

/** Creates written into the open transaction in batches; see the module doc. */
export class CreateStream {
  #held: CreateChange[] = [];
  #count = 0;
  #written = 0;
  #over = false;
  #header: PlanHeader | undefined;
  #mark: Savepoint | undefined;
  #indexes: number[];
  #inferences: TypeInference[];
  #types: FieldType[] = [];
  /** The batch being written while the next one is read (a server works meanwhile). */
  #pending: Promise<void> | undefined;

  private constructor(readonly target: Target, readonly setup: StreamSetup) {
    this.#indexes = [...setup.inferences.keys()];
    this.#inferences = [...setup.inferences.values()];
  }

  /** A stream into `target`'s open write session, or undefined when it has none. */
  static async open(target: Target, setup: StreamSetup): Promise<CreateStream | undefined> {
    if (!target.savepoint) return undefined;
    // Probe that a session is open (the mark itself is taken at the first write).
    const probe = await target.savepoint();
    if (!probe) return undefined;
    await probe.release();
    return new CreateStream(target, setup);
  }

  /** The sink the merge hands its creates to. */
  readonly sink: CreateSink = (change) => {
    this.#count++;
    if (this.#over) return undefined;
    if (this.#count > this.setup.maxCreates) {
      // Refused at the end with the full count: nothing more is written, the rest is counted.
      this.#over = true;
      this.#held = [];
      return undefined;
    }
    // The sample holds copies. V8 allocates straight into the old generation the objects of an
    // allocation site whose objects mostly survive; the sample's all do, and held as they are
    // they would make the merge's per-record sites (a record's values, its change) such sites:
    // every later record would then be garbage for full collections (at 1M rows 9 mark-compacts
    // instead of 1-2). Copied, the merge's own objects die young, as in the rest of the load.
    this.#held.push(this.#header ? change : { ...change, after: change.after.slice() });
    if (this.#held.length < (this.#header ? this.setup.batch : this.setup.sample)) return undefined;
    return this.#write();
  };

  /**
   * Writes what is still held and keeps the writes. `streamed`: the creates the stream took
   * (written, or past a limit that refuses the plan); `creates`: the ones it never got to write,
   * for the plan (all of them when the load ended within the sample); undefined when it was never
   * handed a create, so the merge's own creates stand.
   *
   * @throws {Widened} when a type widened since the sample (call {@linkcode undo}).
   */
  async finish(): Promise<{ creates?: CreateChange[]; streamed: number }> {
    // Never handed a create (the target had records: the merge kept its creates itself).
    if (this.#count === 0) return { streamed: 0 };
    if (this.#over) {
      // The planner refuses the plan: the batch in flight must end before the session rolls
      // back, or the rollback races it on the one connection.
      await this.#settle();
      return { creates: [], streamed: this.#count };
    }
    if (!this.#header) {
      const creates = this.#held;
      this.#held = [];
      return { creates, streamed: 0 };
    }
    if (this.#held.length) await this.#write();
    else this.#checkTypes();
    await this.#settle();
    await this.#mark!.release();
    this.#mark = undefined;
    return { creates: [], streamed: this.#written };
  }

  /** Undoes every write of the stream (back to its savepoint). */
  async undo(): Promise<void> {
    this.#held = [];
    const mark = this.#mark;
    this.#mark = undefined;
    this.#header = undefined;
    await this.#settle();
    if (mark) await mark.rollback();
    await this.setup.record?.clear();
  }

  /**
   * Waits for the batch in flight, failed or not: before the session rolls back on another
   * error, so that no write of it runs after the rollback.
   */
  async quiesce(): Promise<void> {
    await this.#settle().catch(() => {});
  }

  /** Waits for the batch in flight; its failure is the stream's. */
  async #settle(): Promise<void> {
    const pending = this.#pending;
    this.#pending = undefined;
    await pending;
  }

  #checkTypes(): void {
    for (let k = 0; k < this.#inferences.length; k++) {
      if (this.#inferences[k].type !== this.#types[k]) throw new Widened();
    }
  }

  async #write(): Promise<void> {
    if (!this.#header) {
      this.#mark = await this.target.savepoint!();
      this.#header = this.setup.header();
      this.#types = this.#inferences.map((inference) => inference.type);
      // The table's types are fixed: a change of one starts over (Widened), so later values are
      // only checked against them.
      for (const inference of this.#inferences) inference.settle();
    } else this.#checkTypes();
    const creates = this.#held;
    this.#held = [];
    const header = this.#header;
    for (const change of creates) typeCreate(change, this.#indexes, this.#types, header.keyIndexes);
    await this.setup.record?.add(creates, header);
    // One batch in flight: the next one is read and typed while the server writes this one.
    await this.#settle();
    checkInterrupt();
    const first = this.#written === 0;
    this.#written += creates.length;
    const writing = this.target.apply({
      ...header,
      createTarget: header.createTarget && first,
      creates,
      updates: [],
      deletes: [],
    });
    // Awaited by the next batch, finish or undo; a run that fails before sees it in the session.
    writing.catch(() => {});
    this.#pending = writing;
  }
}

/** Creates per write after the sample. */
export const STREAM_BATCH = 4096;

/**
 * The sorted merge with its creates streamed into `target` (see the module doc); `merge` runs
 * it with a sink, `again` without (fresh inferences) after a widened type. When the merge gives
 * up (a side out of order) the writes are undone and `diff` is undefined, for the hash join.
 */
export async function streamedMerge(
  target: Target,
  setup: StreamSetup,
  merge: (sink?: CreateSink) => Promise<DiffResult | undefined>,
  again: () => Promise<DiffResult | undefined>,
): Promise<{ diff: DiffResult | undefined; streamed: number }> {
  const stream = await CreateStream.open(target, setup);
  if (!stream) return { diff: await merge(), streamed: 0 };
  try {
    const diff = await merge(stream.sink);
    if (!diff) {
      await stream.undo();
      return { diff, streamed: 0 };
    }
    const { creates, streamed } = await stream.finish();
    return { diff: streamed || !creates ? diff : { ...diff, creates }, streamed };
  } catch (error) {
    await stream.quiesce();
    if (!(error instanceof Widened)) throw error;
    await stream.undo();
    return { diff: await again(), streamed: 0 };
  }
}
