/**
 * Workflows and steps. A step's outcome is recorded under its key; a resumed run replays recorded
 * outcomes instead of executing the step's effect again.
 */
import { Cause, Context, Data, Duration, Effect, Exit, Fiber, FiberId, FiberRef, Option, Runtime, Schedule, type Schema } from "effect"
import {
  isPrechecked,
  recordCheckpoint,
  recordRunEnd,
  type RunContext,
  runStep,
  type RunTelemetry,
  runTelemetry,
  type StepOptions
} from "./internal/stepCache.js"
import { takeFresh } from "./internal/freshState.js"
import { encodeInput, encodeOutcome, replayOutcome } from "./internal/runOutput.js"
import { describeIssues } from "./internal/issues.js"
import { isPlainOkEntry } from "./internal/plainEntry.js"
import { storedForm } from "./internal/stored.js"
import * as ResumeState from "./ResumeState.js"
import * as Snapshot from "./Snapshot.js"
import { fencingStores, SnapshotStore, StoreError } from "./SnapshotStore.js"
import { type EventHandler, WorkflowEvent } from "./WorkflowEvent.js"
import * as Telemetry from "./Telemetry.js"
import {
  Cancelled,
  type DurableFailure,
  LeaseLost,
  RunDead,
  RunLocked,
  RunNotFound,
  RunOptionsError,
  type StepFailure,
  VersionMismatch
} from "./WorkflowError.js"

export type { StepOptions } from "./internal/stepCache.js"
export { type EventHandler, WorkflowEvent } from "./WorkflowEvent.js"
export {
  Cancelled,
  type DurableFailure,
  LeaseLost,
  ReplayedDefect,
  RunDead,
  RunLocked,
  RunNotFound,
  RunOptionsError,
  StepCodecError,
  type StepFailure,
  StepKeyConflictError,
  VersionMismatch
} from "./WorkflowError.js"

// ---------------------------------------------------------------------------------------------
// Model

const TypeId: unique symbol = Symbol.for("effect-resume/Workflow")

export interface Workflow<A, E, R, I = void> {
  readonly [TypeId]: typeof TypeId
  readonly name: string
  readonly version: string | undefined
  readonly body: (input: I) => Effect.Effect<A, E, R>
  readonly options: MakeOptions<A, Exclude<E, StepFailure>, I>
}

export interface MakeOptions<A = any, E = any, I = any> {
  /**
   * The definition's version, recorded on every durable run (and in snapshots' metadata as
   * `definitionHash`). Resuming a run recorded under another version fails with `VersionMismatch`.
   */
  readonly version?: string
  /** What `runDurable` does with a run recorded under another version. Default "fail". */
  readonly onVersionChange?: "fail" | "continue"
  /** Encodes a durable run's input for the store; without it, the input is stored as JSON (lossy rules). */
  readonly input?: Schema.Schema<I, any>
  /** Encodes a durable run's result, so a completed run returns it decoded (Date, Option, ...). */
  readonly success?: Schema.Schema<A, any>
  /** Encodes the workflow's own typed errors, so a failed run returns an instance of its class. */
  readonly error?: Schema.Schema<E, any>
  /**
   * How many claims after a crash or an expired lease a run gets before a worker marks it `dead`
   * (default: the worker's). A step that fails is recorded and replays: such a run ends `failed`, not `dead`.
   */
  readonly maxAttempts?: number
}

/**
 * Defines a workflow. `body` is an Effect that calls `Workflow.step`, or a function of the run's `input`.
 */
export const make: {
  <A, E, R>(
    name: string,
    body: Effect.Effect<A, E, R>,
    options?: MakeOptions<NoInfer<A>, NoInfer<Exclude<E, StepFailure>>, void>
  ): Workflow<A, E, R>
  <A, E, R, I>(
    name: string,
    body: (input: I) => Effect.Effect<A, E, R>,
    options?: MakeOptions<NoInfer<A>, NoInfer<Exclude<E, StepFailure>>, NoInfer<I>>
  ): Workflow<A, E, R, I>
} = <A, E, R, I>(
  name: string,
  body: Effect.Effect<A, E, R> | ((input: I) => Effect.Effect<A, E, R>),
  options?: MakeOptions<A, Exclude<E, StepFailure>, I>
): Workflow<A, E, R, I> => ({
  [TypeId]: TypeId,
  name,
  version: options?.version,
  body: Effect.isEffect(body) ? () => body : body,
  options: options ?? {}
})

