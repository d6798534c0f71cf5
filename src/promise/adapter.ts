/**
 * The reference's custom store: five Promise (or plain) methods. Turned into a store backend here; such
 * a store keeps whole documents, so it serves `save` / `load` and `run` / `runWithState`, not `runDurable`.
 */
import { Effect, Option, type Scope } from "effect"
import * as SnapshotStore from "../SnapshotStore.js"

type Awaitable<A> = A | PromiseLike<A>

/**
 * A custom store in the reference's shape. `save` receives a ResumeState or a snapshot; `JSON.stringify`
 * of either loses nothing (a ResumeState serializes itself). `load` returns what was saved, its JSON, or null.
 */
export interface Adapter {
  readonly save: (id: string, state: SnapshotStore.Stored) => Awaitable<void>
  readonly load: (id: string) => Awaitable<unknown>
  readonly delete: (id: string) => Awaitable<void>
  readonly list: (options: { prefix?: string; limit?: number }) => Awaitable<ReadonlyArray<SnapshotStore.ListEntry>>
  readonly close?: () => Awaitable<void>
}

const call = <A>(op: string, f: () => Awaitable<A>): Effect.Effect<A, SnapshotStore.StoreError> =>
  Effect.tryPromise({
    try: async () => await f(),
    catch: (cause) =>
      new SnapshotStore.StoreError({
        reason: "Adapter",
        message: `Custom store ${op} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause
      })
  })

/** Turns an adapter into the service; `close` runs when the scope closes. Ids and prefixes pass through as given. */
export const fromAdapter = (
  adapter: Adapter,
  options?: { readonly prefix?: string }
): Effect.Effect<SnapshotStore.SnapshotStoreService, never, Scope.Scope> =>
  Effect.as(
    Effect.addFinalizer(() => adapter.close === undefined ? Effect.void : Effect.ignoreLogged(call("close", adapter.close))),
    SnapshotStore.make({
      save: (id, state) => Effect.as(call("save", () => adapter.save(id, state)), true),
      load: (id) => Effect.map(call("load", () => adapter.load(id)), Option.fromNullable),
      delete: (id) => Effect.as(call("delete", () => adapter.delete(id)), true),
      list: ({ limit, prefix }) =>
        Effect.map(
          call("list", () => adapter.list({ prefix, ...(limit === undefined ? {} : { limit }) })),
          // an adapter may ignore options; enforce the contract here
          (entries) => entries.filter((e) => e.id.startsWith(prefix)).slice(0, limit)
        )
    }, { prefix: options?.prefix, name: "SnapshotStore.custom" })
  )
