import { strictEqual } from "node:assert/strict";
import { isShortestFloat, TypeInference } from "./inference.ts";
import { isPlainNumber } from "./values.ts";

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

Deno.test("isShortestFloat agrees with String(Number(text)) wherever it answers", () => {
  let state = 7;
  const random = (n: number) => (state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff) % n;
  const digits = (n: number) => Array.from({ length: n }, () => random(10)).join("");
  let answered = 0;
  for (let k = 0; k < 200000; k++) {
    const whole = random(4) === 0 ? "0" : String(1 + random(9)) + digits(random(23));
    const fraction = random(3) === 0 ? "" : "." + "0".repeat(random(4) ? 0 : random(9)) +
      digits(1 + random(19));
    const exponent = random(8) === 0 ? "e" + (random(2) ? "-" : "") + random(30) : "";
    const text = (random(3) === 0 ? "-" : "") + whole + fraction + exponent;
    strictEqual(isPlainNumber(text), true, text);
    const fast = isShortestFloat(text);
    if (fast === undefined) continue;
    answered++;
    strictEqual(fast, String(Number(text)) === text, text);
  }
  for (const text of ["0", "-0", "0.000001", "-0.5", "1.50", "999999999999999", "0.1"]) {
    strictEqual(
      isShortestFloat(text) ?? String(Number(text)) === text,
      String(Number(text)) === text,
      text,
    );
  }
  strictEqual(answered > 100000, true);
});
