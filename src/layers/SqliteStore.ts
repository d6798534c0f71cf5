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
import * as SqlStore from "./SqlStore.js"

export interface SqliteStoreOptions extends SqlStore.SqlStoreOptions {
  readonly filename: string
  readonly synchronous?: "FULL" | "NORMAL" | undefined
}

export const layer = (options: SqliteStoreOptions): Layer.Layer<SnapshotStore, StoreError> =>
  Layer.unwrapEffect(Effect.map(
    importDriver("SqliteStore", "@effect/sql-sqlite-node", () => import("@effect/sql-sqlite-node")),
    ({ SqliteClient }) =>
      SqlStore.layerOver(
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
          ))
      )
  ))

export const layerConfig = configured("SqliteStore", layer)
