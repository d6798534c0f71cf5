/**
 * `effect-resume/persistence`: the reference's snapshot validation and merge helpers. Errors are the
 * reference's strings; the core's `Snapshot.validate` keeps its structured issues, converted here.
 */
import { formatPath } from "../internal/issues.js"
import * as Snapshot from "../Snapshot.js"

export type { JsonValue, StepResult, WorkflowSnapshot } from "../Snapshot.js"

export type ValidationResult =
  | { readonly valid: true; readonly snapshot: Snapshot.WorkflowSnapshot }
  | { readonly valid: false; readonly errors: Array<string> }

export class SnapshotFormatError extends Error {
  override readonly name = "SnapshotFormatError"
  constructor(readonly errors: Array<string>) {
    super(`Invalid snapshot format: ${errors[0] ?? "unknown error"}`)
  }
}

interface Found {
  /** The core issue path this error covers (and everything under it). */
  readonly at: string
  readonly message: string
}

const statuses = ["running", "completed", "failed"]

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

// The reference's checks, with its exact strings, in its order.
const referenceChecks = (u: Record<string, unknown>): Array<Found> => {
  const found: Array<Found> = []
  if (!("formatVersion" in u)) found.push({ at: "$.formatVersion", message: "Missing required field: formatVersion" })
  else if (u.formatVersion !== 1) {
    found.push({ at: "$.formatVersion", message: `Invalid formatVersion: expected 1, got ${String(u.formatVersion)}` })
  }
  if (!("steps" in u)) found.push({ at: "$.steps", message: "Missing required field: steps" })
  else if (!isObject(u.steps)) found.push({ at: "$.steps", message: "steps must be an object" })
  else {
    for (const [key, step] of Object.entries(u.steps)) {
      const at = formatPath(["steps", key])
      const name = `steps[${JSON.stringify(key)}]`
      if (!isObject(step)) found.push({ at, message: `${name} must be an object` })
      else if (!("ok" in step)) found.push({ at, message: `${name} missing required field: ok` })
      else if (typeof step.ok !== "boolean") found.push({ at, message: `${name}.ok must be a boolean` })
      else if (!step.ok) {
        // No "missing error field" check, unlike the reference: both libraries write a failed step whose
        // error is undefined without an `error` key, and we accept what we write.
        if (!("cause" in step)) found.push({ at: `${at}.cause`, message: `${name} is error result but missing cause field` })
      }
    }
  }
  if (!("execution" in u)) found.push({ at: "$.execution", message: "Missing required field: execution" })
  else if (!isObject(u.execution)) found.push({ at: "$.execution", message: "execution must be an object" })
  else {
    const execution = u.execution
    if (!statuses.includes(execution.status as string)) {
      found.push({ at: "$.execution.status", message: "execution.status must be one of: running, completed, failed" })
    }
    if (!("lastUpdated" in execution)) {
      found.push({ at: "$.execution.lastUpdated", message: "execution missing required field: lastUpdated" })
    } else if (typeof execution.lastUpdated !== "string") {
      found.push({ at: "$.execution.lastUpdated", message: "execution.lastUpdated must be a string (ISO timestamp)" })
    }
  }
  return found
}

const covers = (at: string, path: string) =>
  path === at || path.startsWith(`${at}.`) || path.startsWith(`${at}[`)

/**
 * `{ valid: true, snapshot } | { valid: false, errors: string[] }`; never throws. The reference's checks
 * come first, with its strings; what only we check (JSON values, the cause's shape, `meta`, `metadata`,
 * `warnings`) follows as `"<path>: <message>"`, e.g. `$.steps["user:1"].cause.type: ...`.
 */
export const validateSnapshot = (u: unknown): ValidationResult => {
  if (!isObject(u)) return { valid: false, errors: ["Snapshot must be an object"] }
  const found = referenceChecks(u)
  const core = Snapshot.validate(u)
  if (core.valid && found.length === 0) return core
  // a core issue about the whole value ("$") or about what a reference check already named is left out
  const extra = core.valid
    ? []
    : core.errors.filter((issue) => !(found.length > 0 && issue.path === "$") && !found.some((f) => covers(f.at, issue.path)))
  return { valid: false, errors: [...found.map((f) => f.message), ...extra.map((i) => `${i.path}: ${i.message}`)] }
}

/** Returns the snapshot or throws `SnapshotFormatError`. */
export const assertValidSnapshot = (u: unknown): Snapshot.WorkflowSnapshot => {
  const result = validateSnapshot(u)
  if (result.valid) return result.snapshot
  throw new SnapshotFormatError(result.errors)
}

/** Quick structural check; use `validateSnapshot` to be sure. */
export const looksLikeWorkflowSnapshot = Snapshot.looksLike
/** delta's steps overwrite base's, execution comes from delta, metadata is merged shallowly. */
export const mergeSnapshots = Snapshot.merge
export const isWorkflowSnapshot = Snapshot.isWorkflowSnapshot
export type { LoadedSnapshot, LoadedState, ResumableStore, SnapshotStore, StepLookup } from "./store.js"
export { fromAdapter } from "./store.js"
