/**
 * The typed errors a run adds to the workflow's own: bad run options, key clashes, codec failures.
 */
import { Schema } from "effect"

/** Bad arguments to `run`: both resume sources at once, or a value of the wrong shape. */
export class RunOptionsError extends Schema.TaggedError<RunOptionsError>()("RunOptionsError", {
  reason: Schema.Literal(
    "BothResumeStateAndSnapshot",
    "SnapshotAsResumeState",
    "InvalidResumeState",
    "InvalidSnapshot",
    "InvalidLease",
    "InvalidInput",
    "WorkflowMismatch"
  ),
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

/**
 * `runDurable` found the run held by another owner whose lease has not expired (on the store's clock).
 * `onLocked: "wait"` waits for the lease instead.
 */
export class RunLocked extends Schema.TaggedError<RunLocked>()("RunLocked", {
  runId: Schema.String,
  message: Schema.String
}) {}

/**
 * The run's lease passed to another owner (this one paused past its lease, and another process took the
 * run over): the checkpoint that found out wrote nothing, and the body was interrupted.
 */
export class LeaseLost extends Schema.TaggedError<LeaseLost>()("LeaseLost", {
  runId: Schema.String,
  message: Schema.String
}) {}

/** The run was cancelled (`Workflow.cancel`): its owner stops at its next checkpoint, and it is never resumed. */
export class Cancelled extends Schema.TaggedError<Cancelled>()("Cancelled", {
  runId: Schema.String,
  message: Schema.String
}) {}

/**
 * The stored run was written by another `version` of the workflow. Resuming it could replay outcomes
 * into code that no longer expects them; a workflow opts in with `onVersionChange: "continue"`.
 */
export class VersionMismatch extends Schema.TaggedError<VersionMismatch>()("VersionMismatch", {
  runId: Schema.String,
  stored: Schema.NullOr(Schema.String),
  current: Schema.NullOr(Schema.String),
  message: Schema.String
}) {}

/** What `runDurable` adds to a workflow's own errors. */
export type DurableFailure = RunLocked | LeaseLost | Cancelled | VersionMismatch

/** The run crashed more often than its `maxAttempts` allow and was left for inspection: `Workflow.retry` revives it. */
export class RunDead extends Schema.TaggedError<RunDead>()("RunDead", {
  runId: Schema.String,
  attempts: Schema.Number,
  message: Schema.String
}) {}

/** No run is recorded under the id (`Workflow.result` / `poll` / `retry`). */
export class RunNotFound extends Schema.TaggedError<RunNotFound>()("RunNotFound", {
  runId: Schema.String,
  message: Schema.String
}) {}
