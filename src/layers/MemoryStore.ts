/**
 * An in-process store: for tests and short-lived programs. Values are kept as JSON text, so a loaded
 * state never shares objects with the saved one, exactly as with a database. Appended steps are kept
 * one entry each, as the SQL store keeps them one row each.
 */
import { Effect, Layer, Option } from "effect"
import { fromBackend, LoadedWithSteps, SnapshotStore, type SnapshotStoreService } from "../SnapshotStore.js"

interface Row {
  json: string
  /** key -> entry JSON, in first-appended order; emptied by a save. */
  readonly steps: Map<string, string>
  updatedAt: string
  /** Breaks ties between saves in the same millisecond: newest first means last saved first. */
  seq: number
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

const emptyState = JSON.stringify({ kind: "ResumeState", steps: [] })

export const make = (options: MemoryStoreOptions = {}): SnapshotStoreService => {
  const data = options.data ?? makeData()
  const rows = data.rows
  const touch = (id: string, json?: string): Row => {
    const updatedAt = new Date().toISOString()
    const row = rows.get(id)
    if (row === undefined || json !== undefined) {
      const fresh: Row = { json: json ?? emptyState, steps: new Map(), updatedAt, seq: ++data.seq }
      rows.delete(id) // re-inserted, so that Map order never matters for list
      rows.set(id, fresh)
      return fresh
    }
    row.updatedAt = updatedAt
    row.seq = ++data.seq
    return row
  }
  return fromBackend({
    save: (id, state) => Effect.sync(() => void touch(id, JSON.stringify(state))),
    appendSteps: (id, entries) =>
      Effect.sync(() => {
        const row = touch(id)
        for (const [key, entry] of entries) row.steps.set(key, JSON.stringify(entry))
      }),
    load: (id) =>
      Effect.sync(() =>
        Option.map(Option.fromNullable(rows.get(id)), (row) =>
          new LoadedWithSteps(
            JSON.parse(row.json),
            Array.from(row.steps, ([key, json]) => [key, JSON.parse(json) as unknown] as const)
          ))
      ),
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
