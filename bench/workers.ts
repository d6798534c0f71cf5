/**
 * `npm run bench` (workers part): latencies a worker's user waits for, on Postgres.
 *
 * 1. From `Workflow.start` to the run's first step executing on an idle worker. The worker polls once an
 *    hour here, so only LISTEN/NOTIFY can wake it. Goal ≤ 50 ms.
 * 2. From a worker's layer being built, restarted under the workerId of a dead incarnation that held a
 *    1000-step run (999 steps recorded, its lease still live for a minute), to that run's next step
 *    executing: the take-back claims it at once, loads and replays 999 steps. Goal ≤ 50 ms.
 *
 * Writes bench/workers-results.md. Postgres: EFFECT_RESUME_PG_URL, default postgresql://postgres@127.0.0.1:5432/test.
 */
import { Effect, Exit, Layer, ManagedRuntime, Scope } from "effect"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as PgStore from "../src/layers/PgStore.js"
import { SnapshotStore } from "../src/SnapshotStore.js"
import * as Worker from "../src/Worker.js"
import * as Workflow from "../src/Workflow.js"

const url = process.env.EFFECT_RESUME_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test"
const here = path.dirname(fileURLToPath(import.meta.url))
const table = `bench_workers_${Date.now().toString(36)}`

// The bench's own tables go when it ends
const dropTables = async () => {
  const requireFromDriver = createRequire(createRequire(import.meta.url).resolve("@effect/sql-pg"))
  const { Client } = requireFromDriver("pg") as { Client: new(config: object) => { connect(): Promise<void>; query(text: string): Promise<unknown>; end(): Promise<void> } }
  const client = new Client({ connectionString: url })
  await client.connect()
  await client.query(`DROP TABLE IF EXISTS "${table}", "${table}_steps", "${table}_migrations"; DROP SEQUENCE IF EXISTS "${table}_seq"`)
  await client.end()
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
const fmt = (ms: number) => ms.toFixed(1)

// When the first step of each run executed (performance.now())
const firstStep = new Map<string, number>()
const single = Workflow.make("bench-latency", (input: { readonly id: string }) =>
  Workflow.step("first", Effect.sync(() => firstStep.set(input.id, performance.now())).pipe(Effect.as(1))))

const resumedAt = new Map<string, number>()
const steps = 1000
const long = Workflow.make("bench-takeback", (input: { readonly id: string }) =>
  Effect.forEach(Array.from({ length: steps }, (_, i) => i), (i) =>
    Workflow.step(`s${i}`, Effect.sync(() => {
      if (i === steps - 1 && !resumedAt.has(input.id)) resumedAt.set(input.id, performance.now())
      return i
    })), { discard: true }))

const main = async () => {
  const runtime = ManagedRuntime.make(PgStore.layer({ url, table }))
  const store = await runtime.runPromise(SnapshotStore)
  const idle = Worker.layer({ workflows: [single], workerId: "bench-idle", pollInterval: "1 hour" })

  // 1. start → first step on an idle worker
  const scope = await Effect.runPromise(Scope.make())
  await runtime.runPromise(Layer.buildWithScope(idle, scope))
  await new Promise((resolve) => setTimeout(resolve, 200)) // listening, and idle
  const startLatencies: Array<number> = []
  for (let i = 0; i < 30; i++) {
    const id = `latency-${i}`
    const started = performance.now()
    await runtime.runPromise(Workflow.start(single, { id, input: { id } }))
    await runtime.runPromise(Workflow.result(single, id, { pollInterval: "5 millis" }))
    startLatencies.push(firstStep.get(id)! - started)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  await Effect.runPromise(Scope.close(scope, Exit.void))

  // 2. a restarted worker takes back its dead incarnation's 1000-step run
  const takeBacks: Array<number> = []
  for (let round = 0; round < 5; round++) {
    const id = `takeback-${round}`
    await runtime.runPromise(Workflow.start(long, { id, input: { id } }))
    const workflows = [{ name: long.name, version: undefined }]
    const dead = `worker:bench-w/dead-${round}/`
    const [claimed] = await runtime.runPromise(
      store.claimDue({ workflows, owner: `${dead}1`, ownerPrefix: "worker:bench-w/", incarnationPrefix: dead, leaseMs: 60_000, limit: 1 })
    )
    if (claimed?.id !== id) throw new Error(`the dead incarnation did not claim ${id}`)
    await runtime.runPromise(Effect.forEach(Array.from({ length: steps - 1 }, (_, i) => i), (i) =>
      store.checkpoint({
        id,
        owner: `${dead}1`,
        attempt: 1,
        key: `s${i}`,
        position: i + 1,
        entry: JSON.stringify({ result: { ok: true, value: i }, stepId: `s${i}` }),
        durationMs: 0,
        leaseMs: 60_000
      }), { concurrency: 16, discard: true }))
    const restarted = await Effect.runPromise(Scope.make())
    await runtime.runPromise(Layer.buildWithScope(Worker.layer({ workflows: [long], workerId: "bench-w", pollInterval: "1 hour" }), restarted))
    const built = performance.now()
    await runtime.runPromise(Workflow.result(long, id, { pollInterval: "5 millis" }))
    takeBacks.push(resumedAt.get(id)! - built)
    await Effect.runPromise(Scope.close(restarted, Exit.void))
  }
  await runtime.dispose()
  await dropTables()

  const lines = [
    "# Workers: latencies on Postgres",
    "",
    "`npm run bench` (bench/workers.ts), one process, in-process workers over one PgStore.",
    "",
    "| what | median ms | max ms | samples | goal |",
    "|---|--:|--:|--:|---|",
    `| \`Workflow.start\` → first step executing on an idle worker (woken by NOTIFY; it polls hourly) | ${fmt(median(startLatencies))} | ${fmt(Math.max(...startLatencies))} | ${startLatencies.length} | ≤ 50 ms |`,
    `| worker restarted under a dead incarnation's id: layer built → its 1000-step run's next step executing (999 replayed) | ${fmt(median(takeBacks))} | ${fmt(Math.max(...takeBacks))} | ${takeBacks.length} | ≤ 50 ms |`,
    "",
    `Measured ${new Date().toISOString()}, Node ${process.version}, Postgres at ${new URL(url).host}.`
  ]
  fs.writeFileSync(path.join(here, "workers-results.md"), lines.join("\n") + "\n")
  console.log(lines.join("\n"))
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
