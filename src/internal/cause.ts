/**
 * `SerializedCause`, the reference's JSON form of why a step failed: an `Error` keeps its name,
 * message, stack and cause chain; anything else keeps its JSON value (when it has one) and `String(v)`.
 */
import type { JsonValue, SerializedCause, SerializedErrorCause, SerializedThrownCause } from "../Snapshot.js"
import { deeperThan, maxDepth as maxJsonDepth } from "./json.js"

/** How long `stringRepresentation` may be before it is cut (and marked `truncated`). */
const maxString = 1000
/** A longer `Error.cause` chain is cut here, so a pathological chain cannot overflow the stack. */
const maxDepth = 100

// Reading a property of a thrown value may run a getter that throws; serializing a failure must not.
const attempt = <A, B>(f: () => A, fallback: B): A | B => {
  try {
    return f()
  } catch {
    return fallback
  }
}

const originalType = (u: unknown): string => {
  if (u === null) return "null"
  if (typeof u !== "object") return typeof u
  const name = attempt(() => (u as { constructor?: { name?: unknown } }).constructor?.name, undefined)
  return typeof name === "string" && name !== "" ? name : "Object"
}

// What JSON.stringify makes of it; a value with no JSON form (undefined, bigint, a cycle) has none, and
// neither has one deeper than a stored row may nest (String(v) still describes it).
const jsonOf = (u: unknown): JsonValue | undefined =>
  attempt(() => {
    const text = JSON.stringify(u)
    if (text === undefined) return undefined
    const value = JSON.parse(text) as JsonValue
    return deeperThan(value, maxJsonDepth) ? undefined : value
  }, undefined)

const serializeThrown = (u: unknown): SerializedThrownCause => {
  const text = attempt(() => String(u), "[unable to convert to string]")
  const value = jsonOf(u)
  return {
    type: "thrown",
    originalType: originalType(u),
    stringRepresentation: text.length > maxString ? text.slice(0, maxString) : text,
    ...(value === undefined ? {} : { value }),
    ...(text.length > maxString ? { truncated: true as const } : {})
  }
}

const serialize = (u: unknown, seen: Set<unknown>): SerializedCause => {
  if (!(u instanceof Error)) return serializeThrown(u)
  seen.add(u)
  const stack = attempt(() => u.stack, undefined)
  const cause = attempt(() => u.cause, undefined)
  const chained = cause !== undefined && !seen.has(cause) && seen.size < maxDepth
  return {
    type: "error",
    name: attempt(() => String(u.name), "Error"),
    message: attempt(() => String(u.message), ""),
    ...(typeof stack === "string" ? { stack } : {}),
    ...(chained ? { cause: serialize(cause, seen) } : {})
  }
}

/** Any thrown or failed value as a `SerializedCause`. Never throws; the result survives JSON exactly. */
export const serializeCause = (u: unknown): SerializedCause => serialize(u, new Set())

/**
 * The inverse, for replay: an `error` cause becomes a `ReplayedDefect` (name, message, stack, and its
 * cause chain); a `thrown` one its JSON value, or its string form when it had no JSON value.
 */
export const deserializeCause = (cause: SerializedCause): unknown =>
  cause.type === "error"
    ? new ReplayedDefect(null, cause)
    : cause.value !== undefined
    ? cause.value
    : cause.stringRepresentation

/** A defect replayed from the resume state: carries the original name, message, stack and cause chain. */
export class ReplayedDefect extends Error {
  constructor(
    /** The step's recorded `error` JSON (`null` for an error further down a cause chain). */
    readonly recorded: JsonValue,
    cause: SerializedErrorCause
  ) {
    super(cause.message, cause.cause === undefined ? undefined : { cause: deserializeCause(cause.cause) })
    this.name = cause.name
    if (cause.stack !== undefined) this.stack = cause.stack
  }
}
