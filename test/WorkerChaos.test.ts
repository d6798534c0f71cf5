/**
 * Workers across real processes, SIGKILLed and restarted at random (test/fixtures/worker-chaos.ts):
 *
 * - chaos: 200 runs of 20 steps, a third started before 8 workers come up, a third while they run, a
 *   third left `running` by a process SIGKILLed part-way through `runDurable`; the workers are SIGKILLed
 *   20 times at random moments and restarted, mostly under the same worker id. Every run completes with
 *   exactly its 20 steps stored, and every step's side effect ran once, or again only after the process
 *   executing it was killed (or, on a starved machine, lost the run's lease and said so: LeaseLost);
 *   attempts are bounded, not exact (a same-id restart takes back its own runs first, but only as many
 *   as it has free slots; other ids may take the rest once their leases expire, and those count);
 * - maxAttempts 1: runs a killed worker held end `dead` when a worker with another id takes them over,
 *   and complete when the killed worker's id comes back (a take-back is not an attempt);
 * - SIGTERM: a worker shutting down gracefully releases its unfinished runs at once (owner cleared, the
 *   attempt given back), and another worker finishes them; only the step each run had in flight may
 *   run again there.
 *
 * The side-effect log has a line "<runId> <stepKey> <pid>" per step execution, written just before the
 * step returns; a step's stored value "<stepKey>@<pid>" names the process whose execution was recorded.
 */
import { Effect, type Layer, ManagedRuntime, Option } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as readline from "node:readline"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as PgStore from "../src/layers/PgStore.js"
import * as SqliteStore from "../src/layers/SqliteStore.js"
import { type RunRecord, SnapshotStore, type StoreError, toResumeState } from "../src/SnapshotStore.js"
import * as Workflow from "../src/Workflow.js"
import type { Config, StoreConfig } from "./fixtures/worker-chaos.js"
import { keysOf, makeWorkflow, type WorkflowSpec } from "./fixtures/worker-workflows.js"
import { fixtureArgs } from "./helpers/childProcess.js"
import { freshDatabase } from "./setup/pgDatabase.js"

const fixture = path.join(import.meta.dirname, "fixtures", "worker-chaos.ts")
const pgUrl = await freshDatabase("WorkerChaos")

let dir = ""
let childArgs: ReadonlyArray<string> = []

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-resume-worker-chaos-"))
  childArgs = await fixtureArgs(fixture, dir)
}, 60_000)

/** Every child still running: a failed test leaves none behind. */
const live = new Set<ChildProcess>()

afterEach(() => {
  for (const child of live) child.kill("SIGKILL")
})

afterAll(() => {
  if (dir !== "") fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })
})

// ---------------------------------------------------------------------------------------------
// Stores

interface StoreSpec {
  readonly name: "SQLite" | "Postgres"
  /** Worker poll interval: Postgres workers are woken by NOTIFY as well, SQLite ones only poll. */
  readonly pollMs: number
  readonly fresh: (label: string) => Store
}

interface Store {
  readonly child: StoreConfig
  readonly layer: () => Layer.Layer<SnapshotStore, StoreError>
}

const postgres: StoreSpec = {
  name: "Postgres",
  pollMs: 150,
  fresh: () => ({ child: { kind: "pg", url: pgUrl }, layer: () => PgStore.layer({ url: pgUrl }) })
}

const sqlite: StoreSpec = {
  name: "SQLite",
  pollMs: 50,
  fresh: (label) => {
    const filename = path.join(dir, `${label}-${randomUUID().slice(0, 8)}.db`)
    return { child: { kind: "sqlite", filename }, layer: () => SqliteStore.layer({ filename }) }
  }
}

/** The parent's view of the store: it only starts runs and reads them, never executes a step. */
const parentOf = (store: Store) => {
  const runtime = ManagedRuntime.make(store.layer())
  const run = <A, E>(effect: Effect.Effect<A, E, SnapshotStore>) => runtime.runPromise(effect)
  const getRun = (id: string): Promise<RunRecord> =>
    run(Effect.flatMap(SnapshotStore, (s) => s.getRun(id))).then((record) => {
      if (Option.isNone(record)) throw new Error(`run ${id} is not in the store`)
      return record.value
    })
  /** The run's stored steps: key -> recorded value, in load order. */
  const storedSteps = (id: string) =>
    run(Effect.flatMap(SnapshotStore, (s) => s.load(id))).then((loaded) => {
      if (Option.isNone(loaded)) throw new Error(`run ${id} does not load`)
      return [...toResumeState(loaded.value).steps].map(([key, entry]) => {
        if (!entry.result.ok) throw new Error(`step ${key} of ${id} is recorded as a failure`)
        return [key, entry.result.value] as const
      })
    })
  /** Ids of the workflow's runs not ended yet. */
  const unfinished = (workflow: string) =>
    run(Effect.flatMap(SnapshotStore, (s) => s.list({ workflow, status: ["pending", "running"] }))).then((runs) =>
      runs.map((r) => r.id)
    )
  return { run, getRun, storedSteps, unfinished, dispose: () => runtime.dispose() }
}

