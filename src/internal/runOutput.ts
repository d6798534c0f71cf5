/**
 * A durable run's input and outcome as the store keeps them: the input as JSON text, the outcome as a
 * StepResult (the wire format of a step's), encoded with the workflow's Schemas when it has them and by
 * the step lossy rules otherwise. A completed run returns its outcome decoded from here.
 */
import { Cause, Effect, Exit, Option, Schema } from "effect"
import type * as Snapshot from "../Snapshot.js"
import { StepCodecError, StepKeyConflictError } from "../WorkflowError.js"
import { encode } from "./codec.js"
import { maxDepth, toJson } from "./json.js"
import { defectEntry, encodeWith, failedEntry, type RunContext, replay, succeededEntry } from "./stepCache.js"

// The key the outcome is recorded under, as far as codec errors tell it
const resultKey = "(result)"

// The typed errors a run adds itself: they round-trip as their own classes, whatever the workflow's Schema
const ownErrors = Schema.Union(StepKeyConflictError, StepCodecError)
const isOwnError = Schema.is(ownErrors)

const errorSchema = (schema: Schema.Schema<any, any> | undefined): Schema.Schema<any, any> =>
  schema === undefined ? ownErrors : Schema.Union(schema, ownErrors)

/** The input as JSON text for the run record, or undefined when there is none. */
export const encodeInput = (
  schema: Schema.Schema<any, any> | undefined,
  input: unknown,
  workflowName: string
): Either<string | undefined> => {
  if (input === undefined) return { ok: true, value: undefined }
  const encoded = schema === undefined ? { _tag: "Right" as const, right: input } : encode(schema, input)
  if (encoded._tag === "Left") return { ok: false, message: `cannot encode the input of workflow "${workflowName}": ${encoded.left.message}` }
  const copy = toJson(encoded.right)
  if (copy.tooDeep === true) return { ok: false, message: `the input nests deeper than ${maxDepth} levels` }
  return { ok: true, value: JSON.stringify(copy.json) }
}

type Either<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly message: string }

/** The outcome to record when a run ends. */
export const encodeOutcome = (
  workflowName: string,
  options: { readonly success?: Schema.Schema<any, any>; readonly error?: Schema.Schema<any, any> },
  exit: Exit.Exit<unknown, unknown>
): Snapshot.StepResult => {
  if (Exit.isSuccess(exit)) {
    const encoded = encodeWith(options.success, exit.value)
    if ("copy" in encoded) return succeededEntry(workflowName, resultKey, encoded.copy).result
    const error = new StepCodecError({
      reason: "Encode",
      stepId: workflowName,
      stepKey: resultKey,
      outcome: exit.value,
      message: `Workflow "${workflowName}": cannot encode the result: ${encoded.failure}`
    })
    return failedEntry(workflowName, resultKey, error, toJson(encode(ownErrors, error).pipe((e) => e._tag === "Right" ? e.right : {}))).result
  }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    const encoded = encodeWith(isOwnError(error) ? ownErrors : options.error, error)
    if ("copy" in encoded) return failedEntry(workflowName, resultKey, error, encoded.copy).result
    // the error's Schema refused it: kept as the closest JSON rather than lost
    return failedEntry(workflowName, resultKey, error, toJson(error)).result
  }
  return defectEntry(workflowName, Cause.squash(exit.cause)).result
}

const replayContext: RunContext = {
  workflowName: "",
  steps: new Map(),
  visits: new Map(),
  retryFailed: false,
  emit: undefined,
  onRecorded: undefined
}

/** A finished run's recorded outcome, as the Effect its caller gets. */
export const replayOutcome = (
  workflowName: string,
  options: { readonly success?: Schema.Schema<any, any>; readonly error?: Schema.Schema<any, any> },
  output: Snapshot.StepResult
): Effect.Effect<unknown, unknown> => {
  // without a Schema of its own, an error is decoded only when it is one of ours; else it replays as its JSON
  const tag = !output.ok && typeof output.error === "object" && output.error !== null && !Array.isArray(output.error)
    ? (output.error as { readonly _tag?: unknown })._tag
    : undefined
  const error = options.error !== undefined || tag === "StepKeyConflictError" || tag === "StepCodecError"
    ? errorSchema(options.error)
    : undefined
  return replay(replayContext, workflowName, resultKey, { result: output }, {
    ...(options.success === undefined ? {} : { success: options.success }),
    ...(error === undefined ? {} : { error })
  })
}
