/**
 * `effect-resume/workflow`: the reference's Promise API (`createWorkflow`, `step`, Results, events,
 * the collector), as a thin layer over the Effect core: caching and replay are the core's; this module
 * adapts Promises, live Results and the reference's events to it. Entries cross in src/promise/entries.ts.
 */
import { Cause, Effect, Exit, Layer, ManagedRuntime, Runtime } from "effect"
import { runOrReject } from "../internal/runOrReject.js"
import * as CoreState from "../ResumeState.js"
import * as Snapshot from "../Snapshot.js"
import * as Workflow from "../Workflow.js"
import * as Entries from "./entries.js"
import type { LiveEntry, ResumeState, ResumeStateEntry } from "./entries.js"
import { diagnosticsTag, entryOf, type WorkflowEvent } from "./events.js"
import { type Err, type Ok, type Result, UnexpectedError } from "./result.js"

export type { ResumeState, ResumeStateEntry } from "./entries.js"
export type { JsonValue, SerializedCause, StepResult, WorkflowSnapshot } from "../Snapshot.js"
export * from "./events.js"
export * from "./result.js"
export { ResumeStateFormatError } from "../ResumeState.js"
export { ReplayedDefect, RunOptionsError, StepCodecError, StepKeyConflictError } from "../Workflow.js"
export {
  assertValidSnapshot,
  looksLikeWorkflowSnapshot,
  mergeSnapshots,
  SnapshotFormatError,
  validateSnapshot
} from "./persistence.js"

// ---------------------------------------------------------------------------------------------
// Resume state helpers

export interface ResumeStateCollector {
  /** Pass as (or call from) `onEvent`. */
  readonly handleEvent: (event: WorkflowEvent) => void
  /** A fresh state on every call. */
  readonly getResumeState: () => ResumeState
  readonly clear: () => void
}

/**
 * Keeps each step's `{ result, meta }`. Unlike the reference's, which keeps only `step_complete`, it
 * also keeps replayed steps (`step_cache_hit`): after a resumed run it holds the whole state.
 */
export const createResumeStateCollector = (): ResumeStateCollector => {
  const steps = new Map<string, LiveEntry>()
  return {
    handleEvent: (event) => {
      if (event.type === "step_complete" || (event.type === "step_cache_hit" && "result" in event)) {
        steps.set(event.stepKey, entryOf(event))
      }
    },
    getResumeState: () => Entries.makeState(steps),
    clear: () => steps.clear()
  }
}

/**
 * What `store.load` returned, as a ResumeState: a ResumeState passes through, a serialized one is
 * decoded, a WorkflowSnapshot is converted (and must be valid). `null` / `undefined` give `undefined`.
 */
export const toResumeState = (loaded: unknown): ResumeState | undefined => {
  if (loaded === null || loaded === undefined) return undefined
  if (Entries.isResumeState(loaded)) return loaded
  if (CoreState.isResumeStateJson(loaded)) return deserializeResumeState(loaded)
  return Entries.fromCoreState(CoreState.fromSnapshot(Snapshot.assertValid(loaded)))
}

/** The wire form: each entry normalized (values to JSON, causes to `SerializedCause`, `meta` into the result). */
export const serializeResumeState = (state: ResumeState): CoreState.ResumeStateJson =>
  CoreState.serialize(Entries.toCoreState(state))

/** Throws `ResumeStateFormatError` (with paths) when the value is not a serialized ResumeState. */
export const deserializeResumeState = (json: unknown): ResumeState => {
  const decoded = CoreState.deserializeEither(json)
  if (decoded._tag === "Left") throw decoded.left
  return Entries.fromCoreState(decoded.right)
}

export const isResumeState = Entries.isResumeState
export const isWorkflowSnapshot = Snapshot.isWorkflowSnapshot

// ---------------------------------------------------------------------------------------------
// Workflows

export interface StepOptions {
  readonly key?: string
}

type AnyResult = Result<unknown, unknown, unknown>

/** What `step` resolves to: the Result's value. */
export type Unwrap<R> = R extends { readonly ok: true; readonly value: infer T } ? T : never

export type Step = <R extends AnyResult>(
  id: string,
  operation: (() => R | PromiseLike<R>) | PromiseLike<R>,
  options?: StepOptions
) => Promise<Unwrap<R>>

