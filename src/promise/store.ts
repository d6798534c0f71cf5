/**
 * The reference's Promise store interface over any store Layer. The Layer is built on first use (no
 * connection before), in one ManagedRuntime per store; `close()` disposes it, releasing every connection.
 */
import { Effect, type Layer, ManagedRuntime, Option } from "effect"
import { toLoaded } from "../internal/loaded.js"
import { runOrReject } from "../internal/runOrReject.js"
import type * as ResumeState from "../ResumeState.js"
import type * as Snapshot from "../Snapshot.js"
import * as SnapshotStoreModule from "../SnapshotStore.js"
import type { RunLocked } from "../WorkflowError.js"
import * as Entries from "./entries.js"

const { SnapshotStore, StoreError } = SnapshotStoreModule
export { StoreError } from "../SnapshotStore.js"

/** The reference's store interface: what a custom adapter implements. */
export interface SnapshotStore {
  save(id: string, state: SnapshotStoreModule.Stored | Entries.ResumeState): Promise<void>
  load(id: string): Promise<SnapshotStoreModule.Stored | Entries.ResumeState | null>
  delete(id: string): Promise<void>
  list(options?: { prefix?: string; limit?: number }): Promise<Array<SnapshotStoreModule.ListEntry>>
  close(): Promise<void>
}

/**
 * What `ResumableStore.load` resolves to: what was saved, where either form answers `steps.get(key)`, so
 * that the docs' `savedState?.steps?.get("user:1")` type-checks without first asking which form it is.
 *
 * A snapshot's `steps` is a record, and a record cannot have a `get` method of its own: a step keyed
 * "get" would be that property. So a loaded snapshot's `steps` inherits `get` from its prototype (JSON,
 * `Object.keys` and spreads see only the steps), and the one snapshot that would shadow it, one with a
 * step keyed "get", loads as a ResumeState (`steps` a Map): the type never promises a `get` that is
 * not there. `loadResumeState` gives the same ResumeState for any snapshot.
 */
export type LoadedState = Entries.ResumeState | LoadedSnapshot

/** A stored WorkflowSnapshot as `load` returns it: a WorkflowSnapshot whose `steps` also has `get`. */
export interface LoadedSnapshot extends Snapshot.WorkflowSnapshot {
  readonly steps: Snapshot.WorkflowSnapshot["steps"] & StepLookup
}

export interface StepLookup {
  /** The step's recorded outcome, as `steps[key]` but only for the record's own keys. */
  get(key: string): Snapshot.StepResult | undefined
}

/** What the official adapters return: the interface plus `loadResumeState`, which converts a stored snapshot. */
export interface ResumableStore extends SnapshotStore {
  load(id: string): Promise<LoadedState | null>
  loadResumeState(id: string): Promise<Entries.ResumeState | null>
}

// The Promise API's states hold live Results: saved in the wire format, loaded back live.
const toStored = (state: SnapshotStoreModule.Stored | Entries.ResumeState): SnapshotStoreModule.Stored =>
  Entries.isResumeState(state) ? Entries.toCoreState(state) : state as SnapshotStoreModule.Stored
const fromLoaded = (loaded: LoadedState): LoadedState =>
  Entries.isResumeState(loaded) ? Entries.fromCoreState(loaded as ResumeState.ResumeState) : loaded

export const fromLayer = (layer: Layer.Layer<SnapshotStoreModule.SnapshotStore, SnapshotStoreModule.StoreError>): ResumableStore => {
  let runtime: ManagedRuntime.ManagedRuntime<SnapshotStoreModule.SnapshotStore, SnapshotStoreModule.StoreError> | undefined
  let closed = false
  const pending = new Set<Promise<unknown>>()
  const call = async <A>(
    current: ManagedRuntime.ManagedRuntime<SnapshotStoreModule.SnapshotStore, SnapshotStoreModule.StoreError>,
    f: (store: SnapshotStoreModule.SnapshotStoreService) => Effect.Effect<A, SnapshotStoreModule.StoreError | RunLocked>
  ): Promise<A> => {
    try {
      return await runOrReject(current, Effect.flatMap(SnapshotStore, f))
    } catch (error) {
      // A ManagedRuntime keeps a failed build forever: drop it, so that the next call connects afresh
      // (the database may be up by then). A call that failed on a built store changes nothing.
      const buildFailed = await current.runtime().then(() => false, () => true)
      if (buildFailed && runtime === current) {
        runtime = undefined
        await current.dispose()
      }
      throw error
    }
  }
  const use = <A>(f: (store: SnapshotStoreModule.SnapshotStoreService) => Effect.Effect<A, SnapshotStoreModule.StoreError | RunLocked>) => {
    if (closed) return Promise.reject(new StoreError({ reason: "InvalidOption", message: "The store is closed" }))
    const promise = call(runtime ??= ManagedRuntime.make(layer), f)
    pending.add(promise)
    const forget = () => void pending.delete(promise)
    promise.then(forget, forget)
    return promise
  }
  return {
    save: (id, state) => use((store) => store.save(id, toStored(state))),
    load: (id) =>
      use((store) => Effect.map(store.load(id), (stored) => Option.getOrNull(Option.map(stored, (s) => fromLoaded(toLoaded(s)))))),
    loadResumeState: (id) =>
      use((store) => Effect.map(store.loadResumeState(id), (state) => Option.getOrNull(Option.map(state, Entries.fromCoreState)))),
    delete: (id) => use((store) => store.delete(id)),
    list: (options) => use((store) => Effect.map(store.list(options), (entries) => [...entries])),
    // Calls already made finish first; then every connection is released.
    close: async () => {
      closed = true
      await Promise.allSettled(pending)
      const current = runtime
      runtime = undefined
      if (current !== undefined) await current.dispose()
    }
  }
}

/**
 * A custom adapter (the reference's five methods) as a full store: adds `loadResumeState`, validation
 * and typed errors. The adapter itself also works directly wherever the five methods are expected.
 */
export const fromAdapter = (adapter: SnapshotStoreModule.Adapter, options?: { readonly prefix?: string }): ResumableStore =>
  fromLayer(SnapshotStoreModule.layer(adapter, options))