export const isWorkflow = (u: unknown): u is Workflow<unknown, unknown, unknown, unknown> =>
  typeof u === "object" && u !== null && TypeId in u

// ---------------------------------------------------------------------------------------------
// Steps

/** The service every step requires: a step can only be run inside `Workflow.run` and friends. */
export class WorkflowRun extends Context.Tag("effect-resume/WorkflowRun")<WorkflowRun, RunContext>() {}

export const step = <A, E, R>(
  id: string,
  effect: Effect.Effect<A, E, R>,
  options?: StepOptions<A, E>
): Effect.Effect<A, E | StepFailure, R | WorkflowRun> =>
  // the run read off the fiber in one step (Effect.flatMap(WorkflowRun, ...) takes three): every step pays it
  Effect.withFiberRuntime((fiber) =>
    runStep(Context.unsafeGet(fiber.getFiberRef(FiberRef.currentContext), WorkflowRun), id, effect, options)
  )

// ---------------------------------------------------------------------------------------------
// Running

/** `input` is required exactly when the workflow's body takes one. */
export type InputOption<I> = [I] extends [void] ? { readonly input?: I } : { readonly input: I }

/** The options argument may be left out only when no `input` is needed. */
type OptionsArgs<I, O> = [I] extends [void] ? [options?: O] : [options: O]

export type RunOptions<I = void> = {
  /** Resume from a `ResumeState` (from `runWithState`, a collector, or `SnapshotStore.loadResumeState`). */
  readonly resumeState?: ResumeState.ResumeState | undefined
  /** Resume from a `WorkflowSnapshot` (validated first). Do not pass both. */
  readonly snapshot?: Snapshot.WorkflowSnapshot | undefined
  /** Told of every step as it starts, completes or fails. A handler that throws is logged, never fatal. */
  readonly onEvent?: EventHandler | undefined
  /** Re-execute steps whose recorded outcome is a failure instead of replaying it. */
  readonly retryFailed?: boolean | undefined
} & InputOption<I>

const invalidResumeState = (message: string) => Effect.fail(new RunOptionsError({ reason: "InvalidResumeState", message }))

/** A ResumeState may be built by hand: its entries are checked, so a bad one is a clear error, not a crash mid-run. */
const checkedSteps = (state: ResumeState.ResumeState) => {
  for (const [key, entry] of state.steps) {
    if (typeof key === "string" && isPlainOkEntry(entry)) continue
    const decoded = typeof key === "string" ? ResumeState.decodeEntry(entry) : undefined
    if (decoded === undefined || decoded._tag === "Left") {
      return invalidResumeState(
        `\`resumeState\` entry ${JSON.stringify(String(key))} is not a ResumeStateEntry ({ result: { ok, value | error, cause } }): ${
          decoded === undefined ? "its key is not a string" : decoded.left.message
        }`
      )
    }
  }
  return Effect.succeed(new Map(state.steps))
}

const initialSteps = (options: {
  readonly resumeState?: ResumeState.ResumeState | undefined
  readonly snapshot?: Snapshot.WorkflowSnapshot | undefined
}): Effect.Effect<Map<string, ResumeState.ResumeStateEntry>, RunOptionsError> => {
  const { resumeState, snapshot } = options
  if (resumeState !== undefined && snapshot !== undefined) {
    return Effect.fail(
      new RunOptionsError({
        reason: "BothResumeStateAndSnapshot",
        message: "Pass either `resumeState` or `snapshot` to run, not both."
      })
    )
  }
  if (snapshot !== undefined) {
    const validated = Snapshot.validate(snapshot)
    if (!validated.valid) {
      return Effect.fail(
        new RunOptionsError({
          reason: "InvalidSnapshot",
          message: `The \`snapshot\` option is not a valid WorkflowSnapshot: ${
            describeIssues(validated.errors)
          }`
        })
      )
    }
    return Effect.succeed(new Map(ResumeState.fromSnapshot(validated.snapshot).steps))
  }
  if (resumeState === undefined) return Effect.succeed(new Map())
  switch (storedForm(resumeState)) {
    case "ResumeState":
      // a prechecked state's map was made for this run alone: it is the run's own, not copied
      return isPrechecked(resumeState)
        ? Effect.succeed(resumeState.steps as Map<string, ResumeState.ResumeStateEntry>)
        : checkedSteps(resumeState)
    case "WorkflowSnapshot":
      return Effect.fail(
        new RunOptionsError({
          reason: "SnapshotAsResumeState",
          message: "A WorkflowSnapshot was passed as `resumeState`. Pass it as the `snapshot` option instead, " +
            "or convert it with ResumeState.fromSnapshot."
        })
      )
    case "ResumeStateJson":
      return invalidResumeState("`resumeState` is a serialized ResumeState: decode it with ResumeState.deserialize first.")
    case undefined:
      return invalidResumeState("`resumeState` must be a ResumeState ({ steps: Map }).")
  }
}