type Parent = ReturnType<typeof parentOf>

// ---------------------------------------------------------------------------------------------
// Children

interface Child {
  readonly label: string
  readonly process: ChildProcess
  readonly pid: number
  /** True once the worker runs (or the durable calls are under way); false when it exited first. */
  readonly ready: Promise<boolean>
  readonly isReady: () => boolean
  /** Its word on how it stopped (a SIGTERM), or undefined when it exited without one (a SIGKILL). */
  readonly stopped: Promise<{ readonly graceful: boolean; readonly cause?: string } | undefined>
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  readonly stderr: () => string
  /** The runs whose lease this process lost (it said LeaseLost), as it reported them. */
  readonly leasesLost: () => ReadonlySet<string>
}

const startChild = (label: string, config: Config): Child => {
  const child = spawn(process.execPath, [...childArgs, JSON.stringify(config)], { stdio: ["ignore", "pipe", "pipe"] })
  live.add(child)
  let errors = ""
  child.stderr!.on("data", (chunk: Buffer) => {
    errors += chunk.toString()
  })
  let onReady: (ready: boolean) => void = () => {}
  let onStopped: (stopped: { graceful: boolean; cause?: string } | undefined) => void = () => {}
  let isReady = false
  const ready = new Promise<boolean>((resolve) => (onReady = resolve)).then((ready) => (isReady = ready))
  const stopped = new Promise<{ graceful: boolean; cause?: string } | undefined>((resolve) => (onStopped = resolve))
  readline.createInterface({ input: child.stdout! }).on("line", (line) => {
    let message: { readonly ready?: boolean; readonly stopped?: boolean; readonly graceful?: boolean; readonly cause?: string }
    try {
      message = JSON.parse(line) as typeof message
    } catch {
      errors += `stdout: ${line}\n`
      return
    }
    if (message.ready === true) onReady(true)
    else if (message.stopped === true) onStopped({ graceful: message.graceful === true, ...(message.cause === undefined ? {} : { cause: message.cause }) })
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => {
      live.delete(child)
      onReady(false)
      onStopped(undefined)
      resolve({ code, signal })
    })
  )
  // runs whose execution here ended without its last step recorded: its lease lost (LeaseLost), or a
  // checkpoint that could not be written (a StoreError: SQLite busy on a starved machine, say)
  const leasesLost = () =>
    new Set([
      ...[...errors.matchAll(/Run "([^"]+)" is no longer owned by this call/g)].map((m) => m[1]!),
      ...[...errors.matchAll(/run "([^"]+)" ended :: StoreError/g)].map((m) => m[1]!)
    ])
  return { label, process: child, pid: child.pid!, ready, isReady: () => isReady, stopped, exited, stderr: () => `${label}: ${errors}`, leasesLost }
}

/** SIGKILLs the child and waits until it is gone. */
const kill = async (child: Child) => {
  child.process.kill("SIGKILL")
  return await child.exited
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const until = async (what: string, timeoutMs: number, condition: () => boolean | Promise<boolean>, everyMs = 20) => {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await sleep(everyMs)
  }
}

interface Execution {
  readonly run: string
  readonly key: string
  readonly pid: number
}

/** The step executions of the side-effect log, in the order they happened. */
const executions = (log: string): Array<Execution> =>
  fs.existsSync(log)
    ? fs.readFileSync(log, "utf8").split("\n").filter((line) => line !== "").map((line) => {
      const [run, key, pid] = line.split(" ")
      return { run: run!, key: key!, pid: Number(pid) }
    })
    : []

/** Executions per (run, step), in order. */
const byStep = (execs: ReadonlyArray<Execution>) => {
  const steps = new Map<string, Array<number>>()
  for (const e of execs) {
    const k = `${e.run} ${e.key}`
    const pids = steps.get(k)
    if (pids === undefined) steps.set(k, [e.pid])
    else pids.push(e.pid)
  }
  return steps
}

