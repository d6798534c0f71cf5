// The contract's public form, `StoreContract.suite(name, layer)`: a plain Layer runs every case but
// the store-prefix one, which needs two views of one store and is reported skipped.
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
