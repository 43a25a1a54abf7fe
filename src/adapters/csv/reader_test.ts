/**
 * The CSV reader against csv-parse 7 (the parser it replaced, with the options dsync used:
 * `bom: true, skip_empty_lines: true`, a cast hook telling quoted from unquoted empty cells) on
 * generated and fuzzed inputs fed in random chunks: the same records, the same null/"" cells, the
 * same error at the same record, and start lines that count `\r\n`, `\r` and `\n` as one break.
 */
import { Buffer } from "node:buffer";
// csv-parse is a test reference only, so it stays out of deno.json's imports (the product's).
// deno-lint-ignore no-import-prefix
import { parse } from "npm:csv-parse@7.0.3";
import { assertEquals } from "../../../tests/assert.ts";
import {
  CsvReader,
  CsvSyntaxError,
  FieldCountError,
  QuoteInFieldError,
  splitRecord,
  TextAfterQuoteError,
  UnclosedQuoteError,
} from "./reader.ts";

interface Outcome {
  records: (string | null)[][];
  lines: number[];
  error?: { kind: string; line: number; fields?: number };
}

const KINDS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: UnclosedQuoteError.name,
  CSV_RECORD_INCONSISTENT_FIELDS_LENGTH: FieldCountError.name,
  CSV_INVALID_CLOSING_QUOTE: TextAfterQuoteError.name,
  INVALID_OPENING_QUOTE: QuoteInFieldError.name,
};

/** The line of byte offset `end`: 1 + the line breaks (\r\n, \r, \n) before it. */
function lineAt(bytes: Buffer, end: number): number {
  let line = 1;
  for (let i = 0; i < end; i++) {
    if (bytes[i] === 10) line++;
    else if (bytes[i] === 13 && !(i + 1 < end && bytes[i + 1] === 10)) line++;
  }
  return line;
}

/** csv-parse on the whole text; start lines from its record end offsets. */
function reference(text: string, delimiter: string): Outcome {
  const parser = parse({
    delimiter,
    bom: true,
    skip_empty_lines: true,
    info: true,
    cast: (value: string, context: { quoting: boolean }) =>
      value === "" && !context.quoting ? null : value,
  });
  // deno-lint-ignore no-explicit-any
  const api = (parser as any).api;
  const bytes = Buffer.from(text);
  const ends: number[] = [];
  const records: (string | null)[][] = [];
  const error = api.parse(
    bytes,
    true,
    (r: { record: (string | null)[]; info: { bytes: number } }) => {
      records.push(r.record);
      ends.push(r.info.bytes);
    },
    () => {},
  ) as (Error & { code: string; record?: unknown[] }) | undefined;
  const rd = Buffer.from(api.options.record_delimiter[0] ?? "\n");
  const startOf = (i: number) => {
    let s = i > 0 ? ends[i - 1] : text.startsWith("\ufeff") ? 3 : 0;
    while (s < bytes.length && bytes.subarray(s, s + rd.length).equals(rd)) s += rd.length;
    return lineAt(bytes, s);
  };
  const out: Outcome = { records, lines: records.map((_, i) => startOf(i)) };
  if (error) {
    out.error = { kind: KINDS[error.code] ?? error.code, line: startOf(records.length) };
    if (error.code === "CSV_RECORD_INCONSISTENT_FIELDS_LENGTH") {
      out.error.fields = error.record?.length;
    }
  }
  return out;
}

/** CsvReader on `text` cut into random chunks, taking records in random portions. */
function mine(text: string, delimiter: string, random: () => number, maxChunk: number): Outcome {
  const reader = new CsvReader({ delimiter });
  const out: Outcome = { records: [], lines: [] };
  const take = () => {
    while (reader.take(out.records, out.lines, 1 + Math.floor(random() * 4)) > 0) {
      // keep taking
    }
  };
  try {
    for (let i = 0; i < text.length;) {
      const n = 1 + Math.floor(random() * maxChunk);
      reader.feed(text.slice(i, i + n));
      i += n;
      if (random() < 0.7) take();
    }
    reader.finish();
    take();
  } catch (error) {
    if (!(error instanceof CsvSyntaxError)) throw error;
    out.error = { kind: error.name, line: error.line };
    if (error instanceof FieldCountError) out.error.fields = error.fields;
  }
  return out;
}

