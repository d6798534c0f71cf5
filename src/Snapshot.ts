/**
 * The `WorkflowSnapshot` format of the reference docs, as Schema: a JSON-serializable record of every
 * step's outcome plus the execution status. `JSON.stringify` / `JSON.parse` round-trip it unchanged.
 */
import { Effect, Either, Schema } from "effect"
import { describeIssues, issuesOf, type ValidationIssue } from "./internal/issues.js"
import { setOwn } from "./internal/json.js"
import { JsonValueSchema } from "./internal/jsonSchema.js"

export type { ValidationIssue } from "./internal/issues.js"

export type JsonValue =
  | string
  | number
  | boolean
  | null
  | ReadonlyArray<JsonValue>
  | { readonly [key: string]: JsonValue }

export const JsonValue: Schema.Schema<JsonValue> = JsonValueSchema

/** Why a failed step failed, in a form that survives JSON. */
export const SerializedCause = Schema.Struct({
  /** `fail`: a typed error (the Effect error channel). `die`: a defect (a throw or `Effect.die`). */
  type: Schema.Literal("fail", "die"),
  message: Schema.String,
  name: Schema.optionalWith(Schema.String, { exact: true }),
  stack: Schema.optionalWith(Schema.String, { exact: true })
}).annotations({ identifier: "SerializedCause" })
export type SerializedCause = typeof SerializedCause.Type

export const StepOk = Schema.Struct({
  ok: Schema.Literal(true),
  value: JsonValue,
  /** Our extension: the id of the step that recorded the value, used to detect key clashes on replay. */
  stepId: Schema.optionalWith(Schema.String, { exact: true })
}).annotations({ identifier: "StepOk" })

export const StepFailed = Schema.Struct({
  ok: Schema.Literal(false),
  error: JsonValue,
  cause: SerializedCause,
  meta: Schema.optionalWith(Schema.Struct({ origin: Schema.Literal("result", "throw") }), { exact: true }),
  stepId: Schema.optionalWith(Schema.String, { exact: true })
}).annotations({ identifier: "StepFailed" })

export const StepResult = Schema.Union(StepOk, StepFailed).annotations({ identifier: "StepResult" })
export type StepResult = typeof StepResult.Type

export const ExecutionStatus = Schema.Literal("running", "completed", "failed")
export type ExecutionStatus = typeof ExecutionStatus.Type

export const Execution = Schema.Struct({
  status: ExecutionStatus,
  lastUpdated: Schema.String,
  completedAt: Schema.optionalWith(Schema.String, { exact: true }),
  currentStepId: Schema.optionalWith(Schema.String, { exact: true })
})

export const Metadata = Schema.Struct(
  {
    workflowId: Schema.optionalWith(Schema.String, { exact: true }),
    definitionHash: Schema.optionalWith(Schema.String, { exact: true }),
    input: Schema.optionalWith(JsonValue, { exact: true })
  },
  Schema.Record({ key: Schema.String, value: JsonValue })
)

export const LossyReason = Schema.Literal("non-json", "circular", "encode-failed")
export type LossyReason = typeof LossyReason.Type

/** A value that was not plain JSON and was stored as the closest JSON (see `Workflow.step` without a Schema). */
export const LossyWarning = Schema.Struct({
  type: Schema.Literal("lossy_value"),
  stepId: Schema.String,
  /** Our extension: the cache key of the entry the warning is about (one step id may record many keys). */
  stepKey: Schema.optionalWith(Schema.String, { exact: true }),
  path: Schema.String,
  reason: LossyReason
})
export type LossyWarning = typeof LossyWarning.Type

export const WorkflowSnapshot = Schema.Struct({
  formatVersion: Schema.Literal(1),
  steps: Schema.Record({ key: Schema.String, value: StepResult }),
  execution: Execution,
  metadata: Schema.optionalWith(Metadata, { exact: true }),
  warnings: Schema.optionalWith(Schema.Array(LossyWarning), { exact: true })
}).annotations({ identifier: "WorkflowSnapshot" })
export type WorkflowSnapshot = typeof WorkflowSnapshot.Type

