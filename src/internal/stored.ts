/**
 * The documents a backend persists: checking what is saved, decoding what is loaded, merging appended
 * steps. Plumbing for `SnapshotStore.fromBackend`, not public API.
 *
 * SnapshotStore imports this module and this module imports StoreError from it: the cycle is safe as
 * long as neither uses the other's exports at module top level (only inside functions, as here).
 */
import { Either } from "effect"
import * as ResumeState from "../ResumeState.js"
import * as Snapshot from "../Snapshot.js"
import { type Stored, StoreError } from "../SnapshotStore.js"
import { describeIssues, formatPath } from "./issues.js"
import { isPlainOkEntry } from "./plainEntry.js"

/** The JSON a backend stores (what `JSON.stringify(state)` gives): a serialized ResumeState or a snapshot. */
export type StoredJson = ResumeState.ResumeStateJson | Snapshot.WorkflowSnapshot

const invalidSave = (what: string, errors: ReadonlyArray<{ readonly path: string; readonly message: string }>) =>
  new StoreError({
    reason: "InvalidOption",
    message: `Cannot save ${what}: ${describeIssues(errors)}`
  })

// in unicode mode a surrogate pair is one code point, so this matches only a lone surrogate
export const loneSurrogate = /[\uD800-\uDFFF]/u

/**
 * The path to the first string or key holding a lone surrogate, in an already validated document
 * (bounded depth, so the recursion is too). Such text has no UTF-8 form: Postgres refuses it as JSON,
 * and drivers writing UTF-8 turn it into U+FFFD. Every store refuses it alike, at save time.
 */
const firstLoneSurrogate = (u: unknown, path: Array<PropertyKey>): Array<PropertyKey> | undefined => {
  if (typeof u === "string") return loneSurrogate.test(u) ? path : undefined
  if (typeof u !== "object" || u === null) return undefined
  if (Array.isArray(u)) {
    for (let i = 0; i < u.length; i++) {
      const found = firstLoneSurrogate(u[i], [...path, i])
      if (found !== undefined) return found
    }
    return undefined
  }
  for (const key of Object.keys(u)) {
    if (loneSurrogate.test(key)) return [...path, key]
    const found = firstLoneSurrogate((u as Record<string, unknown>)[key], [...path, key])
    if (found !== undefined) return found
  }
  return undefined
}

const surrogateIssue = (path: ReadonlyArray<PropertyKey>) => ({
  path: formatPath(path),
  message: "holds a lone surrogate: not well-formed UTF-16, so it has no UTF-8 or JSON form every store can keep"
})

export const checkEntries = (
  entries: Iterable<readonly [string, ResumeState.ResumeStateEntry]>
): Either.Either<void, StoreError> => {
  for (const [key, entry] of entries) {
    const decoded = ResumeState.decodeEntry(entry)
    if (decoded._tag === "Left") return Either.left(invalidSave(`step ${JSON.stringify(key)}`, decoded.left.errors))
    const surrogate = loneSurrogate.test(key) ? [] : firstLoneSurrogate(entry, [])
    if (surrogate !== undefined) {
      return Either.left(invalidSave(`step ${JSON.stringify(key)}`, [
        surrogate.length === 0 ? { path: "key", message: surrogateIssue([]).message } : surrogateIssue(surrogate)
      ]))
    }
  }
  return Either.void
}

/**
 * Checks what is being saved, so that what is stored always loads back (JSON, and the right shape),
 * and makes sure `JSON.stringify` of it loses nothing: a ResumeState built by hand
 * (`{ steps: new Map() }`) is rewrapped so that it serializes itself.
 */
export const normalizeStored = (state: unknown): Either.Either<Stored, StoreError> => {
  switch (storedForm(state)) {
    case "ResumeState": {
      const steps = (state as ResumeState.ResumeState).steps
      return Either.map(checkEntries(steps), () => ResumeState.fromMap(steps))
    }
    case "ResumeStateJson":
      return Either.flatMap(
        Either.mapLeft(ResumeState.deserializeEither(state), (error) =>
          new StoreError({ reason: "InvalidOption", message: `Cannot save a serialized ResumeState: ${error.message}` })),
        normalizeStored
      )
    case "WorkflowSnapshot": {
      const validated = Snapshot.validate(state)
      if (!validated.valid) return Either.left(invalidSave("an invalid WorkflowSnapshot", validated.errors))
      const surrogate = firstLoneSurrogate(state, [])
      return surrogate === undefined
        ? Either.right(validated.snapshot)
        : Either.left(invalidSave("a WorkflowSnapshot", [surrogateIssue(surrogate)]))
    }
    case undefined:
      return Either.left(
        new StoreError({
          reason: "InvalidOption",
          message: "save expects a ResumeState ({ steps: Map }), its serialized form, or a WorkflowSnapshot"
        })
      )
  }
}

