/**
 * `Workflow.runDurable` across real processes, on a SQLite file and on Postgres:
 *
 * - race: 2 and then 8 processes start one run at the same instant: every step's side effect happens
 *   once, one process reports the result, the others `RunLocked` (or, with `onLocked: "wait"`, the same result);
 * - fencing: an owner frozen (SIGSTOP) past its lease loses the run to another process, and once thawed
 *   its next write is refused with `LeaseLost`: nothing it does after losing the lease lands;
 * - kills: 100 SIGKILLs per store at random points, then each run to completion: a step whose
 *   checkpoint committed never runs again, a step runs twice only when it was in flight at a kill;
 * - connections (Postgres): the store's connections terminated by the server mid-run.
 *
 * The children run test/fixtures/durable-run.ts, bundled once (see test/helpers/childProcess.ts: under
 * tsx the 220 children of the kill test alone would last minutes on a 2-CPU machine).
 * EFFECT_RESUME_CHILD_TSX=1 runs the fixture through tsx instead.
 */
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Either, Fiber, type Layer, Logger, LogLevel, Option, Redacted } from "effect"
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
import type { Config } from "./fixtures/durable-run.js"
import { fixtureArgs } from "./helpers/childProcess.js"
import { freshDatabase } from "./setup/pgDatabase.js"

const fixture = path.join(import.meta.dirname, "fixtures", "durable-run.ts")
const pgUrl = await freshDatabase("DurableProcesses")

let dir = ""
let childArgs: ReadonlyArray<string> = []

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-resume-durable-processes-"))
  childArgs = await fixtureArgs(fixture, dir)
}, 60_000)

/** Every child still running: a failed test leaves none behind. */
const live = new Set<ChildProcess>()

afterEach(() => {
  for (const child of live) {
    child.kill("SIGCONT")
    child.kill("SIGKILL")
  }
})

afterAll(() => {
  if (dir !== "") fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 })
})

// ---------------------------------------------------------------------------------------------
// Stores

interface StoreSpec {
  readonly name: "SQLite" | "Postgres"
  /** A new store for one test: its own SQLite file, or the file's Postgres database. */
  readonly fresh: (label: string) => Store
}

interface Store {
  readonly child: Config["store"]
  readonly layer: () => Layer.Layer<SnapshotStore, StoreError>
  readonly raw: () => Layer.Layer<SqlClient.SqlClient, unknown>
}

const sqlite: StoreSpec = {
  name: "SQLite",
  fresh: (label) => {
    const filename = path.join(dir, `${label}-${randomUUID().slice(0, 8)}.db`)
    return {
      child: { kind: "sqlite", filename },
      layer: () => SqliteStore.layer({ filename }),
      raw: () => SqliteClient.layer({ filename })
    }
  }
}

const postgres: StoreSpec = {
  name: "Postgres",
  fresh: () => ({
    child: { kind: "pg", url: pgUrl },
    layer: () => PgStore.layer({ url: pgUrl }),
    raw: () => PgClient.layer({ url: Redacted.make(pgUrl), maxConnections: 2, applicationName: "durable-processes-test" })
  })
}

const withStore = <A, E>(store: Store, effect: Effect.Effect<A, E, SnapshotStore>): Promise<A> =>
  Effect.runPromise(Effect.provide(effect, store.layer()))

const getRun = (store: Store, id: string): Promise<RunRecord> =>
  withStore(store, Effect.flatMap(SnapshotStore, (s) => s.getRun(id))).then((run) => {
    if (Option.isNone(run)) throw new Error(`run ${id} is not in the store`)
    return run.value
  })

/** What `load` shows of the run's steps: key -> recorded value, in load order. */
const storedSteps = (store: Store, id: string): Promise<Array<readonly [string, unknown]>> =>
  withStore(store, Effect.flatMap(SnapshotStore, (s) => s.load(id))).then((loaded) => {
    if (Option.isNone(loaded)) throw new Error(`run ${id} does not load`)
    return [...toResumeState(loaded.value).steps].map(([key, entry]) => {
      if (!entry.result.ok) throw new Error(`step ${key} of ${id} is recorded as a failure`)
      return [key, entry.result.value] as const
    })
  })

