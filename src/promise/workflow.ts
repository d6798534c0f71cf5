/**
 * `effect-resume/workflow`: the reference's Promise API (`createWorkflow`, `step`, Results, events,
 * the collector), as a thin layer over the Effect core: caching and replay are the core's; this module
 * adapts Promises, live Results and the reference's events to it. Entries cross in src/promise/entries.ts.
 */
import { Cause, Effect, Exit } from "effect"
import { toJson } from "../internal/json.js"
import * as StepCache from "../internal/stepCache.js"
import type { RunContext } from "../internal/stepCache.js"
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
  readonly onEvent: ((event: WorkflowEvent) => void) | undefined
}

/**
 * A step runs the core's step cache (StepCache.start and its entries) directly, with no fiber of its
 * own: one fiber per step cost more than the rest of the step. The core's RunContext has no
 * `onRecorded` here (runWithState), so recording an entry is just setting it.
 */
const makeStep = (ctx: RunContext, run: RunState): Step => async (id, operation, options) => {
  const key = options?.key ?? id
  const started = StepCache.start(ctx, id, key)
  if (started._tag === "Conflict") throw new StepFailedError(id, { ok: false, error: started.error })
  if (started._tag === "Replay") {
    const entry = run.given.get(key) ?? Entries.fromCoreEntry(started.entry)
    // the core's entry says whether it replays as a success; the live one holds what the step returned
    const ok = started.entry.result.ok
    if (run.onEvent !== undefined) emitCacheHit(run, run.onEvent, id, key, entry, ok)
    if (ok) return (entry.result as Ok<unknown>).value as never
    throw new StepFailedError(id, Entries.failureOf(entry))
  }
  const visit = started.visit
  visit.state = "running"
  const onEvent = run.onEvent
  if (onEvent !== undefined) emitStart(run, onEvent, id, key)
  const t0 = onEvent === undefined ? 0 : performance.now()
  // A throw (sync or async) is a defect; an { ok: false } Result or a non-Result a typed failure.
  let live: LiveEntry
  let entry: CoreState.ResumeStateEntry
  let succeeded = false
  try {
    const out = await (typeof operation === "function" ? operation() : operation)
    // read here, so that null / undefined throw a TypeError as in the reference
    const flag = (out as { ok?: unknown }).ok
    if (flag === true) {
      succeeded = true
      live = { result: out }
      entry = StepCache.succeededEntry(id, key, toJson((out as Ok<unknown>).value))
    } else if (flag === false) {
      const failed = out as Err<unknown, unknown>
      live = { result: out, meta: "cause" in failed ? { origin: "result", resultCause: failed.cause } : { origin: "result" } }
      entry = StepCache.failedEntry(id, key, failed.error, toJson(failed.error))
    } else {
      // not a Result: the step fails with error undefined, and step_complete reports what it returned
      live = { result: out, meta: { origin: "result" } }
      entry = StepCache.failedEntry(id, key, undefined, toJson(undefined))
    }
  } catch (thrown) {
    live = { result: unexpected(thrown), meta: { origin: "throw", thrown } }
    entry = StepCache.defectEntry(id, thrown)
  }
  visit.state = succeeded ? "succeeded" : "failed"
  run.executed.set(key, live)
  ctx.steps.set(key, entry)
  if (onEvent !== undefined) emitEnd(run, onEvent, id, key, performance.now() - t0, live, succeeded)
  if (succeeded) return (live.result as Ok<unknown>).value as never
  throw new StepFailedError(id, Entries.failureOf(live))
}

const body = <T, Deps>(fn: WorkflowFn<T, Deps>, deps: Deps, run: RunState): Effect.Effect<T, RunFailed, Workflow.WorkflowRun> =>
  Effect.flatMap(Workflow.WorkflowRun, (ctx) => {
    const step = makeStep(ctx, run)
    // as Effect.tryPromise, which costs a little more per run
    return Effect.async<T, RunFailed>((resume) => {
      const invoke = async () => await fn({ step, deps })
      invoke().then(
        (value) => resume(Effect.succeed(value)),
        (thrown) => resume(Effect.fail(new RunFailed(thrown instanceof StepFailedError ? thrown.result : unexpected(thrown))))
      )
    })
  })

/** Rejects with the error itself (an Error subclass with a `reason`), never a FiberFailure wrapper. */
const runOrReject = async <A, E>(effect: Effect.Effect<A, E>): Promise<A> => {
  const exit = await Effect.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) return exit.value
  throw Cause.squash(exit.cause)
}

const toResult = <T>(exit: Exit.Exit<T, unknown>): Result<T, unknown, unknown> => {
  if (Exit.isSuccess(exit)) return { ok: true, value: exit.value }
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "Some" && failure.value instanceof RunFailed) return failure.value.result
  return unexpected(Cause.squash(exit.cause))
}

/**
 * Every event reaches the handler even if it throws on one; the first throw is then logged, as the
 * core logs a throwing handler (`tag` names the core event the reference's events stand for).
 */
const deliver = (onEvent: (event: WorkflowEvent) => void, events: ReadonlyArray<WorkflowEvent>, tag: string): void => {
  let failed: { readonly error: unknown } | undefined
  for (const e of events) {
    try {
      onEvent(e)
    } catch (error) {
      failed ??= { error }
    }
  }
  if (failed !== undefined) {
    Effect.runSync(Effect.logWarning(`effect-resume: the onEvent handler failed on ${tag}; the run goes on`, failed.error))
  }
}

