/**
 * The SQL store, shared by every SQL backend (SQLite, Postgres, libSQL): one table, one row per id,
 * over whatever `SqlClient` is provided. Backends differ only in DDL (column types) and the clock.
 */
import { Migrator, SqlClient, type SqlError } from "@effect/sql"
import { Effect, Layer, Option } from "effect"
import { fromBackend, SnapshotStore, type SnapshotStoreService, StoreError } from "../SnapshotStore.js"

export interface SqlStoreOptions {
  /** Table name, a plain identifier (letters, digits, `_`). Default `effect_resume_snapshots`. */
  readonly table?: string | undefined
  /** Store-wide id prefix: ids are saved as `prefix + id` and listed without it. */
  readonly prefix?: string | undefined
}

export const defaultTable = "effect_resume_snapshots"

// 48 leaves room for the "_migrations" / "_seq_idx" suffixes inside Postgres' 63-byte identifier limit.
const identifier = /^[A-Za-z_][A-Za-z0-9_]{0,47}$/

/** The table name is spliced into DDL, so only a plain identifier is accepted: checked before any query. */
export const validateTable = (table: string | undefined): Effect.Effect<string, StoreError> => {
  const name = table ?? defaultTable
  return identifier.test(name)
    ? Effect.succeed(name)
    : Effect.fail(
      new StoreError({
        reason: "InvalidOption",
        message: `Invalid table name ${JSON.stringify(name)}: use 1-48 letters, digits or underscores, not starting with a digit`
      })
    )
}

// A SqlError's own message is generic ("Failed to execute statement"); the driver's error, down the
// cause chain, says why.
const describe = (error: { readonly message: string; readonly cause?: unknown }): string =>
  error.cause instanceof Error ? `${error.message}: ${describe(error.cause)}` : error.message

// The server is unreachable or went away (worth a retry), rather than the statement being wrong:
// a failed pool checkout, a dropped socket, SQLSTATE class 08 or 57P01-57P03 (shutdown/restart).
const isConnectionError = (error: SqlError.SqlError): boolean => {
  const cause = error.cause as { readonly code?: unknown; readonly message?: unknown } | null | undefined
  const code = typeof cause?.code === "string" ? cause.code : ""
  return error.message.startsWith("Failed to acquire connection") || error.message === "Connection error" ||
    /^(08...|57P0[123]|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)$/.test(code) ||
    (typeof cause?.message === "string" && cause.message.startsWith("Connection terminated"))
}

const queryError = (op: string) => (cause: SqlError.SqlError) =>
  new StoreError({
    reason: isConnectionError(cause) ? "Connection" : "Query",
    message: `SQL store ${op} failed: ${describe(cause)}`,
    cause
  })

const migrate = (table: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const t = sql(table)
    const index = sql(`${table}_seq_idx`)
    const createTable = sql.onDialectOrElse({
      pg: () =>
        sql`CREATE TABLE IF NOT EXISTS ${t} (
          id text PRIMARY KEY,
          body jsonb NOT NULL,
          updated_at timestamptz NOT NULL DEFAULT now(),
          seq bigint NOT NULL
        )`,
      orElse: () =>
        sql`CREATE TABLE IF NOT EXISTS ${t} (
          id TEXT PRIMARY KEY NOT NULL,
          body TEXT NOT NULL,
          updated_at TEXT NOT NULL,
          seq INTEGER NOT NULL
        )`
    })
    const migrations = `${table}_migrations`
    const run = Migrator.make({})({
      loader: Migrator.fromRecord({
        "1_create_snapshots": Effect.zipRight(createTable, sql`CREATE INDEX IF NOT EXISTS ${index} ON ${t} (seq)`)
      }),
      table: migrations
    })
    return sql.onDialectOrElse({
      // The pg Migrator creates its table with a racy `select regclass` then CREATE TABLE: concurrent
      // starts (several pods) serialize on an advisory lock, and the table exists before it looks.
      pg: () =>
        sql.withTransaction(
          sql`SELECT pg_advisory_xact_lock(hashtext(${`effect-resume:${table}`}))`.pipe(
            Effect.zipRight(sql`CREATE TABLE IF NOT EXISTS ${sql(migrations)} (
              migration_id integer primary key,
              created_at timestamp with time zone not null default now(),
              name text not null
            )`),
            Effect.zipRight(run)
          )
        ),
      orElse: () => run
    })
  })