export interface WorkflowContext<Deps> {
  readonly step: Step
  readonly deps: Deps
}

export type WorkflowFn<T, Deps> = (context: WorkflowContext<Deps>) => Promise<T> | T

export type RunOptions =
  & { readonly onEvent?: ((event: WorkflowEvent) => void) | undefined }
  & (
    | { readonly resumeState?: ResumeState | undefined; readonly snapshot?: undefined }
    | { readonly snapshot: Snapshot.WorkflowSnapshot; readonly resumeState?: undefined }
  )

export interface WorkflowOptions {
  /** Replaced by a run's own `onEvent`, as in the reference. */
  readonly onEvent?: (event: WorkflowEvent) => void
  /** Used by every run that is not given its own `resumeState` or `snapshot`. */
  readonly resumeState?: ResumeState
  /** Ours: re-run steps whose recorded outcome is a failure. */
  readonly retryFailed?: boolean
}

export interface RunWithStateResult<T> {
  readonly result: Result<T, unknown, unknown>
  /** Every step of the run, replayed ones included (the reference's holds only the new ones). */
  readonly resumeState: ResumeState
}

/** A run may be given a name first, as in the reference: it becomes the events' `workflowId`. */
export interface PromiseWorkflow<Deps> {
  readonly name: string
  readonly run: {
    <T>(fn: WorkflowFn<T, Deps>, options?: RunOptions): Promise<Result<T, unknown, unknown>>
    <T>(runName: string, fn: WorkflowFn<T, Deps>, options?: RunOptions): Promise<Result<T, unknown, unknown>>
  }
  readonly runWithState: {
    <T>(fn: WorkflowFn<T, Deps>, options?: RunOptions): Promise<RunWithStateResult<T>>
    <T>(runName: string, fn: WorkflowFn<T, Deps>, options?: RunOptions): Promise<RunWithStateResult<T>>
  }
}

/**
 * What a failed `step` promise rejects with, so that user code which catches it sees an Error that
 * says which step failed and why; rethrown (or left uncaught), it carries the step's failure to the run.
 */
export class StepFailedError extends Error {
  override readonly name = "StepFailedError"
  /** The step's error: a `{ ok: false }` Result's error, or an UnexpectedError for a throw. */
  readonly error: unknown
  constructor(readonly stepId: string, readonly result: Err<unknown, unknown>) {
    const error = result.error
    super(`Step "${stepId}" failed: ${error instanceof Error ? error.message : String(error)}`)
    this.error = error
  }
}

/** The body's failure, carried through the core to the run's Result. */
class RunFailed {
  constructor(readonly result: Err<unknown, unknown>) {}
}

const unexpected = (thrown: unknown): Err<unknown, unknown> => ({ ok: false, error: new UnexpectedError(thrown), cause: thrown })

/** One run's bookkeeping: the live outcomes the core's JSON entries stand for. */
interface RunState {
  readonly workflowId: string
  readonly workflowName: string
  /** A resumeState or snapshot was given: executed steps are cache misses. */
  readonly resuming: boolean
  /** The given entries, live (a wire entry deserialized): an in-memory replay returns these. */
  readonly given: ReadonlyMap<string, LiveEntry>
  /** What each step executed in this run returned (or threw). */
  readonly executed: Map<string, LiveEntry>
  /** Entries replayed in this run, set when the core reports the cache hit. */
  readonly replayed: Map<string, LiveEntry>
  readonly onEvent: ((event: WorkflowEvent) => void) | undefined
}

type Outcome = { readonly thrown: unknown } | { readonly out: unknown; readonly flag: unknown }

