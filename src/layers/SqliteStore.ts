/**
 * SQLite in a local file, through `@effect/sql-sqlite-node` (better-sqlite3), an optional peer
 * dependency loaded when the layer is built. The embedded default.
 * Durability: WAL journal with `PRAGMA synchronous = FULL` unless `synchronous: "NORMAL"` is asked for
 * (NORMAL is faster but may lose the last commits on power loss; never on a process crash).
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Schedule } from "effect"
import { type SnapshotStore, StoreError } from "../SnapshotStore.js"
import { configured } from "../internal/configured.js"
import { importDriver } from "../internal/driver.js"
import { isBusy } from "../internal/sqliteBusy.js"
import * as SqliteDirect from "./sqliteDirect.js"
import * as SqlStore from "./SqlStore.js"

export interface SqliteStoreOptions extends SqlStore.SqlStoreOptions {
  readonly filename: string
  readonly synchronous?: "FULL" | "NORMAL" | undefined
}

// An in-memory database is one per connection: there the statements of every step go through the client too
const inMemory = (filename: string) => filename === "" || filename === ":memory:" || /^file:.*mode=memory/.test(filename)

export const layer = (options: SqliteStoreOptions): Layer.Layer<SnapshotStore, StoreError> =>
  Layer.unwrapScoped(Effect.flatMap(
    importDriver("SqliteStore", "@effect/sql-sqlite-node", () => import("@effect/sql-sqlite-node")),
    ({ SqliteClient }) =>
      Effect.map(
        inMemory(options.filename) ? Effect.succeed(undefined) : SqliteDirect.make(options.filename, options.synchronous ?? "FULL"),
        (executor) => SqlStore.layerOver(
          options,
          // Opening switches a new file to WAL, which needs the whole file: a process opening it at the
          // same moment as another gets SQLITE_BUSY at once (no busy wait there), and tries again.
          Layer.scopedContext(
            Layer.build(SqliteClient.layer({ filename: options.filename })).pipe(
              Effect.catchAllDefect(Effect.fail),
              Effect.retry({ while: isBusy, schedule: Schedule.spaced("20 millis").pipe(Schedule.upTo("10 seconds")) })
            )
          ),
          (error) =>
            new StoreError({
              reason: "Connection",
              message: `Cannot open SQLite database ${JSON.stringify(options.filename)}: ${
                error instanceof Error ? error.message : String(error)
              }`,
              cause: error
            }),
          Effect.flatMap(SqlClient.SqlClient, (sql) =>
            sql.unsafe(`PRAGMA synchronous = ${options.synchronous === "NORMAL" ? "NORMAL" : "FULL"}`).pipe(
              Effect.asVoid,
              Effect.mapError((cause) => new StoreError({ reason: "Connection", message: cause.message, cause }))
            )),
          executor
        ))
  ))

export const layerConfig = configured("SqliteStore", layer)
