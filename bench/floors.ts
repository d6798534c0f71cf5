/**
 * `npm run bench` (after durable.ts) / `node bench/build.mjs floors.ts && node bench/floors.built.mjs`:
 * the least the durable-run goals of bench/durable-results.md leave room for, measured side by side in
 * this one run, written to bench/floors-results.md. Nothing of the library's engine is timed here.
 *
 * 1. SQLite, at synchronous = NORMAL and FULL: a raw single-row INSERT (as durable.ts sends it) against
 *    the step row the store must write, built up one requirement at a time: the row alone in the
 *    store's own table definition (copied from a store's file), then with its times on the database
 *    clock, then fenced by the run's owner, then with the store's lease trigger. Round-robin samples of
 *    100 INSERTs each, each its own autocommit transaction. The same on Postgres (node-pg): the raw
 *    INSERT, the step row with its clock, and the fenced checkpoint statement.
 * 2. Restart: in fresh processes, one SELECT + JSON.parse of 10,000 step rows (as durable.ts's raw
 *    baseline), and the cold cost of an `Effect.gen` body that yields 10,000 times, each yield an
 *    `Effect.succeed` of a Map lookup: what replaying an Effect body of 10,000 steps costs at the least,
 *    whatever the engine, in a process whose code the JIT has not seen yet; and the cold cost of building
 *    a runtime from one `Layer.succeed`, the least a store provided as a Layer costs.
 */
import { Context, Effect, Layer, ManagedRuntime } from "effect"
import { spawnSync } from "node:child_process"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as PgStore from "../src/layers/PgStore.js"
import * as SqliteStore from "../src/layers/SqliteStore.js"
import { sqliteNow, sqliteNowPlus } from "../src/layers/sqlSchema.js"
import type { SnapshotStore, StoreError } from "../src/SnapshotStore.js"
import {
  connectPg,
  fmt,
  median,
  openSqlite,
  type PgClient,
  type SqliteDatabase,
  stepsTable,
  table
} from "./durable-restart-child.js"

const benchDir = path.dirname(fileURLToPath(import.meta.url))
const pgUrl = process.env["EFFECT_RESUME_PG_URL"] ?? "postgresql://postgres@127.0.0.1:5432/test"
const STEPS = 10_000
/** Fresh processes per job in section 2. */
const SAMPLES = 11

const times = (x: number): string => `${x.toFixed(2)}×`
const log = (line: string) => process.stderr.write(`${line}\n`)

/** A stored step entry as the store writes one for a trivial step (`{ i, name: "x" }`). */
const entryOf = (i: number) => JSON.stringify({ result: { ok: true, value: { i, name: "x" } }, stepId: `step-${i}` })

// ---------------------------------------------------------------------------------------------
// Fresh-process jobs (section 2): argv[2] is the job as JSON, one JSON line out

type Job =
  | { readonly job: "read-sqlite"; readonly filename: string }
  | { readonly job: "read-pg"; readonly table: string }
  | { readonly job: "replay" }
  | { readonly job: "layer" }

/** What the "layer" job provides: nothing but a number, so that only the building of a layer is timed. */
class Probe extends Context.Tag("effect-resume/bench/Probe")<Probe, number>() {}

const child = async (job: Job): Promise<number> => {
  if (job.job === "layer") {
    const t = performance.now()
    const runtime = ManagedRuntime.make(Layer.succeed(Probe, 1))
    await runtime.runtime()
    const ms = performance.now() - t
    await runtime.dispose()
    return ms
  }
  if (job.job === "replay") {
    // the loaded state a restart holds: every entry parsed, by key (built before the clock)
    const keys = Array.from({ length: STEPS }, (_, i) => `step-${i}`)
    const recorded = new Map(keys.map((key, i) => [key, JSON.parse(entryOf(i)) as { result: { value: { i: number } } }]))
    const t = performance.now()
    const last = Effect.runSync(Effect.gen(function*() {
      let value: { readonly i: number } | undefined
      for (let i = 0; i < STEPS; i++) value = yield* Effect.succeed(recorded.get(keys[i]!)!.result.value)
      return value
    }))
    if (last?.i !== STEPS - 1) throw new Error("replay floor: wrong result")
    return performance.now() - t
  }
  const t = performance.now()
  let rows: number
  if (job.job === "read-sqlite") {
    const db = openSqlite(job.filename, "FULL")
    rows = db.prepare("SELECT entry FROM floor_steps WHERE run_id = ? ORDER BY position").all("r")
      .map((row) => JSON.parse(String(row["entry"])) as unknown).length
    db.close()
  } else {
    const client = await connectPg(pgUrl)
    // node-pg parses json itself (JSON.parse per row)
    rows = (await client.query(`SELECT entry FROM ${job.table} WHERE run_id = $1 ORDER BY position`, ["r"])).rows.length
    await client.end()
  }
  if (rows !== STEPS) throw new Error(`raw read: ${rows} rows`)
  return performance.now() - t
}