/**
 * The one place the three forms a store may hold are told apart: a live ResumeState (`steps` a Map), its
 * serialized JSON form (`kind: "ResumeState"`), or a WorkflowSnapshot (`formatVersion`, `steps`,
 * `execution`). Everything that takes "a stored state" asks this, and decodes with `decodeStored`.
 */
export const storedForm = (u: unknown): "ResumeState" | "ResumeStateJson" | "WorkflowSnapshot" | undefined =>
  ResumeState.isResumeState(u)
    ? "ResumeState"
    : ResumeState.isResumeStateJson(u)
    ? "ResumeStateJson"
    : Snapshot.looksLike(u)
    ? "WorkflowSnapshot"
    : undefined

/** Decodes any of the three forms to a live ResumeState or a WorkflowSnapshot; never throws. */
export const decodeStored = (u: unknown): Either.Either<Stored, string> => {
  switch (storedForm(u)) {
    case "ResumeState": {
      const state = u as ResumeState.ResumeState
      return Either.mapBoth(checkEntries(state.steps), { onLeft: (error) => error.message, onRight: () => state })
    }
    case "ResumeStateJson":
      return Either.mapLeft(ResumeState.deserializeEither(u), (error) => error.message)
    default: {
      const validated = Snapshot.validate(u)
      return validated.valid
        ? Either.right(validated.snapshot)
        : Either.left(`neither a ResumeState nor a valid WorkflowSnapshot: ${describeIssues(validated.errors)}`)
    }
  }
}

/** What a backend loaded (a serialized ResumeState, a snapshot, or a live ResumeState from a custom adapter), checked. */
export const fromStoredJson = (id: string, json: unknown): Either.Either<Stored, StoreError> =>
  Either.mapLeft(
    decodeStored(json),
    (message) => new StoreError({ reason: "Decode", message: `Stored state "${id}" is corrupt: ${message}` })
  )

/** `stored` with step entries added (later ones win); a snapshot keeps its execution and metadata. */
export const withSteps = (
  stored: Stored,
  entries: ReadonlyArray<readonly [string, ResumeState.ResumeStateEntry]>
): Stored => {
  if (entries.length === 0) return stored
  if (ResumeState.isResumeState(stored)) return ResumeState.fromMap(new Map([...stored.steps, ...entries]))
  const added = ResumeState.toSnapshot(ResumeState.make(entries))
  return Snapshot.merge(stored, { ...added, execution: stored.execution })
}

/**
 * A run's stored step entries (parsed JSON, in load order), checked: a corrupt one is a Decode error
 * naming the step and the run. A plain loop, with no Either per step: a restart decodes every step.
 */
export const decodeSteps = (
  id: string,
  steps: ReadonlyArray<readonly [string, unknown]>
): Either.Either<Array<readonly [string, ResumeState.ResumeStateEntry]>, StoreError> => {
  const entries: Array<readonly [string, ResumeState.ResumeStateEntry]> = []
  for (const step of steps) {
    const [key, json] = step
    if (isPlainOkEntry(json, true)) {
      // the pair as it came: the entry is the parsed value itself
      entries.push(step as readonly [string, ResumeState.ResumeStateEntry])
      continue
    }
    const entry = ResumeState.decodeEntry(json)
    if (entry._tag === "Left") {
      return Either.left(new StoreError({ reason: "Decode", message: `Stored step "${key}" of "${id}" is corrupt: ${entry.left.message}` }))
    }
    entries.push([key, entry.right])
  }
  return Either.right(entries)
}

/**
 * A step entry as a store read it, parsed when it is JSON text; text that is not JSON stays as it is,
 * for `decodeSteps` to report as corrupt.
 */
export const parsedOrText = (value: unknown): unknown => {
  if (typeof value !== "string") return value
  try {
    return JSON.parse(value)
  } catch {
    return value
  }
}

/**
 * The step keys of a saved document's JSON text: a ResumeState's `steps` array of [key, result]
 * pairs, a snapshot's `steps` object (none when it is not JSON).
 */
export const savedStepKeys = (json: unknown): ReadonlyArray<string> => {
  if (typeof json !== "string") return []
  try {
    const steps = (JSON.parse(json) as { steps?: unknown }).steps
    if (Array.isArray(steps)) return steps.flatMap((pair) => Array.isArray(pair) && typeof pair[0] === "string" ? [pair[0]] : [])
    return typeof steps === "object" && steps !== null ? Object.keys(steps) : []
  } catch {
    return []
  }
}
