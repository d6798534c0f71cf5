/**
 * The step cache's own checkpoints skip the validation the public `saveStep` does: an entry it just
 * built from a JSON copy is valid by construction, and is saved before any user code can see it.
 * Trust is granted per call, never to an object (objects escape to events and collectors).
 */
import type { Effect } from "effect"
import type { ResumeStateEntry } from "../ResumeState.js"
import type { SnapshotStoreService, StoreError } from "../SnapshotStore.js"

type Append = (id: string, entries: ReadonlyArray<readonly [string, ResumeStateEntry]>) => Effect.Effect<void, StoreError>

const unchecked = new WeakMap<SnapshotStoreService, Append>()

export const registerUncheckedAppend = (service: SnapshotStoreService, append: Append): SnapshotStoreService => {
  unchecked.set(service, append)
  return service
}

/** A step entry the step cache just built; services not made by `fromBackend` get the public, checked call. */
export const saveOwnStep = (
  service: SnapshotStoreService,
  id: string,
  key: string,
  entry: ResumeStateEntry
): Effect.Effect<void, StoreError> => (unchecked.get(service) ?? service.appendSteps)(id, [[key, entry]])
