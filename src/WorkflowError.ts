/**
 * The typed errors a run adds to the workflow's own: bad run options, key clashes, codec failures.
 */
import { Schema } from "effect"

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

/**
 * A step's `success` / `error` Schema could not encode its outcome (nothing is recorded, the step runs
 * again on resume), or could not decode a recorded one.
 */
export class StepCodecError extends Schema.TaggedError<StepCodecError>()("StepCodecError", {
  reason: Schema.Literal("Encode", "Decode"),
  stepId: Schema.String,
  stepKey: Schema.String,
  /** Encode: the value or error the step produced, kept so it is not lost. Decode: the recorded JSON. */
  outcome: Schema.Unknown,
  message: Schema.String
}) {}

export { ReplayedDefect } from "./internal/cause.js"

export type StepFailure = StepKeyConflictError | StepCodecError
