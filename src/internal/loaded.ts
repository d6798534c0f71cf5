/** `ResumableStore.load`'s result: see `LoadedState` in src/promise/store.ts for why it is shaped so. */
import type { LoadedSnapshot, LoadedState } from "../promise/store.js"
import * as ResumeState from "../ResumeState.js"
import type { StepResult } from "../Snapshot.js"
import type { Stored } from "../SnapshotStore.js"
import { setOwn } from "./json.js"

// not enumerable and not own: JSON.stringify, Object.keys and spreads of a loaded `steps` never see it
const StepLookupProto: object = Object.create(Object.prototype, {
  get: {
    value(this: Readonly<Record<string, StepResult>>, key: string): StepResult | undefined {
      return Object.hasOwn(this, key) ? this[key] : undefined
    }
  }
})

export const toLoaded = (stored: Stored): LoadedState => {
  if (ResumeState.isResumeState(stored)) return stored
  if (Object.hasOwn(stored.steps, "get")) return ResumeState.fromSnapshot(stored)
  const steps = Object.create(StepLookupProto) as Record<string, StepResult>
  for (const [key, result] of Object.entries(stored.steps)) setOwn(steps, key, result)
  return { ...stored, steps: steps as LoadedSnapshot["steps"] }
}