/**
 * The same through {@linkcode CsvReader.takeLines} after the header: records are the split texts,
 * and the key cells handed out must be those records' cells.
 */
function mineLines(text: string, delimiter: string, random: () => number, maxChunk: number) {
  const reader = new CsvReader({ delimiter });
  const out: Outcome = { records: [], lines: [] };
  const keyFields = random() < 0.5 ? [0] : [2, 0];
  const texts: string[] = [];
  const keys: (string | null)[] = [];
  const take = () => {
    if (out.records.length === 0) reader.take(out.records, out.lines, 1);
    if (out.records.length === 0) return;
    const width = out.records[0].length;
    const fields = keyFields.filter((field) => field < width);
    try {
      while (reader.takeLines(texts, keys, out.lines, fields, 1 + Math.floor(random() * 4)) > 0) {
        // keep taking
      }
    } finally {
      // The records taken before an error count, as `take` keeps them.
      for (const line of texts) {
        const cells = splitRecord(line, delimiter);
        assertEquals(
          keys.splice(0, fields.length),
          fields.map((field) => cells[field]),
          JSON.stringify([line, text, fields]),
        );
        out.records.push(cells);
      }
      texts.length = 0;
    }
  };
  try {
    for (let i = 0; i < text.length;) {
      const n = 1 + Math.floor(random() * maxChunk);
      reader.feed(text.slice(i, i + n));
      i += n;
      if (random() < 0.7) take();
    }
    reader.finish();
    take();
  } catch (error) {
    if (!(error instanceof CsvSyntaxError)) throw error;
    out.error = { kind: error.name, line: error.line };
    if (error instanceof FieldCountError) out.error.fields = error.fields;
  }
  return out;
}

