/**
 * The join strategy: when the target can compare itself with the source inside its own database
 * (adapter_kit/sql.ts {@linkcode JoinDiffTarget}), the database finds the rows that may differ
 * and only those come into JavaScript. Each one is then judged by the engine's own type rules
 * (records.ts), exactly as the sorted merge and the hash join judge it: the database only has to
 * never leave out a pair that differs, and a pair it sends that turns out equal is dropped.
 *
 * @example
 * ```ts ignore
 * const joined = await tryJoinDiff(source, target, layout, options);
 * if (typeof joined === "string") console.error(`no join: ${joined}`);
 * ```
 * @module
 */
import type { FieldLayout, FieldSlot } from "./fields.ts";
import type { DiffOptions, DiffResult } from "./hash_join.ts";
import type { Dataset, Target } from "../adapter_kit/importer.ts";
import type { CreateChange, DeleteChange, UpdateChange } from "../adapter_kit/changes.ts";
import { isJoinDiffTarget, type JoinRequest, type JoinScan } from "../adapter_kit/sql.ts";
import {
  changedFields,
  changeSpool,
  detach,
  keyString,
  sourceValues,
  targetValues,
} from "./records.ts";

/** A diff found by a join, with the words `-v` names it by. */
export interface JoinDiff {
  diff: DiffResult;
  description: string;
}

/**
 * Computes the diff by a join inside the target's database; or returns why it cannot although
 * both sides are in one database; or undefined when they are not (the caller then reads both).
 * `sourceFields`: the source's described fields (a dataset is described once).
 */
export async function tryJoinDiff(
  source: Dataset,
  target: Target,
  layout: FieldLayout,
  options: DiffOptions,
  sourceFields: readonly { name: string }[],
): Promise<JoinDiff | string | undefined> {
  if (!options.targetExists || !isJoinDiffTarget(target)) return undefined;
  const request: JoinRequest = {
    fields: layout.fields.map((f) => ({
      source: sourceFields[f.sourceIndex].name,
      target: f.name,
      type: f.type,
    })),
    keyIndexes: layout.keyIndexes,
    keepCreates: options.keepCreates !== false,
  };
  const scan = await target.joinDiff(source, request);
  if (scan === undefined || typeof scan === "string") return scan;
  try {
    return {
      diff: await collect(scan, source, target, layout, options),
      description: scan.description,
    };
  } finally {
    await scan.close();
  }
}

/** Judges the scan's rows by the engine's rules and sorts the changes by key. */
async function collect(
  scan: JoinScan,
  source: Dataset,
  target: Dataset,
  layout: FieldLayout,
  options: DiffOptions,
): Promise<DiffResult> {
  // Rows come in the layout's order on both sides.
  const fields: FieldSlot[] = layout.fields.map((f, i) => ({
    ...f,
    sourceIndex: i,
    targetIndex: i,
  }));
  const { keyIndexes } = layout;
  const creates = changeSpool<CreateChange>(options.memoryRecords);
  const updates = changeSpool<UpdateChange>(options.memoryRecords);
  const deletes = changeSpool<DeleteChange>(options.memoryRecords);
  for await (const batch of scan.rows()) {
    for (const found of batch) {
      if (found.op === "create") {
        const { position } = found;
        const values = detach(sourceValues(found.source, fields, source.label, position));
        const keyText = keyString(values, fields, keyIndexes, source.label, position);
        options.onCreate?.(values);
        creates.push({
          op: "create",
          key: keyIndexes.map((i) => values[i]),
          keyText,
          after: values,
          position,
        });
      } else if (found.op === "update") {
        const after = sourceValues(found.source, fields, source.label, found.position);
        const before = targetValues(found.target, fields);
        const changed = changedFields(after, before, fields);
        if (changed.length === 0) continue;
        const keyText = keyString(after, fields, keyIndexes, source.label, found.position);
        updates.push({
          op: "update",
          key: keyIndexes.map((i) => after[i]),
          keyText,
          before: detach(before),
          after: detach(after),
          changed,
          position: found.position,
        });
      } else {
        const before = detach(targetValues(found.target, fields));
        deletes.push({
          op: "delete",
          key: keyIndexes.map((i) => before[i]),
          keyText: keyString(before, fields, keyIndexes, target.label, 0),
          before,
        });
      }
    }
  }
  options.onProgress?.("target", scan.targetCount);
  options.onProgress?.("source", scan.sourceCount);
  return {
    creates,
    createCount: scan.createCount,
    updates,
    deletes,
    targetCount: scan.targetCount,
    sourceCount: scan.sourceCount,
    spilled: creates.spilled || updates.spilled || deletes.spilled,
  };
}
