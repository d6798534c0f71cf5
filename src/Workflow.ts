/**
 * Workflows and steps. A step's outcome is recorded under its key; a resumed run replays recorded
 * outcomes instead of executing the step's effect again.
 */
import { Cause, Context, Data, Effect, Exit, Option, Schema } from "effect"
import { isPrechecked, type RunContext, runStep, type StepOptions } from "./internal/stepCache.js"
import { saveOwnStep } from "./internal/trusted.js"
import { describeIssues } from "./internal/issues.js"
import * as ResumeState from "./ResumeState.js"
import * as Snapshot from "./Snapshot.js"
import { SnapshotStore, type StoreError } from "./SnapshotStore.js"
import { type EventHandler, WorkflowEvent } from "./WorkflowEvent.js"
import { RunOptionsError, type StepFailure } from "./WorkflowError.js"

export type { StepOptions } from "./internal/stepCache.js"
export { type EventHandler, WorkflowEvent } from "./WorkflowEvent.js"
export { ReplayedDefect, RunOptionsError, StepCodecError, type StepFailure, StepKeyConflictError } from "./WorkflowError.js"

// ---------------------------------------------------------------------------------------------
// Model

const TypeId: unique symbol = Symbol.for("effect-resume/Workflow")

export interface Workflow<A, E, R, I = void> {
  readonly [TypeId]: typeof TypeId
  readonly name: string
  readonly version: string | undefined
  readonly body: (input: I) => Effect.Effect<A, E, R>
}

export interface MakeOptions {
  /** Recorded in durable snapshots' metadata, so that stored runs say which definition wrote them. */
  readonly version?: string
}

/**
 * Defines a workflow. `body` is an Effect that calls `Workflow.step`, or a function of the run's `input`.
 */
export const make: {
  <A, E, R>(name: string, body: Effect.Effect<A, E, R>, options?: MakeOptions): Workflow<A, E, R>
  <A, E, R, I>(name: string, body: (input: I) => Effect.Effect<A, E, R>, options?: MakeOptions): Workflow<A, E, R, I>
} = <A, E, R, I>(
  name: string,
  body: Effect.Effect<A, E, R> | ((input: I) => Effect.Effect<A, E, R>),
  options?: MakeOptions
): Workflow<A, E, R, I> => ({
  [TypeId]: TypeId,
  name,
  version: options?.version,
  body: Effect.isEffect(body) ? () => body : body
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
  Effect.flatMap(WorkflowRun, (run) => runStep(run, id, effect, options))

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

const isJsonValue = Schema.is(Snapshot.JsonValue)

// Own keys beyond these (a "__proto__", `meta`, `warnings`, ...) leave the entry to the decoder
const entryKeys = new Set(["result", "stepId"])
const okKeys = new Set(["ok", "value", "stepId"])
const onlyKeys = (o: object, allowed: ReadonlySet<string>) => Object.getOwnPropertyNames(o).every((key) => allowed.has(key))

/**
 * The common entry, a recorded value (`{ result: { ok: true, value?, stepId? }, stepId? }` and nothing
 * else), checked without the entry decoder, which costs about as much per entry as replaying the step.
 * It accepts only what the decoder accepts; anything else (or anything that throws when read) goes to it.
 */
const isPlainOkEntry = (entry: unknown): boolean => {
  try {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry) || !onlyKeys(entry, entryKeys)) return false
    const { result, stepId } = entry as { readonly result?: unknown; readonly stepId?: unknown }
    if (!Object.hasOwn(entry, "result") || (Object.hasOwn(entry, "stepId") && typeof stepId !== "string")) return false
    if (typeof result !== "object" || result === null || Array.isArray(result) || !onlyKeys(result, okKeys)) return false
    const ok = result as { readonly ok?: unknown; readonly value?: unknown; readonly stepId?: unknown }
    if (!Object.hasOwn(ok, "ok") || ok.ok !== true || (Object.hasOwn(ok, "stepId") && typeof ok.stepId !== "string")) return false
    return !Object.hasOwn(ok, "value") || isJsonValue(ok.value)
  } catch {
    return false
  }
}

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
  if (ResumeState.isResumeState(resumeState)) {
    // a prechecked state's map was made for this run alone: it is the run's own, not copied
    return isPrechecked(resumeState)
      ? Effect.succeed(resumeState.steps as Map<string, ResumeState.ResumeStateEntry>)
      : checkedSteps(resumeState)
  }
  if (Snapshot.looksLike(resumeState)) {
    return Effect.fail(
      new RunOptionsError({
        reason: "SnapshotAsResumeState",
        message: "A WorkflowSnapshot was passed as `resumeState`. Pass it as the `snapshot` option instead, " +
          "or convert it with ResumeState.fromSnapshot."
      })
    )
  }
  return invalidResumeState(
    ResumeState.isResumeStateJson(resumeState)
      ? "`resumeState` is a serialized ResumeState: decode it with ResumeState.deserialize first."
      : "`resumeState` must be a ResumeState ({ steps: Map })."
  )
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
  onRecorded?: RunContext["onRecorded"]
): RunContext => ({
  workflowName,
  steps,
  visits: new Map(),
  retryFailed: options.retryFailed === true,
  emit: toEventHandler(options.onEvent),
  onRecorded
})