// An observer must not change the run's outcome (nor lose its resume state): a throwing handler is logged.
const toEventHandler = (onEvent: EventHandler | undefined) =>
  onEvent === undefined ? undefined : (event: WorkflowEvent): Effect.Effect<void> =>
    Effect.suspend(() => {
      const out = onEvent(event)
      return Effect.isEffect(out) ? out : Effect.void
    }).pipe(
      Effect.catchAllDefect((defect) =>
        Effect.logWarning(`effect-resume: the onEvent handler failed on ${event._tag}; the run goes on`, defect))
    )

const execution = <A, E, R, I>(
  workflow: Workflow<A, E, R, I>,
  run: RunContext,
  input: I
): Effect.Effect<Exit.Exit<A, E | StepFailure>, never, Exclude<R, WorkflowRun>> => {
  const started = performance.now()
  const body = workflow.body(input).pipe(
    Effect.provideService(WorkflowRun, run),
    Effect.exit
  ) as Effect.Effect<Exit.Exit<A, E | StepFailure>, never, Exclude<R, WorkflowRun>>
  const emit = run.emit
  if (emit === undefined) return body
  return Effect.zipRight(
    emit(WorkflowEvent.WorkflowStart({ workflowName: workflow.name })),
    Effect.tap(body, (exit) => {
      const durationMs = performance.now() - started
      return Exit.isSuccess(exit)
        ? emit(WorkflowEvent.WorkflowComplete({ workflowName: workflow.name, durationMs }))
        : emit(WorkflowEvent.WorkflowError({ workflowName: workflow.name, durationMs, error: Cause.squash(exit.cause) }))
    })
  )
}

const makeRun = (
  workflowName: string,
  steps: Map<string, ResumeState.ResumeStateEntry>,
  options: { readonly retryFailed?: boolean | undefined; readonly onEvent?: EventHandler | undefined },
  onRecorded: RunContext["onRecorded"],
  telemetry: RunTelemetry | undefined
): RunContext => {
  if (telemetry !== undefined) telemetry.resumed = steps.size
  return {
    workflowName,
    steps,
    visits: new Map(),
    retryFailed: options.retryFailed === true,
    emit: toEventHandler(options.onEvent),
    onRecorded,
    telemetry
  }
}

// ---------------------------------------------------------------------------------------------
// Telemetry: a span per run (when a tracer is installed) and the run's metrics at its end

const runStatus = (exit: Exit.Exit<unknown, unknown>): Telemetry.RunStatus => {
  if (Exit.isSuccess(exit)) return "completed"
  if (Cause.isInterruptedOnly(exit.cause)) return "interrupted"
  const error = Cause.failureOption(exit.cause)
  if (Option.isSome(error) && error.value instanceof Cancelled) return "cancelled"
  if (Option.isSome(error) && error.value instanceof LeaseLost) return "lease_lost"
  if (Option.isSome(error) && error.value instanceof StoreError) return "store_error"
  return "failed"
}

// A plain run's execution succeeds with the run's Exit; it fails only when interrupted
const plainRunStatus = <A, E>(exit: Exit.Exit<Exit.Exit<A, E>, never>): Telemetry.RunStatus =>
  Exit.isSuccess(exit) ? runStatus(exit.value) : "interrupted"

const runSpan = (workflowName: string, id: string | undefined, attempt: number | undefined) => {
  const attributes: Record<string, unknown> = { [Telemetry.attributes.workflow]: workflowName }
  if (id !== undefined) attributes[Telemetry.attributes.runId] = id
  if (attempt !== undefined) attributes[Telemetry.attributes.attempt] = attempt
  return { attributes, captureStackTrace: false }
}

const endAttributes = (telemetry: RunTelemetry, status: Telemetry.RunStatus) => ({
  [Telemetry.attributes.resumedSteps]: telemetry.resumed,
  [Telemetry.attributes.replayedSteps]: telemetry.replayed,
  [Telemetry.attributes.executedSteps]: telemetry.executed,
  [Telemetry.attributes.status]: status
})