// A throw (sync or async) is a defect; an { ok: false } Result or a non-Result a typed failure.
const depEffect = (
  operation: (() => unknown) | PromiseLike<unknown>,
  record: (entry: LiveEntry) => void
): Effect.Effect<unknown, unknown> =>
  Effect.flatMap(
    Effect.promise(async (): Promise<Outcome> => {
      try {
        const out = await (typeof operation === "function" ? operation() : operation)
        // read here, so that null / undefined throw a TypeError as in the reference
        return { out, flag: (out as { ok?: unknown }).ok }
      } catch (thrown) {
        return { thrown }
      }
    }),
    (outcome) => {
      if ("thrown" in outcome) {
        const thrown = outcome.thrown
        record({ result: unexpected(thrown), meta: { origin: "throw", thrown } })
        return Effect.die(thrown)
      }
      const out = outcome.out as AnyResult
      if (outcome.flag === true) {
        record({ result: out })
        return Effect.succeed((out as Ok<unknown>).value)
      }
      if (outcome.flag === false) {
        const failed = out as Err<unknown, unknown>
        record({ result: out, meta: "cause" in failed ? { origin: "result", resultCause: failed.cause } : { origin: "result" } })
        return Effect.fail(failed.error)
      }
      // not a Result: the step fails with error undefined, and step_complete reports what it returned
      record({ result: out, meta: { origin: "result" } })
      return Effect.fail(undefined)
    }
  )

const body = <T, Deps>(fn: WorkflowFn<T, Deps>, deps: Deps, run: RunState): Effect.Effect<T, RunFailed, Workflow.WorkflowRun> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<Workflow.WorkflowRun>()
    // the runtime captured here already holds the WorkflowRun service: each step runs on it directly
    const runPromiseExit = Runtime.runPromiseExit(runtime)
    const step: Step = async (id, operation, options) => {
      const key = options?.key ?? id
      let executed: LiveEntry | undefined
      run.replayed.delete(key)
      const exit = await runPromiseExit(
        Workflow.step(id, depEffect(operation, (entry) => {
          executed = entry
          run.executed.set(key, entry)
        }), { key })
      )
      const replayed = run.replayed.get(key)
      if (Exit.isSuccess(exit)) {
        return (replayed === undefined ? exit.value : (replayed.result as Ok<unknown>).value) as never
      }
      const entry = replayed ?? executed
      // no entry: the core refused the step (a key clash) or it was interrupted
      throw new StepFailedError(id, entry === undefined ? { ok: false, error: Cause.squash(exit.cause) } : Entries.failureOf(entry))
    }
    return yield* Effect.tryPromise({
      try: async () => await fn({ step, deps }),
      catch: (thrown) => new RunFailed(thrown instanceof StepFailedError ? thrown.result : unexpected(thrown))
    })
  })

const toResult = <T>(exit: Exit.Exit<T, unknown>): Result<T, unknown, unknown> => {
  if (Exit.isSuccess(exit)) return { ok: true, value: exit.value }
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "Some" && failure.value instanceof RunFailed) return failure.value.result
  return unexpected(Cause.squash(exit.cause))
}

/** The core's events as the reference's. Bookkeeping first, then the user's handler. */
const translate = (run: RunState) => (event: Workflow.WorkflowEvent): void => {
  const events: Array<WorkflowEvent> = []
  // in the reference's key order: type, workflowId, the step's ids, ts, the rest, workflowName last
  const workflowId = run.workflowId
  const ts = Date.now()
  const name = run.workflowName
  switch (event._tag) {
    case "WorkflowStart":
      events.push({ type: "workflow_start", workflowId, ts, workflowName: name })
      break
    case "StepStart": {
      const step = { stepKey: event.stepKey, name: event.stepId }
      if (run.resuming) events.push({ type: "step_cache_miss", workflowId, ...step, ts, workflowName: name })
      events.push({ type: "step_start", workflowId, stepId: event.stepKey, ...step, ts, workflowName: name })
      break
    }
    case "StepComplete":
    case "StepError": {
      const step = { stepKey: event.stepKey, name: event.stepId }
      if (event.cached) {
        const entry = event.entry === undefined
          ? undefined
          : run.given.get(event.stepKey) ?? Entries.fromCoreEntry(event.entry)
        if (entry !== undefined) {
          run.replayed.set(event.stepKey, entry)
          events.push({ type: "step_cache_hit", workflowId, ...step, ts, result: entry.result, ...meta(entry), workflowName: name })
        }
        break
      }
      const durationMs = event.durationMs
      const live = event.entry === undefined ? undefined : run.executed.get(event.stepKey)
      if (event._tag === "StepComplete") {
        events.push({ type: "step_success", workflowId, stepId: event.stepKey, ...step, ts, durationMs, workflowName: name })
      } else {
        const error = live === undefined ? event.error : Entries.failureOf(live).error
        const thrown = live?.meta?.origin === "throw"
        events.push({
          type: "step_error",
          workflowId,
          stepId: event.stepKey,
          ...step,
          ts,
          durationMs,
          error,
          diagnostics: {
            tag: diagnosticsTag(thrown ? (live?.meta as { thrown: unknown }).thrown : error),
            origin: thrown ? "throw" : "result",
            attempt: 1,
            cumulativeDurationMs: durationMs
          },
          workflowName: name
        })
      }
      if (live !== undefined) {
        events.push({ type: "step_complete", workflowId, ...step, ts, durationMs, result: live.result, ...meta(live), workflowName: name })
      }
      break
    }
    case "WorkflowComplete":
      events.push({ type: "workflow_success", workflowId, ts, durationMs: event.durationMs, workflowName: name })
      break
    case "WorkflowError": {
      const error = event.error instanceof RunFailed ? event.error.result.error : event.error
      events.push({ type: "workflow_error", workflowId, ts, durationMs: event.durationMs, error, workflowName: name })
      break
    }
  }
  const onEvent = run.onEvent
  if (onEvent === undefined) return
  // every event reaches the handler even if it throws on one; the first throw is then rethrown (and logged by the core)
  let failed: { readonly error: unknown } | undefined
  for (const e of events) {
    try {
      onEvent(e)
    } catch (error) {
      failed ??= { error }
    }
  }
  if (failed !== undefined) throw failed.error
}

