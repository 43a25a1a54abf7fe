import { deepStrictEqual, throws } from "node:assert/strict";
import type { WritePlan } from "../adapter_kit/changes.ts";
import { collapsePlan, deleteInsertPlan, loadOptions } from "./modes.ts";

const plan = (): WritePlan => ({
  fields: [{ name: "id", type: "integer" }, { name: "name", type: "text" }],
  keyIndexes: [0],
  createTarget: false,
  creates: [{ op: "create", key: [4], keyText: "4", after: [4, "Zed"] }],
  updates: [{
    op: "update",
    key: [2],
    keyText: "2",
    before: [2, "Rob"],
    after: [2, "Bob"],
    changed: [1],
  }],
  deletes: [{ op: "delete", key: [3], keyText: "3", before: [3, "Eve"] }],
  targetKey: (row) => String(row[0]),
  targetIndexes: [0, 1],
});

Deno.test("collapse: a create is its row with sign 1, an update -1 (old values) then 1, a delete -1", () => {
  const collapsed = collapsePlan(plan(), "sign");
  deepStrictEqual(collapsed.fields.map((f) => f.name), ["id", "name", "sign"]);
  deepStrictEqual([...collapsed.creates].map((c) => c.after), [
    [4, "Zed", 1],
    [2, "Rob", -1],
    [2, "Bob", 1],
    [3, "Eve", -1],
  ]);
  deepStrictEqual(collapsed.creates.length, 4);
  deepStrictEqual([collapsed.updates.length, collapsed.deletes.length], [0, 0]);
  deepStrictEqual(collapsed.load, "collapse");
  throws(() => collapsePlan(plan(), "name"), /the source has a field 'name' already/);
});

Deno.test("delete_insert: each update is a delete of its key and an insert of the whole record", () => {
  const split = deleteInsertPlan(plan());
  deepStrictEqual([...split.deletes].map((d) => d.key), [[3], [2]]);
  deepStrictEqual([...split.creates].map((c) => c.after), [[4, "Zed"], [2, "Bob"]]);
  deepStrictEqual([split.creates.length, split.deletes.length, split.updates.length], [2, 2, 0]);
  deepStrictEqual(split.load, "delete_insert");
});

Deno.test("load options: what goes together and what does not", () => {
  deepStrictEqual(loadOptions({}).mode, "sync");
  deepStrictEqual(loadOptions({ mergeStrategy: "delete-insert" }).mergeStrategy, "delete_insert");
  throws(() => loadOptions({ mode: "incremental" }), /needs --update-key/);
  throws(() => loadOptions({ updateKey: "at" }), /--update-key needs --mode incremental/);
  throws(() => loadOptions({ mode: "backfill", updateKey: "at" }), /needs --range/);
  throws(() => loadOptions({ range: "1..2" }), /--range needs --mode backfill/);
  throws(() => loadOptions({ mode: "backfill", updateKey: "at", range: "12" }), /FROM\.\.TO/);
  throws(() => loadOptions({ mode: "snapshot", mergeStrategy: "collapse" }), /does not go with/);
  throws(() => loadOptions({ signColumn: "s" }), /--sign-column needs --merge-strategy collapse/);
  throws(() => loadOptions({ mode: "truncate", update: false }), /do not go with --mode truncate/);
});
