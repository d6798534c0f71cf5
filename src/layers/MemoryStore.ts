/**
 * An in-process store: for tests and short-lived programs. Values are kept as JSON text, so a loaded
 * state never shares objects with the saved one, exactly as with a database.
 */
import { Effect, Layer, Option } from "effect"
import { fromBackend, SnapshotStore, type SnapshotStoreService } from "../SnapshotStore.js"

interface Row {
  readonly json: string
  readonly updatedAt: string
  /** Breaks ties between saves in the same millisecond: newest first means last saved first. */
  readonly seq: number
}

/** The rows behind a memory store; pass one `Data` to several stores (say, with different prefixes) to share it. */
export interface Data {
  readonly rows: Map<string, Row>
  seq: number
}

export const makeData = (): Data => ({ rows: new Map(), seq: 0 })

export interface MemoryStoreOptions {
  readonly prefix?: string | undefined
  readonly data?: Data | undefined
}

export const make = (options: MemoryStoreOptions = {}): SnapshotStoreService => {
  const data = options.data ?? makeData()
  const rows = data.rows
  return fromBackend({
    save: (id, state) =>
      Effect.sync(() => {
        rows.set(id, { json: JSON.stringify(state), updatedAt: new Date().toISOString(), seq: ++data.seq })
      }),
    load: (id) => Effect.sync(() => Option.map(Option.fromNullable(rows.get(id)), (row) => JSON.parse(row.json) as unknown)),
    delete: (id) => Effect.sync(() => void rows.delete(id)),
    list: ({ limit, prefix }) =>
      Effect.sync(() =>
        Array.from(rows)
          .filter(([id]) => id.startsWith(prefix))
          .sort(([, a], [, b]) => b.seq - a.seq)
          .slice(0, limit)
          .map(([id, row]) => ({ id, updatedAt: row.updatedAt }))
      )
  }, { prefix: options.prefix, name: "MemoryStore" })
}

export const layer = (options: MemoryStoreOptions = {}): Layer.Layer<SnapshotStore> =>
  Layer.sync(SnapshotStore, () => make(options))
