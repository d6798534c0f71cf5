/**
 * `effect-resume/workflow`: the reference docs' Promise API (`createWorkflow`, `step`, Results, events,
 * the collector), as a thin layer over the Effect core: caching, replay and serialization are the
 * core's, this module only adapts Promises and plain objects to it.
 */
import { Cause, Effect, Exit, Layer, ManagedRuntime, Runtime } from "effect"
import { runOrReject } from "../internal/runOrReject.js"
import * as ResumeState from "../ResumeState.js"
import * as Snapshot from "../Snapshot.js"
import * as Workflow from "../Workflow.js"

export type { ResumeState, ResumeStateEntry } from "../ResumeState.js"
export type { JsonValue, StepResult, WorkflowSnapshot } from "../Snapshot.js"

// ---------------------------------------------------------------------------------------------
// Results

export type Result<T, E = unknown> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E; readonly cause?: unknown }

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value })
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error })

export const isResult = (u: unknown): u is Result<unknown, unknown> =>
  typeof u === "object" && u !== null && typeof (u as { ok?: unknown }).ok === "boolean" &&
  ((u as { ok: boolean }).ok ? "value" in u : "error" in u)

/** What `step` resolves to: a Result's value, or the plain value. */
export type Unwrap<R> = R extends { readonly ok: true; readonly value: infer T } ? T
  : R extends { readonly ok: false } ? never
  : R

// ---------------------------------------------------------------------------------------------
// Events

interface Base {
  readonly workflowName: string
  /** A fresh id per run. */
  readonly workflowId: string
  readonly ts: number
}
interface StepBase extends Base {
  readonly stepId: string
  readonly stepKey: string
}

export type WorkflowEvent =
  | Base & { readonly type: "workflow_start" }
  | StepBase & { readonly type: "step_start" }
  | StepBase & {
    readonly type: "step_complete"
    readonly cached: boolean
    readonly durationMs: number
    /** The recorded outcome, what a collector keeps. */
    readonly entry: ResumeState.ResumeStateEntry
  }
  | StepBase & {
    readonly type: "step_error"
    readonly cached: boolean
    readonly durationMs: number
    readonly error: unknown
    readonly entry: ResumeState.ResumeStateEntry | undefined
  }
  | Base & { readonly type: "workflow_success"; readonly durationMs: number }
  | Base & { readonly type: "workflow_error"; readonly durationMs: number; readonly error: unknown }

export type StepCompleteEvent = Extract<WorkflowEvent, { type: "step_complete" }>

/** Narrows an event to `step_complete`. */
export const isStepComplete = (event: WorkflowEvent): event is StepCompleteEvent => event.type === "step_complete"

const toPromiseEvent = (workflowId: string, event: Workflow.WorkflowEvent): WorkflowEvent => {
  const base = { workflowName: event.workflowName, workflowId, ts: Date.now() }
  switch (event._tag) {
    case "WorkflowStart":
      return { ...base, type: "workflow_start" }
    case "StepStart":
      return { ...base, type: "step_start", stepId: event.stepId, stepKey: event.stepKey }
    case "StepComplete":
      return {
        ...base,
        type: "step_complete",
        stepId: event.stepId,
        stepKey: event.stepKey,
        cached: event.cached,
        durationMs: event.durationMs,
        entry: event.entry
      }
    case "StepError":
      return {
        ...base,
        type: "step_error",
        stepId: event.stepId,
        stepKey: event.stepKey,
        cached: event.cached,
        durationMs: event.durationMs,
        error: event.error,
        entry: event.entry
      }
    case "WorkflowComplete":
      return { ...base, type: "workflow_success", durationMs: event.durationMs }
    case "WorkflowError":
      return { ...base, type: "workflow_error", durationMs: event.durationMs, error: event.error }
  }
}

// ---------------------------------------------------------------------------------------------
// Resume state helpers

export interface ResumeStateCollector {
  /** Pass as (or call from) `onEvent`. */
  readonly handleEvent: (event: WorkflowEvent) => void
  readonly getResumeState: () => ResumeState.ResumeState
}

export const createResumeStateCollector = (): ResumeStateCollector => {
  const steps = new Map<string, ResumeState.ResumeStateEntry>()
  return {
    handleEvent: (event) => {
      if ((event.type === "step_complete" || event.type === "step_error") && event.entry !== undefined) {
        steps.set(event.stepKey, event.entry)
      }
    },
    getResumeState: () => ResumeState.make(steps)
  }
}

/**
 * What `store.load` returned, as a ResumeState: a ResumeState passes through, a serialized one is
 * decoded, a WorkflowSnapshot is converted (and must be valid). `null` / `undefined` give `undefined`.
 */
export const toResumeState = (loaded: unknown): ResumeState.ResumeState | undefined => {
  if (loaded === null || loaded === undefined) return undefined
  if (ResumeState.isResumeState(loaded)) return loaded
  if (ResumeState.isResumeStateJson(loaded)) return deserializeResumeState(loaded)
  return ResumeState.fromSnapshot(Snapshot.assertValid(loaded))
}

export const serializeResumeState = (state: ResumeState.ResumeState): ResumeState.ResumeStateJson =>
  ResumeState.serialize(state)

/** Throws `ResumeStateFormatError` (with paths) when the value is not a serialized ResumeState. */
export const deserializeResumeState = (json: unknown): ResumeState.ResumeState => {
  const decoded = ResumeState.deserializeEither(json)
  if (decoded._tag === "Left") throw decoded.left
  return decoded.right
}

