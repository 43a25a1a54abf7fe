import { strictEqual } from "node:assert/strict";
import { TypeInference } from "./inference.ts";

Deno.test("TypeInference.settle: values that fit keep the type, one that does not changes it", () => {
  const inference = new TypeInference();
  for (const value of ["1", "22", null, ""]) inference.add(value);
  inference.settle();
  for (const value of ["3", "-4", "9223372036854775807"]) inference.add(value);
  strictEqual(inference.type, "integer");
  inference.add("1.5");
  strictEqual(inference.type === "integer", false);
  const text = new TypeInference();
  text.add("abc");
  text.settle();
  text.add("1");
  strictEqual(text.type, "text");
});

Deno.test("TypeInference.settle: a column with no values yet changes type at its first value", () => {
  const inference = new TypeInference();
  inference.add(null);
  inference.settle();
  strictEqual(inference.type, "text");
  inference.add("7");
  strictEqual(inference.type, "integer");
});