/** Runs `body` as one observed run: in its span when traced, its counts recorded when it ends. */
const observed = <A, E, R>(
  workflowName: string,
  id: string | undefined,
  attempt: number | undefined,
  body: (telemetry: RunTelemetry | undefined) => Effect.Effect<A, E, R>,
  statusOf: (exit: Exit.Exit<A, E>) => Telemetry.RunStatus
): Effect.Effect<A, E, R> =>
  Effect.flatMap(runTelemetry(attempt), (telemetry) => {
    if (telemetry === undefined) return body(undefined)
    if (!telemetry.traced) {
      // the counts only, synchronously, in the fewest steps of the fiber (this is every run's cost,
      // runs of one step included); uninterruptible, so an interrupted run is counted too
      return Effect.uninterruptibleMask((restore) =>
        Effect.matchCauseEffect(restore(body(telemetry)), {
          onFailure: (cause) => {
            recordRunEnd(telemetry, statusOf(Exit.failCause(cause)))
            return Effect.failCause(cause)
          },
          onSuccess: (value) => {
            recordRunEnd(telemetry, statusOf(Exit.succeed(value)))
            return Effect.succeed(value)
          }
        })
      )
    }
    const ended = Effect.onExit(body(telemetry), (exit) => {
      const status = statusOf(exit)
      return Effect.zipRight(Effect.sync(() => recordRunEnd(telemetry, status)), Effect.annotateCurrentSpan(endAttributes(telemetry, status)))
    })
    return Effect.withSpan(ended, Telemetry.runSpanName, runSpan(workflowName, id, attempt))
  })

/** A plain run: its Exit, observed. */
const plainExecution = <A, E, R, I>(
  workflow: Workflow<A, E, R, I>,
  steps: Map<string, ResumeState.ResumeStateEntry>,
  options: RunOptions<I>
) =>
  observed(
    workflow.name,
    undefined,
    undefined,
    (telemetry) => execution(workflow, makeRun(workflow.name, steps, options, undefined, telemetry), options.input as I),
    plainRunStatus
  )

/** Runs a workflow, replaying whatever `resumeState` / `snapshot` recorded. */
export const run = <A, E, R, I>(
  workflow: Workflow<A, E, R, I>,
  ...[options = {} as RunOptions<I>]: OptionsArgs<I, RunOptions<I>>
): Effect.Effect<A, E | StepFailure | RunOptionsError, Exclude<R, WorkflowRun>> =>
  Effect.flatMap(initialSteps(options), (steps) => Effect.flatten(plainExecution(workflow, steps, options)))

/** Runs a workflow and returns its outcome together with the state to resume it from. */
export const runWithState = <A, E, R, I>(
  workflow: Workflow<A, E, R, I>,
  ...[options = {} as RunOptions<I>]: OptionsArgs<I, RunOptions<I>>
): Effect.Effect<
  { readonly result: Exit.Exit<A, E | StepFailure>; readonly resumeState: ResumeState.ResumeState },
  RunOptionsError,
  Exclude<R, WorkflowRun>
> =>
  Effect.flatMap(initialSteps(options), (steps) =>
    Effect.map(plainExecution(workflow, steps, options), (result) => ({ result, resumeState: ResumeState.fromMap(steps) })))

// ---------------------------------------------------------------------------------------------
// Durable runs

export type DurableOptions<I = void> = {
  /** The run's id in the store. Running again with the same id resumes it. */
  readonly id: string
  readonly onEvent?: EventHandler | undefined
  /** Re-execute failed steps, also of a run that ended `failed`. */
  readonly retryFailed?: boolean | undefined
  /**
   * How long the run is ours without a write, on the store's clock. Checkpoints renew it (SQLite's
   * once half of it has passed), and so does a heartbeat every third of it. Default 30 seconds.
   */
  readonly lease?: Duration.DurationInput | undefined
  /** A run held by another live owner: fail at once with `RunLocked` (default), or wait for its lease. */
  readonly onLocked?: "fail" | "wait" | undefined
} & InputOption<I>

export const defaultLease = Duration.seconds(30)

// What a caller of a cancelled or dead run gets, wherever it finds out (runDurable, a fenced write, poll)
const cancelledRun = (id: string) => new Cancelled({ runId: id, message: `Run "${id}" was cancelled` })
const deadRun = (id: string, attempts: number) =>
  new RunDead({ runId: id, attempts, message: `Run "${id}" is dead after ${attempts} attempts: Workflow.retry revives it` })

/** A checkpoint that failed inside a step; carried as a defect to the edge of runDurable, then failed as its error. */
class CheckpointFailed extends Data.TaggedError("CheckpointFailed")<{ readonly error: StoreError | LeaseLost | Cancelled }> {}

