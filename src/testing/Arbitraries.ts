/**
 * `effect-resume/testing`: fast-check Arbitraries for property tests of snapshot round trips.
 *
 * Every value they generate comes back exactly from `JSON.parse(JSON.stringify(x))` (no -0, NaN,
 * Infinity or undefined) and passes the library's own checks (`Snapshot.validate`,
 * `ResumeState.deserialize`). Object keys include "__proto__", as an ordinary key. Strings are
 * printable ASCII, so the values also suit stores that refuse "\u0000" (PostgreSQL jsonb).
 *
 *   import { it } from "@effect/vitest"
 *   import { Arbitraries } from "effect-resume/testing"
 *   it.prop("round trip", [Arbitraries.workflowSnapshot], ([snapshot]) => { ... })
 *
 * Plain `effect/FastCheck` values: `fc.assert` and `fc.sample` take them too; no test runner needed.
 */
import { FastCheck as fc } from "effect"
import { jsonValueArbitrary } from "../internal/jsonSchema.js"
import * as ResumeState from "../ResumeState.js"
import type * as Snapshot from "../Snapshot.js"

/** Any JSON value, nested up to 3 levels. */
export const jsonValue: fc.Arbitrary<Snapshot.JsonValue> = jsonValueArbitrary(fc)

const thrownCause: fc.Arbitrary<Snapshot.SerializedThrownCause> = fc.record({
  type: fc.constant("thrown" as const),
  originalType: fc.string(),
  value: jsonValue,
  stringRepresentation: fc.string(),
  truncated: fc.constant(true as const)
}, { requiredKeys: ["type", "stringRepresentation"] })

// An Error's cause chain, at most `depth` errors deep, ending (if it goes on) in a thrown value.
const causeOfDepth = (depth: number): fc.Arbitrary<Snapshot.SerializedCause> =>
  depth === 0 ? thrownCause : fc.oneof(
    thrownCause,
    fc.record({
      type: fc.constant("error" as const),
      name: fc.string(),
      message: fc.string(),
      stack: fc.string(),
      cause: causeOfDepth(depth - 1)
    }, { requiredKeys: ["type", "name", "message"] })
  )

/** A `SerializedCause`: an Error (name, message, stack, cause chain) or another thrown value. */
export const serializedCause: fc.Arbitrary<Snapshot.SerializedCause> = causeOfDepth(3)

// A step's outcome without `stepId`: a ResumeState keeps that on the entry, beside the result.
const outcome: fc.Arbitrary<Snapshot.StepResult> = fc.oneof(
  fc.record({ ok: fc.constant(true as const), value: jsonValue }),
  fc.record({
    ok: fc.constant(false as const),
    error: jsonValue,
    cause: serializedCause,
    // always written: it tells a typed failure ("result") from a defect ("throw")
    meta: fc.record({ origin: fc.constantFrom("result" as const, "throw" as const) })
  })
)

/** A recorded step outcome as a snapshot stores it: a success or a failure, with or without `stepId`. */
export const stepResult: fc.Arbitrary<Snapshot.StepResult> = fc.tuple(outcome, fc.option(fc.string(), { nil: undefined }))
  .map(([result, stepId]) => (stepId === undefined ? result : { ...result, stepId }))

const lossyWarning: fc.Arbitrary<Snapshot.LossyWarning> = fc.record({
  type: fc.constant("lossy_value" as const),
  stepId: fc.string(),
  stepKey: fc.string(),
  path: fc.string(),
  reason: fc.constantFrom("non-json" as const, "circular" as const, "encode-failed" as const)
}, { requiredKeys: ["type", "stepId", "path", "reason"] })

const timestamp = fc.date({ min: new Date("2000-01-01T00:00:00.000Z"), max: new Date("2100-01-01T00:00:00.000Z"), noInvalidDate: true })
  .map((date) => date.toISOString())

const execution: fc.Arbitrary<Snapshot.WorkflowSnapshot["execution"]> = fc.record({
  status: fc.constantFrom("running" as const, "completed" as const, "failed" as const),
  lastUpdated: timestamp,
  completedAt: timestamp,
  currentStepId: fc.string()
}, { requiredKeys: ["status", "lastUpdated"] })

// Free keys avoid the named fields (their types are narrower than JSON) and "__proto__", which
// `Snapshot.validate` does not keep in metadata.
const reservedMetadataKeys: ReadonlySet<string> = new Set(["workflowId", "definitionHash", "input", "__proto__"])

const metadata: fc.Arbitrary<NonNullable<Snapshot.WorkflowSnapshot["metadata"]>> = fc.tuple(
  fc.dictionary(fc.string().filter((key) => !reservedMetadataKeys.has(key)), jsonValue, { maxKeys: 3 }),
  fc.record({ workflowId: fc.string(), definitionHash: fc.string(), input: jsonValue }, { requiredKeys: [] })
).map(([free, named]) => ({ ...free, ...named }))

// Object.fromEntries defines keys, so a step keyed "__proto__" is an ordinary step, as JSON.parse makes it.
const steps = fc.uniqueArray(fc.tuple(fc.string(), stepResult), { selector: ([key]) => key, maxLength: 8 })
  .map((entries): Record<string, Snapshot.StepResult> => Object.fromEntries(entries))

/**
 * A `WorkflowSnapshot` that `Snapshot.validate` accepts as it is. Warnings are independent of the
 * steps: a warning may name a step key the snapshot does not have.
 */
export const workflowSnapshot: fc.Arbitrary<Snapshot.WorkflowSnapshot> = fc.record({
  formatVersion: fc.constant(1 as const),
  steps,
  execution,
  metadata,
  warnings: fc.array(lossyWarning, { maxLength: 3 })
}, { requiredKeys: ["formatVersion", "steps", "execution"] })

/**
 * One entry of a ResumeState: the step's outcome, the step that recorded it, its lossy warnings (whose
 * `stepKey` is free here; `resumeState` sets it to the entry's key, as a serialized state requires).
 */
export const resumeStateEntry: fc.Arbitrary<ResumeState.ResumeStateEntry> = fc.record({
  result: outcome,
  stepId: fc.string(),
  warnings: fc.array(lossyWarning, { minLength: 1, maxLength: 2 })
}, { requiredKeys: ["result"] })

// In a ResumeState a warning's stepKey is its entry's key, as the step cache writes it: the serialized
// form keeps warnings in one top-level list and finds their entry by that key.
const keyWarnings = (key: string, entry: ResumeState.ResumeStateEntry): ResumeState.ResumeStateEntry =>
  entry.warnings === undefined ? entry : { ...entry, warnings: entry.warnings.map((w) => ({ ...w, stepKey: key })) }

/** A live ResumeState, built by `ResumeState.make` (so `JSON.stringify` gives its serialized form). */
export const resumeState: fc.Arbitrary<ResumeState.ResumeState> = fc.uniqueArray(
  fc.tuple(fc.string(), resumeStateEntry),
  { selector: ([key]) => key, maxLength: 8 }
).map((entries) => ResumeState.make(entries.map(([key, entry]) => [key, keyWarnings(key, entry)])))

/** The serialized form of `resumeState`: what `ResumeState.serialize` gives and stores persist. */
export const resumeStateJson: fc.Arbitrary<ResumeState.ResumeStateJson> = resumeState.map(ResumeState.serialize)
