/**
 * Workflows and steps. A step's outcome is recorded under its key; a resumed run replays recorded
 * outcomes instead of executing the step's effect again.
 */
import { Cause, Context, Data, Effect, Exit, Option, Schema } from "effect"
import { codecFor } from "./internal/codec.js"
import { toJson, type JsonCopy } from "./internal/json.js"
import * as ResumeState from "./ResumeState.js"
import * as Snapshot from "./Snapshot.js"
import { SnapshotStore, StoreError } from "./SnapshotStore.js"

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
// Events

interface StepFields {
  readonly workflowName: string
  readonly stepId: string
  readonly stepKey: string
}

export type WorkflowEvent = Data.TaggedEnum<{
  WorkflowStart: { readonly workflowName: string }
  StepStart: StepFields
  /** `cached: true` when the value was replayed from the resume state instead of executed. */
  StepComplete: StepFields & {
    readonly cached: boolean
    readonly durationMs: number
    readonly entry: ResumeState.ResumeStateEntry
  }
  /** `entry` is undefined when the failure was not recorded (interruption, or an error its Schema cannot encode). */
  StepError: StepFields & {
    readonly cached: boolean
    readonly durationMs: number
    readonly error: unknown
    readonly entry: ResumeState.ResumeStateEntry | undefined
  }
  WorkflowComplete: { readonly workflowName: string; readonly durationMs: number }
  WorkflowError: { readonly workflowName: string; readonly durationMs: number; readonly error: unknown }
}>
export const WorkflowEvent = Data.taggedEnum<WorkflowEvent>()

export type EventHandler = (event: WorkflowEvent) => void | Effect.Effect<void>

// ---------------------------------------------------------------------------------------------
// Errors

/** Bad arguments to `run`: both resume sources at once, or a value of the wrong shape. */
export class RunOptionsError extends Schema.TaggedError<RunOptionsError>()("RunOptionsError", {
  reason: Schema.Literal("BothResumeStateAndSnapshot", "SnapshotAsResumeState", "InvalidResumeState", "InvalidSnapshot"),
  message: Schema.String
}) {}

/**
 * Two steps claimed one cache key. `DuplicateKey`: two different steps in this run.
 * `Divergence`: the recorded outcome under this key was written by another step (the code changed).
 */
export class StepKeyConflictError extends Schema.TaggedError<StepKeyConflictError>()("StepKeyConflictError", {
  reason: Schema.Literal("DuplicateKey", "Divergence"),
  stepId: Schema.String,
  stepKey: Schema.String,
  otherStepId: Schema.String,
  message: Schema.String
}) {}

/** A step's `success` / `error` Schema could not encode its outcome, or decode a recorded one. */
export class StepCodecError extends Schema.TaggedError<StepCodecError>()("StepCodecError", {
  reason: Schema.Literal("Encode", "Decode"),
  stepId: Schema.String,
  stepKey: Schema.String,
  message: Schema.String
}) {}

/** A defect replayed from the resume state: carries the original name and message. */
export class ReplayedDefect extends Error {
  constructor(readonly recorded: Snapshot.JsonValue, cause: Snapshot.SerializedCause) {
    super(cause.message)
    this.name = cause.name ?? "Error"
    if (cause.stack !== undefined) this.stack = cause.stack
  }
}

export type StepFailure = StepKeyConflictError | StepCodecError

// ---------------------------------------------------------------------------------------------
// The run context: what `step` needs; providing it is what makes a run.

interface RunContext {
  readonly workflowName: string
  /** Recorded outcomes, loaded ones first; a run adds to it in place. */
  readonly steps: Map<string, ResumeState.ResumeStateEntry>
  /** key -> id of the step that used it in this run. */
  readonly keyOwners: Map<string, string>
  readonly retryFailed: boolean
  readonly emit: ((event: WorkflowEvent) => Effect.Effect<void>) | undefined
  /** Called after each newly recorded outcome; runDurable saves here. */
  readonly onRecorded: ((key: string, entry: ResumeState.ResumeStateEntry) => Effect.Effect<void>) | undefined
}

/** The service every step requires: a step can only be run inside `Workflow.run` and friends. */
export class WorkflowRun extends Context.Tag("effect-resume/WorkflowRun")<WorkflowRun, RunContext>() {}

// ---------------------------------------------------------------------------------------------
// Steps