const optionsError = (reason: "InvalidLease" | "WorkflowMismatch" | "InvalidInput", message: string) =>
  new RunOptionsError({ reason, message })

// The clock of the default services: a run whose fiber has it uses plain timers for its heartbeat
const liveClock = Effect.runSync(Effect.clock)

// A token per runDurable call: the process, and a random part no other call shares
const ownerToken = () => `${globalThis.process?.pid ?? 0}:${crypto.randomUUID()}`

/**
 * Runs `workflow` as the run `id` in the store, recording every step as it completes. Calling it again
 * with the same id resumes the run: recorded steps replay, the rest execute.
 *
 * - The run has one owner: the call claims it in one statement (creating it, or taking it over when it
 *   has no live owner, by a lease on the store's clock). A run held by a live owner fails with `RunLocked`
 *   (or waits, `onLocked: "wait"`).
 * - Every checkpoint is one statement, fenced by the owner and renewing the lease. An owner that lost
 *   its lease or whose run was cancelled stops at its next write with `LeaseLost` / `Cancelled`.
 * - A run that already completed (or failed) returns its recorded result (or error) from one read.
 * - The store must be able to fence (the SQL, memory and Mongo stores); a store made from the reference's
 *   five-method adapter is refused with a StoreError "Unsupported".
 */
export const runDurable = <A, E, R, I>(
  workflow: Workflow<A, E, R, I>,
  options: DurableOptions<I>
): Effect.Effect<
  A,
  E | StepFailure | StoreError | DurableFailure | RunDead | RunOptionsError,
  Exclude<R, WorkflowRun> | SnapshotStore
> =>
  Effect.gen(function*() {
    const store = yield* SnapshotStore
    if (!store.fencing) {
      return yield* Effect.fail(
        new StoreError({
          reason: "Unsupported",
          message: `runDurable needs a store that can fence a run's writes (the ${fencingStores}); ` +
            "a custom store made from the reference's five-method adapter keeps whole documents and cannot. " +
            "Use Workflow.run / runWithState with it."
        })
      )
    }
    const id = options.id
    const leaseMs = Duration.toMillis(Duration.decode(options.lease ?? defaultLease))
    if (!(leaseMs >= 1 && leaseMs <= 2_147_483_647)) {
      return yield* Effect.fail(optionsError("InvalidLease", `lease must be between 1 ms and about 24 days, got ${leaseMs} ms`))
    }
    const schemas = workflow.options
    const input = encodeInput(schemas.input, options.input, workflow.name)
    if (!input.ok) return yield* Effect.fail(optionsError("InvalidInput", input.message))
    const owner = ownerToken()
    const replayed = (output: Snapshot.StepResult) =>
      replayOutcome(workflow.name, schemas, output) as Effect.Effect<A, E | StepFailure>

    // Claim: read the record, answer from it when the run is over or locked, else claim in one statement
    let claimed: { readonly attempt: number; readonly existed: boolean } | undefined
    let wait = 10
    let races = 0
    while (claimed === undefined) {
      const existing = yield* store.getRun(id)
      if (Option.isSome(existing)) {
        const run = existing.value
        if (run.workflow !== undefined && run.workflow !== workflow.name) {
          return yield* Effect.fail(
            optionsError("WorkflowMismatch", `Run "${id}" belongs to workflow "${run.workflow}", not "${workflow.name}"`)
          )
        }
        if (run.status === "cancelled") {
          return yield* Effect.fail(cancelledRun(id))
        }
        if (run.status === "dead") {
          return yield* Effect.fail(deadRun(id, run.attempts))
        }
        if (run.output !== undefined && (run.status === "completed" || (run.status === "failed" && options.retryFailed !== true))) {
          return yield* replayed(run.output)
        }
        if (
          run.attempts > 0 && run.version !== workflow.version && schemas.onVersionChange !== "continue"
        ) {
          return yield* Effect.fail(
            new VersionMismatch({
              runId: id,
              stored: run.version ?? null,
              current: workflow.version ?? null,
              message: `Run "${id}" was recorded by version ${JSON.stringify(run.version ?? null)} of workflow "${workflow.name}", ` +
                `this is version ${JSON.stringify(workflow.version ?? null)}. Pass onVersionChange: "continue" to resume it anyway.`
            })
          )
        }
        if (run.leased) {
          if (options.onLocked !== "wait") {
            return yield* Effect.fail(new RunLocked({ runId: id, message: `Run "${id}" is held by another live owner` }))
          }
          yield* Effect.sleep(Duration.millis(wait))
          wait = Math.min(wait * 2, 1000)
          continue
        }
      }
      const attempt = yield* store.claim({
        id,
        workflow: workflow.name,
        version: workflow.version,
        owner,
        leaseMs,
        input: input.value,
        reopenFailed: options.retryFailed === true
      })
      if (Option.isSome(attempt)) {
        claimed = { attempt: attempt.value, existed: Option.isSome(existing) }
      } else {
        // Not claimed: another caller got there between the read and the claim; the next read says how
        if (++races > 100) {
          return yield* Effect.fail(new RunLocked({ runId: id, message: `Run "${id}" could not be claimed: 100 claims in a row lost a race` }))
        }
        yield* Effect.sleep(Duration.millis(races))
      }
    }
    return yield* executeClaimed(workflow, {
      id,
      owner,
      attempt: claimed.attempt,
      leaseMs,
      existed: claimed.existed,
      input: options.input as I,
      onEvent: options.onEvent,
      retryFailed: options.retryFailed
    })
  })

