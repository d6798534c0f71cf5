/**
 * libSQL (Turso, sqld, or a local file) through `@effect/sql-libsql`, on the shared SQL store.
 * `url` is `file:./workflow.db` for a local file, or `libsql://…` / `https://…` with an `authToken`.
 * Avoid `file::memory:`: @libsql/client runs each transaction on a fresh connection, and an in-memory
 * database does not survive that (the migration's table would vanish).
 */
import { LibsqlClient } from "@effect/sql-libsql"
import { Cause, Config, Effect, Layer, Redacted } from "effect"
import { SnapshotStore, StoreError } from "../SnapshotStore.js"
import * as SqlStore from "./SqlStore.js"

export interface LibsqlStoreOptions extends SqlStore.SqlStoreOptions {
  readonly url: string | URL
  /** Kept as a Redacted from here on, so it never shows in logs or error messages. */
  readonly authToken?: Redacted.Redacted<string> | string | undefined
}

const redact = (token: LibsqlStoreOptions["authToken"]): Redacted.Redacted<string> | undefined =>
  token === undefined || Redacted.isRedacted(token) ? token : Redacted.make(token)

// A URL's userinfo or query may carry secrets (`?authToken=`): error messages show only scheme, host and path.
const describeUrl = (url: string | URL): string => {
  try {
    const parsed = new URL(url.toString())
    return JSON.stringify(`${parsed.protocol}${parsed.host === "" ? "" : `//${parsed.host}`}${parsed.pathname}`)
  } catch {
    return "(unparseable url)"
  }
}

// @libsql/client quotes a malformed url whole in its message, so the url is cut out of it
const connectionError = (url: string | URL, error: unknown) => {
  const text = error instanceof Error ? error.message : String(error)
  const scrubbed = text.split(url.toString()).join("<url>")
  return new StoreError({
    reason: "Connection",
    message: `Cannot open libSQL database ${describeUrl(url)}: ${scrubbed}`,
    ...(scrubbed === text ? { cause: error } : {})
  })
}

export const layer = (options: LibsqlStoreOptions): Layer.Layer<SnapshotStore, StoreError> =>
  Layer.unwrapEffect(
    Effect.map(SqlStore.validateTable(options.table), () => {
      const authToken = redact(options.authToken)
      const client = LibsqlClient.layer({ url: options.url, ...(authToken === undefined ? {} : { authToken }) })
      const store = Layer.effect(
        SnapshotStore,
        Effect.flatMap(LibsqlClient.LibsqlClient, (sql) =>
          Effect.zipRight(
            // a remote server is only contacted on the first query: probe it, so an unreachable or
            // unauthorized server is a Connection error rather than a failed migration
            sql`SELECT 1`.pipe(Effect.mapError((cause) => connectionError(options.url, cause.cause ?? cause))),
            SqlStore.make(options)
          ))
      )
      return store.pipe(
        Layer.provide(client),
        // createClient throws on a malformed url or an unopenable file: a defect, turned into a typed failure
        Layer.catchAllCause((cause) => {
          const error = Cause.squash(cause)
          return Layer.fail(error instanceof StoreError ? error : connectionError(options.url, error))
        })
      )
    })
  )

export const layerConfig = (config: Config.Config.Wrap<LibsqlStoreOptions>): Layer.Layer<SnapshotStore, StoreError> =>
  Layer.unwrapEffect(
    Config.unwrap(config).pipe(
      Effect.map(layer),
      Effect.mapError((cause) => new StoreError({ reason: "InvalidOption", message: `LibsqlStore config: ${cause.message}`, cause }))
    )
  )