export interface StepOptions<A, E> {
  /** Cache key; defaults to the step id. */
  readonly key?: string
  /** Encodes the value to JSON when recorded and decodes it on replay (Date, BigInt, Map, Option, ...). */
  readonly success?: Schema.Schema<A, any>
  /** Same for the typed error, so a `Schema.TaggedError` replays as an instance of its class. */
  readonly error?: Schema.Schema<E, any>
}

export const step = <A, E, R>(
  id: string,
  effect: Effect.Effect<A, E, R>,
  options?: StepOptions<A, E>
): Effect.Effect<A, E | StepFailure, R | WorkflowRun> =>
  Effect.flatMap(WorkflowRun, (run) => runStep(run, id, effect, options))

const runStep = <A, E, R>(
  run: RunContext,
  id: string,
  effect: Effect.Effect<A, E, R>,
  options: StepOptions<A, E> | undefined
): Effect.Effect<A, E | StepFailure, R> => {
  const key = options?.key ?? id
  const owner = run.keyOwners.get(key)
  if (owner !== undefined && owner !== id) {
    return Effect.fail(
      new StepKeyConflictError({
        reason: "DuplicateKey",
        stepId: id,
        stepKey: key,
        otherStepId: owner,
        message: `Steps "${owner}" and "${id}" both use the cache key "${key}" in workflow "${run.workflowName}". ` +
          `Give each step its own key.`
      })
    )
  }
  run.keyOwners.set(key, id)
  const recorded = run.steps.get(key)
  if (recorded !== undefined && (recorded.result.ok || !run.retryFailed)) {
    if (recorded.stepId !== undefined && recorded.stepId !== id) {
      return Effect.fail(
        new StepKeyConflictError({
          reason: "Divergence",
          stepId: id,
          stepKey: key,
          otherStepId: recorded.stepId,
          message: `The outcome recorded under key "${key}" belongs to step "${recorded.stepId}", ` +
            `but step "${id}" asked for it: the workflow changed since the state was saved.`
        })
      )
    }
    return replay(run, id, key, recorded, options)
  }
  return execute(run, id, key, effect, options)
}

const codecError = (reason: "Encode" | "Decode", id: string, key: string, detail: string) =>
  new StepCodecError({
    reason,
    stepId: id,
    stepKey: key,
    message: `Step "${id}" (key "${key}"): ${reason === "Encode" ? "cannot encode the outcome" : "cannot decode the recorded outcome"}: ${detail}`
  })

const replay = <A, E>(
  run: RunContext,
  id: string,
  key: string,
  entry: ResumeState.ResumeStateEntry,
  options: StepOptions<A, E> | undefined
): Effect.Effect<A, E | StepFailure> => {
  const result = entry.result
  let outcome: Effect.Effect<A, E | StepFailure>
  let event: WorkflowEvent
  if (result.ok) {
    let value = result.value as A
    if (options?.success !== undefined) {
      const decoded = codecFor(options.success).decode(result.value)
      if (decoded._tag === "Left") return Effect.fail(codecError("Decode", id, key, decoded.left.message))
      value = decoded.right
    }
    outcome = Effect.succeed(value)
    event = WorkflowEvent.StepComplete({ workflowName: run.workflowName, stepId: id, stepKey: key, cached: true, durationMs: 0, entry })
  } else if (result.meta?.origin === "throw") {
    const defect = new ReplayedDefect(result.error, result.cause)
    outcome = Effect.die(defect)
    event = stepError(run, id, key, true, 0, defect, entry)
  } else {
    let error = result.error as E
    if (options?.error !== undefined) {
      const decoded = codecFor(options.error).decode(result.error)
      if (decoded._tag === "Left") return Effect.fail(codecError("Decode", id, key, decoded.left.message))
      error = decoded.right
    }
    outcome = Effect.fail(error)
    event = stepError(run, id, key, true, 0, error, entry)
  }
  return run.emit === undefined ? outcome : Effect.zipRight(run.emit(event), outcome)
}

const stepError = (
  run: RunContext,
  id: string,
  key: string,
  cached: boolean,
  durationMs: number,
  error: unknown,
  entry: ResumeState.ResumeStateEntry | undefined
) => WorkflowEvent.StepError({ workflowName: run.workflowName, stepId: id, stepKey: key, cached, durationMs, error, entry })

