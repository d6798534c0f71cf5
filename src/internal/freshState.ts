/**
 * States a store built just now for one call, from the rows it read (SnapshotStore's `loadSteps`).
 * runDurable, which asked for the state and hands it to no one, takes its Map as the run's own instead
 * of copying it: a 10,000-step restart copies 10,000 entries less. Only the first taker gets the Map.
 */
import type * as ResumeState from "../ResumeState.js"

const fresh = new WeakSet<ResumeState.ResumeState>()

export const markFresh = (state: ResumeState.ResumeState): ResumeState.ResumeState => {
  if (state.steps instanceof Map) fresh.add(state)
  return state
}

/** The state's own Map when it was marked fresh and not taken yet; undefined otherwise. */
export const takeFresh = (state: ResumeState.ResumeState): Map<string, ResumeState.ResumeStateEntry> | undefined =>
  fresh.delete(state) ? state.steps as Map<string, ResumeState.ResumeStateEntry> : undefined