/** Runs a workflow, replaying whatever `resumeState` / `snapshot` recorded. */
export const run = <A, E, R, I>(
  workflow: Workflow<A, E, R, I>,
  ...[options = {} as RunOptions<I>]: OptionsArgs<I, RunOptions<I>>
): Effect.Effect<A, E | StepFailure | RunOptionsError, Exclude<R, WorkflowRun>> =>
  Effect.flatMap(initialSteps(options), (steps) =>
    Effect.flatten(execution(workflow, makeRun(workflow.name, steps, options), options.input as I)))

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
    Effect.map(
      execution(workflow, makeRun(workflow.name, steps, options), options.input as I),
      (result) => ({ result, resumeState: ResumeState.fromMap(steps) })
    ))

export type DurableOptions<I = void> = {
  /** The run's id in the store. Running again with the same id resumes it. */
  readonly id: string
  readonly onEvent?: EventHandler | undefined
  readonly retryFailed?: boolean | undefined
} & InputOption<I>

/** A checkpoint write failed inside a step; carried as a defect to the edge of runDurable, then failed as StoreError. */
class CheckpointFailed extends Data.TaggedError("CheckpointFailed")<{ readonly error: StoreError }> {}

/**
 * Loads the state saved under `id`, runs, checkpoints every completed step as it completes, and records
 * the run's status (`running` / `completed` / `failed`). A crashed run is resumed by calling it again.
 *
 * The status is a whole snapshot, written at the start and the end of a run; a step's checkpoint is
 * `saveStep`, one row on the SQL and memory stores, so its cost does not grow with the run.
 */
export const runDurable = <A, E, R, I>(
  workflow: Workflow<A, E, R, I>,
  options: DurableOptions<I>
): Effect.Effect<A, E | StepFailure | StoreError, Exclude<R, WorkflowRun> | SnapshotStore> =>
  Effect.gen(function*() {
    const store = yield* SnapshotStore
    const loaded = yield* store.loadResumeState(options.id)
    const steps = new Map(Option.isSome(loaded) ? loaded.value.steps : [])
    const metadata = {
      workflowId: options.id,
      workflowName: workflow.name,
      ...(workflow.version === undefined ? {} : { definitionHash: workflow.version })
    }
    const save = (status: Snapshot.ExecutionStatus) => {
      const now = new Date().toISOString()
      return store.save(
        options.id,
        ResumeState.toSnapshot(ResumeState.fromMap(steps), {
          status,
          metadata,
          now,
          ...(status === "running" ? {} : { completedAt: now })
        })
      )
    }
    yield* save("running")
    // the entry was just built by the step cache and no user code has seen it yet: saved unchecked
    const onRecorded = (key: string, entry: ResumeState.ResumeStateEntry) =>
      Effect.orDieWith(saveOwnStep(store, options.id, key, entry), (error) => new CheckpointFailed({ error }))
    const exit = yield* execution(workflow, makeRun(workflow.name, steps, options, onRecorded), options.input as I)
    if (Exit.isFailure(exit)) {
      const checkpoint = Cause.find(exit.cause, (reason) =>
        reason._tag === "Die" && reason.defect instanceof CheckpointFailed ? Option.some(reason.defect) : Option.none())
      if (Option.isSome(checkpoint)) return yield* Effect.fail(checkpoint.value.error)
      // An interrupted run stays `running`: it did not finish and will be resumed.
      if (Cause.isInterruptedOnly(exit.cause)) return yield* exit
    }
    yield* save(Exit.isSuccess(exit) ? "completed" : "failed")
    return yield* exit
  })
