/**
 * The reference's event stream. Field names and values follow the reference: `stepId` is the step's
 * cache key (as `stepKey`), `name` the id the step was called with, `workflowId` a fresh UUID per run.
 * Our events may carry more fields than the reference's (never fewer); those are marked "ours".
 * `C` is the type of the run's context (the workflow's `createContext`).
 */
import type { LiveEntry } from "./entries.js"
import type { Result, StepFailureMeta } from "./result.js"

interface Base<C> {
  readonly workflowId: string
  readonly workflowName: string
  /** `Date.now()` when the event was emitted. */
  readonly ts: number
  /** What the run's `createContext` returned; absent without one (or when it returned `undefined`). */
  readonly context?: C
}
interface StepBase<C> extends Base<C> {
  /** The cache key, as in the reference (the id when the step has no `key`). */
  readonly stepId: string
  readonly stepKey: string
  /** The id the step was called with. */
  readonly name: string
  /** The step's `description` option, when it has one. */
  readonly description?: string
}
interface KeyBase<C> extends Base<C> {
  readonly stepKey: string
  readonly name: string
}

export interface StepDiagnostics {
  /** `error._tag`, else `error.code`, else a string error, else an Error's name, else "unknown". */
  readonly tag: string
  readonly origin: "result" | "throw"
  readonly attempt: number
  readonly cumulativeDurationMs: number
}

export type WorkflowStartEvent<C = unknown> = Base<C> & { readonly type: "workflow_start" }
export type WorkflowSuccessEvent<C = unknown> = Base<C> & { readonly type: "workflow_success"; readonly durationMs: number }
export type WorkflowErrorEvent<C = unknown> = Base<C> & {
  readonly type: "workflow_error"
  readonly durationMs: number
  readonly error: unknown
}
export type StepStartEvent<C = unknown> = StepBase<C> & { readonly type: "step_start" }
export type StepSuccessEvent<C = unknown> = StepBase<C> & { readonly type: "step_success"; readonly durationMs: number }
export type StepErrorEvent<C = unknown> = StepBase<C> & {
  readonly type: "step_error"
  readonly durationMs: number
  readonly error: unknown
  readonly diagnostics?: StepDiagnostics
}
/** Fired for every executed step, on success and on failure: `{ result, meta }` is what a collector keeps. */
export type StepCompleteEvent<C = unknown> = KeyBase<C> & {
  readonly type: "step_complete"
  /** The step's `description` option, when it has one. */
  readonly description?: string
  readonly durationMs: number
  /** What the step returned, verbatim (or, for a throw, `{ ok: false, error: UnexpectedError, cause }`). */
  readonly result: Result<unknown, unknown, unknown>
  /** Absent on success. */
  readonly meta?: StepFailureMeta | undefined
}
export type StepCacheHitEvent<C = unknown> = KeyBase<C> & {
  readonly type: "step_cache_hit"
  /** Ours: the replayed entry, so that a collector keeps replayed steps too. */
  readonly result: Result<unknown, unknown, unknown>
  readonly meta?: StepFailureMeta | undefined
}
/** Emitted only when the run was given a `resumeState` or `snapshot` (even an empty one). */
export type StepCacheMissEvent<C = unknown> = KeyBase<C> & { readonly type: "step_cache_miss" }

export type WorkflowEvent<C = unknown> =
  | WorkflowStartEvent<C>
  | WorkflowSuccessEvent<C>
  | WorkflowErrorEvent<C>
  | StepStartEvent<C>
  | StepSuccessEvent<C>
  | StepErrorEvent<C>
  | StepCompleteEvent<C>
  | StepCacheHitEvent<C>
  | StepCacheMissEvent<C>

/** Narrows an event to `step_complete`, which has `stepKey`, `result` and `meta`. */
export const isStepComplete = <C>(event: WorkflowEvent<C>): event is StepCompleteEvent<C> => event.type === "step_complete"

export const diagnosticsTag = (error: unknown): string => {
  if (typeof error === "string") return error
  if (typeof error !== "object" || error === null) return "unknown"
  const { _tag, code } = error as { _tag?: unknown; code?: unknown }
  if (typeof _tag === "string") return _tag
  if (code !== undefined) return String(code)
  return error instanceof Error ? error.name : "unknown"
}

/** The entry a step event reports, as a collector keeps it. */
export const entryOf = (event: StepCompleteEvent | StepCacheHitEvent): LiveEntry =>
  event.meta === undefined ? { result: event.result } : { result: event.result, meta: event.meta }
