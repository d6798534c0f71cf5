/**
 * `npm run bench`: per-step overhead of a workflow of n trivial steps, fresh and fully resumed, for
 * awaitly (the reference library) and effect-resume's Promise API, Effect API and `runDurable`, all
 * measured in this one process so that the ratios compare like with like.
 *
 * Every number is the median over several samples taken after a warm-up; a sample times a batch of
 * whole runs (at least ~5 ms, so that timer resolution and per-run noise do not dominate small n) and
 * is divided by (runs x n). Each run is checked: a fresh run executes all n steps, a resumed run none.
 *
 * Writes bench/results.md and prints the same table.
 */
import { ok } from "awaitly"
import { createWorkflow as createAwaitlyWorkflow, type WorkflowFn as AwaitlyWorkflowFn } from "awaitly/workflow"
import { Effect, Exit, type Layer, ManagedRuntime, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as MemoryStore from "../src/layers/MemoryStore.js"
import * as SqliteStore from "../src/layers/SqliteStore.js"
import { createWorkflow, type WorkflowFn } from "../src/promise/workflow.js"
import type { ResumeState } from "../src/ResumeState.js"
import type { SnapshotStore, StoreError } from "../src/SnapshotStore.js"
import * as Workflow from "../src/Workflow.js"

const SIZES = [10, 100, 1000] as const
/** Time spent measuring one (implementation, n, fresh | resumed) cell, warm-up included. */
const BUDGET_MS = 2_000
/** SQLite cells get more: a fresh run of 1000 steps at synchronous=FULL takes most of a second. */
const SQLITE_BUDGET_MS = 4_000
const MIN_SAMPLES = 5
const MAX_SAMPLES = 40
const MIN_SAMPLE_MS = 5

// ---------------------------------------------------------------------------------------------
// Measuring

/** Steps executed (not replayed) so far, by every implementation: checked after every run. */
let executed = 0

interface Small {
  readonly i: number
  readonly name: string
}

const ids = Array.from({ length: Math.max(...SIZES) }, (_, i) => `step-${i}`)

interface Stats {
  /** µs per step */
  readonly median: number
  readonly min: number
  readonly max: number
  readonly samples: number
  readonly runsPerSample: number
}

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * Times `runOnce` (one whole run of n steps, which must execute `expectExecuted` of them) and returns
 * µs per step. Warm-up: a quarter of the budget, at least 2 runs; then batches of runs.
 */
const measure = async (
  runOnce: () => Promise<void>,
  n: number,
  expectExecuted: number,
  budgetMs: number
): Promise<Stats> => {
  const checked = async () => {
    const before = executed
    await runOnce()
    if (executed - before !== expectExecuted) {
      throw new Error(`expected ${expectExecuted} executed steps in a run of ${n}, got ${executed - before}`)
    }
  }
  const start = performance.now()
  const warmup: Array<number> = []
  while (warmup.length < 2 || performance.now() - start < budgetMs / 4) {
    const t = performance.now()
    await checked()
    warmup.push(performance.now() - t)
  }
  const perRun = median(warmup.slice(-5))
  const runsPerSample = Math.max(1, Math.ceil(MIN_SAMPLE_MS / perRun))
  const samples: Array<number> = []
  while (
    samples.length < MIN_SAMPLES ||
    (samples.length < MAX_SAMPLES && performance.now() - start < budgetMs)
  ) {
    const t = performance.now()
    for (let r = 0; r < runsPerSample; r++) await checked()
    samples.push(((performance.now() - t) * 1000) / (runsPerSample * n))
  }
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples: samples.length, runsPerSample }
}

interface Row {
  readonly impl: string
  readonly n: number
  readonly fresh: Stats
  readonly resumed: Stats
  readonly synchronous?: "FULL" | "NORMAL"
}

const rows: Array<Row> = []

const bench = async (
  impl: string,
  n: number,
  fresh: () => Promise<void>,
  resumed: () => Promise<void>,
  options: { readonly budgetMs?: number; readonly synchronous?: "FULL" | "NORMAL" } = {}
) => {
  const budget = options.budgetMs ?? BUDGET_MS
  const row: Row = {
    impl,
    n,
    fresh: await measure(fresh, n, n, budget),
    resumed: await measure(resumed, n, 0, budget),
    ...(options.synchronous === undefined ? {} : { synchronous: options.synchronous })
  }
  rows.push(row)
  process.stderr.write(
    `  ${impl.padEnd(44)} n=${String(n).padEnd(5)} fresh ${fmt(row.fresh.median).padStart(8)} µs/step` +
      `   resumed ${fmt(row.resumed.median).padStart(8)} µs/step\n`
  )
}

// ---------------------------------------------------------------------------------------------
// The workloads: n sequential steps, each returning a small object synchronously

const expectValue = (n: number, value: unknown) => {
  if ((value as { i?: unknown } | undefined)?.i !== n - 1) throw new Error(`unexpected result ${JSON.stringify(value)}`)
}