const withWarnings = (
  id: string,
  result: Snapshot.StepResult,
  copy: JsonCopy
): ResumeState.ResumeStateEntry =>
  copy.issues.length === 0
    ? { result, stepId: id }
    : {
      result,
      stepId: id,
      warnings: copy.issues.map((issue) => ({ type: "lossy_value", stepId: id, path: issue.path, reason: issue.reason }))
    }

const encodeWith = (
  schema: Schema.Schema<any, any> | undefined,
  value: unknown
): { readonly copy: JsonCopy } | { readonly failure: string } => {
  if (schema === undefined) return { copy: toJson(value) }
  const encoded = codecFor(schema).encode(value)
  return encoded._tag === "Left" ? { failure: encoded.left.message } : { copy: toJson(encoded.right) }
}

const messageOf = (u: unknown): { message: string; name?: string; stack?: string } => {
  if (u instanceof Error) {
    return u.stack === undefined ? { message: u.message, name: u.name } : { message: u.message, name: u.name, stack: u.stack }
  }
  if (typeof u === "object" && u !== null && typeof (u as { _tag?: unknown })._tag === "string") {
    return { message: String((u as { message?: unknown }).message ?? ""), name: (u as { _tag: string })._tag }
  }
  try {
    return { message: typeof u === "string" ? u : JSON.stringify(u) ?? String(u) }
  } catch {
    return { message: String(u) }
  }
}

const execute = <A, E, R>(
  run: RunContext,
  id: string,
  key: string,
  effect: Effect.Effect<A, E, R>,
  options: StepOptions<A, E> | undefined
): Effect.Effect<A, E | StepFailure, R> => {
  const record = (entry: ResumeState.ResumeStateEntry, event: WorkflowEvent): Effect.Effect<void> => {
    run.steps.set(key, entry)
    const saved = run.onRecorded === undefined ? Effect.void : run.onRecorded(key, entry)
    return run.emit === undefined ? saved : Effect.zipRight(saved, run.emit(event))
  }
  const started = performance.now()
  const body = Effect.flatMap(Effect.exit(effect), (exit): Effect.Effect<A, E | StepFailure> => {
    const durationMs = performance.now() - started
    if (Exit.isSuccess(exit)) {
      const encoded = encodeWith(options?.success, exit.value)
      if ("failure" in encoded) return Effect.fail(codecError("Encode", id, key, encoded.failure))
      const entry = withWarnings(id, { ok: true, value: encoded.copy.json }, encoded.copy)
      const event = WorkflowEvent.StepComplete({
        workflowName: run.workflowName,
        stepId: id,
        stepKey: key,
        cached: false,
        durationMs,
        entry
      })
      return Effect.as(record(entry, event), exit.value)
    }
    const cause = exit.cause
    // An interrupted step did not finish: it must run again on resume, so nothing is recorded.
    if (Cause.isInterrupted(cause)) {
      return run.emit === undefined
        ? Effect.failCause(cause)
        : Effect.zipRight(run.emit(stepError(run, id, key, false, durationMs, cause, undefined)), Effect.failCause(cause))
    }
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) {
      const error = failure.value
      const encoded = encodeWith(options?.error, error)
      if ("failure" in encoded) {
        // Not recorded: the step runs again on resume rather than replay an error its Schema rejects.
        return Effect.fail(codecError("Encode", id, key, encoded.failure))
      }
      const entry = withWarnings(id, {
        ok: false,
        error: encoded.copy.json,
        cause: { type: "fail", ...messageOf(error) },
        meta: { origin: "result" }
      }, encoded.copy)
      return Effect.zipRight(record(entry, stepError(run, id, key, false, durationMs, error, entry)), Effect.failCause(cause))
    }
    const defect = Cause.squash(cause)
    // Defects replay as a ReplayedDefect rebuilt from name and message, so no lossy warning is kept for them.
    const entry: ResumeState.ResumeStateEntry = {
      result: { ok: false, error: toJson(defect).json, cause: { type: "die", ...messageOf(defect) }, meta: { origin: "throw" } },
      stepId: id
    }
    return Effect.zipRight(record(entry, stepError(run, id, key, false, durationMs, defect, entry)), Effect.failCause(cause))
  })
  return run.emit === undefined
    ? body
    : Effect.zipRight(run.emit(WorkflowEvent.StepStart({ workflowName: run.workflowName, stepId: id, stepKey: key })), body)
}

// ---------------------------------------------------------------------------------------------
// Running

