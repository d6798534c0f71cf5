/**
 * libSQL (Turso, sqld, or a local file) through `@effect/sql-libsql` (an optional peer dependency,
 * loaded when the layer is built), on the shared SQL store.
 * `url` is `file:./workflow.db` for a local file, or `libsql://…` / `https://…` with an `authToken`.
 * Avoid `file::memory:`: @libsql/client runs each transaction on a fresh connection, and an in-memory
 * database does not survive that (the migration's table would vanish).
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Redacted } from "effect"
import { type SnapshotStore, StoreError } from "../SnapshotStore.js"
import { configured } from "../internal/configured.js"
import { importDriver } from "../internal/driver.js"
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

export const layer = (options: LibsqlStoreOptions): Layer.Layer<SnapshotStore, StoreError> => {
  const authToken = redact(options.authToken)
  return Layer.unwrapEffect(Effect.map(
    importDriver("LibsqlStore", "@effect/sql-libsql", () => import("@effect/sql-libsql")),
    ({ LibsqlClient }) =>
      SqlStore.layerOver(
        options,
        LibsqlClient.layer({ url: options.url, ...(authToken === undefined ? {} : { authToken }) }),
        (error) => connectionError(options.url, error),
        // a remote server is only contacted on the first query: probe it, so an unreachable or
        // unauthorized server is a Connection error rather than a failed migration
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql`SELECT 1`.pipe(Effect.asVoid, Effect.mapError((cause) => connectionError(options.url, cause.cause ?? cause))))
      )
  ))
}

export const layerConfig = configured("LibsqlStore", layer)