export class SnapshotFormatError extends Schema.TaggedError<SnapshotFormatError>()("SnapshotFormatError", {
  errors: Schema.Array(Schema.Struct({ path: Schema.String, message: Schema.String }))
}) {
  override get message(): string {
    return `Invalid WorkflowSnapshot: ${describeIssues(this.errors)}`
  }
}

export type ValidationResult =
  | { readonly valid: true; readonly snapshot: WorkflowSnapshot }
  | { readonly valid: false; readonly errors: ReadonlyArray<ValidationIssue> }

const decodeEither = Schema.decodeUnknownEither(WorkflowSnapshot, { errors: "all", onExcessProperty: "preserve" })

/** A cheap structural check: has `formatVersion`, `steps` and `execution`. Use `validate` for certainty. */
export const looksLike = (u: unknown): boolean =>
  typeof u === "object" && u !== null && "formatVersion" in u && "steps" in u && "execution" in u &&
  typeof (u as { steps: unknown }).steps === "object" && !((u as { steps: unknown }).steps instanceof Map)

/** Full validation. Never throws; on failure every error carries a path such as `$.steps["user:1"].ok`. */
export const validate = (u: unknown): ValidationResult => {
  const result = decodeEither(u)
  if (Either.isLeft(result)) return { valid: false, errors: issuesOf(result.left) }
  return { valid: true, snapshot: keepProtoStep(u, result.right) }
}

const decodeStep = Schema.decodeUnknownEither(StepResult)

// Schema records skip a "__proto__" key; a step may legitimately be keyed so, and must not vanish.
const keepProtoStep = (input: unknown, snapshot: WorkflowSnapshot): WorkflowSnapshot => {
  const steps = (input as { steps: object }).steps
  if (!Object.hasOwn(steps, "__proto__")) return snapshot
  const decoded = decodeStep((steps as Record<string, unknown>)["__proto__"])
  if (Either.isLeft(decoded)) return snapshot
  const copy = { ...snapshot.steps }
  setOwn(copy, "__proto__", decoded.right)
  return { ...snapshot, steps: copy }
}

export const isWorkflowSnapshot = (u: unknown): u is WorkflowSnapshot => validate(u).valid

export const decode = (u: unknown): Effect.Effect<WorkflowSnapshot, SnapshotFormatError> => {
  const result = validate(u)
  return result.valid ? Effect.succeed(result.snapshot) : Effect.fail(new SnapshotFormatError({ errors: result.errors }))
}

/** Throwing helper: returns the snapshot or throws `SnapshotFormatError`. */
export const assertValid = (u: unknown): WorkflowSnapshot => {
  const result = validate(u)
  if (result.valid) return result.snapshot
  throw new SnapshotFormatError({ errors: result.errors })
}

/** Incremental persistence: delta's steps overwrite base's, execution comes from delta, metadata merges shallowly. */
export const merge = (base: WorkflowSnapshot, delta: WorkflowSnapshot): WorkflowSnapshot => {
  const metadata = base.metadata === undefined && delta.metadata === undefined
    ? undefined
    : { ...base.metadata, ...delta.metadata }
  // a warning about a step that delta replaces goes with it
  const warnings = base.warnings === undefined && delta.warnings === undefined
    ? undefined
    : [
      ...(base.warnings ?? []).filter((w) => w.stepKey === undefined || !Object.hasOwn(delta.steps, w.stepKey)),
      ...(delta.warnings ?? [])
    ]
  return {
    formatVersion: 1,
    steps: { ...base.steps, ...delta.steps },
    execution: delta.execution,
    ...(metadata === undefined ? {} : { metadata }),
    ...(warnings === undefined ? {} : { warnings })
  }
}
