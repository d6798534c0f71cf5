/**
 * Helpers shared by bench/durable.ts, bench/floors.ts and durable.ts's child processes, and the child itself:
 * `node --import tsx bench/durable-restart-child.ts '<json Job>'` prints one JSON line (the result).
 *
 * Jobs:
 * - `seed`: runs `ids` concurrently, each a workflow of `steps` trivial steps with a short lease; the
 *   last step of each prints `{"atLast": id}` and never returns. The parent SIGKILLs the process once
 *   every id reached its last step, so each run is left `running` with `steps - 1` checkpoints.
 * - `restart`: builds the store layer and calls `runDurable` on `id`; times both (module loading is
 *   not timed: every module, the drivers included, is loaded before the clock starts).
 * - `raw-steps` / `raw-row`: the raw driver's baseline in the same setting: connect/open, then one
 *   `SELECT entry FROM <steps> WHERE run_id = ? ORDER BY position` with every entry parsed, or one
 *   read of the run row.
 */
import { Effect, Exit, Layer, ManagedRuntime } from "effect"
import { createRequire } from "node:module"
import * as path from "node:path"
import * as PgStore from "../src/layers/PgStore.js"
import * as SqliteStore from "../src/layers/SqliteStore.js"
import { SnapshotStore, type SnapshotStoreService, type StoreError } from "../src/SnapshotStore.js"
import * as Workflow from "../src/Workflow.js"

// ---------------------------------------------------------------------------------------------
// The drivers, resolved from the @effect/sql packages that depend on them (as src/layers does)

export interface PgResult {
  readonly rows: Array<Record<string, unknown>>
  readonly rowCount: number | null
}
/** A query as node-pg takes it: text and parameters, or a config (`name`: a named prepared statement). */
export interface PgQuery {
  readonly name?: string
  readonly text: string
  readonly values?: ReadonlyArray<unknown>
}
export interface PgClient {
  connect(): Promise<void>
  query(text: string, params?: ReadonlyArray<unknown>): Promise<PgResult>
  query(config: PgQuery): Promise<PgResult>
  end(): Promise<void>
}
type Method = (this: unknown, ...args: Array<unknown>) => unknown
interface PgModule {
  readonly Client: (new(config: { readonly connectionString: string }) => PgClient) & {
    readonly prototype: Record<string, Method>
  }
}
export interface SqliteStatement {
  run(...params: Array<unknown>): { readonly changes: number }
  readonly reader: boolean
  all(...params: Array<unknown>): Array<Record<string, unknown>>
  readonly source: string
  readonly readonly: boolean
  readonly database: SqliteDatabase
}
export interface SqliteDatabase {
  prepare(source: string): SqliteStatement
  pragma(source: string): unknown
  exec(source: string): unknown
  close(): unknown
  readonly inTransaction: boolean
}
type SqliteConstructor = new(filename: string) => SqliteDatabase

const requireHere = createRequire(import.meta.url)
const requireFrom = (pkg: string) => createRequire(requireHere.resolve(pkg))
export const pg = requireFrom("@effect/sql-pg")("pg") as PgModule
export const Sqlite = requireFrom("@effect/sql-sqlite-node")("better-sqlite3") as SqliteConstructor

/** Opens a SQLite file as SqliteStore does: WAL journal, then the synchronous level. */
export const openSqlite = (filename: string, synchronous: "FULL" | "NORMAL"): SqliteDatabase => {
  const db = new Sqlite(filename)
  db.pragma("journal_mode = WAL")
  db.pragma(`synchronous = ${synchronous}`)
  return db
}

export const connectPg = async (url: string): Promise<PgClient> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  return client
}

// ---------------------------------------------------------------------------------------------
// Reporting

export const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** µs (or ms) with three significant figures or so: 123, 12.3, 1.23. */
export const fmt = (x: number): string => x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)

// ---------------------------------------------------------------------------------------------
// Counting the statements the store sends, by patching the drivers' prototypes while counting

export const table = "effect_resume_runs"
export const stepsTable = `${table}_steps`