export interface RunOptions<I = void> {
  /** Resume from a `ResumeState` (from `runWithState`, a collector, or `SnapshotStore.loadResumeState`). */
  readonly resumeState?: ResumeState.ResumeState | undefined
  /** Resume from a `WorkflowSnapshot` (validated first). Do not pass both. */
  readonly snapshot?: Snapshot.WorkflowSnapshot | undefined
  readonly onEvent?: EventHandler | undefined
  /** Re-execute steps whose recorded outcome is a failure instead of replaying it. */
  readonly retryFailed?: boolean | undefined
  readonly input?: I
}

const initialSteps = (options: RunOptions<any>): Effect.Effect<Map<string, ResumeState.ResumeStateEntry>, RunOptionsError> => {
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
            validated.errors.slice(0, 3).map((e) => `${e.path}: ${e.message}`).join("; ")
          }`
        })
      )
    }
    return Effect.succeed(new Map(ResumeState.fromSnapshot(validated.snapshot).steps))
  }
  if (resumeState === undefined) return Effect.succeed(new Map())
  if (ResumeState.isResumeState(resumeState)) return Effect.succeed(new Map(resumeState.steps))
  if (Snapshot.looksLike(resumeState)) {
    return Effect.fail(
      new RunOptionsError({
        reason: "SnapshotAsResumeState",
        message: "A WorkflowSnapshot was passed as `resumeState`. Pass it as the `snapshot` option instead, " +
          "or convert it with ResumeState.fromSnapshot."
      })
    )
  }
  return Effect.fail(
    new RunOptionsError({
      reason: "InvalidResumeState",
      message: ResumeState.isResumeStateJson(resumeState)
        ? "`resumeState` is a serialized ResumeState: decode it with ResumeState.deserialize first."
        : "`resumeState` must be a ResumeState ({ steps: Map })."
    })
  )
}

const toEventHandler = (onEvent: EventHandler | undefined) =>
  onEvent === undefined ? undefined : (event: WorkflowEvent): Effect.Effect<void> =>
    Effect.suspend(() => {
      const out = onEvent(event)
      return Effect.isEffect(out) ? out : Effect.void
    })

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
  options: RunOptions<any>,
  onRecorded?: RunContext["onRecorded"]
): RunContext => ({
  workflowName,
  steps,
  keyOwners: new Map(),
  retryFailed: options.retryFailed === true,
  emit: toEventHandler(options.onEvent),
  onRecorded
})

/** Runs a workflow, replaying whatever `resumeState` / `snapshot` recorded. */
export const run = <A, E, R, I>(
  workflow: Workflow<A, E, R, I>,
  options: RunOptions<I> = {}
): Effect.Effect<A, E | StepFailure | RunOptionsError, Exclude<R, WorkflowRun>> =>
  Effect.flatMap(initialSteps(options), (steps) =>
    Effect.flatten(execution(workflow, makeRun(workflow.name, steps, options), options.input as I)))

/** Runs a workflow and returns its outcome together with the state to resume it from. */
export const runWithState = <A, E, R, I>(
  workflow: Workflow<A, E, R, I>,
  options: RunOptions<I> = {}
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

export interface DurableOptions<I = void> {
  /** The run's id in the store. Running again with the same id resumes it. */
  readonly id: string
  readonly onEvent?: EventHandler | undefined
  readonly retryFailed?: boolean | undefined
  readonly input?: I
}

/** A checkpoint write failed inside a step; carried as a defect to the edge of runDurable, then failed as StoreError. */
class CheckpointFailed extends Data.TaggedError("CheckpointFailed")<{ readonly error: StoreError }> {}

/**
 * Loads the state saved under `id`, runs, saves a snapshot after every completed step and records the
 * run's status (`running` / `completed` / `failed`). A crashed run is resumed by calling it again.
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
    const save = (status: Snapshot.ExecutionStatus, currentStepId?: string) => {
      const now = new Date().toISOString()
      return store.save(
        options.id,
        ResumeState.toSnapshot(ResumeState.fromMap(steps), {
          status,
          metadata,
          now,
          ...(currentStepId === undefined ? {} : { currentStepId }),
          ...(status === "running" ? {} : { completedAt: now })
        })
      )
    }
    yield* save("running")
    // TODO(incremental checkpoints): this re-encodes the whole state per step; `saveStep` will make it O(1).
    const onRecorded = (_key: string, entry: ResumeState.ResumeStateEntry) =>
      Effect.orDieWith(save("running", entry.stepId), (error) => new CheckpointFailed({ error }))
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
