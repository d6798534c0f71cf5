/**
 * PostgreSQL through `@effect/sql-pg` (node-pg pool). Bodies are stored as `jsonb`, so they can be
 * queried in place (`body->>'kind'`); updated_at is the server's `now()`.
 */
import { PgClient } from "@effect/sql-pg"
import { Cause, Config, Duration, Effect, Layer, Redacted } from "effect"
import { SnapshotStore, StoreError } from "../SnapshotStore.js"
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
  Layer.unwrapEffect(
    // checked before the pool exists: a bad table name never reaches the server
    Effect.map(SqlStore.validateTable(options.table), () => {
      const client = PgClient.layer({
        url: Redacted.isRedacted(options.url) ? options.url : Redacted.make(options.url),
        maxConnections: options.maxConnections,
        connectTimeout: options.connectTimeout ?? Duration.seconds(5),
        applicationName: "effect-resume"
      }).pipe(Layer.mapError(connectionError))
      return SqlStore.layer(options).pipe(
        Layer.provide(client),
        // node-pg may throw synchronously (e.g. an unparsable url): a defect, turned into a typed failure
        Layer.catchAllCause((cause) => {
          if (Cause.isInterruptedOnly(cause)) return Layer.failCause(cause)
          const error = Cause.squash(cause)
          return Layer.fail(error instanceof StoreError ? error : connectionError(error))
        })
      )
    })
  )

export const layerConfig = (config: Config.Config.Wrap<PgStoreOptions>): Layer.Layer<SnapshotStore, StoreError> =>
  Layer.unwrapEffect(
    Config.unwrap(config).pipe(
      Effect.map(layer),
      // String(), not .message: a redacted config's message is just "<redacted>", without the key's path
      Effect.mapError((cause) => new StoreError({ reason: "InvalidOption", message: `PgStore config: ${String(cause)}`, cause }))
    )
  )

/** The store at `DATABASE_URL`, default table. */
export const PgStoreLive: Layer.Layer<SnapshotStore, StoreError> = layerConfig({ url: Config.redacted("DATABASE_URL") })
