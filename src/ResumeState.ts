/**
 * `ResumeState`: what a resumed run needs, a map from step key to the step's recorded outcome.
 * Its JSON form (`serialize` / `deserialize`) is what stores persist.
 */
import { Effect, Either, Schema } from "effect"
import { describeIssues, issuesOf, stepIssue, unreadable, type ValidationIssue, warningsIssue } from "./internal/issues.js"
import { setOwn } from "./internal/json.js"
import {
  type ExecutionStatus,
  type JsonValue,
  LossyWarning,
  StepResult,
  type WorkflowSnapshot
} from "./Snapshot.js"
import type { WorkflowEvent } from "./WorkflowEvent.js"

export interface ResumeStateEntry {
  readonly result: StepResult
  /** The step that recorded this key; a different step reading it is a key clash. */
  readonly stepId?: string
  /** Where the recorded value is not exactly what the step returned (no Schema, not plain JSON). */
  readonly warnings?: ReadonlyArray<LossyWarning>
}

export interface ResumeState {
  readonly steps: ReadonlyMap<string, ResumeStateEntry>
}

// States made here serialize themselves: `JSON.stringify(state)` gives the `serialize` form instead of
// `{"steps":{}}` (a Map has no JSON), so the reference's "JSON.stringify works directly" holds.
// A class, not Object.create with a property descriptor: a resumed run makes one per run, and the
// descriptor form cost about 0.3 µs each.
class ResumeStateImpl implements ResumeState {
  constructor(readonly steps: ReadonlyMap<string, ResumeStateEntry>) {}
  toJSON() {
    return serialize(this)
  }
}

/** Wraps a map of entries (not copied) as a ResumeState. */
export const fromMap = (steps: ReadonlyMap<string, ResumeStateEntry>): ResumeState => new ResumeStateImpl(steps)

export const make = (entries: Iterable<readonly [string, ResumeStateEntry]>): ResumeState => fromMap(new Map(entries))

export const empty: ResumeState = make([])

export const isResumeState = (u: unknown): u is ResumeState =>
  typeof u === "object" && u !== null && (u as { steps?: unknown }).steps instanceof Map

/** Whether the state holds a recorded outcome for `key` (a success, or a failure that replays). */
export const isStepComplete = (state: ResumeState, key: string): boolean => state.steps.has(key)

// ---------------------------------------------------------------------------------------------
// JSON form

/** One entry as JSON: what an incremental checkpoint stores per step. */
export const EntryJson = Schema.Struct({
  result: StepResult,
  stepId: Schema.optionalWith(Schema.String, { exact: true }),
  warnings: Schema.optionalWith(Schema.Array(LossyWarning), { exact: true })
})

/**
 * The serialized form, the reference's `{ kind, steps: [[key, result], ...] }` (an array of pairs, not a
 * record: keys such as "__proto__" stay ordinary keys through every JSON tool). Our extensions go where
 * the reference, which ignores unknown fields, still reads it: `stepId` inside each result (as in a
 * snapshot), lossy-value warnings in a top-level `warnings` array whose `stepKey` names their entry.
 */
export const ResumeStateJson = Schema.Struct({
  kind: Schema.Literal("ResumeState"),
  steps: Schema.Array(Schema.Tuple(Schema.String, StepResult)),
  warnings: Schema.optionalWith(Schema.Array(LossyWarning), { exact: true })
}).annotations({ identifier: "ResumeStateJson" })
export type ResumeStateJson = typeof ResumeStateJson.Type

export class ResumeStateFormatError extends Schema.TaggedError<ResumeStateFormatError>()("ResumeStateFormatError", {
  errors: Schema.Array(Schema.Struct({ path: Schema.String, message: Schema.String }))
}) {
  override get message(): string {
    return `Invalid serialized ResumeState: ${describeIssues(this.errors)}`
  }
}

/** The JSON-safe form: `JSON.stringify` it, store it, `deserialize` it back. */
export const serialize = (state: ResumeState): ResumeStateJson => {
  const steps: Array<readonly [string, StepResult]> = []
  const warnings: Array<LossyWarning> = []
  for (const [key, entry] of state.steps) {
    steps.push([key, entry.stepId === undefined ? entry.result : { ...entry.result, stepId: entry.stepId }])
    for (const warning of entry.warnings ?? []) warnings.push({ ...warning, stepKey: key })
  }
  return { kind: "ResumeState", steps, ...(warnings.length === 0 ? {} : { warnings }) }
}

const decodeJson = Schema.decodeUnknownEither(ResumeStateJson, { errors: "all" })

const fromJson = (json: ResumeStateJson): ResumeState => {
  const steps = new Map<string, ResumeStateEntry>()
  for (const [key, stored] of json.steps) {
    const { stepId, ...result } = stored
    steps.set(key, stepId === undefined ? { result: result as StepResult } : { result: result as StepResult, stepId })
  }
  // a warning whose key has no entry is about nothing that was kept, and is dropped
  for (const warning of json.warnings ?? []) {
    const key = warning.stepKey
    const entry = key === undefined ? undefined : steps.get(key)
    if (key === undefined || entry === undefined) continue
    steps.set(key, { ...entry, warnings: [...(entry.warnings ?? []), warning] })
  }
  return fromMap(steps)
}

// What Schema would throw on or misread, found before it decodes (see internal/issues.ts)
const resumeStateIssue = (u: unknown): ValidationIssue | undefined => {
  if (typeof u !== "object" || u === null) return undefined
  const { steps, warnings } = u as { steps?: unknown; warnings?: unknown }
  if (Array.isArray(steps)) {
    for (let i = 0; i < steps.length; i++) {
      const pair: unknown = steps[i]
      const issue = Array.isArray(pair) ? stepIssue(pair[1], ["steps", i, 1]) : undefined
      if (issue !== undefined) return issue
    }
  }
  return warningsIssue(warnings, [])
}