// Events are built only when there is a handler. In the reference's key order: type, workflowId, the
// step's ids, ts, the rest, workflowName last.

const emitCacheHit = (
  run: RunState,
  onEvent: (event: WorkflowEvent) => void,
  id: string,
  key: string,
  entry: LiveEntry,
  ok: boolean
) =>
  deliver(onEvent, [{
    type: "step_cache_hit",
    workflowId: run.workflowId,
    stepKey: key,
    name: id,
    ts: Date.now(),
    result: entry.result,
    ...meta(entry),
    workflowName: run.workflowName
  }], ok ? "StepComplete" : "StepError")

const emitStart = (run: RunState, onEvent: (event: WorkflowEvent) => void, id: string, key: string) => {
  const { workflowId, workflowName } = run
  const ts = Date.now()
  const start: WorkflowEvent = { type: "step_start", workflowId, stepId: key, stepKey: key, name: id, ts, workflowName }
  deliver(
    onEvent,
    run.resuming ? [{ type: "step_cache_miss", workflowId, stepKey: key, name: id, ts, workflowName }, start] : [start],
    "StepStart"
  )
}

const emitEnd = (
  run: RunState,
  onEvent: (event: WorkflowEvent) => void,
  id: string,
  key: string,
  durationMs: number,
  live: LiveEntry,
  succeeded: boolean
) => {
  const { workflowId, workflowName } = run
  const ts = Date.now()
  const step = { stepKey: key, name: id }
  let end: WorkflowEvent
  if (succeeded) {
    end = { type: "step_success", workflowId, stepId: key, ...step, ts, durationMs, workflowName }
  } else {
    const error = Entries.failureOf(live).error
    const thrown = live.meta?.origin === "throw"
    end = {
      type: "step_error",
      workflowId,
      stepId: key,
      ...step,
      ts,
      durationMs,
      error,
      diagnostics: {
        tag: diagnosticsTag(thrown ? (live.meta as { thrown: unknown }).thrown : error),
        origin: thrown ? "throw" : "result",
        attempt: 1,
        cumulativeDurationMs: durationMs
      },
      workflowName
    }
  }
  deliver(onEvent, [
    end,
    { type: "step_complete", workflowId, ...step, ts, durationMs, result: live.result, ...meta(live), workflowName }
  ], succeeded ? "StepComplete" : "StepError")
}

/** The core's workflow events as the reference's (step events are the step's own, above). */
const translate = (run: RunState, onEvent: (event: WorkflowEvent) => void) => (event: Workflow.WorkflowEvent): void => {
  const workflowId = run.workflowId
  const ts = Date.now()
  const name = run.workflowName
  switch (event._tag) {
    case "WorkflowStart":
      return deliver(onEvent, [{ type: "workflow_start", workflowId, ts, workflowName: name }], event._tag)
    case "WorkflowComplete":
      return deliver(
        onEvent,
        [{ type: "workflow_success", workflowId, ts, durationMs: event.durationMs, workflowName: name }],
        event._tag
      )
    case "WorkflowError": {
      const error = event.error instanceof RunFailed ? event.error.result.error : event.error
      return deliver(
        onEvent,
        [{ type: "workflow_error", workflowId, ts, durationMs: event.durationMs, error, workflowName: name }],
        event._tag
      )
    }
  }
}

const meta = (entry: ResumeStateEntry) => entry.meta === undefined ? {} : { meta: entry.meta }

export const createWorkflow = <Deps>(name: string, deps: Deps, options: WorkflowOptions = {}): PromiseWorkflow<Deps> => {
  const execute = async <T>(runName: string | undefined, fn: WorkflowFn<T, Deps>, runOptions?: RunOptions) => {
    const own = runOptions?.snapshot !== undefined || runOptions?.resumeState !== undefined
    const resumeState: unknown = own ? runOptions?.resumeState : options.resumeState
    const snapshot = own ? runOptions?.snapshot : undefined
    const prepared = Entries.isResumeState(resumeState) ? Entries.forRun(resumeState) : undefined
    const given = prepared?.given ?? new Map<string, LiveEntry>()
    const run: RunState = {
      workflowId: runName ?? crypto.randomUUID(),
      workflowName: name,
      resuming: resumeState !== undefined || snapshot !== undefined,
      given,
      executed: new Map(),
      onEvent: runOptions?.onEvent ?? options.onEvent
    }
    // the default runtime: the run needs no services (a ManagedRuntime cost ~2 µs more per run)
    const { result, resumeState: state } = await runOrReject(
      Workflow.runWithState(Workflow.make(name, body(fn, deps, run)), {
        // anything that is not a ResumeState goes to the core as is, which says what is wrong with it
        resumeState: (prepared?.core ?? resumeState) as never,
        snapshot,
        retryFailed: options.retryFailed,
        onEvent: run.onEvent === undefined ? undefined : translate(run, run.onEvent)
      })
    )
    // a copy: a step the fn started but did not await may still finish, and must not change it
    const steps = new Map<string, LiveEntry>()
    state.steps.forEach((entry, key) => {
      steps.set(key, run.executed.get(key) ?? given.get(key) ?? Entries.fromCoreEntry(entry))
    })
    return { result: toResult(result), resumeState: Entries.fromMap(steps) }
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