interface StepRow {
  readonly step_key: string
  readonly owner: string | null
  readonly attempt: number
  readonly entry: unknown
}

/** The step rows as the SQL store wrote them (owner and attempt of the writer), in position order. */
const stepRows = (store: Store, id: string): Promise<ReadonlyArray<StepRow>> =>
  Effect.runPromise(
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql<StepRow>`SELECT step_key, owner, attempt, entry FROM ${sql("effect_resume_runs_steps")}
        WHERE run_id = ${id} ORDER BY position`).pipe(
        Effect.map((rows) =>
          rows.map((row) => ({
            ...row,
            attempt: Number(row.attempt),
            entry: typeof row.entry === "string" ? JSON.parse(row.entry) as unknown : row.entry
          }))
        ),
        Effect.provide(store.raw()),
        Effect.orDie
      )
  )

// ---------------------------------------------------------------------------------------------
// Children

type Outcome =
  | { readonly ok: true; readonly value: ReadonlyArray<string> }
  | { readonly ok: false; readonly tag: string; readonly reason?: string; readonly message?: string }

interface Child {
  readonly label: string
  readonly process: ChildProcess
  /** True once the child opened its store (false when it exited first). */
  readonly ready: Promise<boolean>
  /** True once the child claimed the run and its workflow body started (false when it exited first). */
  readonly started: Promise<boolean>
  /** The run's outcome, or undefined when the child exited without one. */
  readonly outcome: Promise<Outcome | undefined>
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  /** Whether the outcome line has been read. */
  readonly done: () => boolean
  readonly stderr: () => string
  /** Starts a child waiting on `waitGo`. */
  readonly go: () => void
}

const stepKey = (i: number) => `s${String(i).padStart(2, "0")}`
const keysOf = (steps: number) => Array.from({ length: steps }, (_, i) => stepKey(i + 1))

