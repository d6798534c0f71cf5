/**
 * `npm run bench` (last part) / `npx tsx bench/durable.ts`: what `Workflow.runDurable` costs next to
 * the cheapest thing the same database driver can do, all measured side by side in this one process
 * run (and, for restarts, in fresh child processes), written to bench/durable-results.md.
 *
 * 1. Per step, on PostgreSQL and SQLite (synchronous = FULL): a fresh run of N trivial steps, divided
 *    by N, against one raw single-row INSERT in its own autocommit transaction through the driver
 *    used directly (node-pg / better-sqlite3, resolved from the @effect/sql packages). Statements and
 *    commits per step are counted (driver prototypes patched while counting; pg_stat_database).
 * 2. SQLite at synchronous = NORMAL and MemoryStore, against a raw NORMAL INSERT and a plain in-memory
 *    `Workflow.run` of the same workflow.
 * 3. Restart of a 10,000-step run killed (SIGKILL) inside its last step, and of a completed one, in a
 *    fresh process (bench/durable-restart-child.ts), against one raw SELECT of the steps.
 * 4. A call on a run held by a live owner, until it fails with RunLocked, against one raw `SELECT 1`.
 *
 * Timings are medians of samples taken round-robin across the cells being compared (so that a slow
 * patch of the disk hits all of them alike), after a warm-up; a sample is a batch of calls or runs.
 */
import { Cause, Effect, Exit, Fiber, type Layer, ManagedRuntime, Option } from "effect"
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as MemoryStore from "../src/layers/MemoryStore.js"
import * as PgStore from "../src/layers/PgStore.js"
import * as SqliteStore from "../src/layers/SqliteStore.js"
import { SnapshotStore, type StoreError } from "../src/SnapshotStore.js"
import * as Workflow from "../src/Workflow.js"
import {
  checkResult,
  connectPg,
  type Counts,
  countStatements,
  counter,
  fmt,
  type Job,
  keys,
  median,
  openSqlite,
  type PgClient,
  stepsTable,
  type RawResult,
  type RestartResult,
  type Sent,
  type SqliteDatabase,
  type StoreSpec,
  trivialWorkflow
} from "./durable-restart-child.js"

const benchDir = path.dirname(fileURLToPath(import.meta.url))
const root = path.join(benchDir, "..")
const adminUrl = process.env["EFFECT_RESUME_PG_URL"] ?? "postgresql://postgres@127.0.0.1:5432/test"
const RESTART_STEPS = 10_000
const RESTART_SAMPLES = 5
// Rounds of the section 1 tables: a sample at N = 1000 is one whole run, and this machine's disk and
// neighbours have slow phases of a few seconds; more rounds keep one such phase from deciding a median
const ROUNDS_100 = 15
const ROUNDS_1000 = 9

type Runtime = ManagedRuntime.ManagedRuntime<SnapshotStore, StoreError>
const runtimeOf = (layer: Layer.Layer<SnapshotStore, StoreError>): Runtime => ManagedRuntime.make(layer)

const log = (line: string) => process.stderr.write(`${line}\n`)

// ---------------------------------------------------------------------------------------------
// Measuring: cells compared with each other are sampled round-robin

interface Stats {
  /** µs per unit (a step, an INSERT, a call) */
  readonly median: number
  readonly min: number
  readonly max: number
  readonly samples: number
  readonly batch: number
  /** The samples, in round order. */
  readonly xs: ReadonlyArray<number>
  /** Median CPU time of this process (user + system) per unit, µs: on a busy machine, less noisy than the clock. */
  readonly cpu: number
}

/** Per round, a's sample over b's. */
const roundRatios = (a: Stats, b: Stats): Array<number> => a.xs.map((x, i) => x / b.xs[i]!)
/** The median of the per-round ratios a / b: both sampled in the same round, so a slow patch of the disk cancels out. */
const paired = (a: Stats, b: Stats): number => median(roundRatios(a, b))
/** The lowest and highest per-round ratio: how far the rounds spread. */
const pairedRange = (a: Stats, b: Stats): string => {
  const ratios = roundRatios(a, b)
  return `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`
}

interface Cell {
  readonly name: string
  /** One call: a whole run of `units` steps, or one statement (units 1). */
  readonly once: () => Promise<void>
  readonly units: number
  /** Calls per sample; default: enough for `targetMs`, from the warm-up. */
  readonly batch?: number
}

const interleaved = async (
  cells: ReadonlyArray<Cell>,
  options: { readonly warmup: number; readonly rounds: number; readonly targetMs: number }
): Promise<Map<string, Stats>> => {
  const batches = new Map<string, number>()
  for (const cell of cells) {
    const times: Array<number> = []
    for (let w = 0; w < options.warmup; w++) {
      const t = performance.now()
      await cell.once()
      times.push(performance.now() - t)
    }
    batches.set(
      cell.name,
      cell.batch ?? (times.length === 0 ? 1 : Math.max(1, Math.round(options.targetMs / Math.max(median(times), 0.001))))
    )
  }
  const samples = new Map<string, Array<number>>(cells.map((cell) => [cell.name, []]))
  const cpus = new Map<string, Array<number>>(cells.map((cell) => [cell.name, []]))
  for (let round = 0; round < options.rounds; round++) {
    for (const cell of cells) {
      const batch = batches.get(cell.name)!
      const c = process.cpuUsage()
      const t = performance.now()
      for (let b = 0; b < batch; b++) await cell.once()
      samples.get(cell.name)!.push(((performance.now() - t) * 1000) / (batch * cell.units))
      const used = process.cpuUsage(c)
      cpus.get(cell.name)!.push((used.user + used.system) / (batch * cell.units))
    }
  }
  return new Map(cells.map((cell) => {
    const xs = samples.get(cell.name)!
    const stats: Stats = {
      median: median(xs),
      min: Math.min(...xs),
      max: Math.max(...xs),
      samples: xs.length,
      batch: batches.get(cell.name)!,
      xs,
      cpu: median(cpus.get(cell.name)!)
    }
    log(
      `  ${cell.name.padEnd(58)} ${fmt(stats.median).padStart(9)} µs (${fmt(stats.min)}–${fmt(stats.max)}, ${xs.length}×${stats.batch}; cpu ${
        fmt(stats.cpu)
      })`
    )
    return [cell.name, stats]
  }))
}

/** Calls per sample for about `targetMs`, from a cell's stats. */
const batchFor = (stats: Stats, targetMs: number) => Math.max(1, Math.round((targetMs * 1000) / stats.median))

// ---------------------------------------------------------------------------------------------
// Cells

let runIds = 0
const freshId = (label: string) => `${label}-${process.pid}-${runIds++}`

const durableCell = (name: string, runtime: Runtime, n: number, batch?: number): Cell => {
  const workflow = trivialWorkflow(`durable-bench-${n}`, n)
  return {
    name,
    units: n,
    ...(batch === undefined ? {} : { batch }),
    once: async () => {
      const before = counter.executed
      checkResult(n, await runtime.runPromise(Workflow.runDurable(workflow, { id: freshId(`fresh-${n}`) })))
      if (counter.executed - before !== n) throw new Error(`expected ${n} executed steps, got ${counter.executed - before}`)
    }
  }
}

const plainCell = (name: string, n: number): Cell => {
  const workflow = trivialWorkflow(`durable-bench-${n}`, n)
  return {
    name,
    units: n,
    once: async () => {
      const before = counter.executed
      checkResult(n, await Effect.runPromise(Workflow.run(workflow)))
      if (counter.executed - before !== n) throw new Error(`expected ${n} executed steps, got ${counter.executed - before}`)
    }
  }
}

/** A step entry's size: what runDurable writes for `{ i, name: "x" }`. */
const payload = JSON.stringify({ result: { ok: true, value: { i: 1234, name: "x" } } })
let rawKeys = 0
/** Postgres: the type of the store's `entry` column, given to the raw table's payload too. */
let entryType = "jsonb"
const rawKey = () => keys[rawKeys++ % keys.length]!

// a named prepared statement: parsed once per connection, as the store's own statements are
const rawPgInsert = (client: PgClient): Cell => ({
  name: "raw INSERT (node-pg, named prepared statement, autocommit)",
  units: 1,
  once: async () => {
    await client.query({ name: "bench_raw_insert", text: `INSERT INTO bench_raw (k, v) VALUES ($1, $2::${entryType})`, values: [rawKey(), payload] })
  }
})

