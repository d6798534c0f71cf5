// The contract's public form, `StoreContract.suite(name, layer)`: a plain Layer runs every case but
// the store-prefix one, which needs two views of one store and is reported skipped.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { StoreContract } from "effect-resume/testing"
import * as MemoryStore from "../src/layers/MemoryStore.js"
import * as SnapshotStore from "../src/SnapshotStore.js"

StoreContract.suite("MemoryStore as a plain Layer", MemoryStore.layer())

// A reference-style five-method adapter over a Map: no run records, so the contract's inspecting and
// retention cases run on what the service derives from `list`, `load` and `delete`.
const mapAdapter = (): SnapshotStore.Adapter => {
  const documents = new Map<string, { readonly json: string; readonly updatedAt: string; readonly seq: number }>()
  let seq = 0
  return {
    save: (id, state) => {
      documents.set(id, { json: JSON.stringify(state), updatedAt: new Date().toISOString(), seq: ++seq })
    },
    load: (id) => {
      const doc = documents.get(id)
      return doc === undefined ? null : JSON.parse(doc.json)
    },
    delete: (id) => {
      documents.delete(id)
    },
    list: ({ prefix = "", limit }) =>
      Array.from(documents, ([id, doc]) => ({ id, ...doc }))
        .filter((doc) => doc.id.startsWith(prefix))
        .sort((a, b) => b.seq - a.seq)
        .slice(0, limit)
        .map(({ id, updatedAt }) => ({ id, updatedAt }))
  }
}

const shared = mapAdapter()
StoreContract.suite("five-method adapter over a Map", (options) => SnapshotStore.layer(shared, options))

// An adapter's run is as old as its store's last write, not as the snapshot says of itself (an imported
// snapshot's lastUpdated can be years old, or written with an offset)
describe("five-method adapter: time is the store's", () => {
  it.effect("since and prune go by the store's write time, compared as instants", () =>
    Effect.gen(function*() {
      const store = yield* SnapshotStore.SnapshotStore
      const snapshot = (lastUpdated: string) => ({
        formatVersion: 1 as const,
        steps: { a: { ok: true as const, value: 1 } },
        execution: { status: "completed" as const, lastUpdated, completedAt: lastUpdated }
      })
      yield* store.save("imported", snapshot("2024-01-01T00:00:00.000Z"))
      yield* store.save("offset", snapshot(new Date().toISOString().replace("Z", "+05:00")))
      expect(yield* store.prune({ olderThan: "1 day", dryRun: true })).toBe(0)
      const recent = yield* store.listRuns({ since: new Date(Date.now() - 60_000) })
      expect(recent.map((r) => r.id).sort()).toEqual(["imported", "offset"])
      expect(yield* store.listRuns({ since: new Date(Date.now() + 3_600_000) })).toEqual([])
    }).pipe(Effect.provide(SnapshotStore.layer(mapAdapter()))))
})
