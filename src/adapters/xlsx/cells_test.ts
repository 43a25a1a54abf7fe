/**
 * Unit tests of cell values: number formats, Excel serial dates in both date systems, the
 * OOXML text escape, cell references, and the cells dsync values are written as.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  cellFor,
  columnName,
  columnOf,
  dateToSerial,
  decodeText,
  encodeText,
  numberKind,
  serialToIso,
} from "./cells.ts";

Deno.test("1900 system: serials 1, 59, 61 and Lotus's phantom 29 February (60)", () => {
  assert.equal(serialToIso(1, false, "date"), "1900-01-01");
  assert.equal(serialToIso(59, false, "date"), "1900-02-28");
  assert.throws(() => serialToIso(60, false, "date"), /^RangeError: 1900-02-29 does not exist$/);
  assert.throws(() => serialToIso(60.5, false, "datetime"), RangeError);
  assert.equal(serialToIso(61, false, "date"), "1900-03-01");
  assert.equal(serialToIso(25569, false, "date"), "1970-01-01");
  assert.equal(serialToIso(45292, false, "date"), "2024-01-01");
  assert.equal(serialToIso(2958465, false, "date"), "9999-12-31");
  // Serial 0 and below follow the rule from 61 on (what the code does today).
  assert.equal(serialToIso(0, false, "date"), "1899-12-30");
  assert.equal(serialToIso(-1, false, "date"), "1899-12-29");
});

Deno.test("a LibreOffice book: serials count from 1899-12-30, its 60 is 1900-02-28", () => {
  assert.equal(serialToIso(1, false, "date", true), "1899-12-31");
  assert.equal(serialToIso(2, false, "date", true), "1900-01-01");
  assert.equal(serialToIso(60, false, "date", true), "1900-02-28");
  assert.equal(serialToIso(61, false, "date", true), "1900-03-01");
  assert.equal(serialToIso(45292, false, "date", true), "2024-01-01");
  assert.equal(serialToIso(60.25, false, "datetime", true), "1900-02-28T06:00:00");
});

Deno.test("dates before 1900-03-01 are written as text, which both programs read alike", () => {
  assert.deepEqual(cellFor("1900-01-01", "date"), { value: "1900-01-01" });
  assert.deepEqual(cellFor("1900-02-28T12:00:00", "timestamp"), { value: "1900-02-28T12:00:00" });
  assert.equal(cellFor("1900-03-01", "date")?.value, 61);
});

Deno.test("1904 system: serial 0 is 1904-01-01, no phantom day", () => {
  assert.equal(serialToIso(0, true, "date"), "1904-01-01");
  assert.equal(serialToIso(1, true, "date"), "1904-01-02");
  assert.equal(serialToIso(60, true, "date"), "1904-03-01");
  assert.equal(serialToIso(43830, true, "date"), "2024-01-01");
  assert.equal(serialToIso(43831, true, "date"), "2024-01-02");
});

Deno.test("fractions of a day are times, to the millisecond", () => {
  assert.equal(serialToIso(0.5, false, "time"), "12:00:00");
  assert.equal(serialToIso(0.75, true, "time"), "18:00:00");
  assert.equal(serialToIso(0.99999999, false, "time"), "23:59:59.999");
  assert.equal(serialToIso(0.5 + 250 / 86_400_000, false, "time"), "12:00:00.25");
  // A time format over a day, or a date format with a fraction: a timestamp.
  assert.equal(serialToIso(1.5, false, "time"), "1900-01-01T12:00:00");
  assert.equal(serialToIso(45292.75, false, "datetime"), "2024-01-01T18:00:00");
  assert.equal(serialToIso(45292.75, false, "date"), "2024-01-01T18:00:00");
  assert.equal(serialToIso(45292.123456789, false, "datetime"), "2024-01-01T02:57:46.667");
  assert.equal(serialToIso(0.5, false, "datetime"), "1899-12-30T12:00:00");
  // Midnight under a date-and-time format is a timestamp (issue 14: it read back as a date and
  // updated forever); under a date format, a date.
  assert.equal(serialToIso(45292, false, "datetime"), "2024-01-01T00:00:00");
  assert.equal(serialToIso(45292, false, "date"), "2024-01-01");
});

Deno.test("dateToSerial: both systems; null where Excel cannot show the date", () => {
  // Before 1900-03-01 Excel and LibreOffice read a serial as different days: written as text.
  assert.equal(dateToSerial(1900, 1, 1, false), null);
  assert.equal(dateToSerial(1900, 2, 28, false), null);
  assert.equal(dateToSerial(1900, 3, 1, false), 61);
  assert.equal(dateToSerial(2024, 1, 1, false), 45292);
  assert.equal(dateToSerial(9999, 12, 31, false), 2958465);
  assert.equal(dateToSerial(1904, 1, 1, true), 0);
  assert.equal(dateToSerial(2024, 1, 1, true), 43830);
  assert.equal(dateToSerial(1899, 12, 31, false), null);
  assert.equal(dateToSerial(10000, 1, 1, false), null);
  assert.equal(dateToSerial(1903, 12, 31, true), null);
  assert.equal(dateToSerial(1900, 1, 1, true), null);
});

Deno.test("typical dates, timestamps and times round-trip through cellFor and serialToIso", () => {
  const dates = [
    "1900-03-01",
    "1970-01-01",
    "2000-02-29",
    "2024-12-31",
  ];
  for (const date1904 of [false, true]) {
    for (const date of date1904 ? dates.slice(1) : dates) {
      const out = cellFor(date, "date", date1904)!;
      assert.equal(out.kind, "date");
      assert.equal(out.format, "yyyy-mm-dd");
      assert.equal(serialToIso(out.value as number, date1904, "date"), date, date);
    }
    for (
      const ts of [
        "2024-03-05T13:45:30",
        "1999-12-31T23:59:59",
        "2024-03-05T13:45:30.25",
        "2024-03-05T00:00:00",
      ]
    ) {
      const out = cellFor(ts, "timestamp", date1904)!;
      assert.equal(out.kind, "datetime");
      assert.equal(
        out.format,
        ts.includes(".") ? "yyyy-mm-dd hh:mm:ss.000" : "yyyy-mm-dd hh:mm:ss",
      );
      assert.equal(serialToIso(out.value as number, date1904, "datetime"), ts, ts);
    }
  }
  for (const time of ["00:00:01", "13:45:30", "23:59:59.999"]) {
    const out = cellFor(time, "time")!;
    assert.equal(out.kind, "time");
    assert.equal(serialToIso(out.value as number, false, "time"), time, time);
  }
  assert.deepEqual(cellFor("2024-01-01", "date"), {
    value: 45292,
    format: "yyyy-mm-dd",
    kind: "date",
  });
  assert.deepEqual(cellFor("2024-01-01", "date", true), {
    value: 43830,
    format: "yyyy-mm-dd",
    kind: "date",
  });
});

Deno.test("cellFor: what Excel cannot hold exactly is text that reads back equal", () => {
  assert.equal(cellFor(null, "text"), null);
  assert.equal(cellFor(undefined, "integer"), null);
  assert.deepEqual(cellFor(5n, "integer"), { value: 5 });
  assert.deepEqual(cellFor(2n ** 60n, "integer"), { value: "1152921504606846976" });
  assert.deepEqual(cellFor(true, "boolean"), { value: true });
  assert.deepEqual(cellFor(Number.NaN, "float"), { value: "NaN" });
  assert.deepEqual(cellFor("1.5", "decimal"), { value: 1.5 });
  assert.deepEqual(cellFor("1.10", "decimal"), { value: "1.10" });
  assert.deepEqual(cellFor("1899-12-31", "date"), { value: "1899-12-31" });
  assert.deepEqual(cellFor("2024-01-01T00:00:60", "timestamp"), { value: "2024-01-01T00:00:60" });
  assert.deepEqual(cellFor("12:00:00+02:00", "time"), { value: "12:00:00+02:00" });
  assert.deepEqual(cellFor({ a: 1 }, "json"), { value: '{"a":1}' });
  assert.deepEqual(cellFor("x", "json"), { value: '"x"' });
  assert.deepEqual(cellFor("a_x0041_", "text"), { value: "a_x005F_x0041_" });
  // An untyped value is a date only if it is a real one.
  assert.equal(cellFor("2024-02-29", "auto")!.kind, "date");
  assert.deepEqual(cellFor("2024-02-30", "auto"), { value: "2024-02-30" });
});

Deno.test("numberKind classifies format codes", () => {
  const cases: [string | undefined, string][] = [
    [undefined, "number"],
    ["General", "number"],
    ["0.00", "number"],
    ["0.00E+00", "number"],
    ['"d"0', "number"],
    ["yyyy-mm-dd", "date"],
    ["mmm-yy", "date"],
    ["[$-409]d-mmm-yy", "date"],
    ["m/d/yy h:mm", "datetime"],
    ["h:mm:ss", "time"],
    ["mm:ss", "time"],
    ["[h]:mm:ss", "duration"],
    ['"TRUE";"TRUE";"FALSE"', "boolean"],
  ];
  for (const [format, kind] of cases) assert.equal(numberKind(format), kind, format);
});

Deno.test("the _xHHHH_ escape and cell references", () => {
  assert.equal(decodeText("a_x000D_b_x005F_x0041_"), "a\rb_x0041_");
  assert.equal(encodeText("a\rb_x0041_"), "a_x000D_b_x005F_x0041_");
  assert.equal(decodeText(encodeText("tab\there\u0001")), "tab\there\u0001");
  assert.equal(encodeText("del\x7Fesc\x1B"), "del_x007F_esc_x001B_");
  assert.equal(columnName(1), "A");
  assert.equal(columnName(26), "Z");
  assert.equal(columnName(27), "AA");
  assert.equal(columnName(16384), "XFD");
  assert.equal(columnOf("AB12"), 28);
  assert.equal(columnOf("XFD1"), 16384);
});
