/**
 * The reference's event stream. Field names and values follow the reference: `stepId` is the step's
 * cache key (as `stepKey`), `name` the id the step was called with, `workflowId` a fresh UUID per run.
 * Our events may carry more fields than the reference's (never fewer); those are marked "ours".
 */
import type { LiveEntry } from "./entries.js"
import type { Result, StepFailureMeta } from "./result.js"

interface Base {
  readonly workflowId: string
  readonly workflowName: string
  /** `Date.now()` when the event was emitted. */
  readonly ts: number
}
interface StepBase extends Base {
  /** The cache key, as in the reference (the id when the step has no `key`). */
  readonly stepId: string
  readonly stepKey: string
  /** The id the step was called with. */
  readonly name: string
}
interface KeyBase extends Base {
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

export type WorkflowStartEvent = Base & { readonly type: "workflow_start" }
export type WorkflowSuccessEvent = Base & { readonly type: "workflow_success"; readonly durationMs: number }
export type WorkflowErrorEvent = Base & { readonly type: "workflow_error"; readonly durationMs: number; readonly error: unknown }
export type StepStartEvent = StepBase & { readonly type: "step_start" }
export type StepSuccessEvent = StepBase & { readonly type: "step_success"; readonly durationMs: number }
export type StepErrorEvent = StepBase & {
  readonly type: "step_error"
  readonly durationMs: number
  readonly error: unknown
  readonly diagnostics?: StepDiagnostics
}
/** Fired for every executed step, on success and on failure: `{ result, meta }` is what a collector keeps. */
export type StepCompleteEvent = KeyBase & {
  readonly type: "step_complete"
  readonly durationMs: number
  /** What the step returned, verbatim (or, for a throw, `{ ok: false, error: UnexpectedError, cause }`). */
  readonly result: Result<unknown, unknown, unknown>
  /** Absent on success. */
  readonly meta?: StepFailureMeta | undefined
}
export type StepCacheHitEvent = KeyBase & {
  readonly type: "step_cache_hit"
  /** Ours: the replayed entry, so that a collector keeps replayed steps too. */
  readonly result: Result<unknown, unknown, unknown>
  readonly meta?: StepFailureMeta | undefined
}
/** Emitted only when the run was given a `resumeState` or `snapshot` (even an empty one). */
export type StepCacheMissEvent = KeyBase & { readonly type: "step_cache_miss" }

export type WorkflowEvent =
  | WorkflowStartEvent
  | WorkflowSuccessEvent
  | WorkflowErrorEvent
  | StepStartEvent
  | StepSuccessEvent
  | StepErrorEvent
  | StepCompleteEvent
  | StepCacheHitEvent
  | StepCacheMissEvent

/** Narrows an event to `step_complete`, which has `stepKey`, `result` and `meta`. */
export const isStepComplete = (event: WorkflowEvent): event is StepCompleteEvent => event.type === "step_complete"

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