const rawSqliteInsert = (db: SqliteDatabase, synchronous: string): Cell => {
  const insert = db.prepare("INSERT INTO bench_raw (k, v) VALUES (?, ?)")
  return {
    name: `raw INSERT (better-sqlite3, autocommit, ${synchronous})`,
    units: 1,
    once: async () => {
      insert.run(rawKey(), payload)
    }
  }
}

/**
 * The store's own checkpoint, called through the SnapshotStore service on a run claimed for it, and
 * the very statement it sends (captured with its parameters) sent through the raw driver: together
 * with the raw INSERT and the whole runDurable step, they say where a step's time goes.
 */
const checkpointCells = async (
  label: string,
  runtime: Runtime,
  raw: { readonly pg: PgClient } | { readonly sqlite: SqliteDatabase } | undefined
): Promise<{ readonly viaService: Cell; readonly viaDriver: Cell | undefined; readonly sent: Sent | undefined }> => {
  const store = await runtime.runPromise(SnapshotStore)
  const id = freshId(`probe-${label}`)
  const owner = `bench:${id}`
  const leaseMs = 3_600_000
  const claimed = await runtime.runPromise(
    store.claim({ id, workflow: "durable-bench-probe", version: undefined, owner, leaseMs, input: undefined, reopenFailed: false })
  )
  if (Option.isNone(claimed)) throw new Error("probe run not claimed")
  const attempt = claimed.value
  let position = 0
  let k = 0
  const checkpoint = (key: string) =>
    store.checkpoint({ id, owner, attempt, key, position: ++position, entry: payload, durationMs: 0.01, leaseMs })
  // several calls in one Effect, so that a call's cost is not mixed with runPromise's
  const inOne = 10
  const viaService: Cell = {
    name: `store.checkpoint through the SnapshotStore service (${label})`,
    units: inOne,
    once: async () => {
      const written = await runtime.runPromise(Effect.forEach(Array.from({ length: inOne }, () => `svc-${id}-${k++}`), checkpoint))
      if (!written.every((ok) => ok)) throw new Error("checkpoint refused")
    }
  }
  if (raw === undefined) return { viaService, viaDriver: undefined, sent: undefined }
  // capture the statement as sent
  const stop = countStatements()
  const captureKey = `capture-${id}`
  if (!(await runtime.runPromise(checkpoint(captureKey)))) throw new Error("probe checkpoint refused")
  const sent = Object.entries(stop().first).find(([kind]) => kind.startsWith("checkpoint"))?.[1]
  if (sent === undefined) throw new Error("checkpoint statement not captured")
  const keyAt = sent.params.flatMap((p, i) => p === captureKey ? [i] : [])
  if (keyAt.length === 0) throw new Error("step key not found in the checkpoint's parameters")
  const withKey = (): Array<unknown> => {
    const key = `raw-${id}-${k++}`
    return sent.params.map((p, i) => keyAt.includes(i) ? key : p)
  }
  if ("pg" in raw) {
    return {
      viaService,
      sent,
      viaDriver: {
        name: `the same checkpoint statement, raw node-pg (${label})`,
        units: 1,
        once: async () => {
          // named as the store names it (when it does): prepared once on this connection too
          const result = await raw.pg.query(
            sent.name === undefined ? { text: sent.sql, values: withKey() } : { name: sent.name, text: sent.sql, values: withKey() }
          )
          if (result.rowCount !== 1) throw new Error("raw checkpoint wrote nothing")
        }
      }
    }
  }
  const statement = raw.sqlite.prepare(sent.sql)
  return {
    viaService,
    sent,
    viaDriver: {
      name: `the same checkpoint statement, raw better-sqlite3 (${label})`,
      units: 1,
      once: async () => {
        const changes = statement.reader ? statement.all(...withKey()).length : statement.run(...withKey()).changes
        if (changes < 1) throw new Error("raw checkpoint wrote nothing")
      }
    }
  }
}

/** One `Effect.withSpan` (no stack capture, one attribute), as SnapshotStore puts around a store call under a real tracer. */
const spanCell: Cell = {
  name: "one Effect.withSpan around Effect.void",
  units: 50,
  once: () =>
    Effect.runPromise(Effect.forEach(
      Array.from({ length: 50 }, (_, i) => i),
      () => Effect.withSpan(Effect.void, "bench.span", { captureStackTrace: false, attributes: { id: "x" } }),
      { discard: true }
    ))
}

// ---------------------------------------------------------------------------------------------
// Counting statements and commits per step

interface StepCounts {
  /** Per step: (count at N=1000 − count at N=100) / 900. */
  readonly statementsPerStep: number
  readonly commitsPerStep: number | undefined
  /** A run's own statements beyond its steps (getRun, claim, finish...). */
  readonly statementsPerRun: number
  readonly commitsPerRun: number | undefined
  /** The statements of one N=100 run, by kind. */
  readonly kinds: Record<string, number>
  readonly commitSource: string
}

const perStep = (at100: number, at1000: number) => {
  const step = (at1000 - at100) / 900
  return { step, run: at100 - 100 * step }
}

/** SQLite: statements and autocommit writes counted at the driver, in this process. */
const countSqlite = async (runtime: Runtime): Promise<StepCounts> => {
  const counted = async (n: number) => {
    const stop = countStatements()
    await durableCell("count", runtime, n).once()
    return stop()
  }
  const c100 = await counted(100)
  const c1000 = await counted(1000)
  const statements = perStep(c100.total, c1000.total)
  const commits = perStep(c100.commits, c1000.commits)
  return {
    statementsPerStep: statements.step,
    statementsPerRun: statements.run,
    commitsPerStep: commits.step,
    commitsPerRun: commits.run,
    kinds: c100.statements,
    commitSource: "write transactions counted at better-sqlite3 (autocommit writes and COMMITs; the getRun read is not one; a trigger's UPDATE is part of its statement)"
  }
}

/**
 * Postgres: statements counted at node-pg, commits from pg_stat_database.xact_commit of the bench's own
 * database. A backend's counters reach pg_stat_database when it exits (or on an idle timer), so each
 * count builds a store, runs, and disposes of it (closing its pool), then reads until the count settles.
 */
const countPg = async (admin: PgClient, database: string | undefined, url: string): Promise<StepCounts> => {
  const commits = async () => {
    if (database === undefined) return 0
    let last = -1
    let same = 0
    for (let i = 0; i < 40 && same < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 120))
      const { rows } = await admin.query("SELECT xact_commit::text AS c FROM pg_stat_database WHERE datname = $1", [database])
      const c = Number(rows[0]?.["c"] ?? 0)
      same = c === last ? same + 1 : 0
      last = c
    }
    return last
  }
  const counted = async (n: number | undefined) => {
    const before = await commits()
    const runtime = runtimeOf(PgStore.layer({ url }))
    await runtime.runtime()
    let counts: Counts | undefined
    if (n !== undefined) {
      const stop = countStatements()
      await durableCell("count", runtime, n).once()
      counts = stop()
    }
    await runtime.dispose()
    return { commits: (await commits()) - before, counts }
  }
  await counted(undefined) // the first build creates the tables
  const build = await counted(undefined)
  const c100 = await counted(100)
  const c1000 = await counted(1000)
  const statements = perStep(c100.counts!.total, c1000.counts!.total)
  const xacts = perStep(c100.commits - build.commits, c1000.commits - build.commits)
  return {
    statementsPerStep: statements.step,
    statementsPerRun: statements.run,
    commitsPerStep: database === undefined ? undefined : xacts.step,
    commitsPerRun: database === undefined ? undefined : xacts.run,
    kinds: c100.counts!.statements,
    commitSource: database === undefined
      ? "not counted (no database of the bench's own)"
      : `pg_stat_database.xact_commit, every transaction, the getRun read included (building the store alone: ${build.commits} commits, not included)`
  }
}

// ---------------------------------------------------------------------------------------------
// Child processes (section 3)

interface ChildOutcome {
  readonly lines: Array<Record<string, unknown>>
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stderr: string
}

// Built by bench/build.mjs (npm run bench): the child is the compiled bundle too; else it runs under tsx
const childArgs = import.meta.url.endsWith(".built.mjs")
  ? [path.join(benchDir, "durable-restart-child.built.mjs")]
  : ["--import", "tsx", path.join(benchDir, "durable-restart-child.ts")]