/** A run this process has claimed: its lease is held under `owner`. */
export interface ClaimedRun<I> {
  readonly id: string
  readonly owner: string
  readonly attempt: number
  readonly leaseMs: number
  /** Whether the run had a record before the claim (so it may have steps to replay). */
  readonly existed: boolean
  readonly input: I
  readonly onEvent?: EventHandler | undefined
  readonly retryFailed?: boolean | undefined
}

/**
 * Runs a claimed run to its end under its lease: replays its recorded steps, checkpoints each new one
 * in one fenced statement, renews the lease by heartbeat, and records the outcome. Used by runDurable
 * and by workers, which claim runs in batches.
 */
export const executeClaimed = <A, E, R, I>(
  workflow: Workflow<A, E, R, I>,
  claimed: ClaimedRun<I>
): Effect.Effect<A, E | StepFailure | StoreError | DurableFailure, Exclude<R, WorkflowRun> | SnapshotStore> =>
  observed(workflow.name, claimed.id, claimed.attempt, (telemetry) => claimedExecution(workflow, claimed, telemetry), runStatus)

const claimedExecution = <A, E, R, I>(
  workflow: Workflow<A, E, R, I>,
  claimed: ClaimedRun<I>,
  telemetry: RunTelemetry | undefined
): Effect.Effect<A, E | StepFailure | StoreError | DurableFailure, Exclude<R, WorkflowRun> | SnapshotStore> =>
  Effect.gen(function*() {
    const store = yield* SnapshotStore
    const { id, leaseMs, owner } = claimed
    const options = claimed
    const schemas = workflow.options
    const attempt = claimed.attempt

    // A checkpoint renews the lease once half of it has passed since the claim (just made) or the last
    // checkpoint that renewed it, timed from when that one was sent: its lease runs from the store's
    // clock when it executed, no earlier. The heartbeat renews it meanwhile for a step that runs long.
    let renewedAt = performance.now()
    const halfLease = leaseMs / 2

    const loaded = claimed.existed ? yield* store.loadSteps(id) : ResumeState.empty
    const steps = takeFresh(loaded) ?? new Map(loaded.steps)
    let position = steps.size

    // Set once the run can no longer write: every later checkpoint fails at once, writing nothing, and
    // the body (its own fiber) is interrupted at once
    let stopped: StoreError | LeaseLost | Cancelled | undefined
    let body: Fiber.RuntimeFiber<Exit.Exit<A, E | StepFailure>> | undefined
    const halt = (error: StoreError | LeaseLost | Cancelled) =>
      Effect.sync(() => {
        stopped ??= error
        body?.unsafeInterruptAsFork(FiberId.none)
      })
    // A fenced write matched nothing: the run was cancelled, or another owner has it
    const whyNotOurs = Effect.map(store.getRun(id), (run): LeaseLost | Cancelled =>
      Option.isSome(run) && run.value.status === "cancelled"
        ? cancelledRun(id)
        : new LeaseLost({ runId: id, message: `Run "${id}" is no longer owned by this call: its lease passed to another owner` }))
    const fenced = (write: Effect.Effect<boolean, StoreError>) =>
      Effect.flatMap(write, (ours) => ours ? Effect.void : Effect.flatMap(whyNotOurs, Effect.fail))
    // A checkpoint that failed, or matched nothing: the run stops writing, and the body dies at once
    const checkpointFailed = (error: StoreError | LeaseLost | Cancelled) =>
      Effect.zipRight(halt(error), Effect.die(new CheckpointFailed({ error })))
    const notOurs = Effect.matchEffect(whyNotOurs, { onFailure: checkpointFailed, onSuccess: checkpointFailed })

    // `fresh`: the step recorder's word that `steps` had no outcome under the key (the run's view of the store)
    const onRecorded = <V>(key: string, entry: ResumeState.ResumeStateEntry, fresh: boolean, durationMs: number, value: V): Effect.Effect<V> => {
      if (stopped !== undefined) return Effect.die(new CheckpointFailed({ error: stopped }))
      const at = fresh ? ++position : 0
      const began = performance.now()
      const renew = began - renewedAt >= halfLease
      if (renew) renewedAt = began
      // One step of the fiber per checkpoint (this runs on every step): the write, its latency, the
      // fence. It runs where the step recorder calls it, inside an uninterruptible region: the step's
      // effect has run, so its checkpoint is not cut short by an interruption (a worker's shutdown), or
      // the next owner would run the step again.
      return Effect.matchEffect(
        store.checkpoint({ id, owner, attempt, key, position: at, fresh, entry: JSON.stringify(entry), durationMs, leaseMs, renew }),
        {
          onFailure: checkpointFailed,
          onSuccess: (ours) => {
            if (telemetry !== undefined) recordCheckpoint(performance.now() - began)
            return ours ? Effect.succeed(value) : notOurs
          }
        }
      )
    }

    // The lease is renewed by checkpoints, and by a heartbeat every third of it, for a step that runs
    // long. A failed renewal (the database briefly away) is retried at the next beat; the lease
    // outlives two of them.
    const third = Duration.millis(leaseMs / 3)
    const beat = fenced(store.renew(id, owner, leaseMs)).pipe(
      Effect.catchTag("StoreError", (error) => Effect.logWarning(`effect-resume: lease renewal of run "${id}" failed`, error))
    )
    const beatEvery = (first: "now" | "later") =>
      Effect.catchAll(Effect.forever(first === "now" ? Effect.zipLeft(beat, Effect.sleep(third)) : Effect.zipRight(Effect.sleep(third), beat)), halt)
    let beating: Fiber.RuntimeFiber<void> | undefined
    let timer: ReturnType<typeof setTimeout> | undefined
    if ((yield* Effect.clock) === liveClock) {
      // Most runs end before their first beat is due, and a fiber asleep that must be interrupted costs
      // more than a short run's steps: on the live clock, a plain timer starts the heartbeat's fiber
      const runtime = yield* Effect.runtime<never>()
      timer = setTimeout(() => {
        timer = undefined
        beating = Runtime.runFork(runtime)(beatEvery("now"))
      }, leaseMs / 3)
      // (the run keeps the process alive by what it does, not by its heartbeat; unref is Node's)
      ;(timer as { unref?: () => void }).unref?.()
    } else {
      // a TestClock (or another clock) decides when the beats come
      beating = yield* Effect.forkDaemon(beatEvery("later"))
    }
    const stopHeartbeat = Effect.sync(() => {
      clearTimeout(timer)
      beating?.unsafeInterruptAsFork(FiberId.none)
    })

    // The body runs in a fiber of its own, which a halt interrupts. (Cheaper than racing the body
    // against a stop signal inside a scope: this is every run's fixed cost.)
    const running = yield* Effect.fork(
      execution(workflow, makeRun(workflow.name, steps, options, onRecorded, telemetry), options.input as I)
    )
    body = running
    const exit = yield* Fiber.await(running).pipe(
      // interrupted from outside: the body ends (a checkpoint in flight completes), and the lease is
      // given up, so a new call resumes the run at once
      Effect.onInterrupt(() => Effect.zipRight(Fiber.interrupt(running), Effect.ignore(store.release(id, owner)))),
      Effect.ensuring(stopHeartbeat)
    )
    if (stopped !== undefined) return yield* Effect.fail(stopped)
    // the body's own exit: the run's, or its interruption
    const outcome: Exit.Exit<A, E | StepFailure> = Exit.isSuccess(exit) ? exit.value : Exit.failCause(exit.cause)
    if (Exit.isFailure(outcome)) {
      const checkpoint = Cause.find(outcome.cause, (reason) =>
        reason._tag === "Die" && reason.defect instanceof CheckpointFailed ? Option.some(reason.defect) : Option.none())
      if (Option.isSome(checkpoint)) return yield* Effect.fail(checkpoint.value.error)
      // The body was interrupted: it did not finish, and will be resumed
      if (Cause.isInterruptedOnly(outcome.cause)) {
        yield* Effect.ignore(store.release(id, owner))
        return yield* outcome
      }
    }
    yield* fenced(store.finish(id, owner, Exit.isSuccess(outcome) ? "completed" : "failed", encodeOutcome(workflow.name, schemas, outcome)))
    return yield* outcome
  })