// awaitly: operations return a Result; `key` as in its persistence docs.
const benchAwaitly = async (n: number) => {
  const workflow = createAwaitlyWorkflow("bench", {})
  const fn: AwaitlyWorkflowFn<Small | undefined, never, {}> = async ({ step }) => {
    let last: Small | undefined
    for (let i = 0; i < n; i++) {
      const id = ids[i]!
      last = await step(id, () => {
        executed++
        return ok({ i, name: "x" })
      }, { key: id })
    }
    return last
  }
  const seeded = await workflow.runWithState(fn)
  if (!seeded.result.ok) throw new Error("awaitly seed run failed")
  const resumeState = seeded.resumeState
  await bench("awaitly 1.35.0 (runWithState / run)", n, async () => {
    const { result } = await workflow.runWithState(fn)
    if (!result.ok) throw new Error("awaitly run failed")
    expectValue(n, result.value)
  }, async () => {
    const result = await workflow.run(fn, { resumeState })
    if (!result.ok) throw new Error("awaitly resumed run failed")
    expectValue(n, result.value)
  })
}

// effect-resume's awaitly-compatible Promise API: same workflow function.
const benchPromise = async (n: number) => {
  const workflow = createWorkflow("bench", {})
  const fn: WorkflowFn<Small | undefined, {}> = async ({ step }) => {
    let last: Small | undefined
    for (let i = 0; i < n; i++) {
      const id = ids[i]!
      last = await step(id, () => {
        executed++
        return ok({ i, name: "x" })
      }, { key: id })
    }
    return last
  }
  const seeded = await workflow.runWithState(fn)
  if (!seeded.result.ok) throw new Error("promise seed run failed")
  const resumeState = seeded.resumeState
  await bench("effect-resume Promise API (createWorkflow)", n, async () => {
    const { result } = await workflow.runWithState(fn)
    if (!result.ok) throw new Error("promise run failed")
    expectValue(n, result.value)
  }, async () => {
    const result = await workflow.run(fn, { resumeState })
    if (!result.ok) throw new Error("promise resumed run failed")
    expectValue(n, result.value)
  })
}

// effect-resume's Effect API. One Schema instance for every step: its codec is compiled once.
const Item = Schema.Struct({ i: Schema.Number, at: Schema.Date })
const epoch = new Date(0)

const effectWorkflow = (n: number, withSchema: boolean) =>
  Workflow.make(
    `bench-${n}`,
    Effect.gen(function*() {
      let last: unknown
      for (let i = 0; i < n; i++) {
        last = withSchema
          ? yield* Workflow.step(ids[i]!, Effect.sync(() => {
            executed++
            return { i, at: epoch }
          }), { success: Item })
          : yield* Workflow.step(ids[i]!, Effect.sync(() => {
            executed++
            return { i, name: "x" }
          }))
      }
      return last
    })
  )

const benchEffect = async (n: number, withSchema: boolean) => {
  const workflow = effectWorkflow(n, withSchema)
  const seeded = await Effect.runPromise(Workflow.runWithState(workflow))
  if (!Exit.isSuccess(seeded.result)) throw new Error("effect seed run failed")
  const resumeState: ResumeState = seeded.resumeState
  await bench(
    withSchema
      ? "effect-resume Effect API, success Schema (Date)"
      : "effect-resume Effect API (runWithState / run)",
    n,
    async () => {
      const { result } = await Effect.runPromise(Workflow.runWithState(workflow))
      if (!Exit.isSuccess(result)) throw new Error("effect run failed")
      expectValue(n, result.value)
    },
    async () => {
      const value = await Effect.runPromise(Workflow.run(workflow, { resumeState }))
      expectValue(n, value)
      if (withSchema && !((value as { at?: unknown }).at instanceof Date)) throw new Error("Schema did not decode a Date")
    }
  )
}

// runDurable: claims the run, checkpoints every step in one fenced statement, ends it with one update.
// Fresh runs use a new id each time; resumed runs call one completed id again (one read of its record).
let runCounter = 0
const benchDurable = async (
  label: string,
  runtime: ManagedRuntime.ManagedRuntime<SnapshotStore, StoreError>,
  n: number,
  options: { readonly budgetMs?: number; readonly synchronous?: "FULL" | "NORMAL" } = {}
) => {
  const workflow = effectWorkflow(n, false)
  const resumedId = `resumed-${n}-${runCounter++}`
  expectValue(n, await runtime.runPromise(Workflow.runDurable(workflow, { id: resumedId })))
  await bench(label, n, async () => {
    expectValue(n, await runtime.runPromise(Workflow.runDurable(workflow, { id: `fresh-${n}-${runCounter++}` })))
  }, async () => {
    expectValue(n, await runtime.runPromise(Workflow.runDurable(workflow, { id: resumedId })))
  }, options)
}

// ---------------------------------------------------------------------------------------------
// Report

const fmt = (us: number): string => us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2)

const ratio = (value: number, reference: number | undefined): string =>
  reference === undefined ? "–" : `${(value / reference).toFixed(value / reference >= 10 ? 0 : 1)}×`