const runChild = (job: Job, onLine?: (line: Record<string, unknown>, kill: () => void) => void) =>
  new Promise<ChildOutcome>((resolve, reject) => {
    const child = spawn(process.execPath, [...childArgs, JSON.stringify(job)], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"]
    })
    const lines: Array<Record<string, unknown>> = []
    let buffered = ""
    let stderr = ""
    const timer = setTimeout(() => child.kill("SIGKILL"), 180_000)
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk
      let at: number
      while ((at = buffered.indexOf("\n")) !== -1) {
        const line = JSON.parse(buffered.slice(0, at)) as Record<string, unknown>
        buffered = buffered.slice(at + 1)
        lines.push(line)
        onLine?.(line, () => child.kill("SIGKILL"))
      }
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk
    })
    child.on("error", reject)
    child.on("exit", (code, signal) => {
      clearTimeout(timer)
      resolve({ lines, code, signal, stderr })
    })
  })

const childResult = <A>(outcome: ChildOutcome, what: string): A => {
  if (outcome.code !== 0 || outcome.lines.length !== 1) {
    throw new Error(`${what}: child exited ${outcome.code ?? outcome.signal}: ${outcome.stderr.slice(0, 2000)}`)
  }
  return outcome.lines[0] as A
}

interface RestartRow {
  readonly store: string
  readonly synchronous: string
  readonly state: string
  readonly restart: ReadonlyArray<RestartResult>
  readonly raw: ReadonlyArray<RawResult>
  readonly rawWhat: string
}

/** Seeds RESTART_SAMPLES runs of 10,000 steps killed in their last step, then restarts each in fresh processes. */
const restarts = async (label: string, synchronous: string, seed: StoreSpec, store: StoreSpec): Promise<Array<RestartRow>> => {
  const ids = Array.from({ length: RESTART_SAMPLES }, (_, i) => `restart-${label}-${process.pid}-${i}`)
  const t = performance.now()
  const reached = new Set<string>()
  const seeded = await runChild({ job: "seed", store: seed, ids, steps: RESTART_STEPS }, (line, kill) => {
    if (typeof line["atLast"] === "string") reached.add(line["atLast"])
    if (reached.size === ids.length) kill()
  })
  if (seeded.signal !== "SIGKILL" || reached.size !== ids.length) {
    throw new Error(`seeding ${label} failed (${seeded.code ?? seeded.signal}): ${seeded.stderr.slice(0, 2000)}`)
  }
  log(`  seeded ${ids.length} runs of ${RESTART_STEPS} steps, killed in the last step, in ${((performance.now() - t) / 1000).toFixed(1)} s`)
  // the seeds' lease was 200 ms: let it run out
  await new Promise((resolve) => setTimeout(resolve, 400))
  const interrupted: Array<RestartResult> = []
  const completed: Array<RestartResult> = []
  const rawSteps: Array<RawResult> = []
  const rawRow: Array<RawResult> = []
  for (const id of ids) {
    const steps = childResult<RawResult>(await runChild({ job: "raw-steps", store, id }), "raw-steps")
    if (steps.rows !== RESTART_STEPS - 1) throw new Error(`expected ${RESTART_STEPS - 1} step rows, got ${steps.rows}`)
    rawSteps.push(steps)
    interrupted.push(childResult(await runChild({ job: "restart", store, id, steps: RESTART_STEPS, expectExecuted: 1 }), "restart"))
    completed.push(childResult(await runChild({ job: "restart", store, id, steps: RESTART_STEPS, expectExecuted: 0 }), "restart"))
    rawRow.push(childResult(await runChild({ job: "raw-row", store, id }), "raw-row"))
    log(
      `  ${id}: restart ${interrupted.at(-1)!.buildMs.toFixed(1)} + ${interrupted.at(-1)!.runMs.toFixed(1)} ms, raw ${
        steps.connectMs.toFixed(1)
      } + ${steps.readMs.toFixed(1)} ms; completed ${completed.at(-1)!.buildMs.toFixed(1)} + ${completed.at(-1)!.runMs.toFixed(1)} ms`
    )
  }
  return [
    {
      store: label,
      synchronous,
      state: `interrupted before its last step (${(RESTART_STEPS - 1).toLocaleString("en")} replayed, 1 executed)`,
      restart: interrupted,
      raw: rawSteps,
      rawWhat: `SELECT entry FROM steps WHERE run_id = ? ORDER BY position (${(RESTART_STEPS - 1).toLocaleString("en")} rows), each parsed`
    },
    {
      store: label,
      synchronous,
      state: `completed (${RESTART_STEPS.toLocaleString("en")} steps)`,
      restart: completed,
      raw: rawRow,
      rawWhat: "SELECT of the run row, its output parsed"
    }
  ]
}

// ---------------------------------------------------------------------------------------------
// Section 4: a run held by a live owner

const lockedCell = async (runtime: Runtime, label: string) => {
  let held!: () => void
  const holding = new Promise<void>((resolve) => {
    held = resolve
  })
  const workflow = trivialWorkflow("durable-bench-locked", 1, Effect.zipRight(Effect.sync(() => held()), Effect.never))
  const id = freshId(`locked-${label}`)
  const holder = runtime.runFork(Workflow.runDurable(workflow, { id }))
  await holding
  const once = async () => {
    const exit = await runtime.runPromiseExit(Workflow.runDurable(workflow, { id }))
    const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
    if (Option.isNone(failure) || (failure.value as { _tag?: string })._tag !== "RunLocked") {
      throw new Error(`expected RunLocked, got ${Exit.isSuccess(exit) ? "success" : Cause.pretty(exit.cause)}`)
    }
  }
  await once()
  const stop = countStatements()
  await once()
  const counts = stop()
  const cell: Cell = { name: `runDurable on a held run → RunLocked (${label})`, units: 1, once }
  return { cell, counts, release: () => runtime.runPromise(Fiber.interrupt(holder)) }
}

// ---------------------------------------------------------------------------------------------
// Report

const ms = (x: number): string => x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)
const times = (x: number): string => `${x.toFixed(x >= 10 ? 0 : 2)}×`
const num = (x: number | undefined): string => x === undefined ? "n/a" : Math.abs(x - Math.round(x)) < 0.005 ? String(Math.round(x)) : x.toFixed(2)
const met = (ok: boolean) => ok ? "met" : "**missed**"

/** Section 1's verdict: on the per-round ratio, marked uncertain when the ratio of the medians says otherwise. */
const verdict1 = (r: { readonly durable: Stats; readonly raw: Stats }) => {
  const perRound = paired(r.durable, r.raw) <= 1.3
  const medians = r.durable.median / r.raw.median <= 1.3
  return perRound === medians ? met(perRound) : `${met(perRound)} (uncertain: the ratio of the medians says ${medians ? "met" : "missed"})`
}

interface Section1Row {
  readonly store: string
  readonly synchronous: string
  readonly n: number
  readonly durable: Stats
  readonly raw: Stats
  readonly counts: StepCounts
}

interface Breakdown {
  readonly store: string
  readonly synchronous: string
  readonly raw: Stats
  readonly viaDriver: Stats
  readonly viaService: Stats
  readonly durable: Stats
  readonly sent: Sent
}

interface Section2Row {
  readonly n: number
  readonly sqlite: Stats
  readonly rawNormal: Stats
  readonly plain: Stats
  readonly memory: Stats
}

interface Breakdown2 {
  readonly rawInsert: Stats
  readonly statement: Stats
  readonly sqliteService: Stats
  readonly sqliteStep: Stats
  readonly memoryService: Stats
  readonly memoryStep: Stats
  readonly plainStep: Stats
  readonly span: Stats
}

interface LockedRow {
  readonly store: string
  readonly synchronous: string
  readonly locked: Stats
  readonly raw: Stats
  readonly rawWhat: string
  readonly counts: Counts
}

const goals: Array<string> = []
const notes: Array<string> = []

const spreadOf = (s: Stats) => `${fmt(s.min)}–${fmt(s.max)} (${s.samples}×${s.batch})`