/** Marks a pending or running run `cancelled`: its owner stops at its next checkpoint. False when no such run. */
export const cancel = (id: string): Effect.Effect<boolean, StoreError, SnapshotStore> =>
  Effect.flatMap(SnapshotStore, (store) => store.cancel(id))

// ---------------------------------------------------------------------------------------------
// Queued runs: started anywhere, run by a worker (see Worker.ts)

/**
 * Creates a `pending` run of `workflow` under `id` and returns at once; a worker serving the workflow
 * (by name and version) runs it. Idempotent per id: starting an id that exists changes nothing.
 */
export const start = <A, E, R, I>(
  workflow: Workflow<A, E, R, I>,
  options: { readonly id: string } & InputOption<I>
): Effect.Effect<string, StoreError | RunOptionsError, SnapshotStore> =>
  Effect.gen(function*() {
    const store = yield* SnapshotStore
    const input = encodeInput(workflow.options.input, options.input, workflow.name)
    if (!input.ok) return yield* Effect.fail(optionsError("InvalidInput", input.message))
    yield* store.start({ id: options.id, workflow: workflow.name, version: workflow.version, input: input.value })
    return options.id
  })

/**
 * The run's outcome if it has ended: None while it is pending or running; its result, or its error
 * (typed by the workflow's Schemas), once it has. `Cancelled` / `RunDead` for a run that ended so.
 */
