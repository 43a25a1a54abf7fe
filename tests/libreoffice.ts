/**
 * LibreOffice as an independent reader and writer of workbooks for the xlsx tests
 * (`soffice --headless --convert-to`). LibreOffice is needed: .ci/run installs it (Debian package
 * libreoffice-calc-nogui; scripts/setup_tests.sh too).
 * @module
 */
import { pathToFileURL } from "node:url";
import { parseCsvSimple } from "./helpers.ts";

/** Runs soffice with its own throwaway profile, converting `file` into `out` as `format`. */
async function soffice(file: string, format: string, out: string): Promise<Deno.CommandOutput> {
  const profile = await Deno.makeTempDir({ prefix: "dsync-lo-profile-" });
  try {
    return await new Deno.Command("soffice", {
      args: [
        `-env:UserInstallation=${pathToFileURL(profile).href}`,
        "--headless",
        "--norestore",
        "--convert-to",
        format,
        "--outdir",
        out,
        file,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (error) {
    throw new Error(
      `LibreOffice (soffice) is needed for this test: apt-get install libreoffice-calc-nogui (${
        (error as Error).message
      })`,
    );
  } finally {
    await Deno.remove(profile, { recursive: true });
  }
}

/** Every sheet of a book as CSV rows, converted by LibreOffice: sheet name → rows. */
export async function libreOfficeCsv(book: string): Promise<Record<string, string[][]>> {
  const out = await Deno.makeTempDir({ prefix: "dsync-lo-out-" });
  try {
    // comma, double quote, UTF-8, line 1, …, values as shown, every sheet (-1): NAME-Sheet.csv
    const result = await soffice(
      book,
      "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1",
      out,
    );
    const base = book.split("/").pop()!.replace(/\.xlsx$/, "");
    const sheets: Record<string, string[][]> = {};
    for await (const entry of Deno.readDir(out)) {
      const sheet = entry.name.slice(base.length + 1, -4);
      sheets[sheet] = parseCsvSimple(await Deno.readTextFile(`${out}/${entry.name}`));
    }
    if (Object.keys(sheets).length === 0) {
      throw new Error(`soffice converted nothing: ${new TextDecoder().decode(result.stderr)}`);
    }
    return sheets;
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}

/**
 * A book that LibreOffice writes from a CSV file (`NAME.csv` → `NAME.xlsx` beside it), its
 * dates as LibreOffice's own serials.
 */
export async function libreOfficeBook(csv: string): Promise<string> {
  const dir = csv.slice(0, csv.lastIndexOf("/"));
  const result = await soffice(csv, "xlsx", dir);
  const book = csv.replace(/\.csv$/, ".xlsx");
  try {
    await Deno.stat(book);
  } catch {
    throw new Error(`soffice wrote no ${book}: ${new TextDecoder().decode(result.stderr)}`);
  }
  return book;
}
