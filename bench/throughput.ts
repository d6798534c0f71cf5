/**
 * `npm run bench` (last part): throughput of many durable runs at once on one Postgres, against raw
 * single-row INSERTs from as many clients through the same driver (`pg`), measured side by side in one
 * process run. Every durable step is committed before its run goes on (group commit gathers the
 * checkpoints that arrive together into one statement; it never acknowledges a step before its commit).
 *
 * Shapes: 20 runs × 100 steps (the headline), 1 × 1000, 100 × 10. Writes bench/throughput-results.md.
 * Postgres: EFFECT_RESUME_PG_URL, default postgresql://postgres@127.0.0.1:5432/test.
 */
import { Effect, ManagedRuntime } from "effect"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as PgStore from "../src/layers/PgStore.js"
import type { SnapshotStore, StoreError } from "../src/SnapshotStore.js"
import * as Workflow from "../src/Workflow.js"

const url = process.env.EFFECT_RESUME_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test"
const here = path.dirname(fileURLToPath(import.meta.url))

interface Client {
  query(text: string, params?: ReadonlyArray<unknown>): Promise<unknown>
  end(): Promise<void>
}
const requireFromDriver = createRequire(createRequire(import.meta.url).resolve("@effect/sql-pg"))
const { Pool } = requireFromDriver("pg") as { Pool: new(config: object) => Client }

const shapes = [[20, 100], [1, 1000], [100, 10]] as const
const entry = JSON.stringify({ result: { ok: true, value: { i: 1, name: "step" } }, stepId: "step" })

/** `clients` connections each inserting `perClient` rows one by one, each its own commit. */
const rawInserts = async (clients: number, perClient: number): Promise<number> => {
  const pool = new Pool({ connectionString: url, max: clients })
  await pool.query("DROP TABLE IF EXISTS bench_throughput_raw")
  await pool.query("CREATE TABLE bench_throughput_raw (id bigserial PRIMARY KEY, k text NOT NULL, v jsonb NOT NULL)")
  const started = performance.now()
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; i < perClient; i++) {
      await pool.query("INSERT INTO bench_throughput_raw (k, v) VALUES ($1, $2::jsonb)", [`${c}:${i}`, entry])
    }
  }))
  const seconds = (performance.now() - started) / 1000
  await pool.query("DROP TABLE bench_throughput_raw")
  await pool.end()
  return (clients * perClient) / seconds
}

let round = 0
const durableRuns = async (
  runtime: ManagedRuntime.ManagedRuntime<SnapshotStore, StoreError>,
  runs: number,
  steps: number
): Promise<number> => {
  const wf = Workflow.make("throughput", (input: { readonly run: number }) =>
    Effect.forEach(Array.from({ length: steps }, (_, i) => i), (i) =>
      Workflow.step(`step-${i}`, Effect.succeed({ i, name: "step" })), { discard: true }).pipe(Effect.as(input.run)))
  const tag = `${Date.now().toString(36)}-${round++}`
  const started = performance.now()
  await runtime.runPromise(
    Effect.forEach(Array.from({ length: runs }, (_, run) => run), (run) =>
      Workflow.runDurable(wf, { id: `tp-${tag}-${run}`, input: { run } }), { concurrency: "unbounded", discard: true })
  )
  return (runs * steps) / ((performance.now() - started) / 1000)
}

const main = async () => {
  const table = "bench_throughput_runs"
  const runtime = ManagedRuntime.make(PgStore.layer({ url, table, maxConnections: 20 }))
  await runtime.runPromise(Effect.void)
  const lines = [
    "# Throughput: many durable runs at once on one Postgres",
    "",
    "`npm run bench` (bench/throughput.ts), all rows measured in one process run, one after the other.",
    "Raw: N clients (a `pg` Pool of N) each inserting single rows, each its own commit. Durable: N",
    "`runDurable` calls at once through one PgStore (pool of 20), each step committed before its run goes",
    "on; checkpoints that arrive together are written by one statement (group commit). Steps/s, best of 3.",
    "",
    "| shape | raw INSERT rows/s (N clients) | durable steps/s | durable / raw |",
    "|---|--:|--:|--:|"
  ]
  for (const [runs, steps] of shapes) {
    let raw = 0
    let durable = 0
    for (let i = 0; i < 3; i++) {
      raw = Math.max(raw, await rawInserts(Math.min(runs, 20), Math.max(1, Math.floor((runs * steps) / Math.min(runs, 20)))))
      durable = Math.max(durable, await durableRuns(runtime, runs, steps))
    }
    lines.push(`| ${runs} runs × ${steps} steps | ${raw.toFixed(0)} (${Math.min(runs, 20)}) | ${durable.toFixed(0)} | ${(durable / raw).toFixed(2)}× |`)
    console.log(lines.at(-1))
  }
  lines.push("", `Measured ${new Date().toISOString()}, Node ${process.version}, Postgres at ${new URL(url).host}.`)
  await runtime.dispose()
  fs.writeFileSync(path.join(here, "throughput-results.md"), lines.join("\n") + "\n")
  console.log(lines.join("\n"))
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
