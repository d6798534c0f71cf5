/**
 * `effect-resume/persistence`: the reference docs' snapshot validation and merge helpers.
 */
import * as Snapshot from "../Snapshot.js"

export type { JsonValue, StepResult, ValidationIssue, ValidationResult, WorkflowSnapshot } from "../Snapshot.js"
export { SnapshotFormatError } from "../Snapshot.js"

/** Quick structural check; use `validateSnapshot` to be sure. */
export const looksLikeWorkflowSnapshot = Snapshot.looksLike
/** `{ valid: true, snapshot } | { valid: false, errors: [{ path, message }] }`; never throws. */
export const validateSnapshot = Snapshot.validate
/** Returns the snapshot or throws `SnapshotFormatError`. */
export const assertValidSnapshot = Snapshot.assertValid
/** delta's steps overwrite base's, execution comes from delta, metadata is merged shallowly. */
export const mergeSnapshots = Snapshot.merge
export const isWorkflowSnapshot = Snapshot.isWorkflowSnapshot
export type { LoadedSnapshot, LoadedState, ResumableStore, SnapshotStore, StepLookup } from "./store.js"
export { fromAdapter } from "./store.js"
