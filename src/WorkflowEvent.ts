/**
 * What a run reports as it goes: pass `onEvent` to `Workflow.run`. Step events carry the step's id and
 * cache key; `StepComplete` / `StepError` carry the recorded entry, which is what a collector keeps.
 */
import { Data, type Effect } from "effect"
import type * as ResumeState from "./ResumeState.js"

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
