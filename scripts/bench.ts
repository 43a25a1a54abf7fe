/**
 * Benchmarks dsync side by side with the reference tools, in the same run, on generated data:
 * `deno task bench` (100k and 1M rows; `--large` adds 10M; `--rows N` picks one size;
 * `--reps N` repetitions, default 3; `--only mysql` runs just the MySQL cases, `--only
 * first-load` the two first loads: SQLite and PostgreSQL, `--only hash` the checksum bisection
 * cases, `--only changes` the `--strategy changes` ones, `--only csv-diff` the CSV vs CSV diff against daff). Prints a
 * markdown table (median wall time, rows/s, peak RSS, ratio to the reference) and writes it to
 * docs/benchmarks.md.
 *
 * Needs: sqlite3 and sqldiff (Debian sqlite3, sqlite3-tools), daff (npm i -g daff), Miller (Debian
 * miller), and for the
 * PostgreSQL cases psql plus a server (DATABASE_URL, else a throwaway one when
 * scripts/pg_server.ts is present), for the MySQL cases the mariadb client plus a server
 * (MYSQL_URL, else a throwaway MariaDB). A missing tool skips its case and says so.
 *
 * @example
 * ```sh
 * deno task bench --rows 100000 --reps 1
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { generateCsv } from "./gen_data.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const DSYNC = ["deno", "run", "-A", `${ROOT}main.ts`];

interface Measure {
  seconds: number;
  rssMb: number;
  /** User + system CPU seconds: steadier than wall time on a machine other jobs load. */
  cpu?: number;
}

interface Row {
  case: string;
  rows: number;
  dsync?: Measure;
  reference?: Measure;
  referenceName: string;
  goal: string;
  note?: string;
}

async function has(tool: string): Promise<boolean> {
  const out = await new Deno.Command("bash", { args: ["-c", `command -v ${tool}`], stdout: "null" })
    .output();
  return out.success;
}