/**
 * Each step of `ids` is stored, with the value of one of its executions; every other execution was by
 * a process stopped while it had the step in flight (`inFlight`: a process SIGKILLed at some point, or
 * one that said it lost the run's lease or could not write its checkpoint); a process runs a step again
 * only after losing the run so. Returns how many steps ran more than once.
 */
const checkSideEffects = async (
  parent: Parent,
  ids: ReadonlyArray<string>,
  keys: ReadonlyArray<string>,
  log: string,
  inFlight: (run: string, key: string, pid: number) => boolean
) => {
  const steps = byStep(executions(log))
  let repeated = 0
  const problems: Array<string> = []
  for (const id of ids) {
    const stored = await parent.storedSteps(id)
    // the stored state holds exactly the run's steps
    expect(stored.map(([key]) => key), id).toEqual(keys)
    for (const [key, value] of stored) {
      const pids = steps.get(`${id} ${key}`) ?? []
      const recorded = pids.findIndex((pid) => value === `${key}@${pid}`)
      if (recorded === -1) {
        problems.push(`${id} ${key}: stored as ${String(value)}, executions by [${pids.join(", ")}]`)
        continue
      }
      if (pids.length > 1) repeated++
      const others = pids.filter((_, i) => i !== recorded)
      // a process runs a step again only after it lost the run (and later took it back)
      const again = pids.filter((pid, i) => pids.indexOf(pid) !== i)
      if (others.some((pid) => !inFlight(id, key, pid)) || again.some((pid) => !inFlight(id, key, pid))) {
        problems.push(
          `${id} ${key}: executions by [${pids.join(", ")}], stored ${String(value)}; of the others, stopped in flight: [${
            others.filter((p) => inFlight(id, key, p)).join(", ")
          }]`
        )
      }
    }
  }
  expect(problems, problems.join("\n")).toEqual([])
  return repeated
}

const worker = (
  store: Store,
  log: string,
  workerId: string,
  workflows: ReadonlyArray<WorkflowSpec>,
  options: { readonly concurrency: number; readonly leaseMs: number; readonly pollMs: number; readonly shutdownMs?: number }
): Child =>
  startChild(workerId, { store: store.child, log, workflows, mode: "worker", workerId, ...options })

const uniqueName = (label: string) => `${label}-${randomUUID().slice(0, 8)}`

// ---------------------------------------------------------------------------------------------
// 1. Chaos

