/**
 * `effect-resume/workflow`: the reference's Promise API (`createWorkflow`, `step`, Results, events,
 * the collector), as a thin layer over the Effect core: caching and replay are the core's; this module
 * adapts Promises, live Results and the reference's events to it. Entries cross in src/promise/entries.ts.
 */
import { Cause, Effect, Exit } from "effect"
import { toJson } from "../internal/json.js"
import { storedForm } from "../internal/stored.js"
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
  switch (storedForm(loaded)) {
    case "ResumeState":
      return loaded as ResumeState
    case "ResumeStateJson":
      return deserializeResumeState(loaded)
    default:
      return Entries.fromCoreState(CoreState.fromSnapshot(Snapshot.assertValid(loaded)))
  }
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
  /** Reported as `description` on the step's `step_start`, `step_success` / `step_error` and `step_complete` events. */
  readonly description?: string
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

/**
 * A ResumeState, or a function that gives one (or a Promise of one), called once per run, after
 * `workflow_start`: if it throws or rejects, the run rejects with that error, as in the reference.
 */
export type ResumeStateOption = ResumeState | (() => ResumeState | PromiseLike<ResumeState>)

/** Receives each event, and the run's context (from `createContext`; `undefined` without one). */
export type EventHandler<C = void> = (event: WorkflowEvent<C>, ctx: C) => void

export type RunOptions<C = void> =
  & {
    /** Replaces the workflow's `onEvent` for this run. */
    readonly onEvent?: EventHandler<C> | undefined
    /** Replaces the workflow's `createContext` for this run. */
    readonly createContext?: (() => C | PromiseLike<C>) | undefined
  }
  & (
    | { readonly resumeState?: ResumeStateOption | undefined; readonly snapshot?: undefined }
    | { readonly snapshot: Snapshot.WorkflowSnapshot; readonly resumeState?: undefined }
  )

export interface WorkflowOptions<C = void> {
  /** Replaced by a run's own `onEvent`, as in the reference. */
  readonly onEvent?: EventHandler<C>
  /**
   * Called at the start of every run (awaited, before `workflow_start`): its value is every event's
   * `context` and `onEvent`'s second argument. If it throws or rejects, the run rejects with that error.
   */
  readonly createContext?: () => C | PromiseLike<C>
  /** Used by every run that is not given its own `resumeState` or `snapshot`. */
  readonly resumeState?: ResumeStateOption
  /** Ours: re-run steps whose recorded outcome is a failure. */
  readonly retryFailed?: boolean
}

export interface RunWithStateResult<T> {
  readonly result: Result<T, unknown, unknown>
  /** Every step of the run, replayed ones included (the reference's holds only the new ones). */
  readonly resumeState: ResumeState
}