const awaitlyVersion = (JSON.parse(
  fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "node_modules", "awaitly", "package.json"), "utf8")
) as { version: string }).version

const report = (startedAt: Date, elapsedS: number, dbDir: string): string => {
  const cpus = os.cpus()
  const awaitly = new Map(rows.filter((r) => r.impl.startsWith("awaitly")).map((r) => [r.n, r]))
  const spread = (s: Stats) => `${fmt(s.min)}–${fmt(s.max)}`
  const lines = [
    "# Benchmark: per-step overhead",
    "",
    "`npm run bench` (bench/run.ts). Each workflow runs n sequential trivial steps (each returns a small",
    "object synchronously). **Fresh**: no saved state, every step executes and is recorded. **Resumed**: the",
    "state of a completed run is passed back, every step is replayed. Numbers are µs per step: the median",
    "of several samples after a warm-up, each sample a batch of whole runs divided by (runs × n), so per-run",
    "costs (runtime start, loading and saving state) are spread over the n steps. Ratios are against the",
    "awaitly row with the same n, measured in the same process run (for runDurable that compares a",
    "persisted run with awaitly's in-memory one: awaitly is not given a store here).",
    "",
    "What runDurable does per run: read the run's record, claim it (one statement), checkpoint every newly",
    "executed step with one fenced statement (the step row, and the lease renewed with it), and end the run",
    "with one fenced update of its record. A **resumed** runDurable row runs a completed id again: its result",
    "is read back from the record in one query, nothing replays and nothing is written. A SQLite row's",
    "`synchronous` is the level set with",
    "`SqliteStore.layer({ synchronous })` (WAL journal in both cases).",
    "",
    "| implementation | n | fresh µs/step | resumed µs/step | fresh vs awaitly | resumed vs awaitly | SQLite synchronous |",
    "|---|--:|--:|--:|--:|--:|---|"
  ]
  for (const r of rows) {
    const a = awaitly.get(r.n)
    lines.push(
      `| ${r.impl} | ${r.n} | ${fmt(r.fresh.median)} | ${fmt(r.resumed.median)} | ${ratio(r.fresh.median, a?.fresh.median)} | ${
        ratio(r.resumed.median, a?.resumed.median)
      } | ${r.synchronous ?? ""} |`
    )
  }
  lines.push(
    "",
    "Spread (min–max µs/step over the samples; samples × runs per sample):",
    "",
    "| implementation | n | fresh | resumed |",
    "|---|--:|--:|--:|"
  )
  for (const r of rows) {
    lines.push(
      `| ${r.impl}${r.synchronous === undefined ? "" : ` [${r.synchronous}]`} | ${r.n} | ${spread(r.fresh)} (${r.fresh.samples}×${r.fresh.runsPerSample}) | ${
        spread(r.resumed)
      } (${r.resumed.samples}×${r.resumed.runsPerSample}) |`
    )
  }
  lines.push(
    "",
    "## Machine",
    "",
    `- date: ${startedAt.toISOString()}`,
    `- node: ${process.version} (${process.platform} ${process.arch})`,
    `- CPU: ${cpus[0]?.model ?? "unknown"} × ${cpus.length}`,
    `- memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- SQLite files: in ${dbDir} (WAL journal; one file per synchronous level; deleted after the run)`,
    `- awaitly ${awaitlyVersion} declares engines node >= 22; it ran here on ${process.version} without error`,
    `- total bench time: ${elapsedS.toFixed(0)} s`,
    ""
  )
  return lines.join("\n")
}

// ---------------------------------------------------------------------------------------------

const main = async () => {
  const startedAt = new Date()
  const t0 = performance.now()
  const dbDir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-resume-bench-"))
  try {
    for (const n of SIZES) {
      process.stderr.write(`n = ${n}\n`)
      await benchAwaitly(n)
      await benchPromise(n)
      await benchEffect(n, false)
      await benchEffect(n, true)
    }
    process.stderr.write("runDurable\n")
    const memory = ManagedRuntime.make(MemoryStore.layer() as Layer.Layer<SnapshotStore, StoreError>)
    for (const n of SIZES) await benchDurable("effect-resume runDurable, MemoryStore", memory, n)
    await memory.dispose()
    for (const synchronous of ["FULL", "NORMAL"] as const) {
      const runtime = ManagedRuntime.make(
        SqliteStore.layer({ filename: path.join(dbDir, `bench-${synchronous}.db`), synchronous })
      )
      for (const n of SIZES) {
        await benchDurable("effect-resume runDurable, SqliteStore", runtime, n, { budgetMs: SQLITE_BUDGET_MS, synchronous })
      }
      await runtime.dispose()
    }
  } finally {
    fs.rmSync(dbDir, { recursive: true, force: true })
  }
  const markdown = report(startedAt, (performance.now() - t0) / 1000, dbDir)
  const out = path.join(path.dirname(fileURLToPath(import.meta.url)), "results.md")
  fs.writeFileSync(out, markdown)
  process.stdout.write(`\n${markdown}\nWritten to ${path.relative(process.cwd(), out)}\n`)
}

await main()
