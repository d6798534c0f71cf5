/**
 * The one place where the Promise API's ResumeState entries meet the Effect core's.
 *
 * A Promise entry is the reference's in-memory shape, `{ result, meta? }`, with `result` a live Result
 * (its `cause` any value, its value not yet JSON). The core keeps the JSON `StepResult`. Entries cross
 * here, and only here, in both directions.
 */
import { toJson } from "../internal/json.js"
import { markPrechecked } from "../internal/stepCache.js"
import * as Core from "../ResumeState.js"
import * as Snapshot from "../Snapshot.js"
import { type Err, isResult, type Result, type StepFailureMeta } from "./result.js"

export interface ResumeStateEntry {
  /** A live Result; a core entry's wire StepResult (as a store loads it) is accepted too. */
  readonly result: Result<unknown, unknown, unknown> | Snapshot.StepResult
  readonly meta?: StepFailureMeta | undefined
}

/** An entry whose result is a live Result (what the Promise API hands out). */
export interface LiveEntry extends ResumeStateEntry {
  readonly result: Result<unknown, unknown, unknown>
}

export interface ResumeState {
  readonly steps: ReadonlyMap<string, ResumeStateEntry>
}

// States made here serialize themselves: `JSON.stringify(state)` gives the wire form, not `{"steps":{}}`.
class StateImpl implements ResumeState {
  constructor(readonly steps: ReadonlyMap<string, ResumeStateEntry>) {}
  toJSON() {
    return Core.serialize(toCoreState(this))
  }
}

export const makeState = (steps: Iterable<readonly [string, ResumeStateEntry]>): ResumeState => fromMap(new Map(steps))

/** Wraps a map of entries, not copied. */
export const fromMap = (steps: ReadonlyMap<string, ResumeStateEntry>): ResumeState => new StateImpl(steps)

export const isResumeState = (u: unknown): u is ResumeState =>
  typeof u === "object" && u !== null && (u as { steps?: unknown }).steps instanceof Map

/**
 * A replayed cause. The reference replays a missing cause as the string "undefined"; we replay it as
 * no cause at all (a documented difference).
 */
const replayedCause = (cause: Snapshot.SerializedCause): unknown =>
  cause.type === "thrown" && cause.originalType === "undefined" && cause.value === undefined
    ? undefined
    : Snapshot.deserializeCause(cause)

// The reference's deserialized entries wrap the cause (`{ __cachedMeta, originalCause }`); unwrap it.
const liveCause = (cause: unknown): unknown =>
  typeof cause === "object" && cause !== null && (cause as { __cachedMeta?: unknown }).__cachedMeta === true
    ? (cause as { originalCause?: unknown }).originalCause
    : cause

/**
 * A value as the reference stores it: what `JSON.stringify` makes of it (an Error's own enumerable
 * fields only). Where that throws (a cycle, a BigInt), the core's lossy copy instead of a crash.
 */
const plainJson = (u: unknown): Snapshot.JsonValue => {
  try {
    const text = JSON.stringify(u)
    if (text !== undefined) return JSON.parse(text) as Snapshot.JsonValue
  } catch {
    // fall through
  }
  return toJson(u).json
}

/** A core entry (or a wire StepResult) as a Promise entry: the cause deserialized, `meta` outside `result`. */
export const fromCoreEntry = (entry: { readonly result: Snapshot.StepResult }): LiveEntry => {
  const result = entry.result
  if (result.ok) return { result: { ok: true, value: result.value } }
  const cause = replayedCause(result.cause)
  const failed = cause === undefined
    ? { ok: false as const, error: result.error }
    : { ok: false as const, error: result.error, cause }
  return {
    result: failed,
    meta: result.meta?.origin === "throw"
      ? { origin: "throw", thrown: cause }
      : cause === undefined
      ? { origin: "result" }
      : { origin: "result", resultCause: cause }
  }
}

/** Whether `result` is already a wire StepResult (a core entry): failed ones always carry `meta` inside. */
const isWire = (result: unknown): result is Snapshot.StepResult & { readonly ok: false } =>
  isResult(result) && !result.ok && typeof (result as { meta?: { origin?: unknown } }).meta?.origin === "string" &&
  typeof (result as { cause?: { type?: unknown } }).cause?.type === "string"

/** A Promise entry as the core's: normalized to the wire format. A core entry passes through as is. */
export const toCoreEntry = (entry: ResumeStateEntry): Core.ResumeStateEntry => {
  const result: unknown = entry.result
  if (isWire(result)) return entry as unknown as Core.ResumeStateEntry
  if (isResult(result) && result.ok) {
    const raw = (result as { value?: unknown }).value
    // an ok core entry's own fields (its stepId) stay; undefined has no JSON form, so no value key
    const stepId = (entry as { stepId?: unknown }).stepId
    return {
      result: raw === undefined ? { ok: true } : { ok: true, value: plainJson(raw) },
      ...(typeof stepId === "string" ? { stepId } : {})
    }
  }
  // a failure, or what a step returned that was not a Result (which failed it, with error undefined)
  const failed = isResult(result) ? result as { readonly error?: unknown; readonly cause?: unknown } : {}
  return {
    result: {
      ok: false,
      ...(failed.error === undefined ? {} : { error: plainJson(failed.error) }),
      cause: Snapshot.serializeCause(liveCause(failed.cause)),
      meta: { origin: entry.meta?.origin === "throw" ? "throw" : "result" }
    }
  }
}

