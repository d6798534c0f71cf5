/**
 * PostgreSQL through `@effect/sql-pg` (node-pg pool). Bodies are stored as `jsonb`, so they can be
 * queried in place (`body->>'kind'`); updated_at is the server's `now()`.
 */
import { PgClient } from "@effect/sql-pg"
import { Config, Duration, type Layer, Redacted } from "effect"
import { type SnapshotStore, StoreError } from "../SnapshotStore.js"
import { configured } from "../internal/configured.js"
import * as SqlStore from "./SqlStore.js"

export interface PgStoreOptions extends SqlStore.SqlStoreOptions {
  /** `postgresql://user:password@host:port/database`; kept Redacted, never logged. */
  readonly url: Redacted.Redacted<string> | string
  /** Pool size. Default 10 (node-pg's default). */
  readonly maxConnections?: number | undefined
  /** Bound on opening a connection, at startup and for every later checkout. Default 5 seconds. */
  readonly connectTimeout?: Duration.DurationInput | undefined
}

const connectionError = (cause: unknown) => {
  // the SqlError's own message is generic ("PgClient: Failed to connect"); node-pg's says why
  const inner = cause instanceof Error && cause.cause instanceof Error ? cause.cause.message : undefined
  const outer = cause instanceof Error ? cause.message : String(cause)
  return new StoreError({
    reason: "Connection",
    message: `Cannot connect to PostgreSQL: ${inner === undefined || outer.endsWith(inner) ? outer : `${outer}: ${inner}`}`,
    cause
  })
}

export const layer = (options: PgStoreOptions): Layer.Layer<SnapshotStore, StoreError> =>
  SqlStore.layerOver(
    options,
    PgClient.layer({
      url: Redacted.isRedacted(options.url) ? options.url : Redacted.make(options.url),
      maxConnections: options.maxConnections,
      connectTimeout: options.connectTimeout ?? Duration.seconds(5),
      applicationName: "effect-resume"
    }),
    connectionError
  )

export const layerConfig = configured("PgStore", layer)

/** The store at `DATABASE_URL`, default table. */
export const PgStoreLive: Layer.Layer<SnapshotStore, StoreError> = layerConfig({ url: Config.redacted("DATABASE_URL") })
