/**
 * SQLite in a local file, through `@effect/sql-sqlite-node` (better-sqlite3). The embedded default.
 * Durability: WAL journal with `PRAGMA synchronous = FULL` unless `synchronous: "NORMAL"` is asked for
 * (NORMAL is faster but may lose the last commits on power loss; never on a process crash).
 */
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Cause, Config, Effect, Layer } from "effect"
import { SnapshotStore, StoreError } from "../SnapshotStore.js"
import * as SqlStore from "./SqlStore.js"

export interface SqliteStoreOptions extends SqlStore.SqlStoreOptions {
  readonly filename: string
  readonly synchronous?: "FULL" | "NORMAL" | undefined
}

export const layer = (options: SqliteStoreOptions): Layer.Layer<SnapshotStore, StoreError> =>
  Layer.unwrapEffect(
    Effect.map(SqlStore.validateTable(options.table), () => {
      const client = SqliteClient.layer({ filename: options.filename })
      const store = Layer.effect(
        SnapshotStore,
        Effect.flatMap(SqliteClient.SqliteClient, (sql) =>
          Effect.zipRight(
            sql.unsafe(`PRAGMA synchronous = ${options.synchronous === "NORMAL" ? "NORMAL" : "FULL"}`).pipe(
              Effect.mapError((cause) => new StoreError({ reason: "Connection", message: cause.message, cause }))
            ),
            SqlStore.make(options)
          ))
      )
      return store.pipe(
        Layer.provide(client),
        // better-sqlite3 throws when the file cannot be opened: a defect, turned into a typed failure here
        Layer.catchAllCause((cause) => {
          const error = Cause.squash(cause)
          return Layer.fail(
            error instanceof StoreError ? error : new StoreError({
              reason: "Connection",
              message: `Cannot open SQLite database ${JSON.stringify(options.filename)}: ${
                error instanceof Error ? error.message : String(error)
              }`,
              cause: error
            })
          )
        })
      )
    })
  )

export const layerConfig = (config: Config.Config.Wrap<SqliteStoreOptions>): Layer.Layer<SnapshotStore, StoreError> =>
  Layer.unwrapEffect(
    Config.unwrap(config).pipe(
      Effect.map(layer),
      Effect.mapError((cause) => new StoreError({ reason: "InvalidOption", message: `SqliteStore config: ${cause.message}`, cause }))
    )
  )