const startChild = (config: Config): Child => {
  const child = spawn(process.execPath, [...childArgs, JSON.stringify(config)], { stdio: ["pipe", "pipe", "pipe"] })
  live.add(child)
  let errors = ""
  child.stderr!.on("data", (chunk: Buffer) => {
    errors += chunk.toString()
  })
  // the stdin of a killed child is a broken pipe
  child.stdin!.on("error", () => {})
  let onReady: (ready: boolean) => void = () => {}
  let onStarted: (started: boolean) => void = () => {}
  let onOutcome: (outcome: Outcome | undefined) => void = () => {}
  const ready = new Promise<boolean>((resolve) => (onReady = resolve))
  const started = new Promise<boolean>((resolve) => (onStarted = resolve))
  const outcome = new Promise<Outcome | undefined>((resolve) => (onOutcome = resolve))
  let done = false
  readline.createInterface({ input: child.stdout! }).on("line", (line) => {
    let message: { readonly ready?: boolean; readonly started?: boolean; readonly ok?: boolean }
    try {
      message = JSON.parse(line) as typeof message
    } catch {
      errors += `stdout: ${line}\n`
      return
    }
    if (message.ready === true) onReady(true)
    else if (message.started === true) onStarted(true)
    else if (typeof message.ok === "boolean") {
      done = true
      onOutcome(message as Outcome)
    }
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => {
      live.delete(child)
      onReady(false)
      onStarted(false)
      onOutcome(undefined)
      resolve({ code, signal })
    })
  )
  return {
    label: config.label,
    process: child,
    ready,
    started,
    outcome,
    exited,
    done: () => done,
    stderr: () => errors,
    go: () => {
      child.stdin!.write("go\n")
    }
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const waitForFile = async (file: string, timeoutMs: number) => {
  const until = Date.now() + timeoutMs
  while (!fs.existsSync(file)) {
    if (Date.now() > until) throw new Error(`${file} did not appear within ${timeoutMs} ms`)
    await sleep(2)
  }
}

/** The lines of a side-effect log: executions "<key> <label>", and "committed <key> <label>". */
const journal = (file: string) => {
  const lines = fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter((line) => line !== "") : []
  const execs: Array<{ readonly key: string; readonly label: string; readonly at: number }> = []
  const commits: Array<{ readonly key: string; readonly label: string; readonly at: number }> = []
  lines.forEach((line, at) => {
    const words = line.split(" ")
    if (words[0] === "committed") commits.push({ key: words[1]!, label: words[2]!, at })
    else execs.push({ key: words[0]!, label: words[1]!, at })
  })
  return { lines, execs, commits }
}

const countBy = <A>(items: ReadonlyArray<A>, f: (a: A) => string): Record<string, number> => {
  const counts: Record<string, number> = {}
  for (const item of items) counts[f(item)] = (counts[f(item)] ?? 0) + 1
  return counts
}

const uniqueId = (label: string) => `${label}-${randomUUID().slice(0, 8)}`

const describeChildren = (children: ReadonlyArray<Child>) =>
  children.map((c) => `${c.label}: ${c.stderr().slice(0, 2000)}`).filter((text) => !text.endsWith(": ")).join("\n")

// ---------------------------------------------------------------------------------------------
// 1. Races

const race = async (store: Store, n: number, onLocked: "fail" | "wait") => {
  const steps = 5
  const keys = keysOf(steps)
  const id = uniqueId(`race-${n}-${onLocked}`)
  const log = path.join(dir, `${id}.log`)
  const children = Array.from({ length: n }, (_, i) =>
    startChild({
      store: store.child,
      id,
      label: `c${i}`,
      steps,
      // long enough that the run outlasts every loser's first look, even on a loaded machine
      stepMs: 80,
      log,
      waitGo: true,
      ...(onLocked === "wait" ? { onLocked } : {})
    }))
  try {
    // every child has its store open, then all are let go at once
    const ready = await Promise.all(children.map((c) => c.ready))
    expect(ready, describeChildren(children)).toEqual(children.map(() => true))
    for (const c of children) c.go()
    const outcomes = await Promise.all(children.map((c) => c.outcome))
    const exits = await Promise.all(children.map((c) => c.exited))
    expect(exits.map((e) => e.code), describeChildren(children)).toEqual(children.map(() => 0))

    // every step's side effect happened exactly once, all in one process
    const { execs } = journal(log)
    expect(countBy(execs, (e) => e.key)).toEqual(Object.fromEntries(keys.map((k) => [k, 1])))
    const executors = [...new Set(execs.map((e) => e.label))]
    expect(executors).toHaveLength(1)
    const result = keys.map((k) => `${k}@${executors[0]}`)

    const winners = outcomes.filter((o) => o?.ok === true)
    if (onLocked === "fail") {
      expect(winners).toEqual([{ ok: true, value: result }])
      // the one that reported the result is the one that executed the steps
      expect(children[outcomes.findIndex((o) => o?.ok === true)]!.label).toBe(executors[0])
      expect(outcomes.filter((o) => o?.ok !== true).map((o) => o?.ok === false ? o.tag : o)).toEqual(
        Array.from({ length: n - 1 }, () => "RunLocked")
      )
    } else {
      expect(outcomes).toEqual(children.map(() => ({ ok: true, value: result })))
    }

    // claimed once: the losers never took the run over
    const run = await getRun(store, id)
    expect(run).toMatchObject({ status: "completed", attempts: 1, leased: false, output: { ok: true, value: result } })
    expect(await storedSteps(store, id)).toEqual(keys.map((k) => [k, `${k}@${executors[0]}`]))
  } finally {
    for (const c of children) c.process.kill("SIGKILL")
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Fencing

const fencing = async (store: Store) => {
  const id = uniqueId("fencing")
  const log = path.join(dir, `${id}.log`)
  const signal = path.join(dir, `${id}.held`)
  const keys = keysOf(5)
  const leaseMs = 2_000
  // A blocks in step 3 (steps 1 and 2 checkpointed), holding no statement open: it is frozen there
  const a = startChild({
    store: store.child,
    id,
    label: "A",
    steps: 5,
    stepMs: 30,
    lease: `${leaseMs} millis`,
    log,
    hold: { key: "s03", signal, ms: 3_000 }
  })
  let b: Child | undefined
  try {
    await waitForFile(signal, 60_000)
    a.process.kill("SIGSTOP")
    const held = await getRun(store, id)
    expect(held).toMatchObject({ status: "running", attempts: 1, leased: true })
    const ownerA = held.owner!
    expect(ownerA).toBeTypeOf("string")

    // A's heartbeat is frozen too: its lease runs out on the store's clock
    await sleep(leaseMs + 600)
    expect(await getRun(store, id)).toMatchObject({ status: "running", leased: false })

    b = startChild({ store: store.child, id, label: "B", steps: 5, stepMs: 30, log, onLocked: "wait" })
    const result = ["s01@A", "s02@A", "s03@B", "s04@B", "s05@B"]
    expect(await b.outcome, b.stderr()).toEqual({ ok: true, value: result })
    const afterB = await stepRows(store, id)

    // A wakes up: it finishes step 3 (its side effect happens: at least once), and its checkpoint is refused
    a.process.kill("SIGCONT")
    const outcomeA = await a.outcome
    expect(outcomeA, a.stderr()).toMatchObject({ ok: false, tag: "LeaseLost" })
    expect((await a.exited).code).toBe(0)

    // nothing A did after losing the lease landed
    const rows = await stepRows(store, id)
    expect(rows).toEqual(afterB)
    expect(rows.map((r) => r.step_key)).toEqual(keys)
    // steps 1-2 are A's (attempt 1), 3-5 B's (attempt 2, another owner token)
    const ownerB = rows[2]!.owner
    expect(ownerB).toBeTypeOf("string")
    expect(ownerB).not.toBe(ownerA)
    expect(rows.map((r) => [r.step_key, r.owner, r.attempt, r.entry])).toEqual(
      keys.map((k, i) => [k, i < 2 ? ownerA : ownerB, i < 2 ? 1 : 2, expect.objectContaining({ result: { ok: true, value: result[i] } })])
    )
    expect(await storedSteps(store, id)).toEqual(keys.map((k, i) => [k, result[i]]))
    expect(await getRun(store, id)).toMatchObject({
      status: "completed",
      attempts: 2,
      owner: undefined,
      leased: false,
      output: { ok: true, value: result }
    })

    // side effects: A's step 3 ran after it woke (so its checkpoint was tried), nothing of A after it
    const { execs } = journal(log)
    expect(countBy(execs, (e) => `${e.key} ${e.label}`)).toEqual({
      "s01 A": 1,
      "s02 A": 1,
      "s03 B": 1,
      "s03 A": 1,
      "s04 B": 1,
      "s05 B": 1
    })
  } finally {
    a.process.kill("SIGCONT")
    a.process.kill("SIGKILL")
    b?.process.kill("SIGKILL")
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Kills

interface KilledRun {
  readonly id: string
  readonly log: string
  /** Labels of the children SIGKILLed while they ran this run. */
  readonly killed: Set<string>
  killedMidRun: number
  /** The result, once a child reported it. */
  value: ReadonlyArray<string> | undefined
}

interface RunReport {
  readonly kills: number
  readonly killedMidRun: number
  /** Kills of a child that had executed a step of its own (past its claim and replay). */
  readonly killedWhileStepping: number
  readonly reExecuted: number
}

const killSteps = 20

const killConfig = (store: Store, run: KilledRun, label: string): Config => ({
  store: store.child,
  id: run.id,
  label,
  steps: killSteps,
  stepMs: 4,
  lease: "200 millis",
  onLocked: "wait",
  log: run.log,
  committed: run.log
})

/** Checks a run after its kills: its result, its stored steps, and every execution of each step. */
const verifyKilledRun = async (store: Store, run: KilledRun): Promise<RunReport> => {
  const keys = keysOf(killSteps)
  const id = run.id
  const value = run.value ?? []
  const { execs, commits } = journal(run.log)
  const stored = await storedSteps(store, id)
  // the stored state holds exactly the run's 20 steps, in order, and the result is built from them
  expect(stored.map(([key]) => key), id).toEqual(keys)
  expect(value, id).toEqual(stored.map(([, v]) => v))
  expect(value.map((v) => v.split("@")[0]), id).toEqual(keys)
  expect(await getRun(store, id)).toMatchObject({ status: "completed", leased: false, output: { ok: true, value } })

  const lastExecOf = new Map<string, number>()
  for (const e of execs) lastExecOf.set(e.label, e.at)
  let reExecuted = 0
  stored.forEach(([key, recorded]) => {
    const runsOf = execs.filter((e) => e.key === key)
    expect(runsOf.length, `${id} ${key}`).toBeGreaterThanOrEqual(1)
    // the recorded value is the last execution's: nothing executed the step after it committed
    const final = runsOf.at(-1)!
    expect(recorded, `${id} ${key}`).toBe(`${key}@${final.label}`)
    // every earlier execution was in flight at a kill: its process was killed right after it, before its checkpoint
    for (const e of runsOf.slice(0, -1)) {
      reExecuted++
      expect(run.killed.has(e.label), `${id} ${key} ran in ${e.label}, which was not killed`).toBe(true)
      expect(lastExecOf.get(e.label), `${id} ${key}: ${e.label} went on after it`).toBe(e.at)
      expect(commits.some((c) => c.key === key && c.label === e.label), `${id} ${key}: ${e.label} committed it`).toBe(false)
    }
    expect(runsOf.length - 1).toBeLessThanOrEqual(run.killed.size)
    // a committed step is never executed again (a kill may fall between the commit and its log line)
    const committed = commits.filter((c) => c.key === key)
    expect(committed.length, `${id} ${key} committed twice`).toBeLessThanOrEqual(1)
    if (committed.length === 1) {
      expect(committed[0]!.label).toBe(final.label)
      expect(runsOf.every((e) => e.at < committed[0]!.at), `${id} ${key} executed after its commit`).toBe(true)
    }
  })
  return {
    kills: run.killed.size,
    killedMidRun: run.killedMidRun,
    killedWhileStepping: [...run.killed].filter((label) => lastExecOf.has(label)).length,
    reExecuted
  }
}

/**
 * One lane: children on one run, each SIGKILLed at a random moment after it opened its store, until
 * `kills` kills have landed. A run a child completed is done; the lane goes on with a new run. Every
 * run left unfinished is then run to completion.
 */
const killLane = async (
  store: Store,
  lane: number,
  kills: number,
  maxDelayMs: number,
  stopped: () => boolean
): Promise<Array<RunReport>> => {
  const runs: Array<KilledRun> = []
  const newRun = (): KilledRun => {
    const id = uniqueId(`kills-${lane}-${runs.length}`)
    const run: KilledRun = { id, log: path.join(dir, `${id}.log`), killed: new Set(), killedMidRun: 0, value: undefined }
    runs.push(run)
    return run
  }
  let run = newRun()
  let landed = 0
  for (let k = 0; landed < kills; k++) {
    if (stopped()) throw new Error(`lane ${lane} stopped: another lane failed`)
    const child = startChild(killConfig(store, run, `k${k}`))
    expect(await child.ready, child.stderr()).toBe(true)
    // most kills counted from the start of the body (claimed, recorded steps loaded), so that they fall
    // among its steps; the others from the open store, so that some fall in the claim
    if (Math.random() < 0.75) await child.started
    await sleep(Math.random() * maxDelayMs)
    const wasDone = child.done()
    child.process.kill("SIGKILL")
    const exit = await child.exited
    if (exit.signal === "SIGKILL") {
      landed++
      run.killed.add(child.label)
      if (!wasDone) run.killedMidRun++
    } else {
      expect(exit.code, child.stderr()).toBe(0)
    }
    if (child.done()) {
      const outcome = await child.outcome
      expect(outcome?.ok, JSON.stringify(outcome)).toBe(true)
      run.value = outcome?.ok === true ? outcome.value : undefined
      run = newRun()
    }
  }
  for (const unfinished of runs.filter((r) => r.value === undefined)) {
    const last = startChild(killConfig(store, unfinished, "final"))
    const outcome = await last.outcome
    expect(outcome?.ok, last.stderr()).toBe(true)
    unfinished.value = outcome?.ok === true ? outcome.value : undefined
  }
  const reports: Array<RunReport> = []
  for (const r of runs) reports.push(await verifyKilledRun(store, r))
  return reports
}

const kills = async (store: Store) => {
  const lanes = 10
  const killsPerLane = 10
  const started = performance.now()
  // a lane that fails stops the others (at their next child), and its error is the test's
  let failure: { readonly error: unknown } | undefined
  const settled = await Promise.allSettled(Array.from({ length: lanes }, (_, lane) =>
    killLane(store, lane, killsPerLane, 150, () => failure !== undefined).catch((error: unknown) => {
      failure ??= { error }
      throw error
    })))
  if (failure !== undefined) throw failure.error
  const reports = settled.flatMap((r) => r.status === "fulfilled" ? r.value : [])
  const sum = (f: (r: RunReport) => number) => reports.reduce((n, r) => n + f(r), 0)
  const total = sum((r) => r.kills)
  const midRun = sum((r) => r.killedMidRun)
  const stepping = sum((r) => r.killedWhileStepping)
  console.log(
    `kills: ${total} SIGKILLs over ${reports.length} runs (${midRun} before the child's run ended, ${stepping} after it ` +
      `executed steps of its own), ${sum((r) => r.reExecuted)} step executions repeated after a kill in flight, ` +
      `${Math.round(performance.now() - started)} ms`
  )
  expect(total).toBe(lanes * killsPerLane)
  // the kills fell inside runs, and many while steps were executing
  expect(midRun).toBeGreaterThanOrEqual(total / 2)
  expect(stepping).toBeGreaterThanOrEqual(total / 4)
}

// ---------------------------------------------------------------------------------------------

for (const spec of [sqlite, postgres]) {
  describe(`runDurable across processes: ${spec.name}`, () => {
    it("2 then 8 processes racing on one run: each step runs once, one reports the result, the others RunLocked", {
      timeout: 120_000
    }, async () => {
      const store = spec.fresh("race-fail")
      await race(store, 2, "fail")
      await race(store, 8, "fail")
    })

    it("2 then 8 processes racing with onLocked: \"wait\": each step runs once, all report the same result", {
      timeout: 120_000
    }, async () => {
      const store = spec.fresh("race-wait")
      await race(store, 2, "wait")
      await race(store, 8, "wait")
    })

    it("an owner frozen past its lease loses the run; thawed, its next write fails with LeaseLost and lands nothing", {
      timeout: 120_000
    }, async () => {
      await fencing(spec.fresh("fencing"))
    })

    it("100 SIGKILLs at random points: committed steps never run again, each run completes with exactly its steps", {
      timeout: 180_000
    }, async () => {
      await kills(spec.fresh("kills"))
    })
  })
}

// ---------------------------------------------------------------------------------------------
// 4. Connections

describe("runDurable across processes: Postgres connections", () => {
  it("the server terminates the store's connections again and again mid-run: acknowledged steps stay recorded and never run again", {
    timeout: 120_000
  }, async () => {
    const store = postgres.fresh("connections")
    const keys = keysOf(12)
    const lease = "2 seconds"
    // the store's own sessions in this database (PgStore names itself "effect-resume"), not the raw client's
    const terminate = Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql<{ terminated: boolean }>`SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
        WHERE application_name = 'effect-resume' AND pid <> pg_backend_pid() AND datname = current_database()`)
    const until = (condition: () => boolean) =>
      Effect.gen(function*() {
        while (!condition()) yield* Effect.sleep(2)
      }).pipe(Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("timed out") }), Effect.orDie)

    const round = async (n: number) => {
      const id = uniqueId(`terminate-${n}`)
      const executed: Array<string> = []
      const workflow = Workflow.make(
        "pg-terminate",
        Effect.forEach(keys, (key) =>
          Workflow.step(
            key,
            Effect.sleep(50).pipe(Effect.zipRight(Effect.sync(() => {
              executed.push(key)
              return `${key}!`
            })))
          ))
      )
      // acknowledged: StepComplete (not replayed) comes once the step's checkpoint has committed
      const acknowledged: Array<string> = []
      const onEvent: Workflow.EventHandler = (event) => {
        if (event._tag === "StepComplete" && !event.cached) acknowledged.push(event.stepKey)
      }
      const first = await Effect.runPromise(
        Effect.gen(function*() {
          const fiber = yield* Effect.fork(Effect.either(Workflow.runDurable(workflow, { id, lease, onEvent })))
          yield* until(() => acknowledged.length >= 2)
          // every few milliseconds until the run ends: idle sessions, and sooner or later one mid-statement
          let terminated = 0
          while (Option.isNone(yield* Fiber.poll(fiber))) {
            terminated += (yield* terminate).length
            yield* Effect.sleep(5 + Math.random() * 25)
          }
          return { result: yield* Fiber.join(fiber), terminated }
        }).pipe(
          Effect.provide(store.layer()),
          Effect.provide(store.raw()),
          Effect.orDie,
          // the heartbeat's failed renewals are logged as warnings
          Logger.withMinimumLogLevel(LogLevel.Error)
        )
      )
      expect(first.terminated).toBeGreaterThanOrEqual(1)
      if (Either.isLeft(first.result)) {
        // a typed StoreError, reason "Connection"
        expect(first.result.left).toMatchObject({ _tag: "StoreError", reason: "Connection" })
      } else {
        expect(first.result.right).toEqual(keys.map((k) => `${k}!`))
      }

      // every acknowledged step is in the store
      const recorded = new Map(await storedSteps(store, id))
      for (const key of acknowledged) expect(recorded.get(key), key).toBe(`${key}!`)

      // a new call (after the lease of a failed first call) completes the run, executing no recorded step again
      const before = executed.length
      const again = await withStore(store, Workflow.runDurable(workflow, { id, lease, onLocked: "wait" }))
      expect(again).toEqual(keys.map((k) => `${k}!`))
      const reRun = executed.slice(before)
      expect(reRun.filter((key) => acknowledged.includes(key))).toEqual([])
      expect(reRun.filter((key) => recorded.has(key))).toEqual([])
      expect(new Set([...recorded.keys(), ...reRun])).toEqual(new Set(keys))
      expect(await getRun(store, id)).toMatchObject({ status: "completed", leased: false })
      return `${first.terminated} sessions terminated, first call ${
        Either.isRight(first.result)
          ? "completed"
          : `failed (${first.result.left._tag} ${"reason" in first.result.left ? first.result.left.reason : ""})`
      } after ${acknowledged.length} acknowledged steps, the next executed ${reRun.length}`
    }
    const reports: Array<string> = []
    for (let n = 0; n < 3; n++) reports.push(await round(n))
    console.log(`connections:\n  ${reports.join("\n  ")}`)
  })
})
