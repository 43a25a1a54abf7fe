#!/usr/bin/env bash
# Makes the Excel fixtures under tests/fixtures/ with LibreOffice, so that the xlsx adapter is
# tested on books another program wrote, not only on exceljs's own output. Each book is written
# here as a flat OpenDocument spreadsheet (.fods, exact cell types and styles) and converted with
#   soffice --headless --convert-to xlsx
# Needs LibreOffice Calc (Debian: apt-get install libreoffice-calc-nogui). The password-protected
# book is one of these, encrypted with the npm package officecrypto-tool (LibreOffice's own
# converter cannot set a password).
set -euo pipefail
cd "$(dirname "$0")/.."
out=tests/fixtures
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

head='<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2"
 xmlns:xlink="http://www.w3.org/1999/xlink"
 office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
 <office:automatic-styles>
  <number:date-style style:name="Ndate"><number:year number:style="long"/><number:text>-</number:text><number:month number:style="long"/><number:text>-</number:text><number:day number:style="long"/></number:date-style>
  <number:date-style style:name="Ndt"><number:year number:style="long"/><number:text>-</number:text><number:month number:style="long"/><number:text>-</number:text><number:day number:style="long"/><number:text> </number:text><number:hours number:style="long"/><number:text>:</number:text><number:minutes number:style="long"/><number:text>:</number:text><number:seconds number:style="long"/></number:date-style>
  <number:time-style style:name="Ntime"><number:hours number:style="long"/><number:text>:</number:text><number:minutes number:style="long"/><number:text>:</number:text><number:seconds number:style="long"/></number:time-style>
  <number:boolean-style style:name="Nbool"><number:boolean/></number:boolean-style>
  <number:percentage-style style:name="Npct"><number:number number:decimal-places="0" number:min-integer-digits="1"/><number:text>%</number:text></number:percentage-style>
  <style:style style:name="date" style:family="table-cell" style:data-style-name="Ndate"/>
  <style:style style:name="dt" style:family="table-cell" style:data-style-name="Ndt"/>
  <style:style style:name="time" style:family="table-cell" style:data-style-name="Ntime"/>
  <style:style style:name="bool" style:family="table-cell" style:data-style-name="Nbool"/>
  <style:style style:name="pct" style:family="table-cell" style:data-style-name="Npct"/>
  <style:style style:name="yellow" style:family="table-cell"><style:table-cell-properties fo:background-color="#ffff00"/><style:text-properties fo:font-weight="bold"/></style:style>
  <style:style style:name="wide" style:family="table-column"><style:table-column-properties style:column-width="6cm"/></style:style>
  <style:style style:name="narrow" style:family="table-column"><style:table-column-properties style:column-width="2cm"/></style:style>
  <style:style style:name="B" style:family="text"><style:text-properties fo:font-weight="bold"/></style:style>
 </office:automatic-styles>
 <office:body>
  <office:spreadsheet>'
tail='  </office:spreadsheet>
 </office:body>
</office:document>'

# Cell helpers: s TEXT, n NUMBER, d DATE, b true|false, blank.
s() { printf '<table:table-cell office:value-type="string"><text:p>%s</text:p></table:table-cell>' "$1"; }
n() { printf '<table:table-cell office:value-type="float" office:value="%s"/>' "$1"; }
d() { printf '<table:table-cell table:style-name="date" office:value-type="date" office:date-value="%s"/>' "$1"; }
b() { printf '<table:table-cell table:style-name="bool" office:value-type="boolean" office:boolean-value="%s"/>' "$1"; }
blank() { printf '<table:table-cell/>'; }
row() { printf '<table:table-row>%s</table:table-row>\n' "$*"; }

book() { # NAME BODY: writes $work/NAME.fods and converts it to $out/NAME.xlsx
  printf '%s\n%s\n%s\n' "$head" "$2" "$tail" >"$work/$1.fods"
  soffice --headless --convert-to xlsx --outdir "$work" "$work/$1.fods" >/dev/null 2>&1
  cp "$work/$1.xlsx" "$out/$1.xlsx"
  echo "made $out/$1.xlsx"
}