/** A run may be given a name first, as in the reference: it becomes the events' `workflowId`. */
export interface PromiseWorkflow<Deps, C = void> {
  readonly name: string
  readonly run: {
    <T>(fn: WorkflowFn<T, Deps>, options?: RunOptions<C>): Promise<Result<T, unknown, unknown>>
    <T>(runName: string, fn: WorkflowFn<T, Deps>, options?: RunOptions<C>): Promise<Result<T, unknown, unknown>>
  }
  readonly runWithState: {
    <T>(fn: WorkflowFn<T, Deps>, options?: RunOptions<C>): Promise<RunWithStateResult<T>>
    <T>(runName: string, fn: WorkflowFn<T, Deps>, options?: RunOptions<C>): Promise<RunWithStateResult<T>>
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

/** A handler as the events are delivered to it (the context's type erased). */
type Handler = (event: WorkflowEvent, ctx: unknown) => void

/** What closes every event: the run's `context` (when it has one), then `workflowName`, as in the reference. */
type EventTail = { readonly context?: unknown; readonly workflowName: string }

/** One run's bookkeeping: the live outcomes the core's JSON entries stand for. */
interface RunState {
  readonly workflowId: string
  /** What `createContext` gave (`undefined` without one): `onEvent`'s second argument. */
  readonly context: unknown
  readonly tail: EventTail
  /** `workflow_start` was already emitted (before a `resumeState` function was called). */
  readonly started: boolean
  /** A resumeState or snapshot was given: executed steps are cache misses. */
  readonly resuming: boolean
  /** The given entries, live (a wire entry deserialized): an in-memory replay returns these. */
  readonly given: ReadonlyMap<string, LiveEntry>
  /** What each step executed in this run returned (or threw). */
  readonly executed: Map<string, LiveEntry>
  readonly onEvent: Handler | undefined
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
  const description = options?.description
  if (onEvent !== undefined) emitStart(run, onEvent, id, key, description)
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
  if (onEvent !== undefined) emitEnd(run, onEvent, id, key, description, performance.now() - t0, live, succeeded)
  if (succeeded) return (live.result as Ok<unknown>).value as never
  throw new StepFailedError(id, Entries.failureOf(live))
}

const body = <T, Deps>(fn: WorkflowFn<T, Deps>, deps: Deps, run: RunState): Effect.Effect<T, RunFailed, Workflow.WorkflowRun> =>
  Effect.flatMap(Workflow.WorkflowRun, (ctx) => {
    const step = makeStep(ctx, run)
    // as Effect.tryPromise, which costs a little more per run
    return Effect.async<T, RunFailed>((resume) => {
      let settled: Promise<T>
      try {
        settled = Promise.resolve(fn({ step, deps }))
      } catch (thrown) {
        settled = Promise.reject(thrown)
      }
      settled.then(
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
const deliver = (
  run: { readonly context: unknown },
  onEvent: Handler,
  events: ReadonlyArray<WorkflowEvent>,
  tag: string
): void => {
  let failed: { readonly error: unknown } | undefined
  for (const e of events) {
    try {
      onEvent(e, run.context)
    } catch (error) {
      failed ??= { error }
    }
  }
  if (failed !== undefined) {
    Effect.runSync(Effect.logWarning(`effect-resume: the onEvent handler failed on ${tag}; the run goes on`, failed.error))
  }
}

// Events are built only when there is a handler. In the reference's key order: type, workflowId, the
// step's ids (and description), ts, the rest, then context and workflowName last.

const emitCacheHit = (run: RunState, onEvent: Handler, id: string, key: string, entry: LiveEntry, ok: boolean) =>
  deliver(run, onEvent, [{
    type: "step_cache_hit",
    workflowId: run.workflowId,
    stepKey: key,
    name: id,
    ts: Date.now(),
    result: entry.result,
    ...meta(entry),
    ...run.tail
  }], ok ? "StepComplete" : "StepError")

/** A step's `stepKey`, `name` and (when it has one) `description`. */
const stepIds = (id: string, key: string, description: string | undefined) =>
  description === undefined ? { stepKey: key, name: id } : { stepKey: key, name: id, description }

const emitStart = (run: RunState, onEvent: Handler, id: string, key: string, description: string | undefined) => {
  const { workflowId, tail } = run
  const ts = Date.now()
  const start: WorkflowEvent = { type: "step_start", workflowId, stepId: key, ...stepIds(id, key, description), ts, ...tail }
  deliver(
    run,
    onEvent,
    run.resuming ? [{ type: "step_cache_miss", workflowId, stepKey: key, name: id, ts, ...tail }, start] : [start],
    "StepStart"
  )
}

const emitEnd = (
  run: RunState,
  onEvent: Handler,
  id: string,
  key: string,
  description: string | undefined,
  durationMs: number,
  live: LiveEntry,
  succeeded: boolean
) => {
  const { workflowId, tail } = run
  const ts = Date.now()
  const step = stepIds(id, key, description)
  let end: WorkflowEvent
  if (succeeded) {
    end = { type: "step_success", workflowId, stepId: key, ...step, ts, durationMs, ...tail }
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
      ...tail
    }
  }
  deliver(run, onEvent, [
    end,
    { type: "step_complete", workflowId, ...step, ts, durationMs, result: live.result, ...meta(live), ...tail }
  ], succeeded ? "StepComplete" : "StepError")
}

const startEvent = (workflowId: string, tail: EventTail): WorkflowEvent => ({
  type: "workflow_start",
  workflowId,
  ts: Date.now(),
  ...tail
})

/** The core's workflow events as the reference's (step events are the step's own, above). */
const translate = (run: RunState, onEvent: Handler) => (event: Workflow.WorkflowEvent): void => {
  const { workflowId, tail } = run
  switch (event._tag) {
    case "WorkflowStart":
      if (run.started) return
      return deliver(run, onEvent, [startEvent(workflowId, tail)], event._tag)
    case "WorkflowComplete":
      return deliver(
        run,
        onEvent,
        [{ type: "workflow_success", workflowId, ts: Date.now(), durationMs: event.durationMs, ...tail }],
        event._tag
      )
    case "WorkflowError": {
      const error = event.error instanceof RunFailed ? event.error.result.error : event.error
      return deliver(
        run,
        onEvent,
        [{ type: "workflow_error", workflowId, ts: Date.now(), durationMs: event.durationMs, error, ...tail }],
        event._tag
      )
    }
  }
}

const meta = (entry: ResumeStateEntry) => entry.meta === undefined ? {} : { meta: entry.meta }

/**
 * A `resumeState` given as a function, called as the reference calls it: after `workflow_start` (which
 * is then emitted here, not by the core). A throw or rejection rejects the run, with no further event.
 */
const resolveResumeState = async (
  factory: () => unknown,
  workflowId: string,
  tail: EventTail,
  context: unknown,
  onEvent: Handler | undefined
): Promise<unknown> => {
  if (onEvent !== undefined) deliver({ context }, onEvent, [startEvent(workflowId, tail)], "WorkflowStart")
  const state = await factory()
  if (state === undefined) {
    throw new Workflow.RunOptionsError({
      reason: "InvalidResumeState",
      message: "The `resumeState` function returned undefined: it must return a ResumeState ({ steps: Map })."
    })
  }
  return state
}

export const createWorkflow = <Deps, C = void>(
  name: string,
  deps: Deps,
  options: WorkflowOptions<C> = {}
): PromiseWorkflow<Deps, C> => {
  const execute = async <T>(runName: string | undefined, fn: WorkflowFn<T, Deps>, runOptions?: RunOptions<C>) => {
    const own = runOptions?.snapshot !== undefined || runOptions?.resumeState !== undefined
    const option: unknown = own ? runOptions?.resumeState : options.resumeState
    const snapshot = own ? runOptions?.snapshot : undefined
    const createContext = runOptions?.createContext ?? options.createContext
    // called first, as in the reference: a throw rejects the run before any event
    const context: unknown = createContext === undefined ? undefined : await createContext()
    const onEvent = (runOptions?.onEvent ?? options.onEvent) as Handler | undefined
    // only events show the id: without a handler, no UUID is drawn
    const workflowId = runName ?? (onEvent === undefined ? "" : crypto.randomUUID())
    const tail: EventTail = context === undefined ? { workflowName: name } : { context, workflowName: name }
    const started = typeof option === "function"
    const resumeState = started ? await resolveResumeState(option as () => unknown, workflowId, tail, context, onEvent) : option
    const prepared = Entries.isResumeState(resumeState) ? Entries.forRun(resumeState) : undefined
    const given: ReadonlyMap<string, LiveEntry> = prepared?.given ?? new Map<string, LiveEntry>()
    const run: RunState = {
      workflowId,
      context,
      tail,
      started,
      resuming: resumeState !== undefined || snapshot !== undefined,
      given,
      executed: new Map(),
      onEvent
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
      ? execute(args[0], args[1] as WorkflowFn<unknown, Deps>, args[2] as RunOptions<C> | undefined)
      : execute(undefined, args[0] as WorkflowFn<unknown, Deps>, args[1] as RunOptions<C> | undefined)
  return {
    name,
    runWithState: runWithState as PromiseWorkflow<Deps, C>["runWithState"],
    run: ((...args: Array<unknown>) => runWithState(...args).then(({ result }) => result)) as PromiseWorkflow<Deps, C>["run"]
  }
}