const chaos = async (storeSpec: StoreSpec) => {
  const started = performance.now()
  const store = storeSpec.fresh("chaos")
  const parent = parentOf(store)
  // Steps of 30 ms (a run of 600 ms): runs are still in flight while the kills fall, however fast the
  // machine (at 4 ms, a fast machine finished most runs before the kills and moved only 8 of them)
  const spec: WorkflowSpec = { name: uniqueName("chaos"), steps: 20, stepMs: 30, maxAttempts: 100 }
  const workflow = makeWorkflow(spec, "")
  const keys = keysOf(spec.steps)
  const log = path.join(dir, `${spec.name}.log`)
  const ids = Array.from({ length: 200 }, (_, n) => `${spec.name}-r${String(n).padStart(3, "0")}`)
  const orphaned = ids.slice(0, 67)
  const before = ids.slice(67, 134)
  const after = ids.slice(134)
  const leaseMs = 2_000
  const workerOptions = { concurrency: 8, leaseMs, pollMs: storeSpec.pollMs }
  /** Every process SIGKILLed, by pid. */
  const killed = new Set<number>()
  const workerIdOf = new Map<number, string>()
  /** Every worker process started, by pid. */
  const workers = new Map<number, Child>()
  const startRuns = (batch: ReadonlyArray<string>) =>
    parent.run(Effect.forEach(batch, (id) => Workflow.start(workflow, { id, input: { id } }), { concurrency: 8, discard: true }))
  try {
    // A third of the runs: left running by a process killed part-way through runDurable on them, their
    // leases (4 s, renewed by every checkpoint) live or expiring when the workers come up
    const orphaner = startChild("orphaner", { store: store.child, log, workflows: [spec], leaseMs: 4_000, mode: "durable", ids: orphaned })
    expect(await orphaner.ready, orphaner.stderr()).toBe(true)
    const target = 100 + Math.floor(Math.random() * 300)
    await until("the orphaner's steps", 30_000, () => executions(log).length >= target, 5)
    expect((await kill(orphaner)).signal).toBe("SIGKILL")
    killed.add(orphaner.pid)
    const left = await Promise.all(orphaned.map(parent.getRun))
    expect(left.every((r) => r.status === "running" && r.attempts === 1 && r.owner !== undefined), JSON.stringify(left[0])).toBe(true)
    const orphanedSteps = executions(log).length

    // A third: started before the workers
    await startRuns(before)
    const leasedAtStart = (await Promise.all(orphaned.map(parent.getRun))).filter((r) => r.leased).length

    // 8 workers
    const slots = Array.from({ length: 8 }, (_, i) => {
      const child = worker(store, log, `pod-${i}`, [spec], workerOptions)
      workerIdOf.set(child.pid, child.label)
      workers.set(child.pid, child)
      return child
    })
    const ready = await Promise.all(slots.map((c) => c.ready))
    expect(ready, slots.map((c) => c.stderr()).join("\n")).toEqual(slots.map(() => true))

    // The last third, started while the workers run and are being killed
    const starting = (async () => {
      for (let i = 0; i < after.length; i += 6) {
        await startRuns(after.slice(i, i + 6))
        await sleep(100 + Math.random() * 150)
      }
    })()

    // 20 SIGKILLs at random moments of random busy workers (not one still starting up), each victim
    // restarted at once: mostly under its own id (it takes its runs back without counting an attempt,
    // as soon as it has free slots), every fourth under a new one (its runs wait for their leases)
    const kills: Array<{ readonly victim: string; readonly restartedAs: string; readonly atMs: number }> = []
    // A victim is a worker seen executing steps, so that each kill falls on runs in flight (on a loaded
    // machine, workers spend much of the test starting up); after a second with none, any running one.
    const busy = (): ReadonlyArray<number> => {
      const executing = new Set(executions(log).slice(-200).map((e) => e.pid))
      return slots.flatMap((child, slot) => child.isReady() && executing.has(child.pid) ? [slot] : [])
    }
    for (let k = 0; k < 20; k++) {
      await sleep(50 + Math.random() * 250)
      let running = busy()
      for (let waited = 0; running.length === 0; waited += 10) {
        await sleep(10)
        running = waited < 1_000 ? busy() : slots.flatMap((child, slot) => child.isReady() ? [slot] : [])
      }
      const slot = running[Math.floor(Math.random() * running.length)]!
      const victim = slots[slot]!
      const exit = await kill(victim)
      expect(exit.signal, victim.stderr()).toBe("SIGKILL")
      killed.add(victim.pid)
      const workerId = k % 4 === 3 ? `pod-${slot}.${k}` : victim.label
      const restarted = worker(store, log, workerId, [spec], workerOptions)
      workerIdOf.set(restarted.pid, workerId)
      workers.set(restarted.pid, restarted)
      slots[slot] = restarted
      kills.push({ victim: victim.label, restartedAs: workerId, atMs: Math.round(performance.now() - started) })
    }
    await starting
    const killsDoneMs = Math.round(performance.now() - started)

    // Every run completes
    await until("every run to end", 45_000, async () => (await parent.unfinished(spec.name)).length === 0, 250)
    const results = await parent.run(Effect.forEach(ids, (id) => Workflow.result(workflow, id).pipe(Effect.timeout("10 seconds"))))
    const doneMs = Math.round(performance.now() - started)
    for (const [i, result] of results.entries()) {
      expect(result.map((value) => value.split("@")[0]), ids[i]).toEqual(keys)
    }

    // Side effects once, or again only after a kill in flight; the stored state exactly the 20 steps.
    // A process may also lose a lease it could not renew in time (starved on a loaded machine): another
    // worker takes the run over while its step is in flight, and its checkpoint is refused (LeaseLost)
    const leasesLost = new Map<number, ReadonlySet<string>>()
    for (const [pid, child] of workers) leasesLost.set(pid, child.leasesLost())
    const lostLeases = [...leasesLost.values()].reduce((n, runs) => n + runs.size, 0)
    const warnings = [...workers.values()].reduce((n, c) => n + c.stderr().split("\n").filter((l) => l.startsWith("[WARN")).length, 0)
    const repeated = await checkSideEffects(
      parent,
      ids,
      keys,
      log,
      (run, _key, pid) => killed.has(pid) || leasesLost.get(pid)?.has(run) === true
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\nworkers: ${[...workers].map(([pid, c]) => `${pid} ${c.stderr().slice(0, 1500)}`).join("\n")}`)
    })

    const records = await Promise.all(ids.map(parent.getRun))
    for (const record of records) {
      expect(record, record.id).toMatchObject({ status: "completed", owner: undefined, leased: false })
      expect(record.attempts, record.id).toBeGreaterThanOrEqual(1)
    }
    // the orphaned runs were claimed once by runDurable, and counted again when a worker took them over
    for (const record of records.slice(0, 67)) expect(record.attempts, record.id).toBeGreaterThanOrEqual(2)
    // every extra attempt is a take-over of a run whose holder died or lost its lease: at most the
    // concurrency per kill, plus one per orphaned run and per lease lost
    const extra = records.reduce((n, r) => n + r.attempts - 1, 0)
    expect(extra).toBeLessThanOrEqual(kills.length * workerOptions.concurrency + orphaned.length + lostLeases)

    // the kills fell while runs were being executed: runs moved from a killed process to another
    const steps = byStep(executions(log))
    const movedRuns = new Set<string>()
    const execsByRun = new Map<string, Array<number>>()
    for (const e of executions(log)) {
      const pids = execsByRun.get(e.run) ?? []
      pids.push(e.pid)
      execsByRun.set(e.run, pids)
    }
    for (const [run, pids] of execsByRun) {
      if (pids.some((pid, i) => i > 0 && pid !== pids[i - 1] && killed.has(pids[i - 1]!) && !orphaned.includes(run))) movedRuns.add(run)
    }
    // victims that had executed steps (the others were killed while starting up, or idle)
    const executors = new Set(executions(log).map((e) => e.pid))
    const busyVictims = [...killed].filter((pid) => pid !== orphaner.pid && executors.has(pid)).length
    const sameIdTakeBacks = [...execsByRun.entries()].filter(([, pids]) =>
      pids.some((pid, i) => i > 0 && pid !== pids[i - 1] && killed.has(pids[i - 1]!) && workerIdOf.get(pid) === workerIdOf.get(pids[i - 1]!))
    ).length
    expect(movedRuns.size).toBeGreaterThanOrEqual(10)
    const attempts: Record<number, number> = {}
    for (const r of records) attempts[r.attempts] = (attempts[r.attempts] ?? 0) + 1
    console.log(
      `chaos on ${storeSpec.name}: orphaner killed after ${orphanedSteps} steps (${leasedAtStart} of its runs still leased when the ` +
        `workers were started); ${kills.length} kills (${kills.filter((k) => k.victim === k.restartedAs).length} restarted under the same id), ` +
        `the last at ${killsDoneMs} ms; all runs done at ${doneMs} ms; ${steps.size} steps, ${executions(log).length} executions, ` +
        `${repeated} steps executed more than once (at most ${Math.max(...[...steps.values()].map((p) => p.length))} times); ` +
        `${lostLeases} leases lost by live workers (${warnings} warnings); ${busyVictims} victims had executed steps; ` +
        `${movedRuns.size} worker runs moved after a kill, ${sameIdTakeBacks} taken back by the same id; ` +
        `attempts ${JSON.stringify(attempts)}; total ${Math.round(performance.now() - started)} ms`
    )
  } finally {
    for (const child of live) child.kill("SIGKILL")
    await parent.dispose()
  }
}

// ---------------------------------------------------------------------------------------------
// 2. maxAttempts 1

const fragileRuns = async (storeSpec: StoreSpec) => {
  const store = storeSpec.fresh("fragile")
  const parent = parentOf(store)
  // Steps of 200 ms: pod-x's runs (4 s) must outlast pod-z's start (a child process and its store; 1-3 s
  // on a loaded 2-core machine), or pod-x takes pod-z's runs as its own end (seen at 60 ms steps)
  const spec: WorkflowSpec = { name: uniqueName("fragile"), steps: 20, stepMs: 200, maxAttempts: 1 }
  const workflow = makeWorkflow(spec, "")
  const keys = keysOf(spec.steps)
  const log = path.join(dir, `${spec.name}.log`)
  const options = { concurrency: 4, leaseMs: 3_000, pollMs: storeSpec.pollMs }
  const ids = Array.from({ length: 8 }, (_, n) => `${spec.name}-r${n}`)
  const ownedBy = async (workerId: string) =>
    (await Promise.all(ids.map(parent.getRun))).filter((r) => r.owner?.startsWith(`worker:${workerId}/`)).map((r) => r.id)
  try {
    await parent.run(Effect.forEach(ids, (id) => Workflow.start(workflow, { id, input: { id } }), { discard: true }))
    // pod-x claims four runs (its concurrency), then pod-z the other four
    const x = worker(store, log, "pod-x", [spec], options)
    expect(await x.ready, x.stderr()).toBe(true)
    await until("pod-x's claims", 10_000, async () => (await ownedBy("pod-x")).length === 4)
    const z = worker(store, log, "pod-z", [spec], options)
    expect(await z.ready, z.stderr()).toBe(true)
    await until("pod-z's claims", 10_000, async () => (await ownedBy("pod-z")).length === 4)
    const xRuns = await ownedBy("pod-x")
    const zRuns = await ownedBy("pod-z")
    // both are killed mid-run, holding their runs
    await until("a step of each run", 10_000, () => new Set(executions(log).map((e) => e.run)).size === 8)
    await Promise.all([kill(x), kill(z)])
    const killed = new Set([x.pid, z.pid])
    const heldAtKill = await Promise.all(ids.map(parent.getRun))
    for (const record of heldAtKill) {
      expect(record, record.id).toMatchObject({ status: "running", attempts: 1 })
    }

    // pod-x comes back under its id: it takes its own runs back at once (while pod-z's leases, renewed
    // at the same moments, still live), not counted, and finishes them
    const x2 = worker(store, log, "pod-x", [spec], options)
    expect(await x2.ready, x2.stderr()).toBe(true)
    const oldOwners = new Set(heldAtKill.map((r) => r.owner))
    const takenBack = (r: RunRecord) =>
      r.status !== "running" || (r.owner?.startsWith("worker:pod-x/") === true && !oldOwners.has(r.owner))
    await until("pod-x's take-back", 10_000, async () => (await Promise.all(xRuns.map(parent.getRun))).every(takenBack))
    for (const record of await Promise.all(zRuns.map(parent.getRun))) {
      expect(record, `${record.id}: pod-z's lease lives on`).toMatchObject({ status: "running", leased: true, attempts: 1 })
      expect(record.owner, record.id).toMatch(/^worker:pod-z\//)
    }
    const xResults = await parent.run(Effect.forEach(xRuns, (id) => Workflow.result(workflow, id).pipe(Effect.timeout("20 seconds"))))
    expect(xResults.map((r) => r.length)).toEqual(xRuns.map(() => 20))
    // pod-z's runs, taken over by pod-x (another worker id) once their leases expired: their second attempt is past maxAttempts 1
    const deaths = await parent.run(Effect.forEach(zRuns, (id) => Effect.flip(Workflow.result(workflow, id).pipe(Effect.timeout("20 seconds")))))
    for (const [i, dead] of deaths.entries()) expect(dead, zRuns[i]).toMatchObject({ _tag: "RunDead", runId: zRuns[i], attempts: 2 })
    for (const record of await Promise.all(xRuns.map(parent.getRun))) {
      expect(record, record.id).toMatchObject({ status: "completed", attempts: 1, owner: undefined })
    }
    for (const record of await Promise.all(zRuns.map(parent.getRun))) {
      expect(record, record.id).toMatchObject({ status: "dead", attempts: 2, owner: undefined, leased: false })
    }
    await checkSideEffects(parent, xRuns, keys, log, (_run, _key, pid) => killed.has(pid))
    // a dead run's steps ran in pod-z only, each once (the last, in flight at the kill, maybe not at all)
    const execs = executions(log)
    for (const id of zRuns) {
      const mine = execs.filter((e) => e.run === id)
      expect(mine.every((e) => e.pid === z.pid), id).toBe(true)
      expect(new Set(mine.map((e) => e.key)).size, id).toBe(mine.length)
      expect(mine.length, id).toBeLessThan(20)
    }
  } finally {
    for (const child of live) child.kill("SIGKILL")
    await parent.dispose()
  }
}

// ---------------------------------------------------------------------------------------------
// 3. SIGTERM

const gracefulShutdown = async (storeSpec: StoreSpec) => {
  const store = storeSpec.fresh("sigterm")
  const parent = parentOf(store)
  const spec: WorkflowSpec = { name: uniqueName("graceful"), steps: 20, stepMs: 50 }
  const workflow = makeWorkflow(spec, "")
  const keys = keysOf(spec.steps)
  const log = path.join(dir, `${spec.name}.log`)
  // a lease far longer than the test: only a release lets another worker have the runs
  const options = { concurrency: 6, leaseMs: 120_000, pollMs: storeSpec.pollMs }
  const ids = Array.from({ length: 6 }, (_, n) => `${spec.name}-r${n}`)
  try {
    await parent.run(Effect.forEach(ids, (id) => Workflow.start(workflow, { id, input: { id } }), { discard: true }))
    const t = worker(store, log, "pod-t", [spec], { ...options, shutdownMs: 50 })
    expect(await t.ready, t.stderr()).toBe(true)
    await until("pod-t's runs under way", 10_000, () => {
      const runs = new Map<string, number>()
      for (const e of executions(log)) runs.set(e.run, (runs.get(e.run) ?? 0) + 1)
      return ids.every((id) => (runs.get(id) ?? 0) >= 2)
    })
    const held = await Promise.all(ids.map(parent.getRun))
    for (const record of held) {
      expect(record, record.id).toMatchObject({ status: "running", attempts: 1, leased: true })
      expect(record.owner, record.id).toMatch(/^worker:pod-t\//)
    }
    const stoppedAt = performance.now()
    t.process.kill("SIGTERM")
    expect(await t.stopped, t.stderr()).toEqual({ graceful: true })
    expect(await t.exited).toEqual({ code: 0, signal: null })
    const shutdownMs = Math.round(performance.now() - stoppedAt)
    const doneByT = executions(log).length
    // released: no owner, no lease, the attempt given back
    for (const record of await Promise.all(ids.map(parent.getRun))) {
      expect(record, record.id).toMatchObject({ status: "running", owner: undefined, leased: false, attempts: 0 })
    }
    expect(doneByT).toBeLessThan(ids.length * spec.steps)

    const u = worker(store, log, "pod-u", [spec], options)
    expect(await u.ready, u.stderr()).toBe(true)
    const results = await parent.run(Effect.forEach(ids, (id) => Workflow.result(workflow, id).pipe(Effect.timeout("20 seconds"))))
    expect(results.map((r) => r.length)).toEqual(ids.map(() => 20))
    for (const record of await Promise.all(ids.map(parent.getRun))) {
      expect(record, record.id).toMatchObject({ status: "completed", owner: undefined, attempts: 1 })
    }
    // Every step ran once, but for the step each run had in flight when pod-t's shutdown timeout
    // interrupted it (at least once: its side effect may be done when the interruption lands inside its
    // effect); a step whose effect returned is recorded even so (its recording is uninterruptible)
    const execs = executions(log)
    const lastOfT = new Map<string, string>()
    for (const e of execs.slice(0, doneByT)) lastOfT.set(e.run, e.key)
    const repeated = await checkSideEffects(parent, ids, keys, log, (run, key, pid) => pid === t.pid && lastOfT.get(run) === key)
    expect(repeated).toBeLessThanOrEqual(ids.length)
    expect(execs.slice(0, doneByT).every((e) => e.pid === t.pid)).toBe(true)
    expect(execs.slice(doneByT).every((e) => e.pid === u.pid)).toBe(true)
    console.log(
      `sigterm on ${storeSpec.name}: pod-t stopped in ${shutdownMs} ms after ${doneByT} step executions; pod-u ran ` +
        `${execs.length - doneByT}`
    )
  } finally {
    for (const child of live) child.kill("SIGKILL")
    await parent.dispose()
  }
}

// ---------------------------------------------------------------------------------------------

for (const storeSpec of [postgres, sqlite]) {
  describe(`workers across processes: ${storeSpec.name}`, () => {
    it("200 runs, 8 workers, 20 SIGKILLs and restarts: every run completes with its 20 steps, each run once or again after a kill in flight", {
      timeout: 90_000
    }, async () => {
      await chaos(storeSpec)
    })

    it("maxAttempts 1: a killed worker's runs end dead when another worker id takes them over, and complete when its own id takes them back", {
      timeout: 60_000
    }, async () => {
      await fragileRuns(storeSpec)
    })

    it("SIGTERM: the worker releases its unfinished runs (owner cleared, no attempt counted) and another worker finishes them", {
      timeout: 60_000
    }, async () => {
      await gracefulShutdown(storeSpec)
    })
  })
}

