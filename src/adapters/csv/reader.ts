/**
 * A streaming CSV tokenizer (RFC 4180) over decoded text chunks, with the exact rules of
 * csv-parse 7 with `bom: true, skip_empty_lines: true` and no relaxing — plus what dsync needs and
 * csv-parse gives only slowly: whether an empty cell was quoted (an unquoted empty cell is `null`,
 * `""` is the empty string, as in PostgreSQL's COPY … CSV) and the physical line each record
 * starts on.
 *
 * Rules:
 * - The record delimiter is the first `\r\n`, `\n` or `\r` found outside quotes; from then on only
 *   that one ends records (a lone `\n` in a `\r\n` file is part of its field).
 * - A field is quoted when it starts with `"`; `""` inside stands for `"`; after the closing quote
 *   comes the delimiter, the record delimiter or the end of the text, anything else is an error.
 *   A `"` inside an unquoted field is an error.
 * - Empty lines are skipped; a line holding only `""` is a record with one empty string.
 * - Every record has as many fields as the first one (the header).
 * - One leading U+FEFF (byte order mark) is dropped.
 * - Lines count `\r\n`, `\n` and a lone `\r` as one line break each, wherever they are (inside
 *   quoted fields too).
 *
 * Text is scanned with `indexOf` over whole chunks, not character by character. A record that is
 * not complete yet stays buffered until more text comes; only that rest is kept between chunks.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { CsvReader } from "./reader.ts";
 * const reader = new CsvReader({ delimiter: ";" });
 * const records: (string | null)[][] = [];
 * const lines: number[] = [];
 * reader.feed('id;name\n1;"Ann"\n2;');
 * deepStrictEqual(reader.take(records, lines), 2);
 * deepStrictEqual(records, [["id", "name"], ["1", "Ann"]]);
 * reader.feed('""\n3;\n');
 * reader.finish();
 * deepStrictEqual(reader.take(records, lines), 2);
 * deepStrictEqual(records.slice(2), [["2", ""], ["3", null]]);
 * deepStrictEqual(lines, [1, 2, 3, 4]);
 * ```
 * @module
 */

const QUOTE = 34;
const CR = 13;
const LF = 10;

/** A malformed record; `line` is the physical line (1-based) the record starts on. */
export class CsvSyntaxError extends Error {
  constructor(
    /** What is wrong, without the position. */
    readonly reason: string,
    /** The line the malformed record starts on. */
    readonly line: number,
    /** What the user can do about it. */
    readonly hint: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = new.target.name;
  }
}

/** A quoted field runs to the end of the text. */
export class UnclosedQuoteError extends CsvSyntaxError {
  constructor(line: number) {
    super(
      "a quoted field opened here is never closed",
      line,
      'close the quote, or double a quote inside a field ("")',
    );
  }
}

/** A record has another number of fields than the first record (the header). */
export class FieldCountError extends CsvSyntaxError {
  constructor(line: number, readonly fields: number, readonly expected: number) {
    super(
      `${fields} field${fields === 1 ? "" : "s"} where the header has ${expected}`,
      line,
      "every row needs as many fields as the header",
    );
  }
}

/** Something other than a delimiter or the end of the record follows a closing quote. */
export class TextAfterQuoteError extends CsvSyntaxError {
  constructor(line: number, readonly field: number) {
    super(
      `text after a closing quote (field ${field})`,
      line,
      "quote the whole field and double the quotes inside it",
    );
  }
}

/** A `"` inside a field that does not start with one. */
export class QuoteInFieldError extends CsvSyntaxError {
  constructor(line: number, readonly field: number) {
    super(
      `a quote inside an unquoted field (field ${field})`,
      line,
      "quote the whole field and double the quotes inside it",
    );
  }
}

/** Options of {@linkcode CsvReader}. */
export interface CsvReaderOptions {
  /** Field delimiter: one character (not `"`, `\r` or `\n`). Default `,`. */
  delimiter?: string;
}

/**
 * Splits CSV text, fed in chunks of any size, into records of `string | null` cells. See the
 * module documentation for the rules.
 */