const meta = (entry: ResumeStateEntry) => entry.meta === undefined ? {} : { meta: entry.meta }

export const createWorkflow = <Deps>(name: string, deps: Deps, options: WorkflowOptions = {}): PromiseWorkflow<Deps> => {
  // One runtime per workflow; it holds no resources, so it never needs disposing.
  const runtime = ManagedRuntime.make(Layer.empty)
  const execute = async <T>(runName: string | undefined, fn: WorkflowFn<T, Deps>, runOptions?: RunOptions) => {
    const own = runOptions?.snapshot !== undefined || runOptions?.resumeState !== undefined
    const resumeState: unknown = own ? runOptions?.resumeState : options.resumeState
    const snapshot = own ? runOptions?.snapshot : undefined
    const given = Entries.isResumeState(resumeState)
      ? new Map(Array.from(resumeState.steps).flatMap(([key, entry]) => Entries.isEntry(entry) ? [[key, Entries.toLiveEntry(entry)] as const] : []))
      : new Map<string, LiveEntry>()
    const run: RunState = {
      workflowId: runName ?? crypto.randomUUID(),
      workflowName: name,
      resuming: resumeState !== undefined || snapshot !== undefined,
      given,
      executed: new Map(),
      replayed: new Map(),
      onEvent: runOptions?.onEvent ?? options.onEvent
    }
    const { result, resumeState: state } = await runOrReject(
      runtime,
      Workflow.runWithState(Workflow.make(name, body(fn, deps, run)), {
        // anything that is not a ResumeState goes to the core as is, which says what is wrong with it
        resumeState: (Entries.isResumeState(resumeState) ? Entries.toCoreState(resumeState) : resumeState) as never,
        snapshot,
        retryFailed: options.retryFailed,
        onEvent: translate(run)
      })
    )
    // a copy: a step the fn started but did not await may still finish, and must not change it
    const steps = Array.from(state.steps, ([key, entry]) =>
      [key, run.executed.get(key) ?? run.given.get(key) ?? Entries.fromCoreEntry(entry)] as const)
    return { result: toResult(result), resumeState: Entries.makeState(steps) }
  }
  const runWithState = (...args: Array<unknown>): Promise<RunWithStateResult<unknown>> =>
    typeof args[0] === "string"
      ? execute(args[0], args[1] as WorkflowFn<unknown, Deps>, args[2] as RunOptions | undefined)
      : execute(undefined, args[0] as WorkflowFn<unknown, Deps>, args[1] as RunOptions | undefined)
  return {
    name,
    runWithState: runWithState as PromiseWorkflow<Deps>["runWithState"],
    run: ((...args: Array<unknown>) => runWithState(...args).then(({ result }) => result)) as PromiseWorkflow<Deps>["run"]
  }
}