/** Runs `bash -c script` under /usr/bin/time; returns wall seconds and peak RSS. */
async function timed(
  script: string,
  cwd: string,
  env: Record<string, string> = {},
): Promise<Measure> {
  const started = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "@@%e %M %U %S", "bash", "-c", script],
    cwd,
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  const m = /@@([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(err);
  if (!m || (!out.success && !/exit 1/.test(script))) {
    throw new Error(`failed: ${script}\n${err.slice(-800)}`);
  }
  return {
    seconds: (performance.now() - started) / 1000,
    rssMb: Number(m[2]) / 1024,
    cpu: Number(m[3]) + Number(m[4]),
  };
}

async function median(
  reps: number,
  setup: () => Promise<void>,
  run: () => Promise<Measure>,
): Promise<Measure> {
  const all: Measure[] = [];
  for (let i = 0; i < reps; i++) {
    await setup();
    all.push(await run());
  }
  all.sort((a, b) => a.seconds - b.seconds);
  const mid = all[Math.floor(all.length / 2)];
  const cpus = all.map((m) => m.cpu ?? 0).sort((a, b) => a - b);
  return {
    seconds: mid.seconds,
    rssMb: Math.max(...all.map((m) => m.rssMb)),
    cpu: cpus[Math.floor(cpus.length / 2)],
  };
}

const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
const dsync = (args: string) => `${DSYNC.map(q).join(" ")} ${args}`;
const SQLITE_SCHEMA =
  "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, email TEXT, amount REAL, qty INTEGER, created DATE, active BOOLEAN, note TEXT);";

/** A first load into a new SQLite table beside `sqlite3 .import` into the same schema. */
async function sqliteFirstLoad(rows: number, reps: number, dir: string, base: string) {
  const rm = (file: string) => () => Deno.remove(`${dir}/${file}`).catch(() => {});
  return {
    case: "CSV → new SQLite table",
    rows,
    referenceName: "sqlite3 .import --csv (typed table)",
    goal: "≤ 1.5×",
    dsync: await median(
      reps,
      rm("d.db"),
      () => timed(dsync(`csv:sqlite ${q(base)} d.db#t --format summary -q`), dir),
    ),
    reference: await median(
      reps,
      rm("r.db"),
      () => timed(`sqlite3 r.db ${q(SQLITE_SCHEMA)} ".import --csv --skip 1 ${base} t"`, dir),
    ),
  };
}

const pgEnv = (url: string) => ({ DATABASE_URL: url, PGOPTIONS: "--client-min-messages=warning" });
const psqlOf = (url: string) => (sql: string) =>
  `psql -q -v ON_ERROR_STOP=1 ${q(url)} -c ${q(sql)}`;
const pgTable = (rows: number) => ({
  table: `bench_${rows}`,
  create:
    `DROP TABLE IF EXISTS bench_${rows}; CREATE TABLE bench_${rows} (id bigint PRIMARY KEY, name text, email text, amount numeric, qty bigint, created date, active boolean, note text)`,
});

/** A first load into an empty PostgreSQL table beside `psql \copy` into the same table. */
async function pgFirstLoad(rows: number, reps: number, dir: string, base: string, url: string) {
  const psql = psqlOf(url);
  const { table, create } = pgTable(rows);
  return {
    case: "CSV → empty PostgreSQL table",
    rows,
    referenceName: "psql \\copy … csv header",
    goal: "≤ 1.3×",
    dsync: await median(
      reps,
      async () => void await timed(psql(create), dir),
      () => timed(dsync(`csv:postgres ${q(base)} ${table} --format summary -q`), dir, pgEnv(url)),
    ),
    reference: await median(
      reps,
      async () => void await timed(psql(create), dir),
      () => timed(psql(`\\copy ${table} from '${base}' csv header`), dir),
    ),
  };
}

/**
 * CSV vs CSV keyed diff, 12 columns, 10 changed rows (`-n`: plan only). Both files are in key
 * order, so dsync pairs them in one merge pass. daff holds both files in memory (2.6 GB at 1M
 * rows): no 10M run.
 */
async function csvDiff(
  rows: number,
  reps: number,
  dir: string,
  wideA: string,
  wideB: string,
): Promise<Row[]> {
  if (rows > 1_000_000) return [];
  const run = () =>
    median(
      reps,
      async () => {},
      () => timed(dsync(`csv:csv ${q(wideB)} ${q(wideA)} -n --format summary -q`), dir),
    );
  const results: Row[] = [];
  const dsyncRun = await run();
  if (await has("daff")) {
    results.push({
      case: "CSV vs CSV diff, 12 cols, 10 changes, -n",
      rows,
      referenceName: "daff diff --id id",
      goal: "≥ 10× faster than daff, ≤ 2 s",
      dsync: dsyncRun,
      reference: await median(
        reps,
        async () => {},
        () => timed(`daff diff --id id ${wideA} ${wideB} > /dev/null`, dir),
      ),
    });
  }
  // The compiled keyed differ the npm and Debian registries offer (csvdiff and qsv are on
  // neither): Miller (Go), a full outer join on the key and a filter on every other column.
  if (await has("mlr")) {
    const file = await Deno.open(wideA);
    const head = new Uint8Array(4096);
    await file.read(head);
    file.close();
    const header = new TextDecoder().decode(head).split("\n")[0].split(",");
    const fields = header.slice(1);
    const filter = [
      `is_absent($a_${fields[0]})`,
      `is_absent($b_${fields[0]})`,
      ...fields.map((f) => `$a_${f} != $b_${f}`),
    ].join(" || ");
    results.push({
      case: "same diff, compiled reference",
      rows,
      referenceName: "Miller 6 (Go): join --ul --ur -j id + filter",
      goal: "–",
      dsync: dsyncRun,
      reference: await median(
        reps,
        async () => {},
        () =>
          timed(
            `mlr --infer-none --icsv --ojsonl join --ul --ur -j ${
              header[0]
            } --lp a_ --rp b_ -f ${wideA} then filter ${q(filter)} ${wideB} > /dev/null`,
            dir,
          ),
      ),
    });
  }
  return results;
}

async function benchSize(
  rows: number,
  reps: number,
  dir: string,
  pgUrl: string | undefined,
  mysqlUrl?: string,
): Promise<Row[]> {
  const results: Row[] = [];
  const base = `${dir}/base-${rows}.csv`;
  const next = `${dir}/next-${rows}.csv`;
  const wideA = `${dir}/wide-a-${rows}.csv`;
  const wideB = `${dir}/wide-b-${rows}.csv`;
  await generateCsv(rows, base);
  await generateCsv(rows, next, { changedPercent: 1 });
  await generateCsv(rows, wideA, { columns: 12 });
  await generateCsv(rows, wideB, { columns: 12, changedRows: 10 });
  const rm = (...files: string[]) => async () => {
    for (const f of files) await Deno.remove(`${dir}/${f}`).catch(() => {});
  };

  results.push(await sqliteFirstLoad(rows, reps, dir, base));

  await rm("d.db", "r.db")();
  await timed(dsync(`csv:sqlite ${q(base)} d.db#t --format summary -q`), dir);
  await Deno.copyFile(`${dir}/d.db`, `${dir}/d0.db`);
  const resyncSql = `CREATE TEMP TABLE s AS SELECT * FROM t WHERE 0;
.import --csv --skip 1 ${next} s
INSERT INTO t SELECT * FROM s WHERE true ON CONFLICT(id) DO UPDATE SET name=excluded.name, email=excluded.email,
  amount=excluded.amount, qty=excluded.qty, created=excluded.created, active=excluded.active, note=excluded.note
  WHERE (t.name, t.email, t.amount, t.qty, t.created, t.active, t.note) IS NOT
        (excluded.name, excluded.email, excluded.amount, excluded.qty, excluded.created, excluded.active, excluded.note);
DELETE FROM t WHERE id NOT IN (SELECT id FROM s);`;
  await Deno.writeTextFile(`${dir}/resync.sql`, resyncSql);
  const restore = () => Deno.copyFile(`${dir}/d0.db`, `${dir}/d.db`);
  results.push({
    case: "re-sync SQLite (1 % upd, 0.5 % new, 0.5 % del, --delete)",
    rows,
    referenceName: "sqlite3: import to temp table + UPSERT + DELETE",
    goal: "≤ 1.5×",
    dsync: await median(
      reps,
      restore,
      () => timed(dsync(`csv:sqlite ${q(next)} d.db#t --delete --format summary -q`), dir),
    ),
    reference: await median(reps, restore, () => timed(`sqlite3 d.db < resync.sql`, dir)),
  });
  results.push({
    case: "same re-sync, hash join (DSYNC_STRATEGY=hash-join: as for an unsorted source)",
    rows,
    referenceName: "(the row above)",
    goal: "RSS ≤ 500 MB at 10M",
    dsync: await median(
      reps,
      restore,
      () =>
        timed(dsync(`csv:sqlite ${q(next)} d.db#t --delete --format summary -q`), dir, {
          DSYNC_STRATEGY: "hash-join",
        }),
    ),
  });

  results.push(...await csvDiff(rows, reps, dir, wideA, wideB));

  if (await has("sqldiff")) {
    await rm("a.db", "b.db")();
    await timed(dsync(`csv:sqlite ${q(wideA)} a.db#t --format summary -q`), dir);
    await timed(dsync(`csv:sqlite ${q(wideB)} b.db#t --format summary -q`), dir);
    const sqldiff = await median(
      reps,
      async () => {},
      () => timed("sqldiff a.db b.db > /dev/null", dir),
    );
    // auto: a join inside SQLite (ATTACH); merge: both sides read into dsync.
    for (const strategy of ["auto", "merge"]) {
      results.push({
        case: `SQLite vs SQLite diff, -n (${
          strategy === "auto" ? "join inside SQLite, ATTACH" : "DSYNC_STRATEGY=merge"
        })`,
        rows,
        referenceName: "sqldiff",
        goal: strategy === "auto" ? "≤ 2×" : "–",
        dsync: await median(
          reps,
          async () => {},
          () =>
            timed(dsync("sqlite:sqlite b.db#t a.db#t -n --format summary -q"), dir, {
              DSYNC_STRATEGY: strategy,
            }),
        ),
        reference: sqldiff,
      });
    }
  }

  if (pgUrl && await has("psql")) {
    const env = pgEnv(pgUrl);
    const psql = psqlOf(pgUrl);
    const { table, create } = pgTable(rows);
    results.push(await pgFirstLoad(rows, reps, dir, base, pgUrl));
    const reset = async () => {
      await timed(psql(create), dir);
      await timed(psql(`\\copy ${table} from '${base}' csv header`), dir);
    };
    const merge = `CREATE TEMP TABLE s (LIKE ${table});
\\copy s from '${next}' csv header
BEGIN;
UPDATE ${table} t SET name=s.name, email=s.email, amount=s.amount, qty=s.qty, created=s.created, active=s.active, note=s.note
  FROM s WHERE s.id = t.id AND (t.name, t.email, t.amount, t.qty, t.created, t.active, t.note) IS DISTINCT FROM
  (s.name, s.email, s.amount, s.qty, s.created, s.active, s.note);
INSERT INTO ${table} SELECT * FROM s ON CONFLICT DO NOTHING;
DELETE FROM ${table} t WHERE NOT EXISTS (SELECT 1 FROM s WHERE s.id = t.id);
COMMIT;`;
    await Deno.writeTextFile(`${dir}/merge.sql`, merge);
    results.push({
      case: "re-sync PostgreSQL (1 % upd, 0.5 % new, 0.5 % del, --delete)",
      rows,
      referenceName: "staging \\copy + UPDATE/INSERT/DELETE",
      goal: "≤ 1.5×",
      dsync: await median(
        reps,
        reset,
        () =>
          timed(dsync(`csv:postgres ${q(next)} ${table} --delete --format summary -q`), dir, env),
      ),
      reference: await median(
        reps,
        reset,
        () => timed(`psql -q -v ON_ERROR_STOP=1 ${q(pgUrl)} -f merge.sql`, dir),
      ),
    });
    const other = `${table}_next`;
    await reset();
    await timed(psql(create.replaceAll(table, other)), dir);
    await timed(psql(`\\copy ${other} from '${next}' csv header`), dir);
    const fullJoin = `SELECT count(*) FROM ${table} a FULL JOIN ${other} b ON a.id = b.id
      WHERE a.id IS NULL OR b.id IS NULL OR (a.*) IS DISTINCT FROM (b.*)`;
    const strategies = {
      auto: "join inside PostgreSQL",
      merge: "sorted merge",
      "hash-join": "hash join",
    };
    for (const [strategy, name] of Object.entries(strategies)) {
      results.push({
        case: `PostgreSQL → PostgreSQL diff, -n --delete (${name}, DSYNC_STRATEGY=${strategy})`,
        rows,
        referenceName: "psql: FULL JOIN … IS DISTINCT FROM (count only)",
        goal: strategy === "auto" ? "≤ 1.3×" : "RSS ≤ 500 MB at 10M",
        dsync: await median(
          reps,
          async () => {},
          () =>
            timed(
              dsync(`pg:pg ${other} ${table} -n --delete --format summary -q`),
              dir,
              { ...env, DSYNC_STRATEGY: strategy },
            ),
        ),
        reference: await median(reps, async () => {}, () => timed(psql(fullJoin), dir)),
      });
    }
    await timed(psql(`DROP TABLE IF EXISTS ${table}; DROP TABLE IF EXISTS ${other}`), dir);
  }
  if (pgUrl && await has("psql")) results.push(...await benchHash(rows, reps, dir, pgUrl));
  if (mysqlUrl && await has("mariadb")) {
    results.push(...await benchMysql(rows, reps, dir, mysqlUrl));
  }
  return results;
}

/**
 * Checksum bisection (`--strategy hash`) against the full read (`--strategy merge`) on a table
 * of `rows` with 100 differences scattered over the key range (60 updates, 20 deletes, 20
 * creates): PostgreSQL → SQLite, and PostgreSQL → PostgreSQL in two databases. The share of
 * rows read comes from `-v` (in the case's name).
 */
export async function benchHash(
  rows: number,
  reps: number,
  dir: string,
  pgUrl: string,
): Promise<Row[]> {
  const base = `${dir}/base-${rows}.csv`;
  const [a, b] = ["dsync_hash_a", "dsync_hash_b"].map((db) => pgUrl.replace(/\/[^/]*$/, `/${db}`));
  const env = { PGOPTIONS: "--client-min-messages=warning" };
  const psql = (url: string, sql: string) => `psql -q -v ON_ERROR_STOP=1 ${q(url)} -c ${q(sql)}`;
  for (const db of ["dsync_hash_a", "dsync_hash_b"]) {
    await timed(psql(pgUrl, `DROP DATABASE IF EXISTS ${db}`), dir, env);
    await timed(psql(pgUrl, `CREATE DATABASE ${db}`), dir, env);
  }
  const create =
    "CREATE TABLE t (id bigint PRIMARY KEY, name text, email text, amount numeric, qty bigint, created date, active boolean, note text)";
  for (const url of [a, b]) {
    await timed(psql(url, create), dir, env);
    await timed(psql(url, `\\copy t from '${base}' csv header`), dir, env);
  }
  await Deno.remove(`${dir}/hash.db`).catch(() => {});
  await timed(dsync(`pg:sqlite ${q(`${a}#t`)} hash.db#t --format summary -q`), dir, env);
  const step = (n: number) => Math.max(2, Math.floor(rows / n));
  await timed(
    psql(
      a,
      `UPDATE t SET qty = qty + 1 WHERE id % ${step(60)} = 7;
       INSERT INTO t SELECT id + ${rows} * 2, name, email, amount, qty, created, active, note FROM t WHERE id % ${
        step(20)
      } = 13;
       DELETE FROM t WHERE id % ${step(20)} = 11 AND id <= ${rows};`,
    ),
    dir,
    env,
  );
  const results: Row[] = [];
  for (
    const [name, pair, target] of [
      ["PostgreSQL → SQLite", "pg:sqlite", "hash.db#t"],
      ["PostgreSQL → PostgreSQL, two databases", "pg:pg", `${b}#t`],
    ]
  ) {
    const args = (strategy: string, extra = "--format summary -q") =>
      `${pair} ${q(`${a}#t`)} ${q(target)} -n --delete --strategy ${strategy} ${extra}`;
    const verbose = await new Deno.Command("bash", {
      args: ["-c", dsync(args("hash", "--format summary -v"))],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const log = new TextDecoder().decode(verbose.stderr);
    // The plan's counts and the -v report, for the record (the exact 100 changes).
    console.error(`## ${name}\n${new TextDecoder().decode(verbose.stdout)}${log}`);
    const read = /(\d+ of \d+ rows read \([\d.]+%\))/.exec(log);
    results.push({
      case: `${name} diff, 100 changes, -n --delete: --strategy hash (${read?.[1] ?? "?"})`,
      rows,
      referenceName: "dsync --strategy merge (full read)",
      goal: "–",
      dsync: await median(reps, async () => {}, () => timed(dsync(args("hash")), dir, env)),
      reference: await median(reps, async () => {}, () => timed(dsync(args("merge")), dir, env)),
    });
  }
  for (const db of ["dsync_hash_a", "dsync_hash_b"]) {
    await timed(psql(pgUrl, `DROP DATABASE IF EXISTS ${db}`), dir, env);
  }
  return results;
}

/** CSV → MySQL first load and 1 % re-sync, against `LOAD DATA` and a hand-written staging merge. */
async function benchMysql(rows: number, reps: number, dir: string, url: string): Promise<Row[]> {
  const base = `${dir}/base-${rows}.csv`;
  const next = `${dir}/next-${rows}.csv`;
  const server = new URL(url);
  const db = `dsync_bench_${rows}`;
  const client = `mariadb --no-defaults --local-infile=1 -h ${server.hostname} -P ${
    server.port || 3306
  } -u ${decodeURIComponent(server.username || "root")}`;
  const env: Record<string, string> = {
    MYSQL_URL: `${url.replace(/\/[^/]*$/, "")}/${db}`,
    ...(server.password ? { MYSQL_PWD: decodeURIComponent(server.password) } : {}),
  };
  const sql = (text: string, database = db) =>
    timed(`${client} ${database} -e ${q(text)}`, dir, env);
  await sql(`DROP DATABASE IF EXISTS ${db}; CREATE DATABASE ${db}`, "");
  // DECIMAL(30,16): the generated amounts include float artifacts (2.4299999999999997) that a
  // DECIMAL(12,2) would round, which dsync refuses.
  const create = (table: string) =>
    `DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id BIGINT PRIMARY KEY, name TEXT, email TEXT, amount DECIMAL(30,16), qty BIGINT, created DATE, active BOOLEAN, note TEXT) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
  const load = (file: string, table: string) =>
    `LOAD DATA LOCAL INFILE '${file}' INTO TABLE ${table} CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' LINES TERMINATED BY '\\n' IGNORE 1 LINES (id, name, email, amount, qty, created, @active, @note) SET active = (@active = 'true'), note = NULLIF(@note, '')`;
  const results: Row[] = [];
  try {
    results.push({
      case: "CSV → empty MySQL table (MariaDB)",
      rows,
      referenceName: "mariadb LOAD DATA LOCAL INFILE",
      goal: "≤ 1.5×",
      dsync: await median(
        reps,
        async () => void await sql(create("t")),
        () => timed(dsync(`csv:mysql ${q(base)} t --format summary -q`), dir, env),
      ),
      reference: await median(
        reps,
        async () => void await sql(create("t")),
        () => sql(load(base, "t")),
      ),
    });
    const reset = async () => void await sql(`${create("t")}; ${load(base, "t")}`);
    const cols = ["name", "email", "amount", "qty", "created", "active", "note"];
    const merge = `${create("s")}; ${load(next, "s")}; START TRANSACTION;
UPDATE t JOIN s USING (id) SET ${cols.map((c) => `t.${c} = s.${c}`).join(", ")}
  WHERE NOT (${cols.map((c) => `t.${c} <=> s.${c}`).join(" AND ")});
INSERT INTO t SELECT s.* FROM s LEFT JOIN t USING (id) WHERE t.id IS NULL;
DELETE t FROM t LEFT JOIN s USING (id) WHERE s.id IS NULL; COMMIT; DROP TABLE s`;
    results.push({
      case: "re-sync MySQL (1 % upd, 0.5 % new, 0.5 % del, --delete)",
      rows,
      referenceName: "staging LOAD DATA + UPDATE/INSERT/DELETE JOIN",
      goal: "≤ 1.5×",
      dsync: await median(
        reps,
        reset,
        () => timed(dsync(`csv:mysql ${q(next)} t --delete --format summary -q`), dir, env),
      ),
      reference: await median(reps, reset, () => sql(merge)),
    });
  } finally {
    await sql(`DROP DATABASE IF EXISTS ${db}`, "");
  }
  return results;
}

/**
 * `--strategy changes` on a `rows`-row table with 100 changed rows (triggers from `dsync capture
 * install`), against a full sync of the same change: SQLite → SQLite and PostgreSQL → PostgreSQL.
 */
async function benchChanges(
  rows: number,
  reps: number,
  dir: string,
  pgUrl: string | undefined,
): Promise<Row[]> {
  const base = `${dir}/base-${rows}.csv`;
  const every = Math.max(1, Math.floor(rows / 100));
  const change = `UPDATE t SET qty = qty + 1 WHERE id % ${every} = 0`;
  const results: Row[] = [];
  const copy = (from: string, to: string) => () => Deno.copyFile(`${dir}/${from}`, `${dir}/${to}`);
  await Deno.remove(`${dir}/cs0.db`).catch(() => {});
  await timed(`sqlite3 cs0.db ${q(SQLITE_SCHEMA)} ".import --csv --skip 1 ${base} t"`, dir);
  await Deno.copyFile(`${dir}/cs0.db`, `${dir}/ct0.db`);
  await timed(dsync("capture install cs0.db#t -q"), dir);
  const setup = async () => {
    await copy("cs0.db", "cs.db")();
    await copy("ct0.db", "ct.db")();
    await timed(`sqlite3 cs.db ${q(change)}`, dir);
  };
  results.push({
    case: "SQLite → SQLite, 100 changed rows, --strategy changes (triggers)",
    rows,
    referenceName: "dsync full sync of the same change",
    goal: "reads only the 100 rows",
    dsync: await median(
      reps,
      setup,
      () => timed(dsync("sqlite:sqlite cs.db#t ct.db#t --strategy changes --delete -q"), dir),
    ),
    reference: await median(
      reps,
      setup,
      () => timed(dsync("sqlite:sqlite cs.db#t ct.db#t --delete -q"), dir),
    ),
  });
  if (pgUrl && await has("psql")) {
    const env = { DATABASE_URL: pgUrl, PGOPTIONS: "--client-min-messages=warning" };
    const psql = (sql: string) => `psql -q -v ON_ERROR_STOP=1 ${q(pgUrl)} -c ${q(sql)}`;
    const schema = `bench_changes_${rows}`;
    const create = (table: string) =>
      `CREATE TABLE ${table} (id bigint PRIMARY KEY, name text, email text, amount numeric, qty bigint, created date, active boolean, note text)`;
    await timed(
      psql(
        `DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}; ${
          create(`${schema}.t`)
        }; ${create(`${schema}.c`)}`,
      ),
      dir,
    );
    try {
      await timed(psql(`\\copy ${schema}.t from '${base}' csv header`), dir);
      await timed(psql(`\\copy ${schema}.c from '${base}' csv header`), dir);
      await timed(dsync(`capture install pg:${schema}.t -q`), dir, env);
      const pgSetup = async () =>
        void await timed(psql(`SET search_path = ${schema}; ${change}`), dir);
      results.push({
        case: "PostgreSQL → PostgreSQL, 100 changed rows, --strategy changes (triggers)",
        rows,
        referenceName: "dsync full sync of the same change",
        goal: "reads only the 100 rows",
        dsync: await median(
          reps,
          pgSetup,
          () =>
            timed(dsync(`pg:pg ${schema}.t ${schema}.c --strategy changes --delete -q`), dir, env),
        ),
        reference: await median(
          reps,
          pgSetup,
          () => timed(dsync(`pg:pg ${schema}.t ${schema}.c --delete -q`), dir, env),
        ),
      });
    } finally {
      await timed(psql(`DROP SCHEMA IF EXISTS ${schema} CASCADE`), dir);
    }
  }
  return results;
}

function table(rows: Row[]): string {
  const cpu = (m?: Measure) => m?.cpu === undefined ? "–" : `${m.cpu.toFixed(2)} s`;
  const fmt = (m?: Measure) =>
    !m ? "–" : m.seconds < 1 ? `${Math.round(m.seconds * 1000)} ms` : `${m.seconds.toFixed(2)} s`;
  const lines = [
    "| case | rows | dsync | rows/s | peak RSS | reference | ref. time | ref. RSS | ratio | dsync CPU | ref. CPU | goal |",
    "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|",
  ];
  for (const r of rows) {
    const ratio = r.dsync && r.reference
      ? `${(r.dsync.seconds / r.reference.seconds).toFixed(2)}×`
      : "–";
    const rate = r.dsync && r.rows
      ? Math.round(r.rows / r.dsync.seconds).toLocaleString("en")
      : "–";
    lines.push(
      `| ${r.case} | ${r.rows ? r.rows.toLocaleString("en") : "–"} | ${fmt(r.dsync)} | ${rate} | ${
        r.dsync ? Math.round(r.dsync.rssMb) + " MB" : "–"
      } | ${r.referenceName} | ${fmt(r.reference)} | ${
        r.reference ? Math.round(r.reference.rssMb) + " MB" : "–"
      } | ${ratio} | ${cpu(r.dsync)} | ${cpu(r.reference)} | ${r.goal} |`,
    );
  }
  return lines.join("\n");
}

const START = "<!-- bench:start -->", END = "<!-- bench:end -->";

/**
 * Writes the generated part between the bench markers of an existing report, so that what is
 * written by hand around it (analysis, 10M figures) stays; a report without markers is replaced.
 */
async function writeReport(path: string, generated: string): Promise<void> {
  const old = await Deno.readTextFile(path).catch(() => "");
  const start = old.indexOf(START), end = old.indexOf(END);
  const text = start >= 0 && end > start
    ? `${old.slice(0, start)}${START}\n${generated}${old.slice(end)}`
    : `${START}\n${generated}${END}\n`;
  await Deno.writeTextFile(path, text);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      only: { type: "string" },
      rows: { type: "string" },
      reps: { type: "string" },
      large: { type: "boolean" },
      out: { type: "string" },
    },
  });
  const sizes = values.rows
    ? [Number(values.rows)]
    : [100_000, 1_000_000, ...(values.large ? [10_000_000] : [])];
  const reps = Number(values.reps ?? 3);
  const dir = await Deno.makeTempDir({ prefix: "dsync-bench-" });
  let pg: { url: string; stop(): Promise<void> } | undefined;
  try {
    const server = await import("./pg_server.ts").catch(() => undefined);
    pg = server ? await server.withPostgres() : undefined;
  } catch (error) {
    console.error(`PostgreSQL cases skipped: ${(error as Error).message}`);
  }
  let mysql: { url: string; stop(): Promise<void> } | undefined;
  try {
    mysql = await (await import("./mysql_server.ts")).withMysql();
  } catch (error) {
    console.error(`MySQL cases skipped: ${(error as Error).message}`);
  }
  const results: Row[] = [];
  try {
    for (const rows of sizes) {
      console.error(`# ${rows} rows`);
      // One repetition at 10M: each dsync run there takes minutes.
      if (values.only === "first-load") {
        const base = `${dir}/base-${rows}.csv`;
        await generateCsv(rows, base);
        results.push(await sqliteFirstLoad(rows, reps, dir, base));
        if (pg && await has("psql")) results.push(await pgFirstLoad(rows, reps, dir, base, pg.url));
        continue;
      }
      if (values.only === "csv-diff") {
        const [wideA, wideB] = [`${dir}/wide-a-${rows}.csv`, `${dir}/wide-b-${rows}.csv`];
        await generateCsv(rows, wideA, { columns: 12 });
        await generateCsv(rows, wideB, { columns: 12, changedRows: 10 });
        results.push(...await csvDiff(rows, reps, dir, wideA, wideB));
        continue;
      }
      if (values.only === "hash") {
        await generateCsv(rows, `${dir}/base-${rows}.csv`);
        if (pg) results.push(...await benchHash(rows, reps, dir, pg.url));
        continue;
      }
      if (values.only === "changes") {
        await generateCsv(rows, `${dir}/base-${rows}.csv`);
        results.push(...await benchChanges(rows, reps, dir, pg?.url));
        continue;
      }
      if (values.only === "mysql") {
        await generateCsv(rows, `${dir}/base-${rows}.csv`);
        await generateCsv(rows, `${dir}/next-${rows}.csv`, { changedPercent: 1 });
        if (mysql) results.push(...await benchMysql(rows, reps, dir, mysql.url));
        continue;
      }
      results.push(
        ...await benchSize(rows, rows >= 10_000_000 ? 1 : reps, dir, pg?.url, mysql?.url),
        ...await benchChanges(rows, rows >= 10_000_000 ? 1 : reps, dir, pg?.url),
      );
    }
    await timed(dsync("--version"), dir);
    results.push({
      case: "`dsync --version` start-up",
      rows: 0,
      referenceName: "sqlite3 --version",
      goal: "≤ 150 ms",
      dsync: await median(5, async () => {}, () => timed(dsync("--version"), dir)),
      reference: await median(5, async () => {}, () => timed("sqlite3 --version", dir)),
    });
  } finally {
    await pg?.stop();
    await mysql?.stop();
    await Deno.remove(dir, { recursive: true });
  }
  const cpu = (await Deno.readTextFile("/proc/cpuinfo")).match(/model name\s*:\s*(.*)/)?.[1] ??
    "unknown CPU";
  const markdown = `## Side by side with the reference tools

Measured ${
    new Date().toISOString().slice(0, 10)
  } on ${navigator.hardwareConcurrency} cores (${cpu}), ${
    Math.round(Deno.systemMemoryInfo().total / 2 ** 30)
  } GiB, Deno ${Deno.version.deno}. ${
    reps === 1 ? "One run each" : `Median of ${reps} runs`
  } (start-up: median of 5), whole process, peak RSS over the runs. dsync and each reference ran in the same session on the same generated data
(\`scripts/gen_data.ts\`, seeded). The machines are noisy: compare ratios, not absolute times.

Reproduce: \`deno task bench\` (add \`--large\` for 10M rows, \`--rows N --reps N\` for one size).

${table(results)}
`;
  console.log(markdown);
  // A partial run (--only) does not overwrite the report unless --out says where it goes.
  if (!values.only || values.out) {
    await writeReport(values.out ?? `${ROOT}docs/benchmarks.md`, markdown);
  }
}