export class CsvReader {
  readonly #delimiter: string;
  readonly #delimiterCode: number;
  /** The record delimiter once seen: `\n`, `\r\n` or `\r`. */
  #rd = "";
  #buf = "";
  #pos = 0;
  #line = 1;
  #width = -1;
  #pending: string[] = [];
  #pendingLength = 0;
  /** Unconsumed text needed before parsing is worth trying again (after an incomplete record). */
  #want = 0;
  #bomChecked = false;
  #final = false;
  // Next position of `"`, delimiter, \r, \n and the record delimiter at or after the last search
  // (buf.length: none in the buffer); stale when below the current position.
  #nQ = -1;
  #nD = -1;
  #nCR = -1;
  #nLF = -1;
  #nRD = -1;

  constructor(options: CsvReaderOptions = {}) {
    const delimiter = options.delimiter ?? ",";
    if ([...delimiter].length !== 1 || /["\r\n]/.test(delimiter)) {
      throw new RangeError(`CSV delimiter ${JSON.stringify(delimiter)}: must be one character`);
    }
    this.#delimiter = delimiter;
    this.#delimiterCode = delimiter.charCodeAt(0);
  }

  /** The line the next record starts on (after the records taken so far). */
  get line(): number {
    return this.#line;
  }

  /** Appends decoded text. */
  feed(text: string): void {
    if (this.#final) throw new Error("CsvReader: feed() after finish()");
    if (!this.#bomChecked && text !== "") {
      this.#bomChecked = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (text === "") return;
    this.#pending.push(text);
    this.#pendingLength += text.length;
  }

  /** Marks the end of the text: the last record needs no line break, an open quote is an error. */
  finish(): void {
    this.#final = true;
  }

  /**
   * Parses complete records from the text fed so far, at most `max`, appending each record to
   * `records` and its first line to `lines`; returns how many. Throws a
   * {@linkcode CsvSyntaxError} on malformed text.
   */
  take(records: (string | null)[][], lines: number[], max = Infinity): number {
    if (!this.#fill()) return 0;
    if (this.#rd === "" && !this.#discover()) return 0;
    const buf = this.#buf;
    const len = buf.length;
    const final = this.#final;
    const delimiter = this.#delimiter;
    const dl = delimiter.length;
    const dc = this.#delimiterCode;
    const rd = this.#rd;
    const rdl = rd.length;
    const rdLF = rd === "\n";
    const rdCR = rd === "\r";
    let pos = this.#pos;
    let line = this.#line;
    let width = this.#width;
    let nQ = this.#nQ;
    let nD = this.#nD;
    let nCR = this.#nCR;
    let nLF = this.#nLF;
    let nRD = this.#nRD;
    let count = 0;
    let more = false;
    try {
      records: while (count < max && pos < len) {
        if (nRD < pos) {
          nRD = buf.indexOf(rd, pos);
          if (nRD < 0) nRD = len;
          if (rdLF) nLF = nRD;
          else if (rdCR) nCR = nRD;
        }
        if (nRD === pos) {
          // Empty line.
          pos += rdl;
          line++;
          continue;
        }
        if (nQ < pos) {
          nQ = buf.indexOf('"', pos);
          if (nQ < 0) nQ = len;
        }
        let row: (string | null)[];
        let end: number;
        if (nRD < nQ) {
          // No quote before the end of the line: split it.
          if (nRD === len && !final) {
            more = true;
            break;
          }
          end = nRD;
          row = buf.slice(pos, end).split(delimiter);
          for (let i = 0; i < row.length; i++) if (row[i] === "") row[i] = null;
        } else {
          row = [];
          let p = pos;
          for (;;) {
            if (buf.charCodeAt(p) === QUOTE) {
              let s = p + 1;
              let value = "";
              for (;;) {
                const q = buf.indexOf('"', s);
                if (q < 0 || (q + 1 === len && !final)) {
                  if (final) throw new UnclosedQuoteError(line);
                  more = true;
                  break records;
                }
                if (buf.charCodeAt(q + 1) === QUOTE) {
                  value += buf.slice(s, q + 1);
                  s = q + 2;
                  continue;
                }
                value += buf.slice(s, q);
                p = q + 1;
                break;
              }
              row.push(value);
              if (p === len) {
                if (!final) {
                  more = true;
                  break records;
                }
                end = p;
                break;
              }
              const c = buf.charCodeAt(p);
              if (c === dc && (dl === 1 || buf.startsWith(delimiter, p))) {
                p += dl;
                continue;
              }
              if (p + 1 === len && !final && (rdl === 2 && c === CR || dl === 2 && c === dc)) {
                more = true;
                break records;
              }
              if (c === rd.charCodeAt(0) && (rdl === 1 || buf.charCodeAt(p + 1) === LF)) {
                end = p;
                break;
              }
              throw new TextAfterQuoteError(line, row.length);
            }
            if (nD < p) {
              nD = buf.indexOf(delimiter, p);
              if (nD < 0) nD = len;
            }
            if (nRD < p) {
              nRD = buf.indexOf(rd, p);
              if (nRD < 0) nRD = len;
            }
            if (nQ < p) {
              nQ = buf.indexOf('"', p);
              if (nQ < 0) nQ = len;
            }
            const e = nD < nRD ? nD : nRD;
            if (nQ < e) throw new QuoteInFieldError(line, row.length + 1);
            if (e === len && !final) {
              more = true;
              break records;
            }
            row.push(e === p ? null : buf.slice(p, e));
            if (e === nD && e < len) {
              p = e + dl;
              continue;
            }
            end = e;
            break;
          }
        }
        if (width !== row.length) {
          if (width >= 0) throw new FieldCountError(line, row.length, width);
          width = row.length;
        }
        records.push(row);
        lines.push(line);
        count++;
        // Line breaks inside the record (quoted, or not the record delimiter).
        if (nCR < pos) {
          nCR = buf.indexOf("\r", pos);
          if (nCR < 0) nCR = len;
        }
        if (nLF < pos) {
          nLF = buf.indexOf("\n", pos);
          if (nLF < 0) nLF = len;
        }
        if (nCR < end || nLF < end) line += countBreaks(buf, pos, end, rdCR && line > 1);
        if (end < len) line++;
        pos = end + rdl;
      }
    } finally {
      this.#pos = pos;
      this.#line = line;
      this.#width = width;
      if (more) {
        // Searched from inside the unfinished record: not valid from its start.
        nQ =
          nD =
          nCR =
          nLF =
          nRD =
            -1;
      }
      this.#nQ = nQ;
      this.#nD = nD;
      this.#nCR = nCR;
      this.#nLF = nLF;
      this.#nRD = nRD;
    }
    // An incomplete record: parse again once the rest has doubled, so that a long record is not
    // rescanned for every chunk.
    this.#want = more ? 2 * (len - pos) : 0;
    return count;
  }

  /**
   * Like {@linkcode CsvReader.take}, but each record comes out as its text (without its line
   * break) in `texts`, and only the cells of the fields `keyFields` are split out, into `keys`
   * (`keys[n * keyFields.length + k]`). Records are checked exactly as `take` checks them (the
   * same errors at the same lines), and {@linkcode splitRecord} turns a text into the cells `take`
   * gives. Most records are matched whole by one regular expression, several times faster than
   * splitting them into cells; any other record (or one not complete yet) goes through `take`.
   */
  takeLines(
    texts: string[],
    keys: (string | null)[],
    lines: number[],
    keyFields: number[],
    max = Infinity,
  ): number {
    if (!this.#fill()) return 0;
    if (this.#rd === "" && !this.#discover()) return 0;
    const buf = this.#buf;
    const len = buf.length;
    const rd = this.#rd;
    const rdl = rd.length;
    const rd0 = rd.charCodeAt(0);
    const rdCR = rd === "\r";
    let count = 0;
    for (;;) {
      const pattern = this.#width > 0 ? this.#recordPattern(keyFields) : undefined;
      let pos = this.#pos;
      let line = this.#line;
      let nCR = this.#nCR;
      let nLF = this.#nLF;
      while (count < max && pos < len) {
        if (buf.charCodeAt(pos) === rd0 && (rdl === 1 || buf.charCodeAt(pos + 1) === LF)) {
          // Empty line.
          pos += rdl;
          line++;
          continue;
        }
        if (pattern) {
          const re = pattern.re;
          re.lastIndex = pos;
          // test, not exec: no match array per record.
          if (!re.test(buf)) break;
          const end = re.lastIndex;
          texts.push(buf.slice(pos, end));
          pushCells(buf, pos, end, this.#delimiter, keyFields, pattern.last, keys);
          lines.push(line);
          count++;
          if (nCR < pos) {
            nCR = buf.indexOf("\r", pos);
            if (nCR < 0) nCR = len;
          }
          if (nLF < pos) {
            nLF = buf.indexOf("\n", pos);
            if (nLF < 0) nLF = len;
          }
          if (nCR < end || nLF < end) line += countBreaks(buf, pos, end, rdCR && line > 1);
          if (end < len) line++;
          pos = end + rdl;
        } else break;
      }
      this.#pos = pos;
      this.#line = line;
      this.#nCR = nCR;
      this.#nLF = nLF;
      if (count >= max || pos >= len) return count;
      // Not a record the pattern takes: `take` parses it, or says what is wrong with it.
      const rows: (string | null)[][] = [];
      if (this.take(rows, lines, 1) === 0) return count;
      const row = rows[0];
      texts.push(buf.slice(pos, this.#pos - rdl));
      for (const field of keyFields) keys.push(row[field]);
      count++;
    }
  }

  #patterns: { final: boolean; keys: string; re: RegExp; last: number } | undefined;

  /**
   * The regular expression matching one whole well-formed record at `lastIndex`, and the last
   * key field; undefined for a delimiter of two code units.
   */
  #recordPattern(keyFields: number[]): { re: RegExp; last: number } | undefined {
    const cached = this.#patterns;
    const keyList = keyFields.join(",");
    if (cached && cached.final === this.#final && cached.keys === keyList) return cached;
    const d = this.#delimiter;
    if (d.length !== 1) return undefined;
    const rd = this.#rd;
    const inClass = d.replace(/[\\\]^-]/, "\\$&");
    const bare = rd === "\r\n"
      ? `(?:[^"${inClass}\\r]|\\r(?!\\n))*`
      : `[^"${inClass}${rd === "\n" ? "\\n" : "\\r"}]*`;
    const field = `(?:"[^"]*(?:""[^"]*)*"|${bare})`;
    const breakText = rd === "\r\n" ? "\\r\\n" : rd === "\n" ? "\\n" : "\\r";
    const source = Array(this.#width).fill(field).join(d.replace(/[\\^$.*+?()[\]{}|/-]/, "\\$&")) +
      `(?=${breakText}${this.#final ? "|$" : ""})`;
    this.#patterns = {
      final: this.#final,
      keys: keyList,
      re: new RegExp(source, "y"),
      last: Math.max(...keyFields),
    };
    return this.#patterns;
  }

  /** Moves pending chunks into the buffer when worth it; false when there is nothing to parse. */
  #fill(): boolean {
    const rest = this.#buf.length - this.#pos;
    if (this.#pendingLength > 0 && (this.#final || rest + this.#pendingLength >= this.#want)) {
      const joined = this.#pending.length === 1 ? this.#pending[0] : this.#pending.join("");
      this.#buf = rest > 0 ? this.#buf.slice(this.#pos) + joined : joined;
      this.#pos = 0;
      this.#pending = [];
      this.#pendingLength = 0;
      this.#nQ =
        this.#nD =
        this.#nCR =
        this.#nLF =
        this.#nRD =
          -1;
      this.#want = 0;
    }
    return this.#pos < this.#buf.length && (this.#final || this.#want === 0);
  }

  /**
   * Finds the record delimiter: the first \r\n, \n or \r outside quotes. False when the buffer
   * ends before one can be told (more text needed).
   */
  #discover(): boolean {
    const buf = this.#buf;
    const len = buf.length;
    const final = this.#final;
    let i = this.#pos;
    let fieldStart = true;
    while (i < len) {
      const c = buf.charCodeAt(i);
      if (c === QUOTE) {
        if (!fieldStart) break; // an error the parse reports before any line break matters
        let s = i + 1;
        for (;;) {
          const q = buf.indexOf('"', s);
          if (q < 0 || q + 1 === len) {
            if (!final) return this.#wait();
            i = len;
            break;
          }
          if (buf.charCodeAt(q + 1) === QUOTE) {
            s = q + 2;
            continue;
          }
          i = q + 1;
          break;
        }
        fieldStart = false;
        continue;
      }
      if (c === CR) {
        if (i + 1 === len && !final) return this.#wait();
        this.#rd = buf.charCodeAt(i + 1) === LF ? "\r\n" : "\r";
        return true;
      }
      if (c === LF) {
        this.#rd = "\n";
        return true;
      }
      if (c === this.#delimiterCode && buf.startsWith(this.#delimiter, i)) {
        i += this.#delimiter.length;
        fieldStart = true;
      } else {
        i++;
        fieldStart = false;
      }
    }
    if (i >= len && !final) return this.#wait();
    // No line break outside quotes before the end or before an error: any delimiter parses the
    // same.
    this.#rd = "\n";
    return true;
  }

  #wait(): false {
    this.#want = 2 * (this.#buf.length - this.#pos);
    return false;
  }
}

/** Where the last cell read by {@linkcode cellAt} ends. */
let cellEnd = 0;

/**
 * The cell starting at `p` of a checked record that ends at `end` (quotes undone, an unquoted
 * empty cell NULL); sets {@linkcode cellEnd}.
 */
function cellAt(text: string, p: number, end: number, delimiter: string): string | null {
  if (text.charCodeAt(p) === QUOTE) {
    let value = "";
    let s = p + 1;
    for (;;) {
      const q = text.indexOf('"', s);
      if (text.charCodeAt(q + 1) === QUOTE) {
        value += text.slice(s, q + 1);
        s = q + 2;
        continue;
      }
      cellEnd = q + 1;
      return value + text.slice(s, q);
    }
  }
  let e = text.indexOf(delimiter, p);
  if (e < 0 || e > end) e = end;
  cellEnd = e;
  return e === p ? null : text.slice(p, e);
}

const scratch: (string | null)[] = [];

/** Appends the cells `fields` (the highest is `last`) of the checked record `text[p, end)`. */
function pushCells(
  text: string,
  p: number,
  end: number,
  delimiter: string,
  fields: number[],
  last: number,
  out: (string | null)[],
): void {
  if (last === 0) {
    out.push(cellAt(text, p, end, delimiter));
    return;
  }
  for (let i = 0; i <= last; i++) {
    scratch[i] = cellAt(text, p, end, delimiter);
    p = cellEnd + delimiter.length;
  }
  for (const field of fields) out.push(scratch[field]);
}

/**
 * The cells of one record's text as {@linkcode CsvReader.takeLines} hands it out (checked
 * already): the cells {@linkcode CsvReader.take} gives for it.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { splitRecord } from "./reader.ts";
 * deepStrictEqual(splitRecord('1,"a ""b""",,""', ","), ["1", 'a "b"', null, ""]);
 * ```
 */
export function splitRecord(text: string, delimiter: string): (string | null)[] {
  const cells: (string | null)[] = [];
  if (text.indexOf('"') < 0) {
    for (const cell of text.split(delimiter)) cells.push(cell === "" ? null : cell);
    return cells;
  }
  for (let p = 0;; p = cellEnd + delimiter.length) {
    cells.push(cellAt(text, p, text.length, delimiter));
    if (cellEnd >= text.length) return cells;
  }
}

/**
 * Line breaks in `buf[a, b)`: `\r\n`, a lone `\r` and a lone `\n` count one each (a `\r` is
 * counted by the `\n` after it); `prevCR`: the character before `a` is a `\r`, counted already.
 */
function countBreaks(buf: string, a: number, b: number, prevCR: boolean): number {
  let n = 0;
  for (let i = a; i < b; i++) {
    const c = buf.charCodeAt(i);
    if (c === LF) {
      if (i > a || !prevCR) n++;
    } else if (c === CR && buf.charCodeAt(i + 1) !== LF) n++;
  }
  return n;
}