export const isResumeState = ResumeState.isResumeState
export const isWorkflowSnapshot = Snapshot.isWorkflowSnapshot
export { ResumeStateFormatError } from "../ResumeState.js"
export { ReplayedDefect, RunOptionsError, StepCodecError, StepKeyConflictError } from "../Workflow.js"

// ---------------------------------------------------------------------------------------------
// Workflows

export interface StepOptions {
  readonly key?: string
}

export type Step = <R>(id: string, fn: () => R | PromiseLike<R>, options?: StepOptions) => Promise<Unwrap<Awaited<R>>>

export interface WorkflowContext<Deps> {
  readonly step: Step
  readonly deps: Deps
}

export type WorkflowFn<T, Deps> = (context: WorkflowContext<Deps>) => Promise<T> | T

export type RunOptions =
  | { readonly resumeState?: ResumeState.ResumeState | undefined; readonly snapshot?: undefined }
  | { readonly snapshot: Snapshot.WorkflowSnapshot; readonly resumeState?: undefined }

export interface WorkflowOptions {
  readonly onEvent?: (event: WorkflowEvent) => void
  /** Used by every run that is not given its own `resumeState` or `snapshot`. */
  readonly resumeState?: ResumeState.ResumeState
  /** Re-run steps whose recorded outcome is a failure. */
  readonly retryFailed?: boolean
}

export interface PromiseWorkflow<Deps> {
  readonly name: string
  readonly run: <T>(fn: WorkflowFn<T, Deps>, options?: RunOptions) => Promise<Result<T>>
  readonly runWithState: <T>(
    fn: WorkflowFn<T, Deps>,
    options?: RunOptions
  ) => Promise<{ readonly result: Result<T>; readonly resumeState: ResumeState.ResumeState }>
}

/**
 * What a failed `step` promise rejects with, so that user code which catches it sees an Error that
 * says which step failed and why; rethrown (or left uncaught), it carries the step's failure to the run.
 */
export class StepFailedError extends Error {
  override readonly name = "StepFailedError"
  /** The step's typed error (an `{ ok: false }` Result's error), or its defect (what the dep threw). */
  readonly error: unknown
  constructor(readonly stepId: string, readonly failure: Cause.Cause<unknown>) {
    const error = Cause.squash(failure)
    super(`Step "${stepId}" failed: ${error instanceof Error ? error.message : String(error)}`)
    this.error = error
  }
}

const depEffect = <R>(fn: () => R | PromiseLike<R>): Effect.Effect<unknown, unknown> =>
  // a throw (sync or async) is a defect, recorded with origin "throw"; an { ok: false } Result is a typed failure
  Effect.flatMap(Effect.promise(async () => await fn()), (out) =>
    isResult(out) ? (out.ok ? Effect.succeed(out.value) : Effect.fail(out.error)) : Effect.succeed(out))

const body = <T, Deps>(fn: WorkflowFn<T, Deps>, deps: Deps): Effect.Effect<T, unknown, Workflow.WorkflowRun> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<Workflow.WorkflowRun>()
    // the runtime captured here already holds the WorkflowRun service: each step runs on it directly
    const runPromiseExit = Runtime.runPromiseExit(runtime)
    const step: Step = async (id, thunk, options) => {
      const exit = await runPromiseExit(
        Workflow.step(id, depEffect(thunk), options?.key === undefined ? undefined : { key: options.key })
      )
      if (Exit.isSuccess(exit)) return exit.value as never
      throw new StepFailedError(id, exit.cause)
    }
    return yield* Effect.tryPromise({
      try: async () => await fn({ step, deps }),
      catch: (thrown) => thrown
    }).pipe(
      Effect.catchAll((thrown) =>
        thrown instanceof StepFailedError ? Effect.failCause(thrown.failure) : Effect.die(thrown)
      )
    )
  })

const toResult = <T>(exit: Exit.Exit<T, unknown>): Result<T> => {
  if (Exit.isSuccess(exit)) return { ok: true, value: exit.value }
  const failure = Cause.failureOption(exit.cause)
  return failure._tag === "Some"
    ? { ok: false, error: failure.value }
    : { ok: false, error: Cause.squash(exit.cause), cause: exit.cause }
}

export const createWorkflow = <Deps>(name: string, deps: Deps, options: WorkflowOptions = {}): PromiseWorkflow<Deps> => {
  // One runtime per workflow; it holds no resources, so it never needs disposing.
  const runtime = ManagedRuntime.make(Layer.empty)
  const runWithState = <T>(fn: WorkflowFn<T, Deps>, runOptions?: RunOptions) => {
    const workflowId = crypto.randomUUID()
    const onEvent = options.onEvent
    const resume = runOptions?.snapshot !== undefined || runOptions?.resumeState !== undefined
      ? runOptions
      : { resumeState: options.resumeState }
    return runOrReject(
      runtime,
      Effect.map(
        Workflow.runWithState(Workflow.make(name, body(fn, deps)), {
          ...resume,
          retryFailed: options.retryFailed,
          onEvent: onEvent === undefined ? undefined : (event) => onEvent(toPromiseEvent(workflowId, event))
        }),
        // a copy: a step the fn started but did not await may still finish, and must not change it
        ({ result, resumeState }) => ({ result: toResult(result), resumeState: ResumeState.make(resumeState.steps) })
      )
    )
  }
  return {
    name,
    runWithState,
    run: (fn, runOptions) => runWithState(fn, runOptions).then(({ result }) => result)
  }
}
