/**
 * Workers: processes that run the runs `Workflow.start` queued, and take over runs whose process died.
 * The database coordinates them (no server of our own): a worker claims due runs in batches (on Postgres
 * with `FOR UPDATE SKIP LOCKED`, so two workers never claim one run), is woken by LISTEN/NOTIFY where
 * the store can (Postgres) and polls otherwise, and runs each claimed run under its lease with bounded
 * concurrency.
 *
 *   const WorkerLive = Worker.layer({ workflows: [onboarding, billing], concurrency: 32, workerId: "pod-7" })
 *   Layer.launch(WorkerLive.pipe(Layer.provide(PgStore.PgStoreLive)))
 */
import { Duration, Effect, Exit, Fiber, FiberSet, Layer, Queue, Schema, type Scope, Stream } from "effect"
import { hostname } from "node:os"
import { encodeOutcome } from "./internal/runOutput.js"
import { type DueRun, queueStores, SnapshotStore, StoreError } from "./SnapshotStore.js"
import * as Workflow from "./Workflow.js"
import { RunDead, RunOptionsError } from "./WorkflowError.js"

export interface WorkerOptions<R> {
  /** The workflows this worker serves: it claims only their runs, by name and version. */
  readonly workflows: ReadonlyArray<Workflow.Workflow<any, any, R, any>>
  /**
   * Names this worker among the live ones (a pod name, say): it must be unique among them. A worker
   * restarted under the same id takes back the runs its previous incarnation held at once, without
   * waiting for their leases. Default: `<hostname>-<pid>`.
   */
  readonly workerId?: string
  /** Runs executing at once. Default 16. */
  readonly concurrency?: number
  /** Each claimed run's lease (renewed by its checkpoints and a heartbeat). Default 30 seconds. */
  readonly lease?: Duration.DurationInput
  /** How often to look for due runs when nothing woke the worker. Default 1 second. */
  readonly pollInterval?: Duration.DurationInput
  /** Claims after a crash or an expired lease before a run is marked `dead`, unless its workflow says. Default 10. */
  readonly maxAttempts?: number
  /** On shutdown, how long runs in flight may take to finish before they are interrupted and released. Default 10 seconds. */
  readonly shutdownTimeout?: Duration.DurationInput
}

const key = (name: string, version: string | undefined) => JSON.stringify([name, version ?? null])

const invalid = (message: string) => new StoreError({ reason: "InvalidOption", message })