function generator(seed: number) {
  let state = seed;
  const random = () => {
    state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
    return state / 0x80000000;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  return { random, pick };
}

const TEXT = ["a", "b", "x y", " ", "é", "李", "😀", "1", "-", "'", "\t"];
const DELIMITERS = [",", ";", "\t", "|", " ", "§", "😀"];
const BREAKS = ["\n", "\r\n", "\r"];

/** A CSV text: mostly well-formed records with quoted/unquoted/empty cells, then mutations. */
function generate(seed: number): { text: string; delimiter: string } {
  const { random, pick } = generator(seed);
  const delimiter = pick(DELIMITERS);
  const lineBreak = pick(BREAKS);
  const width = 1 + Math.floor(random() * 4);
  const rows = Math.floor(random() * 8);
  const cell = (): string => {
    const r = random();
    if (r < 0.15) return "";
    if (r < 0.25) return '""';
    let s = "";
    const n = 1 + Math.floor(random() * 4);
    for (let i = 0; i < n; i++) s += pick(TEXT);
    if (random() < 0.4) {
      const inner = Array.from(
        { length: 1 + Math.floor(random() * 3) },
        () => pick([...TEXT, '""', delimiter, "\n", "\r\n", "\r"]),
      ).join("");
      return `"${s}${inner}"`;
    }
    return s;
  };
  const lines: string[] = [];
  for (let r = 0; r <= rows; r++) {
    const w = random() < 0.1 ? 1 + Math.floor(random() * 4) : width;
    lines.push(Array.from({ length: w }, cell).join(delimiter));
    if (random() < 0.1) lines.push("");
  }
  let text = lines.join(random() < 0.9 ? lineBreak : pick(BREAKS));
  if (random() < 0.5) text += lineBreak;
  if (random() < 0.1) text = "\ufeff" + text;
  // Mutations: stray quotes, delimiters and line breaks of any kind.
  const mutations = random() < 0.5 ? 0 : 1 + Math.floor(random() * 3);
  for (let m = 0; m < mutations; m++) {
    let at = Math.floor(random() * (text.length + 1));
    if (/[\ud800-\udbff]/.test(text[at - 1] ?? "")) at++; // decoded text has no lone surrogates
    text = text.slice(0, at) + pick(['"', '"', delimiter, "\n", "\r", "\r\n", "a"]) +
      text.slice(at);
  }
  return { text, delimiter };
}

Deno.test("CsvReader matches csv-parse on 20,000 generated and fuzzed inputs in random chunks", () => {
  const outcomes: Record<string, number> = {};
  for (let seed = 1; seed <= 20_000; seed++) {
    const { text, delimiter } = generate(seed);
    const expected = reference(text, delimiter);
    const outcome = expected.error?.kind ?? "ok";
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    const { random } = generator(seed * 7919);
    for (const maxChunk of [1, 3, 50]) {
      const actual = mine(text, delimiter, random, maxChunk);
      assertEquals(actual, expected, `seed ${seed}, chunks ≤ ${maxChunk}: ${JSON.stringify(text)}`);
      const lines = mineLines(text, delimiter, random, maxChunk);
      assertEquals(
        lines,
        expected,
        `takeLines, seed ${seed}, ≤ ${maxChunk}: ${JSON.stringify(text)}`,
      );
    }
  }
  // The fuzzing must reach every outcome often.
  for (const kind of ["ok", ...Object.values(KINDS)]) {
    assertEquals((outcomes[kind] ?? 0) > 300, true, JSON.stringify(outcomes));
  }
  assertEquals(Object.keys(outcomes).length, 5, JSON.stringify(outcomes));
});

Deno.test("CsvReader: hand-picked cases", () => {
  const cases: [string, Outcome][] = [
    ['a,b\n1,""\n2,\n', { records: [["a", "b"], ["1", ""], ["2", null]], lines: [1, 2, 3] }],
    ["a\n\n\n1\n\n", { records: [["a"], ["1"]], lines: [1, 4] }],
    ['a\n""\n', { records: [["a"], [""]], lines: [1, 2] }],
    ['a,b\r\n"x\r\ny",2\r\n3,4', {
      records: [["a", "b"], ["x\r\ny", "2"], ["3", "4"]],
      lines: [1, 2, 4],
    }],
    // The first line break decides: here \n, so a \r before it is data.
    ["a,b\n1,2\r\n3,4\n", { records: [["a", "b"], ["1", "2\r"], ["3", "4"]], lines: [1, 2, 3] }],
    // … and here \r\n, so a lone \n is data.
    ["a,b\r\n1\n2,3\r\n", { records: [["a", "b"], ["1\n2", "3"]], lines: [1, 2] }],
    ["a,b\r1,2\r", { records: [["a", "b"], ["1", "2"]], lines: [1, 2] }],
    ['\ufeff"a""b",c\n', { records: [['a"b', "c"]], lines: [1] }],
    ["", { records: [], lines: [] }],
    ['a,b\n1,"x\ny\n', {
      records: [["a", "b"]],
      lines: [1],
      error: { kind: "UnclosedQuoteError", line: 2 },
    }],
    ['a,b\n"1\n2",2,3\n', {
      records: [["a", "b"]],
      lines: [1],
      error: { kind: "FieldCountError", line: 2, fields: 3 },
    }],
    ['a,b\n"x"y,2\n', {
      records: [["a", "b"]],
      lines: [1],
      error: { kind: "TextAfterQuoteError", line: 2 },
    }],
    ['a,b\n1,x"y\n', {
      records: [["a", "b"]],
      lines: [1],
      error: { kind: "QuoteInFieldError", line: 2 },
    }],
  ];
  for (const [text, expected] of cases) {
    assertEquals(reference(text, ","), expected, `csv-parse: ${JSON.stringify(text)}`);
    for (const maxChunk of [1, 2, 1000]) {
      assertEquals(mine(text, ",", Math.random, maxChunk), expected, JSON.stringify(text));
      assertEquals(mineLines(text, ",", Math.random, maxChunk), expected, JSON.stringify(text));
    }
  }
});

Deno.test("CsvReader: a long record across many chunks is not rescanned per chunk", () => {
  const reader = new CsvReader();
  const records: (string | null)[][] = [];
  const lines: number[] = [];
  const long = "x".repeat(1 << 20);
  reader.feed('h\n"');
  const started = performance.now();
  for (let i = 0; i < long.length; i += 64) {
    reader.feed(long.slice(i, i + 64));
    reader.take(records, lines);
  }
  reader.feed('"\n');
  reader.finish();
  reader.take(records, lines);
  assertEquals(records.length, 2);
  assertEquals(records[1][0]!.length, long.length);
  // Quadratic rescanning would take minutes; linear takes milliseconds.
  assertEquals(performance.now() - started < 5000, true);
});