const report = (input: {
  readonly startedAt: Date
  readonly elapsedS: number
  readonly section1: ReadonlyArray<Section1Row>
  readonly breakdowns: ReadonlyArray<Breakdown>
  readonly section2: ReadonlyArray<Section2Row>
  readonly breakdown2: Breakdown2 | undefined
  readonly restartRows: ReadonlyArray<RestartRow>
  readonly locked: ReadonlyArray<LockedRow>
  readonly env: ReadonlyArray<string>
}): string => {
  const lines: Array<string> = [
    "# Benchmark: durable runs against the raw driver",
    "",
    "`npm run bench` (last part: bench/durable.ts, restarts in bench/durable-restart-child.ts). Everything",
    "below was measured in one run of the script, side by side. µs figures are medians of samples taken",
    "round-robin across the cells compared in a table (after a warm-up), each sample a batch of calls or",
    "whole runs divided by (calls × steps). Workflows are N sequential trivial steps (each returns",
    "`{ i, name: \"x\" }`); a durable run is a fresh id each time, so every step executes and is checkpointed,",
    "and its per-step cost includes its share of the run's own statements (getRun, claim, finish).",
    "The raw baselines use the driver the store uses, directly: node-pg (one `Client`, a named prepared",
    "statement, as the store's own statements are) and better-sqlite3 (a prepared statement; WAL journal,",
    `same synchronous level). Each is one single-row INSERT of a ${payload.length}-byte JSON entry plus a step key into`,
    "`bench_raw(id, k, v)`, its own autocommit transaction (one round trip, one commit); on Postgres `v` has",
    `the type the store gives a step's entry (${entryType}).`,
    "",
    "## 1. Per-step cost of a durable run vs one raw INSERT",
    "",
    "Goal: a durable step costs at most 1.3× one raw INSERT through the same driver.",
    "",
    "| store | SQLite synchronous | N | runDurable µs/step | raw INSERT µs | durable / raw (per round) | per-round range | durable / raw (medians) | goal ≤ 1.3× | CPU µs/step: durable | CPU µs: raw INSERT | statements / step (+ per run) | commits / step (+ per run) |",
    "|---|---|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|"
  ]
  for (const r of input.section1) {
    const ratio = paired(r.durable, r.raw)
    lines.push(
      `| ${r.store} | ${r.synchronous} | ${r.n} | ${fmt(r.durable.median)} | ${fmt(r.raw.median)} | ${times(ratio)} | ${
        pairedRange(r.durable, r.raw)
      } | ${
        times(r.durable.median / r.raw.median)
      } | ${verdict1(r)} | ${fmt(r.durable.cpu)} | ${fmt(r.raw.cpu)} | ${
        num(r.counts.statementsPerStep)
      } (+${num(r.counts.statementsPerRun)}) | ${num(r.counts.commitsPerStep)} (+${num(r.counts.commitsPerRun)}) |`
    )
  }
  lines.push(
    "",
    "The goal is judged on the per-round ratio: the median over rounds of (durable sample / raw sample of the",
    "same round), which cancels the disk's drift between rounds; the lowest and highest of those ratios, and the",
    "ratio of the two medians, are shown beside it.",
    "CPU columns: this process's CPU time (user + system) per step / per INSERT: the client-side work, which",
    "does not wait on the disk; the rest of the wall time is the database's (its commit, its fsync).",
    "",
    "Statements and commits per step are counted, not assumed: statements as sent through the driver (its",
    "prototype patched only while counting), per step = (count at N = 1000 − count at N = 100) / 900, the",
    "rest per run. Statements of one N = 100 run, by kind:",
    ""
  )
  for (const r of input.section1.filter((r) => r.n === 100)) {
    const kinds = Object.entries(r.counts.kinds).map(([kind, count]) => `${kind} × ${count}`).join("; ")
    lines.push(`- ${r.store}${r.synchronous === "–" ? "" : ` (${r.synchronous})`}: ${kinds}. Commits: ${r.counts.commitSource}.`)
  }
  lines.push(
    "",
    "Where a step's time goes (same round-robin sampling; µs per call, wall clock, with this process's CPU",
    "time in brackets): the raw INSERT; the very statement a checkpoint sends (captured with its parameters:",
    "it also fences the write on the run row, and renews the lease there once half of it has passed,",
    "and writes a wider step row), sent through the raw driver; the same",
    "checkpoint through the store (the `SnapshotStore` service, group commit, and the store's own path to the driver); and a whole",
    "durable step (N = 100).",
    "",
    "| store | SQLite synchronous | raw INSERT | checkpoint statement, raw driver | store.checkpoint (service) | runDurable step | statement vs INSERT | store layers | workflow engine + run's share |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|"
  )
  for (const b of input.breakdowns) {
    lines.push(
      `| ${b.store} | ${b.synchronous} | ${both(b.raw)} | ${both(b.viaDriver)} | ${both(b.viaService)} | ${both(b.durable)} | ${
        diff(b.viaDriver, b.raw)
      } | ${diff(b.viaService, b.viaDriver)} | ${diff(b.durable, b.viaService)} |`
    )
  }
  lines.push("")
  for (const b of input.breakdowns) {
    lines.push(
      `- ${b.store}${b.synchronous === "–" ? "" : ` [${b.synchronous}]`}: the checkpoint statement alone costs ${fmt(b.viaDriver.median)} µs through the raw driver (a raw INSERT ${
        fmt(b.raw.median)
      }); through the store ${fmt(b.viaService.median)} µs, of which the client's CPU grows by ${
        signed(b.viaService.cpu - b.viaDriver.cpu)
      } µs (the store's path to the driver and the SnapshotStore service); a whole step ${fmt(b.durable.median)} µs with ${fmt(b.durable.cpu)} µs of client CPU against the raw INSERT's ${
        fmt(b.raw.cpu)
      }.${
        input.section1.some((r) => r.store === b.store && paired(r.durable, r.raw) > 1.3)
          ? " The step's client CPU is several times the INSERT's: when a commit is cheap it decides the ratio, and on a busy machine it also waits for a core."
          : ""
      }`
    )
  }
  lines.push(
    "",
    "## 2. SQLite at synchronous = NORMAL, and MemoryStore",
    "",
    "Goals: a SqliteStore (NORMAL) step ≤ a plain run's step + 1.5× a raw NORMAL INSERT; a MemoryStore step",
    "≤ 2× a plain run's step. The plain run is `Workflow.run` of the same workflow, in memory, nothing stored.",
    "",
    "| implementation | SQLite synchronous | N | µs/step | goal µs/step | goal | vs plain run | CPU µs/step |",
    "|---|---|--:|--:|--:|---|--:|--:|"
  )
  for (const r of input.section2) {
    const sqliteGoal = r.plain.median + 1.5 * r.rawNormal.median
    const memoryGoal = 2 * r.plain.median
    lines.push(
      `| runDurable, SqliteStore | NORMAL | ${r.n} | ${fmt(r.sqlite.median)} | ≤ ${fmt(sqliteGoal)} (plain + 1.5 × raw) | ${met(r.sqlite.median <= sqliteGoal)} | ${
        times(r.sqlite.median / r.plain.median)
      } | ${fmt(r.sqlite.cpu)} |`,
      `| runDurable, MemoryStore | – | ${r.n} | ${fmt(r.memory.median)} | ≤ ${fmt(memoryGoal)} (2 × plain) | ${met(r.memory.median <= memoryGoal)} | ${
        times(r.memory.median / r.plain.median)
      } | ${fmt(r.memory.cpu)} |`,
      `| Workflow.run (plain, in memory) | – | ${r.n} | ${fmt(r.plain.median)} | | | 1.00× | ${fmt(r.plain.cpu)} |`,
      `| raw INSERT, better-sqlite3 (µs per INSERT) | NORMAL | – | ${fmt(r.rawNormal.median)} | | | | ${fmt(r.rawNormal.cpu)} |`
    )
  }
  const b2 = input.breakdown2
  if (b2 !== undefined) {
    const row = (what: string, x: Stats) => `| ${what} | ${fmt(x.median)} | ${fmt(x.cpu)} |`
    lines.push(
      "",
      "Where a step's time goes (N = 100 group, same round-robin sampling; µs per call or step, wall clock and",
      "this process's CPU time — on a busy machine the CPU figures are the steadier):",
      "",
      "| part | wall µs | CPU µs |",
      "|---|--:|--:|",
      row("raw INSERT, better-sqlite3 [NORMAL]", b2.rawInsert),
      row("the checkpoint statement as the store sends it, raw better-sqlite3 [NORMAL]", b2.statement),
      row("store.checkpoint, SqliteStore [NORMAL] (SnapshotStore service, group commit, its own better-sqlite3 connection)", b2.sqliteService),
      row("runDurable step, SqliteStore [NORMAL]", b2.sqliteStep),
      row("store.checkpoint, MemoryStore (SnapshotStore service)", b2.memoryService),
      row("runDurable step, MemoryStore", b2.memoryStep),
      row("Workflow.run step (plain, in memory)", b2.plainStep),
      row("one Effect.withSpan around Effect.void (what a store call's span costs; made only under a real tracer)", b2.span),
      ""
    )
    const cpu = (x: Stats) => x.cpu
    lines.push(
      `- SqliteStore [NORMAL] step, CPU: plain step ${fmt(cpu(b2.plainStep))} + checkpoint statement ${fmt(cpu(b2.statement))} (a raw INSERT is ${
        fmt(cpu(b2.rawInsert))
      }: the statement also reads the run row, fires the lease trigger, and writes a wider row under a two-text key) + the store's path and service ${
        signed(cpu(b2.sqliteService) - cpu(b2.statement))
      } + the engine's durable bookkeeping and the run's share ${signed(cpu(b2.sqliteStep) - cpu(b2.sqliteService) - cpu(b2.plainStep))} = ${
        fmt(cpu(b2.sqliteStep))
      } µs.`,
      `- MemoryStore step, CPU: plain step ${fmt(cpu(b2.plainStep))} + store.checkpoint ${fmt(cpu(b2.memoryService))} (one span alone: ${
        fmt(cpu(b2.span))
      }) + the engine's durable bookkeeping and the run's share ${signed(cpu(b2.memoryStep) - cpu(b2.memoryService) - cpu(b2.plainStep))} = ${
        fmt(cpu(b2.memoryStep))
      } µs.`
    )
  }
  lines.push(
    "",
    "## 3. Restart of a 10,000-step run, in a fresh process",
    "",
    `${RESTART_SAMPLES} runs of ${RESTART_STEPS.toLocaleString("en")} steps per store were each killed (SIGKILL) inside their last step by a`,
    "child process, leaving them `running` with 9,999 checkpoints and a 200 ms lease (seeded with SQLite",
    "synchronous = NORMAL / Postgres synchronous_commit = off to keep the bench short: the stored rows are",
    "the same; everything timed runs at FULL / synchronous_commit = on). Each restart is a fresh",
    `\`node\` process (${import.meta.url.endsWith(".built.mjs") ? "the compiled child, as npm run bench builds it" : "under tsx"}): the clock starts after every module (drivers included) is loaded, so it`,
    "covers building the store layer (opening the file or pool, migration check) plus `runDurable` to its",
    "result. The raw baseline, also a fresh process each time, covers opening the file / connecting one",
    "client plus the SELECT (entries parsed: JSON.parse on SQLite, node-pg's own json parse on Postgres).",
    "Medians of the samples; the ratio is total vs total. Goal: an interrupted run's restart ≤ 2× the raw read.",
    "",
    "| store | SQLite synchronous | run | build store ms | runDurable ms | total ms | raw: connect ms | raw: read ms | raw total ms | total / raw total | runDurable / raw read | goal ≤ 2× | in runDurable: getRun ms | loadSteps ms | writes ms | engine ms | statements in runDurable |",
    "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|---|"
  )
  for (const r of input.restartRows) {
    const build = median(r.restart.map((x) => x.buildMs))
    const run = median(r.restart.map((x) => x.runMs))
    const total = median(r.restart.map((x) => x.buildMs + x.runMs))
    const connect = median(r.raw.map((x) => x.connectMs))
    const read = median(r.raw.map((x) => x.readMs))
    const rawTotal = median(r.raw.map((x) => x.connectMs + x.readMs))
    const interrupted = r.state.startsWith("interrupted")
    const kinds = Object.entries(r.restart[0]!.counts.statements).map(([kind, count]) => `${kind} × ${count}`).join("; ")
    const sum = (x: RestartResult, names: ReadonlyArray<string>) => names.reduce((acc, name) => acc + (x.storeMs[name] ?? 0), 0)
    const writes = ["claim", "checkpoint", "finish", "renew", "release"]
    const getRun = median(r.restart.map((x) => sum(x, ["getRun"])))
    const loadSteps = median(r.restart.map((x) => sum(x, ["loadSteps"])))
    const storeWrites = median(r.restart.map((x) => sum(x, writes)))
    const engine = median(r.restart.map((x) => x.runMs - sum(x, ["getRun", "loadSteps"]) - sum(x, writes)))
    lines.push(
      `| ${r.store} | ${r.synchronous} | ${r.state} | ${ms(build)} | ${ms(run)} | ${ms(total)} | ${ms(connect)} | ${ms(read)} | ${ms(rawTotal)} | ${
        times(total / rawTotal)
      } | ${times(run / read)} | ${interrupted ? met(total / rawTotal <= 2) : "(no goal)"} | ${ms(getRun)} | ${ms(loadSteps)} | ${ms(storeWrites)} | ${ms(engine)} | ${kinds} |`
    )
  }
  lines.push(
    "",
    "Raw reads: the interrupted rows against the steps SELECT; the completed rows against one SELECT of the run row.",
    "The last columns split runDurable's time (medians; each store method timed where runDurable calls it):",
    "getRun, loadSteps (the run row and every step row, parsed and checked, as a ResumeState), the writes",
    "(claim, checkpoint, finish: each one commit), and the rest, the engine (replaying 9,999 steps in a",
    "process whose code the JIT has not optimized yet, then executing one).",
    ""
  )
  for (const r of input.restartRows.filter((r) => r.state.startsWith("interrupted"))) {
    const sum = (x: RestartResult, names: ReadonlyArray<string>) => names.reduce((acc, name) => acc + (x.storeMs[name] ?? 0), 0)
    const total = median(r.restart.map((x) => x.buildMs + x.runMs))
    const rawTotal = median(r.raw.map((x) => x.connectMs + x.readMs))
    if (total / rawTotal <= 2) continue
    lines.push(
      `- ${r.store}${r.synchronous === "–" ? "" : ` [${r.synchronous}]`}: ${ms(total)} ms against ${ms(rawTotal)}: building the store ${
        ms(median(r.restart.map((x) => x.buildMs)))
      } ms (raw connect ${ms(median(r.raw.map((x) => x.connectMs)))}); loadSteps ${ms(median(r.restart.map((x) => sum(x, ["loadSteps"]))))} ms (the raw read ${
        ms(median(r.raw.map((x) => x.readMs)))
      }); three commits ${ms(median(r.restart.map((x) => sum(x, ["claim", "checkpoint", "finish"]))))} ms; the engine's replay ${
        ms(median(r.restart.map((x) => x.runMs - sum(x, ["getRun", "loadSteps", "claim", "checkpoint", "finish", "renew", "release"]))))
      } ms.`
    )
  }
  lines.push("")
  lines.push(
    "## 4. A run held by a live owner: time to RunLocked",
    "",
    "A run is held by a live owner (a runDurable in this process, waiting inside its step); each call",
    "`runDurable` on it until it fails with `RunLocked` (`onLocked: \"fail\"`, the default), against one raw",
    "`SELECT 1` round trip through the driver. µs per call.",
    "",
    "| store | SQLite synchronous | runDurable → RunLocked µs | raw SELECT 1 µs | ratio | statements per call |",
    "|---|---|--:|--:|--:|---|"
  )
  for (const r of input.locked) {
    const kinds = Object.entries(r.counts.statements).map(([kind, count]) => `${kind} × ${count}`).join("; ")
    lines.push(
      `| ${r.store} | ${r.synchronous} | ${fmt(r.locked.median)} | ${fmt(r.raw.median)} | ${times(r.locked.median / r.raw.median)} | ${kinds} |`
    )
  }
  lines.push("", "## Goals", "", ...goals.map((g) => `- ${g}`), "")
  lines.push(
    "## Where the time goes: profiling notes",
    "",
    "Not measured by this script: found with `node --cpu-prof` / the inspector and small timing loops",
    `(${input.startedAt.toISOString().slice(0, 10)}), to be read with the breakdowns above.`,
    "",
    "- Spans: a store call gets one only under a real tracer (src/internal/tracing.ts), and @effect/sql's",
    "  per-statement span is bypassed by both SQL stores' own paths to their drivers; without a tracer no",
    "  span is made (the last row of the section 2 table is what one would cost).",
    "- A durable run's fixed cost: its body runs in one forked fiber (a halt from the heartbeat interrupts it),",
    "  and the heartbeat's fiber starts from a plain timer a third of the lease in. Racing the body against",
    "  a stop signal in a scope, with the heartbeat forked asleep from the start, cost about 100 µs more per",
    "  run here: interrupting a fiber that sleeps costs 25-85 µs on this machine, more than a short run.",
    "- Postgres statement, measured alone through node-pg (side by side, same tables): the step row itself",
    "  (8 columns, a two-text primary key), sent as a plain INSERT ... VALUES, is 1.0-1.05× a raw INSERT. The",
    "  fence on the run row is now a share lock (`FOR SHARE`), 1.05-1.1×; the lease's UPDATE on every step,",
    "  which it replaced, was 1.16-1.55× on this machine (each step left a row version behind), and",
    "  the lease is renewed in the statement only once half of it has passed. With `status = 'running'` in the",
    "  fence, the plan for a new table (no statistics yet) scanned the (status, workflow) index: 2.6-3.3×; the",
    "  fence is now (id, owner), by primary key. ON CONFLICT on every step cost another 0.08-0.1×: a step under",
    "  a new key is a plain INSERT. `RETURNING 1` cost 0.1-0.15×: a checkpoint, a renewal and a run's end read",
    "  node-pg's rowCount instead.",
    "- The machine decides much of section 1. On one (2-vCPU VM whose idle vCPUs halt: cpuidle driver",
    "  none; commits of 70-90 µs) a round trip got slower the longer the client took between statements",
    "  (bench/latency-gap.ts, run by hand): a raw INSERT loop took 69-85 µs per INSERT with no pause, 120-132",
    "  µs with a 10 µs busy wait before each, 147-150 µs with 20 µs; there runDurable took 147-344 µs a step",
    "  where the same statements sent by hand took 82-101. On another (cpuidle haltpoll; commits of 270-350",
    "  µs), a pause costs about its own length: 271-387 µs per INSERT with none, 284-340 with 10 µs, 334-349",
    "  with 50 µs, 380-409 with 100 µs. There, measured through node-pg's own events: from a checkpoint's",
    "  reply (ReadyForQuery) to the next checkpoint's send, a durable run's client takes 28-35 µs (median),",
    "  a raw INSERT loop 3-4 µs; the statement's own latency is within 5-15 µs of a raw INSERT's (its",
    "  variants sent alone: plain VALUES 1.06×, INSERT ... SELECT 1.04×, FOR SHARE 1.07×, FOR KEY SHARE",
    "  1.02×); a run adds getRun, the claim and the end (about 2.3 ms of a 100-step run: three round trips",
    "  and the client's start-up and wind-down). The CPU probe (Machine section) shows how fast the machine",
    "  was at each section.",
    "- Client CPU on Postgres, durable step vs raw INSERT (separate processes, per-thread CPU; measured on an",
    "  earlier machine, before the step path's trims of 2026-12-07): the main",
    "  thread's extra is about 45 µs per step (the Effect runtime's suspend and resume around the statement,",
    "  the engine, node-pg's 8 parameters), and V8's helper threads (GC) add about 30 µs; the socket write",
    "  (writev, about 30-40 µs here) both pay alike.",
    "- SQLite statement (NORMAL), measured alone: of its cost over a raw INSERT, the lease trigger's firing",
    "  is about 9 µs (less since it writes only when half the lease has passed), strftime with modifier",
    "  strings about 5 µs (now julianday arithmetic), the wider row and two-text key about 7 µs, an upsert",
    "  about 5 µs (now only for a key written again), `RETURNING` about 3 µs (now the driver's change count).",
    "  bench/floors-results.md (written by the same `npm run bench`) builds the step row up one requirement",
    "  at a time beside the raw INSERT: at NORMAL the row alone, keyed (run_id, step_key) as the issue asks,",
    "  is about 1.5× a raw INSERT, and with its times on the database clock and its fence 1.6-1.9×: more than",
    "  the NORMAL goal's whole budget for a durable step's extra (1.5 raw INSERTs), so that goal cannot be met",
    "  by a store that writes this row. A narrow rowid table with no key costs what a raw INSERT does.",
    "- Restart: loadSteps reads the run row again (with its body) after getRun and the claim read it, then the",
    "  steps; building the store connects and checks the migrations (a `SELECT 1`, then one read), about",
    "  35-60 ms on Postgres with warm code, of which the connection is 17-20 ms; the replay runs in code the",
    "  JIT has not optimized yet (bench/run.ts measures a warm replay, a small fraction of this per step), and",
    "  GC takes a large share of it. A run's end used to open a second Postgres connection (its last",
    "  checkpoint held the first): 30-40 ms, now gone (the end goes on the checkpoints' connection). On the",
    "  faster machine of 2026-12-07, whose raw reads were 3-4× faster again, the restart was CPU-bound in code run",
    "  for the first time: profiled, building the Postgres store is 20-28 ms of CPU with under 1 ms idle,",
    "  spread thin over the Effect runtime, the layers, node-pg's connect and the first statements (V8",
    "  compiles each function at its first call); the replay of 9,999 steps is 32-40 ms, 3.2-4 µs a step.",
    "  Traced with --trace-gc on the slower machine: three scavenges of 6-10 ms each fall inside a",
    "  restart's timed part (the 10,000 loaded entries are live, so each scavenge copies them). The floor",
    "  (bench/floors-results.md): a cold `Effect.gen` body yielding 10,000 times, with nothing of the engine,",
    "  takes about 9-12 ms; the engine's replay is about 4 times that.",
    "- RunLocked: `RunLocked` is a `Schema.TaggedError`, so making one validates its fields and captures a",
    "  stack; with the getRun through @effect/sql (spans; the pool checkout on Postgres) that is most of the",
    "  call's client CPU.",
    ""
  )
  if (notes.length > 0) lines.push("## Notes", "", ...notes.map((n) => `- ${n}`), "")
  lines.push("## Spread", "", "min–max µs over the samples (samples × calls or runs per sample):", "")
  lines.push("| cell | N | spread |", "|---|--:|---|")
  for (const r of input.section1) {
    lines.push(`| runDurable, ${r.store} [${r.synchronous}] | ${r.n} | ${spreadOf(r.durable)} |`)
    lines.push(`| raw INSERT, ${r.store} [${r.synchronous}] (group N = ${r.n}) | 1 | ${spreadOf(r.raw)} |`)
  }
  for (const b of input.breakdowns) {
    lines.push(`| checkpoint statement, raw driver, ${b.store} [${b.synchronous}] | 1 | ${spreadOf(b.viaDriver)} |`)
    lines.push(`| store.checkpoint, ${b.store} [${b.synchronous}] | 1 | ${spreadOf(b.viaService)} |`)
  }
  for (const r of input.section2) {
    lines.push(`| runDurable, SqliteStore [NORMAL] | ${r.n} | ${spreadOf(r.sqlite)} |`)
    lines.push(`| runDurable, MemoryStore | ${r.n} | ${spreadOf(r.memory)} |`)
    lines.push(`| Workflow.run | ${r.n} | ${spreadOf(r.plain)} |`)
    lines.push(`| raw INSERT, SQLite [NORMAL] (group N = ${r.n}) | 1 | ${spreadOf(r.rawNormal)} |`)
  }
  for (const r of input.restartRows) {
    const list = (xs: ReadonlyArray<number>) => xs.map(ms).join(", ")
    lines.push(`| restart ${r.store} [${r.synchronous}], ${r.state}: build + runDurable ms | – | ${list(r.restart.map((x) => x.buildMs + x.runMs))} |`)
    lines.push(`| raw ${r.rawWhat}, ${r.store}: connect + read ms | – | ${list(r.raw.map((x) => x.connectMs + x.readMs))} |`)
  }
  for (const r of input.locked) {
    lines.push(`| RunLocked, ${r.store} | 1 | ${spreadOf(r.locked)} |`)
    lines.push(`| ${r.rawWhat}, ${r.store} | 1 | ${spreadOf(r.raw)} |`)
  }
  lines.push(
    "",
    "## Machine",
    "",
    `- date: ${input.startedAt.toISOString()}`,
    `- node: ${process.version} (${process.platform} ${process.arch})`,
    `- CPU: ${os.cpus()[0]?.model ?? "unknown"} × ${os.cpus().length}; memory ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    ...input.env.map((e) => `- ${e}`),
    `- load average (1 min) at the start and the end: ${loadAtStart.toFixed(1)}, ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs (other work on the machine inflates both wall and CPU times)`,
    `- CPU probe (ms for a fixed piece of JavaScript; higher is a slower moment): ${cpuProbes.join(", ")}`,
    `- total bench time: ${input.elapsedS.toFixed(0)} s`,
    ""
  )
  return lines.join("\n")
}

const signed = (us: number) => `${us >= 0 ? "+" : "−"}${fmt(Math.abs(us))}`
const both = (x: Stats) => `${fmt(x.median)} (${fmt(x.cpu)})`
const diff = (a: Stats, b: Stats) => `${signed(a.median - b.median)} (${signed(a.cpu - b.cpu)})`

// ---------------------------------------------------------------------------------------------

const loadAtStart = os.loadavg()[0]!

/**
 * The machine's speed at a moment: ms for a fixed piece of JavaScript (objects made, stringified,
 * parsed). On a shared virtual machine it changes from minute to minute, and CPU-heavy paths (a durable
 * step's client side) slow down with it more than a raw INSERT does.
 */
const cpuProbes: Array<string> = []
const probeWork = () => {
  let n = 0
  for (let i = 0; i < 20_000; i++) n += JSON.parse(JSON.stringify({ i, name: "x", list: [i, i + 1] })).list[1]
  if (n < 0) throw new Error("unreachable")
}
const probeCpu = (label: string) => {
  probeWork() // warm: the first call also compiles it
  const t = performance.now()
  probeWork()
  cpuProbes.push(`${label} ${(performance.now() - t).toFixed(1)}`)
}

const redact = (url: string) => url.replace(/\/\/[^@/]*@/, "//")

const main = async () => {
  const startedAt = new Date()
  const t0 = performance.now()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-resume-durable-bench-"))
  const env: Array<string> = []
  const section1: Array<Section1Row> = []
  const breakdowns: Array<Breakdown> = []
  const section2: Array<Section2Row> = []
  const restartRows: Array<RestartRow> = []
  const locked: Array<LockedRow> = []
  let breakdown2: Breakdown2 | undefined

  // Postgres: a database of the bench's own (so that its commit counter counts only the bench)
  let admin: PgClient | undefined
  let database: string | undefined
  let pgUrl: string | undefined
  try {
    admin = await connectPg(adminUrl)
  } catch (error) {
    notes.push(`PostgreSQL not reachable at ${redact(adminUrl)} (${String(error)}): its rows are missing.`)
  }
  if (admin !== undefined) {
    const name = `effect_resume_bench_${randomBytes(4).toString("hex")}`
    try {
      await admin.query(`CREATE DATABASE ${name}`)
      database = name
      const url = new URL(adminUrl)
      url.pathname = `/${name}`
      pgUrl = url.toString()
    } catch (error) {
      pgUrl = adminUrl
      notes.push(`Could not create a database of the bench's own (${String(error)}): used ${redact(adminUrl)}; commits not counted.`)
    }
    const { rows } = await admin.query("SELECT version() AS v, current_setting('synchronous_commit') AS s, current_setting('fsync') AS f")
    env.push(
      `PostgreSQL: ${String(rows[0]?.["v"]).split(",")[0]}, synchronous_commit = ${String(rows[0]?.["s"])}, fsync = ${String(rows[0]?.["f"])}, at ${
        redact(adminUrl)
      } (bench database ${database ?? "(the url's own)"}, dropped after the run; pg_stat_statements is not loaded there, so statements are counted at the driver)`
    )
  }

  const cleanups: Array<() => Promise<unknown>> = []
  try {
    // ---------------------------------------------------------------------------------- 1. PG
    let pgRuntime: Runtime | undefined
    let pgRaw: PgClient | undefined
    if (pgUrl !== undefined) {
      probeCpu("before section 1 (PostgreSQL)")
      log("1. PostgreSQL: counting statements and commits")
      const pgCounts = await countPg(admin!, database, pgUrl)
      pgRaw = await connectPg(pgUrl)
      const raw = pgRaw
      cleanups.push(() => raw.end())
      // the payload column gets the type the store gives a step's entry (json or jsonb), so both parse alike
      const { rows: types } = await raw.query(
        "SELECT data_type FROM information_schema.columns WHERE table_name = $1 AND column_name = 'entry'",
        [stepsTable]
      )
      entryType = String(types[0]?.["data_type"] ?? "jsonb")
      await raw.query("DROP TABLE IF EXISTS bench_raw")
      await raw.query(`CREATE TABLE bench_raw (id bigserial PRIMARY KEY, k text NOT NULL, v ${entryType} NOT NULL)`)
      pgRuntime = runtimeOf(PgStore.layer({ url: pgUrl }))
      const runtime = pgRuntime
      cleanups.push(() => runtime.dispose())
      await runtime.runtime()
      log("1. PostgreSQL: N = 100 and the checkpoint breakdown")
      const probe = await checkpointCells("pg", runtime, { pg: raw })
      const viaService = probe.viaService
      const viaDriver = probe.viaDriver!
      const sent = probe.sent!
      const insert = rawPgInsert(raw)
      const durable100 = durableCell("runDurable, PgStore, N = 100", runtime, 100)
      const g100 = await interleaved([insert, durable100, viaDriver, viaService], { warmup: 2, rounds: ROUNDS_100, targetMs: 150 })
      section1.push({ store: "PgStore", synchronous: "–", n: 100, durable: g100.get(durable100.name)!, raw: g100.get(insert.name)!, counts: pgCounts })
      breakdowns.push({
        store: "PgStore",
        synchronous: "–",
        raw: g100.get(insert.name)!,
        viaDriver: g100.get(viaDriver.name)!,
        viaService: g100.get(viaService.name)!,
        durable: g100.get(durable100.name)!,
        sent
      })
      log("1. PostgreSQL: N = 1000")
      const durable1000 = durableCell("runDurable, PgStore, N = 1000", runtime, 1000, 1)
      const g1000 = await interleaved([{ ...insert, batch: batchFor(g100.get(insert.name)!, 400) }, durable1000], { warmup: 0, rounds: ROUNDS_1000, targetMs: 400 })
      section1.push({ store: "PgStore", synchronous: "–", n: 1000, durable: g1000.get(durable1000.name)!, raw: g1000.get(insert.name)!, counts: pgCounts })
    }

    // ---------------------------------------------------------------------------------- 1. SQLite FULL
    const fullFile = path.join(dir, "durable-FULL.db")
    {
      probeCpu("before SQLite FULL")
      log("1. SQLite (synchronous = FULL)")
      const rawDb = openSqlite(path.join(dir, "raw-FULL.db"), "FULL")
      rawDb.exec("CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v TEXT NOT NULL)")
      env.push(`SQLite ${String((rawDb.prepare("SELECT sqlite_version() AS v").all()[0] ?? {})["v"])} (better-sqlite3), files in ${dir} (deleted after the run)`)
      const runtime = runtimeOf(SqliteStore.layer({ filename: fullFile, synchronous: "FULL" }))
      await runtime.runtime()
      // the raw checkpoint statement goes to the store's own file, through a connection of its own
      const storeDb = openSqlite(fullFile, "FULL")
      const probe = await checkpointCells("sqlite-full", runtime, { sqlite: storeDb })
      const viaService = probe.viaService
      const viaDriver = probe.viaDriver!
      const sent = probe.sent!
      const insert = rawSqliteInsert(rawDb, "FULL")
      const durable100 = durableCell("runDurable, SqliteStore FULL, N = 100", runtime, 100)
      const g100 = await interleaved([insert, durable100, viaDriver, viaService], { warmup: 2, rounds: ROUNDS_100, targetMs: 150 })
      const durable1000 = durableCell("runDurable, SqliteStore FULL, N = 1000", runtime, 1000, 1)
      const g1000 = await interleaved([{ ...insert, batch: batchFor(g100.get(insert.name)!, 400) }, durable1000], { warmup: 0, rounds: ROUNDS_1000, targetMs: 400 })
      const counts = await countSqlite(runtime)
      section1.push({ store: "SqliteStore", synchronous: "FULL", n: 100, durable: g100.get(durable100.name)!, raw: g100.get(insert.name)!, counts })
      section1.push({ store: "SqliteStore", synchronous: "FULL", n: 1000, durable: g1000.get(durable1000.name)!, raw: g1000.get(insert.name)!, counts })
      breakdowns.push({
        store: "SqliteStore",
        synchronous: "FULL",
        raw: g100.get(insert.name)!,
        viaDriver: g100.get(viaDriver.name)!,
        viaService: g100.get(viaService.name)!,
        durable: g100.get(durable100.name)!,
        sent
      })

      // ------------------------------------------------------------------------------ 4. RunLocked
      log("4. RunLocked")
      if (pgRuntime !== undefined && pgRaw !== undefined) {
        const raw = pgRaw
        const { cell, counts, release } = await lockedCell(pgRuntime, "PgStore")
        const select: Cell = { name: "raw SELECT 1 (node-pg)", units: 1, once: () => raw.query("SELECT 1").then(() => undefined) }
        const g = await interleaved([select, cell], { warmup: 5, rounds: 9, targetMs: 30 })
        await release()
        locked.push({ store: "PgStore", synchronous: "–", locked: g.get(cell.name)!, raw: g.get(select.name)!, rawWhat: "raw SELECT 1 (node-pg)", counts })
      }
      {
        const { cell, counts, release } = await lockedCell(runtime, "SqliteStore")
        const one = rawDb.prepare("SELECT 1")
        const select: Cell = { name: "raw SELECT 1 (better-sqlite3)", units: 1, once: async () => void one.all() }
        const g = await interleaved([select, cell], { warmup: 5, rounds: 9, targetMs: 30 })
        await release()
        locked.push({ store: "SqliteStore", synchronous: "FULL", locked: g.get(cell.name)!, raw: g.get(select.name)!, rawWhat: "raw SELECT 1 (better-sqlite3)", counts })
      }
      await runtime.dispose()
      storeDb.close()
      rawDb.close()
    }

    // ---------------------------------------------------------------------------------- 2. NORMAL + memory
    {
      probeCpu("before section 2")
      log("2. SQLite (synchronous = NORMAL), MemoryStore, plain run")
      const rawDb = openSqlite(path.join(dir, "raw-NORMAL.db"), "NORMAL")
      rawDb.exec("CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, k TEXT NOT NULL, v TEXT NOT NULL)")
      const normalFile = path.join(dir, "durable-NORMAL.db")
      const runtime = runtimeOf(SqliteStore.layer({ filename: normalFile, synchronous: "NORMAL" }))
      const memory = runtimeOf(MemoryStore.layer() as Layer.Layer<SnapshotStore, StoreError>)
      await runtime.runtime()
      await memory.runtime()
      const storeDb = openSqlite(normalFile, "NORMAL")
      const sqliteProbe = await checkpointCells("sqlite-normal", runtime, { sqlite: storeDb })
      const memoryProbe = await checkpointCells("memory", memory, undefined)
      const insert = rawSqliteInsert(rawDb, "NORMAL")
      for (const [n, warmup, rounds] of [[100, 3, 9], [1000, 1, 5]] as const) {
        const sqlite = durableCell(`runDurable, SqliteStore NORMAL, N = ${n}`, runtime, n)
        const mem = durableCell(`runDurable, MemoryStore, N = ${n}`, memory, n)
        const plain = plainCell(`Workflow.run (plain), N = ${n}`, n)
        const parts = n === 100 ? [sqliteProbe.viaDriver!, sqliteProbe.viaService, memoryProbe.viaService, spanCell] : []
        const g = await interleaved([insert, plain, mem, sqlite, ...parts], { warmup, rounds, targetMs: 60 })
        section2.push({ n, sqlite: g.get(sqlite.name)!, rawNormal: g.get(insert.name)!, plain: g.get(plain.name)!, memory: g.get(mem.name)! })
        if (n === 100) {
          breakdown2 = {
            rawInsert: g.get(insert.name)!,
            statement: g.get(sqliteProbe.viaDriver!.name)!,
            sqliteService: g.get(sqliteProbe.viaService.name)!,
            sqliteStep: g.get(sqlite.name)!,
            memoryService: g.get(memoryProbe.viaService.name)!,
            memoryStep: g.get(mem.name)!,
            plainStep: g.get(plain.name)!,
            span: g.get(spanCell.name)!
          }
        }
      }
      const counts = await countSqlite(runtime)
      notes.push(
        `SqliteStore (NORMAL) statements / step: ${num(counts.statementsPerStep)} (+${num(counts.statementsPerRun)} per run), commits / step: ${
          num(counts.commitsPerStep)
        } (+${num(counts.commitsPerRun)} per run), as at FULL.`
      )
      await runtime.dispose()
      await memory.dispose()
      storeDb.close()
      rawDb.close()
    }

    // ---------------------------------------------------------------------------------- 3. restarts
    probeCpu("before the restarts")
      log("3. Restart, SQLite (synchronous = FULL)")
    restartRows.push(
      ...await restarts(
        "SqliteStore",
        "FULL",
        { kind: "sqlite", filename: fullFile, synchronous: "NORMAL" },
        { kind: "sqlite", filename: fullFile, synchronous: "FULL" }
      )
    )
    if (pgUrl !== undefined) {
      log("3. Restart, PostgreSQL")
      const seedUrl = new URL(pgUrl)
      seedUrl.searchParams.set("options", "-c synchronous_commit=off")
      restartRows.push(...await restarts("PgStore", "–", { kind: "pg", url: seedUrl.toString() }, { kind: "pg", url: pgUrl }))
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
    if (admin !== undefined) {
      if (database !== undefined) await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined)
      else await admin.query("DROP TABLE IF EXISTS bench_raw").catch(() => undefined)
      await admin.end()
    }
    fs.rmSync(dir, { recursive: true, force: true })
  }

  // Goals
  for (const r of section1) {
    const ratio = paired(r.durable, r.raw)
    goals.push(
      `${verdict1(r)}: ${r.store}${r.synchronous === "–" ? "" : ` (synchronous = ${r.synchronous})`}, N = ${r.n}: a durable step is ${
        times(ratio)
      } a raw INSERT per round (${times(r.durable.median / r.raw.median)} by the medians; goal ≤ 1.3×).`
    )
  }
  for (const r of section2) {
    const sqliteGoal = r.plain.median + 1.5 * r.rawNormal.median
    goals.push(
      `${met(r.sqlite.median <= sqliteGoal)}: SqliteStore (synchronous = NORMAL), N = ${r.n}: ${fmt(r.sqlite.median)} µs/step, goal ≤ plain ${
        fmt(r.plain.median)
      } + 1.5 × raw ${fmt(r.rawNormal.median)} = ${fmt(sqliteGoal)} µs.`,
      `${met(r.memory.median <= 2 * r.plain.median)}: MemoryStore, N = ${r.n}: ${fmt(r.memory.median)} µs/step = ${
        times(r.memory.median / r.plain.median)
      } the plain run's ${fmt(r.plain.median)} µs (goal ≤ 2×).`
    )
  }
  for (const r of restartRows.filter((r) => r.state.startsWith("interrupted"))) {
    const total = median(r.restart.map((x) => x.buildMs + x.runMs))
    const rawTotal = median(r.raw.map((x) => x.connectMs + x.readMs))
    goals.push(
      `${met(total / rawTotal <= 2)}: restart of an interrupted 10,000-step run, ${r.store}${r.synchronous === "–" ? "" : ` (synchronous = ${r.synchronous})`}: ${
        ms(total)
      } ms = ${times(total / rawTotal)} the raw read's ${ms(rawTotal)} ms (goal ≤ 2×).`
    )
  }
  for (const r of restartRows.filter((r) => r.state.startsWith("completed"))) {
    const loaded = Object.keys(r.restart[0]!.counts.statements).filter((kind) => kind.startsWith("load"))
    goals.push(
      `${met(loaded.length === 0 && r.restart[0]!.counts.total === 1)}: restart of a completed run, ${r.store}: ${r.restart[0]!.counts.total} statement(s) (${
        Object.keys(r.restart[0]!.counts.statements).join(", ")
      }), no steps loaded${loaded.length === 0 ? "" : " — NOT SO"}.`
    )
  }

  probeCpu("at the end")
  const markdown = report({
    startedAt,
    elapsedS: (performance.now() - t0) / 1000,
    section1,
    breakdowns,
    section2,
    breakdown2,
    restartRows,
    locked,
    env
  })
  const out = path.join(benchDir, "durable-results.md")
  fs.writeFileSync(out, markdown)
  process.stdout.write(`\n${markdown}\nWritten to ${path.relative(process.cwd(), out)}\n`)
}

await main()
process.exit(0)