export const poll = <A, E, R, I>(
  workflow: Workflow<A, E, R, I>,
  id: string
): Effect.Effect<Option.Option<A>, E | StepFailure | StoreError | Cancelled | RunDead | RunNotFound, SnapshotStore> =>
  Effect.flatMap(SnapshotStore, (store) => store.getRun(id)).pipe(
    Effect.flatMap(Option.match({
      onNone: (): Effect.Effect<Option.Option<A>, E | StepFailure | Cancelled | RunDead | RunNotFound> =>
        Effect.fail(new RunNotFound({ runId: id, message: `No run is recorded under "${id}"` })),
      onSome: (run): Effect.Effect<Option.Option<A>, E | StepFailure | Cancelled | RunDead | RunNotFound> => {
        switch (run.status) {
          case "cancelled":
            return Effect.fail(cancelledRun(id))
          case "dead":
            return Effect.fail(deadRun(id, run.attempts))
          case "completed":
          case "failed":
            if (run.output !== undefined) {
              return Effect.map(replayOutcome(workflow.name, workflow.options, run.output) as Effect.Effect<A, E | StepFailure>, Option.some)
            }
        }
        return Effect.succeedNone
      }
    }))
  )

/** Waits for the run to end and returns its result (or fails with its error), as `poll` tells it. */
export const result = <A, E, R, I>(
  workflow: Workflow<A, E, R, I>,
  id: string,
  options?: { readonly pollInterval?: Duration.DurationInput }
): Effect.Effect<A, E | StepFailure | StoreError | Cancelled | RunDead | RunNotFound, SnapshotStore> =>
  poll(workflow, id).pipe(
    Effect.flatMap(Option.match({ onNone: () => Effect.fail(notYet), onSome: Effect.succeed })),
    Effect.retry({
      while: (error) => error === notYet,
      schedule: Schedule.exponential("10 millis", 1.5).pipe(
        Schedule.union(Schedule.spaced(options?.pollInterval ?? Duration.millis(500)))
      )
    })
  ) as Effect.Effect<A, E | StepFailure | StoreError | Cancelled | RunDead | RunNotFound, SnapshotStore>

// a marker, never seen outside `result`
const notYet = new RunNotFound({ runId: "", message: "the run has not ended yet" })

/**
 * Revives a run: a `dead` one goes back to `pending` with its attempts from 0; a `failed` one goes back
 * to `pending` and the worker that takes it re-executes its failed steps (as `retryFailed`) and goes on.
 * False when the run is neither.
 */
export const retry = (id: string): Effect.Effect<boolean, StoreError, SnapshotStore> =>
  Effect.flatMap(SnapshotStore, (store) => store.retry(id))