const childArgs = import.meta.url.endsWith(".built.mjs")
  ? [path.join(benchDir, "floors.built.mjs")]
  : ["--import", "tsx", path.join(benchDir, "floors.ts")]

const inChild = (job: Job): number => {
  const out = spawnSync(process.execPath, [...childArgs, JSON.stringify(job)], { encoding: "utf8", timeout: 60_000 })
  if (out.status !== 0) throw new Error(`floors child ${job.job}: ${out.stderr}`)
  return (JSON.parse(out.stdout.trim().split("\n").pop()!) as { ms: number }).ms
}

// ---------------------------------------------------------------------------------------------
// Section 1: the step row, one requirement at a time

interface Run {
  readonly id: string
  readonly owner: string
}

interface Variant {
  readonly name: string
  readonly what: string
  /** Untimed, before each batch: the run its steps belong to (claimed, for the fenced variants). */
  readonly setup: () => Run | Promise<Run>
  /** One batch of INSERTs, a run's worth of steps (SQLite's synchronously: nothing awaited in its timing). */
  readonly batch: (run: Run) => void | Promise<void>
}

/**
 * Round-robin over the variants (the raw INSERT first), `warmup` rounds dropped: per variant, the median
 * µs per INSERT and the median over rounds of its ratio to the raw INSERT of the same round.
 */
const roundRobin = async (variants: ReadonlyArray<Variant>, rounds: number, warmup: number, perBatch: number) => {
  const samples = variants.map(() => [] as Array<number>)
  for (let round = -warmup; round < rounds; round++) {
    for (let v = 0; v < variants.length; v++) {
      const run = await variants[v]!.setup()
      const t = performance.now()
      const done = variants[v]!.batch(run)
      if (done !== undefined) await done
      if (round >= 0) samples[v]!.push(((performance.now() - t) * 1000) / perBatch)
    }
  }
  const raw = samples[0]!
  return variants.map((v, i) => ({
    name: v.name,
    what: v.what,
    median: median(samples[i]!),
    ratio: median(samples[i]!.map((x, round) => x / raw[round]!))
  }))
}