export const make = (options: SqlStoreOptions = {}): Effect.Effect<SnapshotStoreService, StoreError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    // Postgres folds unquoted names to lowercase, and the Migrator looks its table up unquoted
    // (`'Name'::regclass`): on pg a mixed-case name is used lowercased, as `CREATE TABLE Name` would.
    const table = yield* Effect.map(
      validateTable(options.table),
      (name) => sql.onDialectOrElse({ pg: () => name.toLowerCase(), orElse: () => name })
    )
    yield* migrate(table).pipe(
      Effect.provideService(SqlClient.SqlClient, sql),
      Effect.mapError((cause) =>
        new StoreError({ reason: "Migration", message: `Could not create or migrate table "${table}": ${describe(cause)}`, cause })
      ),
      // the Migrator dies when a migration's statement fails (e.g. no CREATE permission)
      Effect.catchAllDefect((cause) =>
        new StoreError({
          reason: "Migration",
          message: `Could not create or migrate table "${table}": ${cause instanceof Error ? describe(cause) : String(cause)}`,
          cause
        })
      )
    )
    const t = sql(table)
    // The database clock stamps updated_at; seq orders saves that share a timestamp.
    const now = sql.onDialectOrElse({
      pg: () => sql.literal("now()"),
      orElse: () => sql.literal("strftime('%Y-%m-%dT%H:%M:%fZ', 'now')")
    })
    const toIso = (u: unknown): string => u instanceof Date ? u.toISOString() : new Date(String(u)).toISOString()

    return fromBackend({
      save: (id, state) =>
        sql`INSERT INTO ${t} (id, body, updated_at, seq)
          VALUES (${id}, ${JSON.stringify(state)}, ${now}, (SELECT COALESCE(MAX(seq), 0) + 1 FROM ${t}))
          ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at, seq = excluded.seq`
          .pipe(Effect.asVoid, Effect.mapError(queryError("save"))),
      load: (id) =>
        sql<{ body: unknown }>`SELECT body FROM ${t} WHERE id = ${id}`.pipe(
          Effect.mapError(queryError("load")),
          Effect.flatMap((rows) => {
            const row = rows[0]
            if (row === undefined) return Effect.succeedNone
            // node-pg parses jsonb on read; SQLite hands back the text
            if (typeof row.body !== "string") return Effect.succeed(Option.some(row.body))
            return Effect.try({
              try: () => Option.some(JSON.parse(row.body as string) as unknown),
              catch: (cause) => new StoreError({ reason: "Decode", message: `Stored state "${id}" is not valid JSON`, cause })
            })
          })
        ),
      delete: (id) => sql`DELETE FROM ${t} WHERE id = ${id}`.pipe(Effect.asVoid, Effect.mapError(queryError("delete"))),
      list: ({ limit, prefix }) =>
        sql<{ id: string; updated_at: unknown }>`SELECT id, updated_at FROM ${t}
          ${
          // substr, not LIKE: a prefix is literal, and SQLite's LIKE ignores case
          prefix === "" ? sql`` : sql`WHERE substr(id, 1, length(CAST(${prefix} AS TEXT))) = CAST(${prefix} AS TEXT)`}
          ORDER BY seq DESC, id DESC
          ${limit === undefined ? sql`` : sql`LIMIT ${limit}`}`.pipe(
          Effect.mapError(queryError("list")),
          Effect.map((rows) => rows.map((row) => ({ id: row.id, updatedAt: toIso(row.updated_at) })))
        )
    }, { prefix: options.prefix, name: "SqlStore" })
  })

/** The store over a `SqlClient` the application already has (sharing its pool). */
export const layer = (options: SqlStoreOptions = {}): Layer.Layer<SnapshotStore, StoreError, SqlClient.SqlClient> =>
  Layer.effect(SnapshotStore, make(options))