const entryIssue = (u: unknown): ValidationIssue | undefined =>
  typeof u === "object" && u !== null
    ? stepIssue((u as { result?: unknown }).result, ["result"]) ?? warningsIssue((u as { warnings?: unknown }).warnings, [])
    : undefined

// Never throws: an input that throws when read (a getter, a proxy) is reported as an issue
const guarded = <A>(
  u: unknown,
  check: (u: unknown) => ValidationIssue | undefined,
  decode: (u: unknown) => Either.Either<A, ResumeStateFormatError>
): Either.Either<A, ResumeStateFormatError> => {
  try {
    const early = check(u)
    return early === undefined ? decode(u) : Either.left(new ResumeStateFormatError({ errors: [early] }))
  } catch {
    return Either.left(new ResumeStateFormatError({ errors: [unreadable(u)] }))
  }
}

/**
 * Decodes a serialized ResumeState (ours, or the reference's `serializeResumeState` output). Never throws;
 * values nested deeper than 1000 levels, and cause chains longer than 1000, are refused.
 */
export const deserializeEither = (u: unknown): Either.Either<ResumeState, ResumeStateFormatError> =>
  guarded(u, resumeStateIssue, (u) =>
    Either.match(decodeJson(u), {
      onLeft: (error) => Either.left(new ResumeStateFormatError({ errors: issuesOf(error) })),
      onRight: (json) => Either.right(fromJson(json))
    }))

const decodeEntryJson = Schema.decodeUnknownEither(EntryJson, { errors: "all" })

export const decodeEntry = (u: unknown): Either.Either<ResumeStateEntry, ResumeStateFormatError> =>
  guarded(u, entryIssue, (u) =>
    Either.mapLeft(decodeEntryJson(u), (error) => new ResumeStateFormatError({ errors: issuesOf(error) })))

export const deserialize = (u: unknown): Effect.Effect<ResumeState, ResumeStateFormatError> => deserializeEither(u)

export const isResumeStateJson = (u: unknown): boolean =>
  typeof u === "object" && u !== null && (u as { kind?: unknown }).kind === "ResumeState"

// ---------------------------------------------------------------------------------------------
// Snapshot conversion

/** The reference's `toResumeState`: the steps of a snapshot, ready for `Workflow.run({ resumeState })`. */
export const fromSnapshot = (snapshot: WorkflowSnapshot): ResumeState => {
  const entries = Object.entries(snapshot.steps)
  // Each warning goes to exactly one entry: the one its stepKey names; without a key (the reference's
  // warnings), the first entry recorded by its stepId, else the entry keyed by the stepId.
  const warningsByKey = new Map<string, Array<LossyWarning>>()
  for (const warning of snapshot.warnings ?? []) {
    const key = warning.stepKey ??
      entries.find(([, stored]) => stored.stepId === warning.stepId)?.[0] ??
      (Object.hasOwn(snapshot.steps, warning.stepId) ? warning.stepId : undefined)
    if (key === undefined) continue
    const list = warningsByKey.get(key)
    if (list) list.push(warning)
    else warningsByKey.set(key, [warning])
  }
  const steps = new Map<string, ResumeStateEntry>()
  for (const [key, stored] of entries) {
    const { stepId, ...result } = stored
    const warnings = warningsByKey.get(key)
    steps.set(key, {
      result: result as StepResult,
      ...(stepId === undefined ? {} : { stepId }),
      ...(warnings === undefined ? {} : { warnings })
    })
  }
  return fromMap(steps)
}

export interface ToSnapshotOptions {
  readonly status?: ExecutionStatus
  readonly currentStepId?: string
  readonly completedAt?: string
  readonly metadata?: { readonly [key: string]: JsonValue | undefined }
  readonly now?: string
}

export const toSnapshot = (state: ResumeState, options: ToSnapshotOptions = {}): WorkflowSnapshot => {
  const steps: Record<string, StepResult> = {}
  const warnings: Array<LossyWarning> = []
  for (const [key, entry] of state.steps) {
    const result = entry.stepId === undefined ? entry.result : { ...entry.result, stepId: entry.stepId }
    setOwn(steps, key, result)
    if (entry.warnings) warnings.push(...entry.warnings)
  }
  const metadata: Record<string, JsonValue> = {}
  for (const [k, v] of Object.entries(options.metadata ?? {})) if (v !== undefined) setOwn(metadata, k, v)
  return {
    formatVersion: 1,
    steps,
    execution: {
      status: options.status ?? "running",
      lastUpdated: options.now ?? new Date().toISOString(),
      ...(options.completedAt === undefined ? {} : { completedAt: options.completedAt }),
      ...(options.currentStepId === undefined ? {} : { currentStepId: options.currentStepId })
    },
    ...(Object.keys(metadata).length === 0 ? {} : { metadata }),
    ...(warnings.length === 0 ? {} : { warnings })
  }
}

// ---------------------------------------------------------------------------------------------
// Collector

export interface Collector {
  /** Pass as `onEvent`: records every step outcome (executed or replayed) the run reports. */
  readonly handleEvent: (event: WorkflowEvent) => void
  readonly get: () => ResumeState
}

export const collector = (initial: ResumeState = empty): Collector => {
  const steps = new Map(initial.steps)
  return {
    handleEvent: (event) => {
      if ((event._tag === "StepComplete" || event._tag === "StepError") && event.entry !== undefined) {
        steps.set(event.stepKey, event.entry)
      }
    },
    get: () => make(steps)
  }
}