const stepRowVariants = async (dir: string, synchronous: "NORMAL" | "FULL") => {
  // the store's own tables, made by the store, then copied under other names with their exact DDL
  const file = path.join(dir, `floors-${synchronous}.db`)
  const runtime = ManagedRuntime.make(SqliteStore.layer({ filename: file, synchronous }) as Layer.Layer<SnapshotStore, StoreError>)
  await runtime.runtime()
  await runtime.dispose()
  const db: SqliteDatabase = openSqlite(file, synchronous)
  const ddl = (name: string) => String((db.prepare("SELECT sql FROM sqlite_master WHERE name = ?").all(name)[0] ?? {})["sql"])
  const stepsDdl = ddl(stepsTable)
  const trigger = ddl(`${stepsTable}_lease_insert`)
  if (!stepsDdl.includes("CREATE TABLE") || !trigger.includes("CREATE TRIGGER")) throw new Error("the store's DDL not found")
  const copyOf = (name: string) => stepsDdl.replace(`"${stepsTable}"`, `"${name}"`)
  db.exec(`CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v TEXT NOT NULL)`)
  for (const name of ["floor_bare", "floor_clock", "floor_fenced", "floor_trigger"]) db.exec(copyOf(name))
  db.exec(trigger.replace(`"${stepsTable}_lease_insert"`, `"floor_trigger_lease"`).replace(`ON "${stepsTable}"`, `ON "floor_trigger"`))
  // the store's own clock expressions, as the checkpoint uses them
  const now = sqliteNow
  const started = sqliteNowPlus("- ?")
  const columns = "(run_id, step_key, position, entry, started_at, completed_at, attempt, owner)"
  const fence = `FROM "${table}" WHERE id = ? AND owner = ?`
  const raw = db.prepare("INSERT INTO bench_raw (k, v) VALUES (?, ?)")
  const bare = db.prepare(`INSERT INTO floor_bare ${columns} VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
  const clock = db.prepare(`INSERT INTO floor_clock ${columns} VALUES (?, ?, ?, ?, ${started}, ${now}, ?, ?)`)
  const fenced = db.prepare(`INSERT INTO floor_fenced ${columns} SELECT id, ?, ?, ?, ${started}, ${now}, ?, owner ${fence}`)
  const triggered = db.prepare(`INSERT INTO floor_trigger ${columns} SELECT id, ?, ?, ?, ${started}, ${now}, ?, owner ${fence}`)
  // a run row for the fence to match, as a claim leaves it (a long lease: the trigger's renewal is not due)
  const claim = db.prepare(
    `INSERT INTO "${table}" (id, workflow, status, owner, lease_ms, lease_until, attempts, created_at, updated_at, seq)
     VALUES (?, 'floors', 'running', ?, 3600000, ${sqliteNowPlus("+ 3600000")}, 1, ${now}, ${now}, ?)`
  )
  const iso = new Date().toISOString()
  let runs = 0
  // run ids and owners shaped as runDurable's (a text id, an owner "<pid>:<uuid>")
  const nextRun = () => {
    const n = ++runs
    return { id: `floor-${process.pid}-${n}`, owner: `${process.pid}:${randomUUID()}`, n }
  }
  const claimed = () => {
    const run = nextRun()
    claim.run(run.id, run.owner, run.n)
    return run
  }
  const entries = Array.from({ length: 100 }, (_, i) => entryOf(i))
  const stepKeys = Array.from({ length: 100 }, (_, i) => `step-${i}`)
  let rawKeys = 0
  const variants: Array<Variant> = [
    {
      name: "raw INSERT",
      what: "raw INSERT into `bench_raw(id INTEGER PRIMARY KEY, k, v)`, as in bench/durable-results.md",
      setup: nextRun,
      batch: () => {
        for (let i = 0; i < 100; i++) raw.run(`step-${rawKeys++ % 10_000}`, entries[i])
      }
    },
    {
      name: "step row alone",
      what: "the step row in the store's table definition (key `(run_id, step_key)`, `WITHOUT ROWID`), every value given: no clock, no fence, no trigger",
      setup: nextRun,
      batch: (run) => {
        for (let i = 0; i < 100; i++) bare.run(run.id, stepKeys[i], i + 1, entries[i], iso, iso, 1, run.owner)
      }
    },
    {
      name: "+ database clock",
      what: "as above, its start and completion times on the database clock (the store's expressions)",
      setup: nextRun,
      batch: (run) => {
        for (let i = 0; i < 100; i++) clock.run(run.id, stepKeys[i], i + 1, entries[i], 0.01, 1, run.owner)
      }
    },
    {
      name: "+ fence",
      what: "as above, written only while the run row has this owner (`INSERT ... SELECT ... WHERE id = ? AND owner = ?`)",
      setup: claimed,
      batch: (run) => {
        for (let i = 0; i < 100; i++) fenced.run(stepKeys[i], i + 1, entries[i], 0.01, 1, run.id, run.owner)
      }
    },
    {
      name: "+ lease trigger",
      what: "as above, with the store's lease trigger on the table (it renews the lease once half of it has passed; not due here): the checkpoint statement as the store sends it",
      setup: claimed,
      batch: (run) => {
        for (let i = 0; i < 100; i++) triggered.run(stepKeys[i], i + 1, entries[i], 0.01, 1, run.id, run.owner)
      }
    }
  ]
  const measured = await roundRobin(variants, synchronous === "FULL" ? 30 : 120, 3, 100)
  db.close()
  return measured
}

/**
 * The same on Postgres, through node-pg (named prepared statements, as the store sends its own): the
 * store's tables copied fresh with `LIKE ... INCLUDING ALL`, beside the raw INSERT of durable.ts.
 */
const pgStepRowVariants = async (client: PgClient) => {
  const runtime = ManagedRuntime.make(PgStore.layer({ url: pgUrl }) as Layer.Layer<SnapshotStore, StoreError>)
  await runtime.runtime() // the store's tables, made by the store
  await runtime.dispose()
  const suffix = process.pid
  const raw = `floor_raw_${suffix}`
  const runs = `floor_runs_${suffix}`
  const bare = `floor_bare_${suffix}`
  const fenced = `floor_fenced_${suffix}`
  await client.query(`CREATE TABLE ${raw} (id bigserial PRIMARY KEY, k text NOT NULL, v json NOT NULL)`)
  await client.query(`CREATE TABLE ${runs} (LIKE "${table}" INCLUDING ALL)`)
  for (const name of [bare, fenced]) await client.query(`CREATE TABLE ${name} (LIKE "${stepsTable}" INCLUDING ALL)`)
  try {
    const columns = "(run_id, step_key, position, entry, started_at, completed_at, attempt, owner)"
    const clock = "now() - $5::float8 * interval '1 millisecond', now()"
    const entries = Array.from({ length: 50 }, (_, i) => entryOf(i))
    let made = 0
    const nextRun = async (claim: boolean) => {
      const run = { id: `floor-${suffix}-${++made}`, owner: `${suffix}:${randomUUID()}` }
      if (claim) {
        await client.query({
          name: "floor_claim",
          text: `INSERT INTO ${runs} (id, workflow, status, owner, lease_ms, lease_until, attempts, created_at, updated_at, seq)
            VALUES ($1, 'floors', 'running', $2, 3600000, now() + interval '1 hour', 1, now(), now(), $3)`,
          values: [run.id, run.owner, made]
        })
      }
      return run
    }
    const variants: Array<Variant> = [
      {
        name: "raw INSERT",
        what: "raw INSERT into `bench_raw(id bigserial PRIMARY KEY, k, v json)`, as in bench/durable-results.md",
        setup: () => nextRun(false),
        batch: async () => {
          for (let i = 0; i < 50; i++) {
            await client.query({ name: "floor_raw", text: `INSERT INTO ${raw} (k, v) VALUES ($1, $2::json)`, values: [`step-${i}`, entries[i]] })
          }
        }
      },
      {
        name: "step row alone",
        what: "the step row in the store's table definition (key `(run_id, step_key)`), its times on the database clock: no fence",
        setup: () => nextRun(false),
        batch: async (run) => {
          for (let i = 0; i < 50; i++) {
            await client.query({
              name: "floor_bare",
              text: `INSERT INTO ${bare} ${columns} VALUES ($1, $2, $3, $4::json, ${clock}, $6, $7)`,
              values: [run.id, `step-${i}`, i + 1, entries[i], 0.01, 1, run.owner]
            })
          }
        }
      },
      {
        name: "+ fence",
        what:
          "as above, written only while the run row has this owner, under a share lock on it (`INSERT ... SELECT ... FOR SHARE`): the checkpoint statement as the store sends it while the lease has time left",
        setup: () => nextRun(true),
        batch: async (run) => {
          for (let i = 0; i < 50; i++) {
            const result = await client.query({
              name: "floor_fenced",
              text: `INSERT INTO ${fenced} AS s ${columns}
                SELECT id, $2, $3, $4::json, ${clock}, $6, $7 FROM ${runs} WHERE id = $1 AND owner = $7 FOR SHARE`,
              values: [run.id, `step-${i}`, i + 1, entries[i], 0.01, 1, run.owner]
            })
            if (result.rowCount !== 1) throw new Error("fenced step not written")
          }
        }
      }
    ]
    return await roundRobin(variants, 30, 2, 50)
  } finally {
    await client.query(`DROP TABLE IF EXISTS ${raw}, ${runs}, ${bare}, ${fenced}`)
  }
}

type Measured = Awaited<ReturnType<typeof stepRowVariants>>

// The step row with its clock and fence is what a checkpoint must write at the least (the lease trigger
// renews the lease; another way to renew it would cost a statement of its own now and then).
const normalVerdict = (v: Measured): Array<string> => {
  const least = v[3]!.ratio
  return [
    "- NORMAL: the goal is a step ≤ a plain run's step + 1.5 × the raw INSERT, so everything a durable step",
    "  adds to a plain one must fit in 1.5 raw INSERTs. The step row with its times on the database clock",
    `  and its fence takes ${times(least)} (${times(v[4]!.ratio)} with the lease trigger) before the engine records anything:`,
    least > 1.5
      ? "  the goal cannot be met by a store that writes the row the issue asks for."
      : `  it fits, with ${fmt((1.5 - least) * v[0]!.median)} µs left per step for the engine and the store.`
  ]
}

const fullVerdict = (v: Measured): Array<string> => {
  const left = 1.3 * v[0]!.median - v[4]!.median
  return [
    `- FULL: the goal is a step ≤ 1.3 × the raw INSERT. The statement alone takes ${times(v[4]!.ratio)} (the row alone`,
    `  ${times(v[1]!.ratio)}) in these fresh tables, leaving ${left > 0 ? `${fmt(left)} µs` : "nothing"} per step for the engine, the store and the`,
    "  run's own statements (getRun, claim and end, amortized over the steps). In bench/durable-results.md",
    "  the same statement is measured on the store's own file, after the runs the bench made there."
  ]
}

// ---------------------------------------------------------------------------------------------

const main = async () => {
  const startedAt = new Date()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-resume-floors-"))
  const lines: Array<string> = []
  const pgTable = `floor_steps_${process.pid}`
  let pg: Awaited<ReturnType<typeof connectPg>> | undefined
  try {
    log("floors 1: SQLite step row")
    const normal = await stepRowVariants(dir, "NORMAL")
    const full = await stepRowVariants(dir, "FULL")
    try {
      pg = await connectPg(pgUrl)
    } catch (error) {
      log(`PostgreSQL not reachable (${String(error)}): its rows are missing`)
    }
    const pgRows = pg === undefined ? undefined : await pgStepRowVariants(pg)

    log("floors 2: restart, fresh processes")
    const readFile = path.join(dir, "floors-read.db")
    const db = openSqlite(readFile, "FULL")
    db.exec("CREATE TABLE floor_steps (run_id TEXT NOT NULL, step_key TEXT NOT NULL, position INTEGER NOT NULL, entry TEXT NOT NULL, PRIMARY KEY (run_id, step_key)) WITHOUT ROWID")
    const insert = db.prepare("INSERT INTO floor_steps VALUES ('r', ?, ?, ?)")
    db.exec("BEGIN")
    for (let i = 0; i < STEPS; i++) insert.run(`step-${i}`, i + 1, entryOf(i))
    db.exec("COMMIT")
    db.close()
    if (pg !== undefined) {
      await pg.query(`CREATE TABLE ${pgTable} (run_id text NOT NULL, step_key text NOT NULL, position bigint NOT NULL, entry json NOT NULL, PRIMARY KEY (run_id, step_key))`)
      await pg.query(
        `INSERT INTO ${pgTable} SELECT 'r', 'step-' || i, i + 1, json_build_object('result', json_build_object('ok', true, 'value', json_build_object('i', i, 'name', 'x')), 'stepId', 'step-' || i) FROM generate_series(0, ${STEPS - 1}) i`
      )
    }
    const reads = { sqlite: [] as Array<number>, pg: [] as Array<number>, replay: [] as Array<number>, layer: [] as Array<number> }
    for (let i = 0; i < SAMPLES; i++) {
      reads.sqlite.push(inChild({ job: "read-sqlite", filename: readFile }))
      if (pg !== undefined) reads.pg.push(inChild({ job: "read-pg", table: pgTable }))
      reads.replay.push(inChild({ job: "replay" }))
      reads.layer.push(inChild({ job: "layer" }))
    }
    const replay = median(reads.replay)
    const layer = median(reads.layer)
    const least = (read: number) => read + replay + layer

    lines.push(
      "# Benchmark: the floors under the durable-run goals",
      "",
      "`npm run bench` (bench/floors.ts). What the goals of bench/durable-results.md leave room for, measured",
      "side by side in this one run, nothing of the library's engine timed. A durable step cannot cost less",
      "than the statement it must send; a restart cannot cost less than reading the steps plus replaying",
      "the body that yields them.",
      "",
      "## 1. The step row SQLite must write, one requirement at a time",
      "",
      "µs per INSERT (median of round-robin samples of 100 INSERTs, each its own autocommit transaction),",
      "and its ratio to the raw INSERT of the same round (median over rounds). Each row adds one thing the",
      "issue asks of a checkpoint to the row above it. Tables: copies of the store's own (their DDL read from",
      "a file the store made).",
      "",
      "| what is written | NORMAL µs | NORMAL / raw | FULL µs | FULL / raw |",
      "|---|--:|--:|--:|--:|",
      ...normal.map((v, i) => `| ${v.what} | ${fmt(v.median)} | ${times(v.ratio)} | ${fmt(full[i]!.median)} | ${times(full[i]!.ratio)} |`),
      "",
      ...normalVerdict(normal),
      ...fullVerdict(full),
      "",
      ...(pgRows === undefined ? [] : [
        "### The same on PostgreSQL",
        "",
        "node-pg, named prepared statements, round-robin samples of 50 INSERTs; the store's tables copied fresh",
        "(`LIKE ... INCLUDING ALL`). The goal: a step ≤ 1.3 × the raw INSERT.",
        "",
        "| what is written | µs | / raw |",
        "|---|--:|--:|",
        ...pgRows.map((v) => `| ${v.what} | ${fmt(v.median)} | ${times(v.ratio)} |`),
        "",
        `- The checkpoint statement alone takes ${times(pgRows[2]!.ratio)} here, leaving ${
          fmt(Math.max(0, 1.3 * pgRows[0]!.median - pgRows[2]!.median))
        } µs per step`,
        "  for the client (engine, store, driver) and the run's own statements. In bench/durable-results.md the",
        "  same statement is measured on the store's own tables, after the runs the bench made there.",
        ""
      ]),
      "## 2. Restart: reading 10,000 steps, and the least a replay of an Effect body costs",
      "",
      `Fresh \`node\` processes, ${SAMPLES} each, alternating; ms, medians, every sample beside them (on a shared`,
      "VM the replay floor's samples have come out bimodal, the same code in the same state taking 8-10 ms in",
      "some processes and 25-30 in others: read the samples, not the median alone). The raw",
      "read: open the file or connect one client, one `SELECT entry ... ORDER BY position` of 10,000 rows, each",
      "entry parsed (as durable.ts's baseline). The replay floor: `Effect.runSync` of an `Effect.gen` body",
      "yielding `Effect.succeed` of a Map lookup 10,000 times, the effect module loaded and the 10,000 entries",
      "parsed before the clock starts: no store, no engine. The layer floor: a `ManagedRuntime` of one",
      "`Layer.succeed` built: what providing any store as a Layer costs at the least.",
      "",
      "| | ms | samples |",
      "|---|--:|---|",
      `| SQLite: open + SELECT + JSON.parse of 10,000 rows | ${fmt(median(reads.sqlite))} | ${reads.sqlite.map(fmt).join(", ")} |`,
      ...(pg === undefined ? [] : [`| PostgreSQL: connect + SELECT of 10,000 json rows (parsed by node-pg) | ${fmt(median(reads.pg))} | ${reads.pg.map(fmt).join(", ")} |`]),
      `| replay floor: a cold Effect.gen body of 10,000 yields | ${fmt(replay)} | ${reads.replay.map(fmt).join(", ")} |`,
      `| layer floor: \`ManagedRuntime.make(Layer.succeed(...))\` built, cold | ${fmt(layer)} | ${reads.layer.map(fmt).join(", ")} |`,
      "",
      "- The restart goal is ≤ 2 × the raw read. A restart of an Effect-native store, in a fresh process, cannot",
      "  take less than the raw read, plus the replay floor, plus building a layer (the least a store provided",
      "  as a Layer costs):",
      `  SQLite ${fmt(least(median(reads.sqlite)))} ms against a goal of ${fmt(2 * median(reads.sqlite))} ms${
        least(median(reads.sqlite)) > 2 * median(reads.sqlite) ? " (the floors alone miss it)" : ""
      }${pg === undefined ? "" : `; PostgreSQL ${fmt(least(median(reads.pg)))} ms against ${fmt(2 * median(reads.pg))} ms`}.`,
      "  The store's own building, its three commits (claim, the last step, the end) and the engine's work per",
      "  replayed step come on top.",
      "",
      "## Machine",
      "",
      `- date: ${startedAt.toISOString()}`,
      `- node: ${process.version}; CPU: ${os.cpus()[0]?.model ?? "unknown"} × ${os.cpus().length}`,
      `- SQLite files in ${dir} (WAL journal; deleted after the run); PostgreSQL at ${pgUrl.replace(/\/\/[^@/]*@/, "//")}`,
      ""
    )
  } finally {
    if (pg !== undefined) {
      await pg.query(`DROP TABLE IF EXISTS ${pgTable}`).catch(() => undefined)
      await pg.end()
    }
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const markdown = lines.join("\n")
  const out = path.join(benchDir, "floors-results.md")
  fs.writeFileSync(out, markdown)
  process.stdout.write(`\n${markdown}\nWritten to ${path.relative(process.cwd(), out)}\n`)
}

const isMain = process.argv[1] !== undefined && path.basename(process.argv[1]).startsWith("floors.")
if (isMain) {
  const job = process.argv[2]
  const done = job === undefined
    ? main()
    : child(JSON.parse(job) as Job).then((ms) => void process.stdout.write(`${JSON.stringify({ ms })}\n`))
  done.then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
      process.exit(2)
    }
  )
}
