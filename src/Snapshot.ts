/**
 * The `WorkflowSnapshot` format of the reference docs, as Schema: a JSON-serializable record of every
 * step's outcome plus the execution status. `JSON.stringify` / `JSON.parse` round-trip it unchanged.
 */
import { Effect, Either, Schema } from "effect"
import { describeIssues, issuesOf, snapshotIssue, unreadable, type ValidationIssue } from "./internal/issues.js"
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

/** A thrown `Error` (or a typed error that is one, such as a `Schema.TaggedError`), with its cause chain. */
export interface SerializedErrorCause {
  readonly type: "error"
  readonly name: string
  readonly message: string
  readonly stack?: string
  readonly cause?: SerializedCause
}

/** Anything else that was thrown or failed: a string, a number, a plain object... */
export interface SerializedThrownCause {
  readonly type: "thrown"
  /** `typeof` for a primitive (`"null"` for null), else the constructor's name. */
  readonly originalType?: string
  /** The value as JSON, when it has a JSON form (not for bigint, symbol, function, undefined, a cycle). */
  readonly value?: JsonValue
  /** `String(value)`, cut to 1000 characters (`truncated: true` then). */
  readonly stringRepresentation: string
  readonly truncated?: true
}

/** Why a failed step failed, in a form that survives JSON: the reference's `SerializedCause`. */
export type SerializedCause = SerializedErrorCause | SerializedThrownCause

const SerializedErrorCause: Schema.Schema<SerializedErrorCause> = Schema.Struct({
  type: Schema.Literal("error"),
  name: Schema.String,
  message: Schema.String,
  stack: Schema.optionalWith(Schema.String, { exact: true }),
  cause: Schema.optionalWith(Schema.suspend((): Schema.Schema<SerializedCause> => SerializedCause), { exact: true })
}).annotations({ identifier: "SerializedErrorCause" })

const SerializedThrownCause: Schema.Schema<SerializedThrownCause> = Schema.Struct({
  type: Schema.Literal("thrown"),
  originalType: Schema.optionalWith(Schema.String, { exact: true }),
  value: Schema.optionalWith(JsonValue, { exact: true }),
  stringRepresentation: Schema.String,
  truncated: Schema.optionalWith(Schema.Literal(true), { exact: true })
}).annotations({ identifier: "SerializedThrownCause" })

export const SerializedCause: Schema.Schema<SerializedCause> = Schema.Union(SerializedErrorCause, SerializedThrownCause)
  .annotations({ identifier: "SerializedCause" })

export { deserializeCause, serializeCause } from "./internal/cause.js"

export const StepOk = Schema.Struct({
  ok: Schema.Literal(true),
  /** Absent only in the reference's states, for a step whose value was `undefined`. */
  value: Schema.optionalWith(JsonValue, { exact: true }),
  /** Our extension: the id of the step that recorded the value, used to detect key clashes on replay. */
  stepId: Schema.optionalWith(Schema.String, { exact: true })
}).annotations({ identifier: "StepOk" })

export const StepFailed = Schema.Struct({
  ok: Schema.Literal(false),
  /** Absent only in the reference's states, for a step whose error was `undefined`. */
  error: Schema.optionalWith(JsonValue, { exact: true }),
  cause: SerializedCause,
  /** `result`: a typed failure (the error channel). `throw`: a defect. Always written; read as `result` when absent. */
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

/**
 * Full validation. Never throws; on failure every error carries a path such as `$.steps["user:1"].ok`.
 * Values nested deeper than 1000 levels, and cause chains longer than 1000, are refused. A "__proto__"
 * key is kept as an ordinary key where any key may be (a step key, a metadata key, inside a value) and
 * refused in the snapshot's own structs, where it would set the prototype.
 */
export const validate = (u: unknown): ValidationResult => {
  try {
    const early = snapshotIssue(u)
    if (early !== undefined) return { valid: false, errors: [early] }
    const result = decodeEither(u)
    if (Either.isLeft(result)) return { valid: false, errors: issuesOf(result.left) }
    return { valid: true, snapshot: keepProtoKeys(u, result.right) }
  } catch {
    return { valid: false, errors: [unreadable(u)] }
  }
}

const decodeStep = Schema.decodeUnknownEither(StepResult)

// Schema records assign each key with `output[key] = value`: a "__proto__" key (a legitimate step key
// or metadata key) then sets the prototype instead of a property. Put it back as an own key.
const keepProtoKeys = (input: unknown, snapshot: WorkflowSnapshot): WorkflowSnapshot => {
  const { metadata, steps } = input as { steps: object; metadata?: object }
  let out = snapshot
  if (Object.hasOwn(steps, "__proto__")) {
    const decoded = decodeStep((steps as Record<string, unknown>)["__proto__"])
    if (Either.isRight(decoded)) {
      const copy = { ...snapshot.steps }
      setOwn(copy, "__proto__", decoded.right)
      out = { ...out, steps: copy }
    }
  }
  if (metadata !== undefined && out.metadata !== undefined && Object.hasOwn(metadata, "__proto__")) {
    // already checked as a JsonValue by the Record's value schema
    const copy: Record<string, JsonValue> = { ...out.metadata }
    setOwn(copy, "__proto__", (metadata as Record<string, JsonValue>)["__proto__"]!)
    out = { ...out, metadata: copy }
  }
  return out
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