/** An ok StepResult whose value is copied to JSON when first read (an object literal with a getter costs more). */
class LazyOk {
  readonly ok = true
  #json: Snapshot.JsonValue | undefined
  readonly #raw: unknown
  constructor(raw: unknown) {
    this.#raw = raw
  }
  get value(): Snapshot.JsonValue {
    return this.#json ??= plainJson(this.#raw)
  }
}

/**
 * What one run of the Promise API needs of a ResumeState, in one pass: the given entries, live (an
 * in-memory replay returns these), and the state for the core. That is as `toCoreState` makes it,
 * except that an ok entry's JSON copy is made only if read (the run replays the live value, and the
 * state it returns holds the live entries); and when every entry is such an ok entry, the core is
 * told it need not check them (so a live value is never refused for not being JSON: it is replayed).
 */
export const forRun = (state: ResumeState): { readonly given: ReadonlyMap<string, LiveEntry>; readonly core: Core.ResumeState } => {
  let built = true
  // the given map itself while every entry is live (the usual case): a second map only for other entries
  let converted: Map<string, LiveEntry> | undefined
  const steps = new Map<string, Core.ResumeStateEntry>()
  // forEach, not for..of: no pair is allocated per entry
  state.steps.forEach((entry, key) => {
    if (typeof key !== "string" || !isEntry(entry)) {
      built = false
      steps.set(key, entry as never)
      converted ??= new Map()
      if (isEntry(entry)) converted.set(key, toLiveEntry(entry))
      return
    }
    const result: unknown = entry.result
    if (isWire(result)) {
      // a core entry passes through as is: checked by the core unless it decodes here
      if (Core.decodeEntry(entry)._tag === "Left") built = false
      steps.set(key, entry as unknown as Core.ResumeStateEntry)
      ;(converted ??= new Map()).set(key, fromCoreEntry(entry as unknown as Core.ResumeStateEntry))
      return
    }
    if (isResult(result) && result.ok && (result as { value?: unknown }).value !== undefined) {
      const stepId = (entry as { stepId?: unknown }).stepId
      const lazy = new LazyOk((result as { value?: unknown }).value) as Snapshot.StepResult
      steps.set(key, typeof stepId === "string" ? { result: lazy, stepId } : { result: lazy })
    } else {
      // a failure, or no value: the core then checks the state as it checks any other
      built = false
      steps.set(key, toCoreEntry(entry))
    }
  })
  const core = Core.fromMap(steps)
  return { given: converted === undefined ? state.steps as ReadonlyMap<string, LiveEntry> : withLive(state, converted), core: built ? markPrechecked(core) : core }
}

/** The live entries of a state some of whose entries had to be converted (`converted`). */
const withLive = (state: ResumeState, converted: Map<string, LiveEntry>): ReadonlyMap<string, LiveEntry> => {
  const given = new Map<string, LiveEntry>()
  state.steps.forEach((entry, key) => {
    const live = converted.get(key)
    if (live !== undefined) given.set(key, live)
    else if (typeof key === "string" && isEntry(entry)) given.set(key, entry as LiveEntry)
  })
  return given
}

/** Whether an entry has a `result` to convert; anything else goes to the core as is, which says what is wrong. */
export const isEntry = (u: unknown): u is ResumeStateEntry => typeof u === "object" && u !== null && "result" in u

export const toCoreState = (state: ResumeState): Core.ResumeState =>
  Core.fromMap(new Map(Array.from(state.steps, ([key, entry]) => [key, isEntry(entry) ? toCoreEntry(entry) : entry as never])))

export const fromCoreState = (state: Core.ResumeState): ResumeState =>
  makeState(Array.from(state.steps, ([key, entry]) => [key, fromCoreEntry(entry)]))

/** An entry as the Promise API uses it: a core (wire) entry is deserialized, a live one kept as is. */
export const toLiveEntry = (entry: ResumeStateEntry): LiveEntry =>
  isWire(entry.result) ? fromCoreEntry(entry as unknown as Core.ResumeStateEntry) : entry as LiveEntry

/** What the run sees of a failed entry: `{ ok: false, error, cause? }`. A non-Result failed with `error: undefined`. */
export const failureOf = (entry: ResumeStateEntry): Err<unknown, unknown> => {
  const result: unknown = entry.result
  if (entry.meta?.origin === "throw") {
    return { ok: false, error: (result as { error?: unknown }).error, cause: (result as { cause?: unknown }).cause }
  }
  if (!isResult(result) || result.ok) return { ok: false, error: undefined }
  const cause = liveCause(result.cause)
  return "cause" in result && cause !== undefined ? { ok: false, error: result.error, cause } : { ok: false, error: result.error }
}