# Every kind of value LibreOffice writes, on the second of two sheets.
book lo_types "$(
  printf '<table:table table:name="Notes">%s</table:table>\n' "$(row "$(s 'see the Types sheet')")"
  printf '<table:table table:name="Types">\n'
  row "$(s id)$(s code)$(s price)$(s qty)$(s born)$(s at)$(s start)$(s ok)$(s total)$(s link)$(s rich)$(s pct)"
  row "$(n 1)$(s 007)$(n 19.99)$(n 3)$(d 2024-01-02)" \
    '<table:table-cell table:style-name="dt" office:value-type="date" office:date-value="2024-01-02T10:30:00"/>' \
    '<table:table-cell table:style-name="time" office:value-type="time" office:time-value="PT08H15M00S"/>' \
    "$(b true)" \
    '<table:table-cell table:formula="of:=[.C2]*[.D2]" office:value-type="float" office:value="59.97"/>' \
    '<table:table-cell office:value-type="string"><text:p><text:a xlink:href="https://example.org/">Example</text:a></text:p></table:table-cell>' \
    '<table:table-cell office:value-type="string"><text:p>plain <text:span text:style-name="B">bold</text:span> end</text:p></table:table-cell>' \
    '<table:table-cell table:style-name="pct" office:value-type="percentage" office:value="0.25"/>'
  row "$(blank)"
  row "$(n 2)" '<table:table-cell office:value-type="string"><text:p>Zoë</text:p><text:p>line two</text:p></table:table-cell>' \
    "$(n 0.1)$(n -7)$(d 1999-12-31)" \
    '<table:table-cell table:style-name="dt" office:value-type="date" office:date-value="1999-12-31T23:59:59"/>' \
    '<table:table-cell table:style-name="time" office:value-type="time" office:time-value="PT23H00M00S"/>' \
    "$(b false)" \
    '<table:table-cell table:formula="of:=[.C4]*[.D4]" office:value-type="float" office:value="-0.7"/>' \
    "$(s 'no link')" \
    '<table:table-cell table:formula="of:=&quot;a&quot;&amp;&quot;b&quot;" office:value-type="string" office:string-value="ab"><text:p>ab</text:p></table:table-cell>' \
    '<table:table-cell table:style-name="pct" office:value-type="percentage" office:value="1"/>'
  row "$(n 3)$(s '')$(blank)$(n 0)$(blank)$(blank)$(blank)" \
    '<table:table-cell table:formula="of:=[.D5]&gt;0" office:value-type="boolean" office:boolean-value="false"/>'
  printf '</table:table>\n'
)"

# A book whose date system starts in 1904 (Excel for Mac's old default).
book lo_1904 "$(
  printf '<table:calculation-settings><table:null-date table:date-value="1904-01-01"/></table:calculation-settings>\n'
  printf '<table:table table:name="Dates">\n'
  row "$(s id)$(s day)$(s at)"
  row "$(n 1)$(d 2024-01-02)" '<table:table-cell table:style-name="dt" office:value-type="date" office:date-value="2024-01-02T06:00:00"/>'
  row "$(n 2)$(d 1904-01-01)" '<table:table-cell table:style-name="dt" office:value-type="date" office:date-value="1999-12-31T23:59:59"/>'
  printf '</table:table>\n'
)"

# Error values: #DIV/0! and #N/A.
book lo_errors "$(
  printf '<table:table table:name="Errors">\n'
  row "$(s id)$(s ratio)"
  row "$(n 1)$(n 0.5)"
  row "$(n 2)" '<table:table-cell table:formula="of:=1/0" office:value-type="float" office:value="0"/>'
  row "$(n 3)" '<table:table-cell table:formula="of:=NA()" office:value-type="float" office:value="0"/>'
  printf '</table:table>\n'
)"

# A report: title rows above the header (header in row 3), a trailing empty column.
book lo_report "$(
  printf '<table:table table:name="Cover">%s</table:table>\n' "$(row "$(s 'Q3 report')")"
  printf '<table:table table:name="Prices">\n'
  row "$(s 'Prices as of 2024-09-30')"
  row "$(blank)"
  row "$(s sku)$(s price)$(s note)"
  row "$(s A-1)$(n 10)$(s first)"
  row "$(s A-2)$(n 12.5)$(blank)"
  row "$(blank)$(blank)$(blank)"
  row "$(s B-1)$(n 99.99)$(s last)"
  printf '</table:table>\n'
)"

# Header problems: a duplicate name, and an empty header cell between two names.
book lo_dup_header "$(
  printf '<table:table table:name="Dup">\n'
  row "$(s id)$(s name)$(s name)"
  row "$(n 1)$(s a)$(s b)"
  printf '</table:table>\n'
)"
book lo_gap_header "$(
  printf '<table:table table:name="Gap">\n'
  row "$(s id)$(blank)$(s name)"
  row "$(n 1)$(s x)$(s a)"
  printf '</table:table>\n'
)"

# An existing book to write into: a formatted Summary sheet, a Data sheet with column widths
# and a highlighted cell, and rows in a non-trivial order.
book lo_existing "$(
  printf '<table:table table:name="Summary">\n'
  printf '<table:table-column table:style-name="wide"/>\n'
  row '<table:table-cell table:style-name="yellow" office:value-type="string"><text:p>Keep me</text:p></table:table-cell>' "$(n 42)"
  printf '</table:table>\n'
  printf '<table:table table:name="Data">\n'
  printf '<table:table-column table:style-name="narrow"/><table:table-column table:style-name="wide"/><table:table-column/><table:table-column/>\n'
  row "$(s id)$(s name)$(s joined)$(s score)"
  row "$(n 1)$(s Ann)$(d 2020-01-01)$(n 1.5)"
  row "$(n 2)" '<table:table-cell table:style-name="yellow" office:value-type="string"><text:p>Bob</text:p></table:table-cell>' "$(d 2021-02-03)$(n 2)"
  row "$(n 3)$(s Cy)$(d 2022-03-04)$(n 3)"
  row "$(n 4)$(s Di)$(d 2023-04-05)$(n 4)"
  printf '</table:table>\n'
)"

# A password-protected book (password: secret).
deno run -A --no-lock - "$out/lo_types.xlsx" "$out/lo_password.xlsx" <<'EOF'
// deno-lint-ignore no-import-prefix
import officeCrypto from "npm:officecrypto-tool@0.0.19";
const [input, output] = Deno.args;
const encrypted = await officeCrypto.encrypt(await Deno.readFile(input), { password: "secret" });
await Deno.writeFile(output, encrypted);
console.log(`made ${output} (encrypted)`);
EOF