/** What a statement is, from its text (the store's statements, see src/layers/SqlStore.ts). */
export const statementKind = (sql: string): string => {
  const s = sql.replace(/\s+/g, " ").trim()
  if (/^SELECT step_key, entry FROM/.test(s)) return "load: SELECT steps"
  if (/^SELECT id, workflow, .* body FROM/.test(s)) return "load: SELECT run row + body"
  if (/^SELECT id, workflow, /.test(s)) return "getRun: SELECT run row"
  if (/^INSERT INTO "\w+" AS r \(id, workflow/.test(s)) return "claim: INSERT..ON CONFLICT"
  if (/^WITH r AS \( UPDATE/.test(s)) return "checkpoint: WITH (UPDATE run) INSERT step"
  if (/^INSERT INTO "\w+_steps" \(run_id/.test(s)) return "checkpoint: INSERT step..SELECT (+ lease trigger)"
  if (/^INSERT INTO "\w+_steps" AS s \(run_id.* FOR SHARE/.test(s)) return "checkpoint: INSERT step..SELECT run FOR SHARE"
  if (/^UPDATE "\w+" SET status = /.test(s)) return "finish: UPDATE run"
  if (/^UPDATE "\w+" SET lease_until/.test(s)) return "renew: UPDATE run"
  if (/^UPDATE "\w+" SET owner = NULL/.test(s)) return "release: UPDATE run"
  return s.slice(0, 48)
}

/** A statement as sent: its text and parameters (and its name, for a named prepared statement on node-pg). */
export interface Sent {
  readonly sql: string
  readonly params: ReadonlyArray<unknown>
  readonly name?: string
}

export interface Counts {
  readonly statements: Record<string, number>
  /** The first statement of each kind, with its parameters. */
  readonly first: Record<string, Sent>
  readonly total: number
  /** SQLite: statements that wrote in autocommit (each its own transaction), plus COMMITs. */
  readonly commits: number
}

/** Counts every statement sent through `pg` and better-sqlite3 until the returned function is called. */
export const countStatements = (): () => Counts => {
  const statements = new Map<string, number>()
  const first = new Map<string, Sent>()
  let commits = 0
  const add = (sql: string, params: ReadonlyArray<unknown>, name?: string) => {
    const kind = statementKind(sql)
    statements.set(kind, (statements.get(kind) ?? 0) + 1)
    if (!first.has(kind)) first.set(kind, { sql, params: [...params], ...(name === undefined ? {} : { name }) })
  }
  const restores: Array<() => void> = []
  const patch = (proto: Record<string, Method>, name: string, before: (self: unknown, args: Array<unknown>) => void) => {
    const original = proto[name]!
    proto[name] = function(this: unknown, ...args: Array<unknown>) {
      before(this, args)
      return original.apply(this, args)
    }
    restores.push(() => {
      proto[name] = original
    })
  }
  // (text, values, callback?) or (config, callback?): the store sends named prepared statements as a config
  patch(pg.Client.prototype, "query", (_, [config, params]) => {
    if (typeof config === "string") return add(config, Array.isArray(params) ? params : [])
    const query = config as Partial<PgQuery> | null
    if (typeof query?.text === "string") {
      add(query.text, Array.isArray(query.values) ? query.values : Array.isArray(params) ? params : [], query.name)
    }
  })
  const probe = new Sqlite(":memory:")
  const statementProto = Object.getPrototypeOf(probe.prepare("SELECT 1")) as Record<string, Method>
  probe.close()
  for (const name of ["run", "all", "get", "iterate"]) {
    patch(statementProto, name, (self, params) => {
      const statement = self as SqliteStatement
      add(statement.source, params)
      if (/^\s*COMMIT/i.test(statement.source)) commits++
      else if (!statement.readonly && !statement.database.inTransaction && !/^\s*(BEGIN|SAVEPOINT)/i.test(statement.source)) commits++
    })
  }
  return () => {
    for (const restore of restores.reverse()) restore()
    const counted = Object.fromEntries(statements)
    return {
      statements: counted,
      first: Object.fromEntries(first),
      total: Object.values(counted).reduce((a, b) => a + b, 0),
      commits
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The workload: n sequential trivial steps, each returning a small object

export const keys = Array.from({ length: 10_000 }, (_, i) => `step-${i}`)

/** Steps executed (not replayed) in this process. */
export const counter = { executed: 0 }

export interface Small {
  readonly i: number
  readonly name: string
}

/** A workflow of n trivial steps; `last`, when given, is the effect of the last step. */
export const trivialWorkflow = (name: string, n: number, last?: Effect.Effect<Small>) =>
  Workflow.make(
    name,
    Effect.gen(function*() {
      let result: Small | undefined
      for (let i = 0; i < n; i++) {
        result = yield* Workflow.step(
          keys[i]!,
          last !== undefined && i === n - 1 ? last : Effect.sync(() => {
            counter.executed++
            return { i, name: "x" }
          })
        )
      }
      return result
    })
  )

export const checkResult = (n: number, value: unknown) => {
  if ((value as Small | undefined)?.i !== n - 1) throw new Error(`unexpected result ${JSON.stringify(value)}`)
}

export type StoreSpec =
  | { readonly kind: "sqlite"; readonly filename: string; readonly synchronous: "FULL" | "NORMAL" }
  | { readonly kind: "pg"; readonly url: string }

export const storeLayer = (spec: StoreSpec): Layer.Layer<SnapshotStore, StoreError> =>
  spec.kind === "sqlite"
    ? SqliteStore.layer({ filename: spec.filename, synchronous: spec.synchronous })
    : PgStore.layer({ url: spec.url })

export const restartWorkflowName = "durable-bench-restart"

// ---------------------------------------------------------------------------------------------
// The child process

export type Job =
  | { readonly job: "seed"; readonly store: StoreSpec; readonly ids: ReadonlyArray<string>; readonly steps: number }
  | { readonly job: "restart"; readonly store: StoreSpec; readonly id: string; readonly steps: number; readonly expectExecuted: number }
  | { readonly job: "raw-steps" | "raw-row"; readonly store: StoreSpec; readonly id: string }

export interface RestartResult {
  readonly buildMs: number
  readonly runMs: number
  /** Of runMs, the time inside each store method runDurable called (wall time, summed over calls). */
  readonly storeMs: Record<string, number>
  readonly executed: number
  readonly counts: Counts
}
export interface RawResult {
  readonly connectMs: number
  readonly readMs: number
  readonly rows: number
}

const say = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`)

const seed = async (job: Extract<Job, { job: "seed" }>) => {
  const runtime = ManagedRuntime.make(storeLayer(job.store))
  await runtime.runtime()
  await Promise.all(job.ids.map((id) => {
    const workflow = trivialWorkflow(
      restartWorkflowName,
      job.steps,
      Effect.zipRight(Effect.sync(() => say({ atLast: id })), Effect.never)
    )
    return runtime.runPromise(Workflow.runDurable(workflow, { id, lease: "200 millis" }))
  }))
}

/**
 * With DURABLE_BENCH_PROFILE=<dir>, the timed part of a restart (layer build and runDurable) is CPU-profiled
 * into <dir>/restart-<pid>.cpuprofile (the profiler adds its own cost to the times printed).
 */
const profiled = async <A>(what: () => Promise<A>): Promise<A> => {
  const dir = process.env["DURABLE_BENCH_PROFILE"]
  if (dir === undefined || dir === "") return what()
  const inspector = await import("node:inspector/promises")
  const fs = await import("node:fs")
  const session = new inspector.Session()
  session.connect()
  await session.post("Profiler.enable")
  await session.post("Profiler.setSamplingInterval", { interval: 100 })
  await session.post("Profiler.start")
  const result = await what()
  const { profile } = await session.post("Profiler.stop")
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, `restart-${process.pid}.cpuprofile`), JSON.stringify(profile))
  return result
}

/** The store, each method runDurable calls timed into `storeMs` (one clock read either side of a call). */
const timedStore = (store: SnapshotStoreService, storeMs: Record<string, number>): SnapshotStoreService => {
  const timed = <A, E>(name: string, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.suspend(() => {
      const t = performance.now()
      return Effect.ensuring(effect, Effect.sync(() => {
        storeMs[name] = (storeMs[name] ?? 0) + performance.now() - t
      }))
    })
  return {
    ...store,
    getRun: (id) => timed("getRun", store.getRun(id)),
    claim: (claim) => timed("claim", store.claim(claim)),
    loadSteps: (id) => timed("loadSteps", store.loadSteps(id)),
    checkpoint: (checkpoint) => timed("checkpoint", store.checkpoint(checkpoint)),
    renew: (id, owner, leaseMs) => timed("renew", store.renew(id, owner, leaseMs)),
    finish: (id, owner, status, output) => timed("finish", store.finish(id, owner, status, output)),
    release: (id, owner) => timed("release", store.release(id, owner))
  }
}

const restart = async (job: Extract<Job, { job: "restart" }>) => {
  const workflow = trivialWorkflow(restartWorkflowName, job.steps)
  const storeMs: Record<string, number> = {}
  const { counts, exit, runtime, t0, t1, t2 } = await profiled(async () => {
    const t0 = performance.now()
    const runtime = ManagedRuntime.make(
      Layer.effect(SnapshotStore, Effect.map(SnapshotStore, (store) => timedStore(store, storeMs))).pipe(
        Layer.provide(storeLayer(job.store))
      )
    )
    await runtime.runtime()
    const t1 = performance.now()
    const counted = countStatements()
    const exit = await runtime.runPromiseExit(Workflow.runDurable(workflow, { id: job.id }))
    const t2 = performance.now()
    return { counts: counted(), exit, runtime, t0, t1, t2 }
  })
  if (!Exit.isSuccess(exit)) throw new Error(`restart failed: ${JSON.stringify(exit.cause)}`)
  checkResult(job.steps, exit.value)
  if (counter.executed !== job.expectExecuted) throw new Error(`expected ${job.expectExecuted} executed steps, got ${counter.executed}`)
  // the parameters captured with each statement are of no use to the parent
  const result: RestartResult = {
    buildMs: t1 - t0,
    runMs: t2 - t1,
    storeMs,
    executed: counter.executed,
    counts: { ...counts, first: {} }
  }
  say(result)
  await runtime.dispose()
}

const raw = async (job: Extract<Job, { job: "raw-steps" | "raw-row" }>) => {
  const steps = job.job === "raw-steps"
  const sql = steps
    ? `SELECT entry FROM "${stepsTable}" WHERE run_id = ? ORDER BY position`
    : `SELECT id, workflow, version, status, owner, attempts, created_at, updated_at, completed_at, input, output FROM "${table}" WHERE id = ?`
  let result: RawResult
  if (job.store.kind === "sqlite") {
    const t0 = performance.now()
    const db = openSqlite(job.store.filename, job.store.synchronous)
    const t1 = performance.now()
    const rows = db.prepare(sql).all(job.id)
    const parsed = rows.map((row) => JSON.parse(String(steps ? row["entry"] : row["output"])) as unknown)
    const t2 = performance.now()
    result = { connectMs: t1 - t0, readMs: t2 - t1, rows: parsed.length }
    db.close()
  } else {
    const t0 = performance.now()
    const client = await connectPg(job.store.url)
    const t1 = performance.now()
    // node-pg parses json / jsonb itself (JSON.parse per row): that is the parse here
    const { rows } = await client.query(sql.replace("?", "$1"), [job.id])
    const t2 = performance.now()
    result = { connectMs: t1 - t0, readMs: t2 - t1, rows: rows.length }
    await client.end()
  }
  say(result)
}

// By name: bench/durable.ts imports this module, and bundled with it (bench/build.mjs) shares its import.meta.url
const isMain = process.argv[1] !== undefined && path.basename(process.argv[1]).startsWith("durable-restart-child.")

if (isMain) {
  // load the drivers' Effect modules now, so that no timed section includes module loading
  await import("@effect/sql-pg")
  await import("@effect/sql-sqlite-node")
  const job = JSON.parse(process.argv[2]!) as Job
  const done = job.job === "seed" ? seed(job) : job.job === "restart" ? restart(job) : raw(job)
  done.then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
      process.exit(2)
    }
  )
}