/** Runs the worker until the scope closes; then stops claiming, lets runs in flight finish (up to `shutdownTimeout`), and releases the rest. */
export const make = <R>(options: WorkerOptions<R>): Effect.Effect<void, StoreError, SnapshotStore | Exclude<R, Workflow.WorkflowRun> | Scope.Scope> =>
  Effect.gen(function*() {
    const store = yield* SnapshotStore
    if (!store.queues) {
      return yield* Effect.fail(
        new StoreError({
          reason: "Unsupported",
          message: `Workers need a store with run queues: the ${queueStores}.`
        })
      )
    }
    const concurrency = options.concurrency ?? 16
    const maxAttempts = options.maxAttempts ?? 10
    if (!Number.isInteger(concurrency) || concurrency < 1) return yield* Effect.fail(invalid(`concurrency must be a positive integer, got ${concurrency}`))
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) return yield* Effect.fail(invalid(`maxAttempts must be a positive integer, got ${maxAttempts}`))
    const served = new Map<string, Workflow.Workflow<any, any, R, any>>()
    for (const workflow of options.workflows) {
      const k = key(workflow.name, workflow.version)
      if (served.has(k)) return yield* Effect.fail(invalid(`workflow "${workflow.name}" (version ${workflow.version ?? "none"}) is registered twice`))
      served.set(k, workflow)
    }
    const leaseMs = Duration.toMillis(Duration.decode(options.lease ?? Workflow.defaultLease))
    const pollInterval = Duration.decode(options.pollInterval ?? Duration.seconds(1))
    const workerId = options.workerId ?? `${hostname()}-${process.pid}`
    // Owner tokens: `worker:<id>/<incarnation>/<claim>`. The worker id part lets a restarted worker take
    // back its dead incarnation's runs; the claim part is new for every claim, so that an execution that
    // lost its run (to a twin with the same id, say) never passes the fence again when it comes back here.
    const ownerPrefix = `worker:${workerId}/`
    const incarnationPrefix = `${ownerPrefix}${crypto.randomUUID()}/`
    let claims = 0
    const workflows = options.workflows.map((w) => ({ name: w.name, version: w.version }))

    const running = yield* FiberSet.make()
    let inFlight = 0
    const wake = yield* Queue.sliding<void>(1)

    const execute = (due: DueRun, owner: string): Effect.Effect<void, never, Exclude<R, Workflow.WorkflowRun>> => {
      const workflow = served.get(key(due.workflow, due.version))!
      const limit = workflow.options.maxAttempts ?? maxAttempts
      if (due.attempts > limit) {
        // a crash loop: left for inspection, `Workflow.retry` revives it
        const dead = new RunDead({ runId: due.id, attempts: due.attempts, message: `Run "${due.id}" crashed ${due.attempts - 1} times` })
        return Effect.ignore(store.finish(due.id, owner, "dead", encodeOutcome(workflow.name, {}, Exit.fail(dead))))
      }
      const input = workflow.options.input === undefined
        ? Effect.succeed(due.input)
        : Effect.mapError(
          Schema.decodeUnknown(workflow.options.input)(due.input),
          (error) => new RunOptionsError({ reason: "InvalidInput", message: `Run "${due.id}": its stored input does not decode: ${error.message}` })
        )
      return input.pipe(
        Effect.matchCauseEffect({
          // an input the workflow cannot read: the run fails (recorded), it cannot succeed on any worker
          onFailure: (cause) => Effect.ignore(store.finish(due.id, owner, "failed", encodeOutcome(workflow.name, {}, Exit.failCause(cause)))),
          onSuccess: (input) =>
            Workflow.executeClaimed(workflow, {
              id: due.id,
              owner,
              attempt: due.attempts,
              leaseMs,
              existed: true,
              input,
              retryFailed: due.retryFailed
            }).pipe(
              Effect.provideService(SnapshotStore, store),
              // the run's own failure is recorded in the store; lost leases and store errors leave it to the next claim
              Effect.catchAllCause((cause) => Effect.logDebug(`effect-resume worker: run "${due.id}" ended`, cause))
            )
        })
      ) as Effect.Effect<void, never, Exclude<R, Workflow.WorkflowRun>>
    }

    // A claim and the start of its runs are one uninterruptible piece: a shutdown never leaves a run
    // claimed (leased) but not running, to wait out its lease
    const claimBatch = (free: number) =>
      Effect.uninterruptibleMask((restore) => Effect.gen(function*() {
        const owner = `${incarnationPrefix}${++claims}`
        const due = yield* store.claimDue({ workflows, owner, ownerPrefix, incarnationPrefix, leaseMs, limit: free }).pipe(
          Effect.catchAll((error) => Effect.as(Effect.logWarning("effect-resume worker: claiming due runs failed", error), []))
        )
        for (const run of due) {
          inFlight++
          // the run itself stays interruptible (shutdown interrupts it, and its lease is released)
          yield* FiberSet.run(
            running,
            Effect.ensuring(restore(execute(run, owner)), Effect.sync(() => {
              inFlight--
              wake.unsafeOffer(undefined)
            }))
          )
        }
        return due.length
      }))

    const claimLoop = Effect.gen(function*() {
      while (true) {
        const free = concurrency - inFlight
        // a full batch: more may be due at once
        if (free > 0 && (yield* claimBatch(free)) === free) continue
        yield* Effect.raceFirst(Queue.take(wake), Effect.sleep(pollInterval))
      }
    })

    yield* Effect.forkScoped(Stream.runForEach(store.wakeups, () => Queue.offer(wake, undefined)))
    const loop = yield* Effect.forkScoped(claimLoop)
    // Shutdown, in order: stop claiming; let runs in flight finish; interrupt (and so release) the rest
    yield* Effect.addFinalizer(() =>
      Fiber.interrupt(loop).pipe(
        // finalizers run uninterruptibly: the wait must be made interruptible for the timeout to end it
        Effect.zipRight(
          FiberSet.awaitEmpty(running).pipe(Effect.interruptible, Effect.timeoutOption(options.shutdownTimeout ?? Duration.seconds(10)))
        ),
        Effect.zipRight(FiberSet.clear(running))
      )
    )
  })

/** The worker as a Layer: it runs while the layer's scope is open. */
export const layer = <R>(options: WorkerOptions<R>): Layer.Layer<never, StoreError, SnapshotStore | Exclude<R, Workflow.WorkflowRun>> =>
  Layer.scopedDiscard(make(options))
