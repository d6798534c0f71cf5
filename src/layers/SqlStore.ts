/**
 * The SQL store, shared by every SQL backend (SQLite, Postgres, libSQL), over whatever `SqlClient` is
 * provided. Backends differ only in DDL (column types) and the clock.
 *
 * Two tables: `<table>` holds one document per id (a ResumeState or a snapshot, as saved), and
 * `<table>_steps` one row per step appended since (incremental checkpoints), keyed `(run_id, step_key)`.
 * A save gives the document a fresh `generation`; only step rows of the current generation belong to
 * it. So every write is a single statement and no transaction is needed: a crash between statements
 * leaves rows that no load can see, and the next save or delete removes them.
 */
import { Migrator, SqlClient, type SqlError } from "@effect/sql"
import { Cause, Data, Effect, Layer, Option, Schedule } from "effect"
import { isBusy } from "../internal/sqliteBusy.js"
import { fromBackend, LoadedWithSteps, SnapshotStore, type SnapshotStoreService, StoreError } from "../SnapshotStore.js"

export interface SqlStoreOptions {
  /** Table name, a plain identifier (letters, digits, `_`). Default `effect_resume_snapshots`. */
  readonly table?: string | undefined
  /** Store-wide id prefix: ids are saved as `prefix + id` and listed without it. */
  readonly prefix?: string | undefined
}

export const defaultTable = "effect_resume_snapshots"

const emptyState = JSON.stringify({ kind: "ResumeState", steps: [] })

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

const stepsTable = (table: string) => `${table}_steps`

/**
 * A step row written bumps its document's updated_at and seq (list order) in the same statement, by
 * trigger: one commit, so one fsync, per checkpoint. The names are validated identifiers.
 */
const touchOnAppend = (sql: SqlClient.SqlClient, table: string) =>
  sql.onDialectOrElse({
    pg: () =>
      Effect.zipRight(
        sql.unsafe(`CREATE OR REPLACE FUNCTION "${table}_touch"() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            UPDATE "${table}" SET updated_at = now(), seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM "${table}")
              WHERE id = NEW.run_id;
            RETURN NULL;
          END $$`),
        sql.unsafe(`CREATE TRIGGER "${table}_steps_touch" AFTER INSERT OR UPDATE ON "${table}_steps"
          FOR EACH ROW EXECUTE FUNCTION "${table}_touch"()`)
      ),
    orElse: () => {
      const body = `UPDATE "${table}" SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
        seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM "${table}") WHERE id = NEW.run_id;`
      return Effect.zipRight(
        sql.unsafe(`CREATE TRIGGER IF NOT EXISTS "${table}_steps_touch_insert" AFTER INSERT ON "${table}_steps" BEGIN ${body} END`),
        sql.unsafe(`CREATE TRIGGER IF NOT EXISTS "${table}_steps_touch_update" AFTER UPDATE ON "${table}_steps" BEGIN ${body} END`)
      )
    }
  })

const migrate = (table: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const t = sql(table)
    const index = sql(`${table}_seq_idx`)
    const steps = sql(stepsTable(table))
    const addSteps = Effect.all([
      sql.onDialectOrElse({
        pg: () => sql`ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS generation text NOT NULL DEFAULT ''`,
        orElse: () => sql`ALTER TABLE ${t} ADD COLUMN generation TEXT NOT NULL DEFAULT ''`
      }),
      sql.onDialectOrElse({
        pg: () =>
          sql`CREATE TABLE IF NOT EXISTS ${steps} (
            run_id text NOT NULL,
            step_key text NOT NULL,
            generation text NOT NULL,
            position bigint NOT NULL,
            entry jsonb NOT NULL,
            PRIMARY KEY (run_id, step_key)
          )`,
        orElse: () =>
          sql`CREATE TABLE IF NOT EXISTS ${steps} (
            run_id TEXT NOT NULL,
            step_key TEXT NOT NULL,
            generation TEXT NOT NULL,
            position INTEGER NOT NULL,
            entry TEXT NOT NULL,
            PRIMARY KEY (run_id, step_key)
          )`
      }),
      // serves the load of a run's steps in order, and the next position of an append
      sql`CREATE INDEX IF NOT EXISTS ${sql(`${stepsTable(table)}_idx`)} ON ${steps} (run_id, generation, position)`
    ], { discard: true })
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
    const all = {
      "1_create_snapshots": Effect.zipRight(createTable, sql`CREATE INDEX IF NOT EXISTS ${index} ON ${t} (seq)`),
      "2_incremental_steps": addSteps,
      "3_touch_on_append": touchOnAppend(sql, table)
    }
    const run = Migrator.make({})({ loader: Migrator.fromRecord(all), table: migrations })
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
        ).pipe(Effect.asVoid),
      // The Migrator takes a failed insert into its table for "another process is migrating" and returns
      // at once, before that process commits: processes opening one new SQLite file together then found
      // no table ("no such table"). Run it until its table records every migration, waiting meanwhile.
      orElse: () =>
        run.pipe(
          Effect.zipRight(sql<{ id: unknown }>`SELECT MAX(migration_id) AS id FROM ${sql(migrations)}`),
          Effect.flatMap(([row]) =>
            Number(row?.id ?? 0) >= Object.keys(all).length ? Effect.void : Effect.fail(new MigratedElsewhere())
          ),
          Effect.retry({
            while: (error) => error instanceof MigratedElsewhere || isBusy(error),
            schedule: Schedule.spaced("20 millis").pipe(Schedule.upTo("30 seconds"))
          }),
          Effect.catchTag("MigratedElsewhere", () =>
            Effect.dieMessage("another process started migrating the database and did not finish within 30 seconds"))
        )
    })
  })

class MigratedElsewhere extends Data.TaggedError("MigratedElsewhere") {}

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

    const steps = sql(stepsTable(table))
    const nextSeq = sql`(SELECT COALESCE(MAX(seq), 0) + 1 FROM ${t})`
    // a parameter in a SELECT list has no column to take its type from: Postgres needs the cast
    const jsonParam = (json: string) =>
      sql.onDialectOrElse({ pg: () => sql`CAST(${json} AS jsonb)`, orElse: () => sql`${json}` })
    // node-pg parses jsonb on read; SQLite hands back the text
    const parse = (what: string, value: unknown): Effect.Effect<unknown, StoreError> =>
      typeof value !== "string" ? Effect.succeed(value) : Effect.try({
        try: () => JSON.parse(value) as unknown,
        catch: (cause) => new StoreError({ reason: "Decode", message: `${what} is not valid JSON`, cause })
      })

    const removeStale = (id: string) =>
      sql`DELETE FROM ${steps} WHERE run_id = ${id} AND NOT EXISTS (
        SELECT 1 FROM ${t} d WHERE d.id = ${id} AND d.generation = ${steps}.generation)`

    return fromBackend({
      save: (id, state) => {
        const generation = crypto.randomUUID()
        return sql`INSERT INTO ${t} (id, body, updated_at, seq, generation)
          VALUES (${id}, ${JSON.stringify(state)}, ${now}, ${nextSeq}, ${generation})
          ON CONFLICT (id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at,
            seq = excluded.seq, generation = excluded.generation`.pipe(
          // steps of an older generation are no longer visible; removing them is housekeeping. Measured
          // against the document's generation now, not this save's: another writer may have saved since.
          Effect.zipRight(removeStale(id)),
          Effect.asVoid,
          Effect.mapError(queryError("save"))
        )
      },
      appendSteps: (id, entries) => {
        // writes nothing when the document exists; the step row's trigger then bumps its list order
        const ensureDocument = sql`INSERT INTO ${t} (id, body, updated_at, seq, generation)
          VALUES (${id}, ${emptyState}, ${now}, ${nextSeq}, ${crypto.randomUUID()})
          ON CONFLICT (id) DO NOTHING`
        const appendOne = (key: string, entry: unknown) =>
          sql`INSERT INTO ${steps} (run_id, step_key, generation, position, entry)
            SELECT d.id, CAST(${key} AS TEXT), d.generation,
              COALESCE((SELECT MAX(s.position) FROM ${steps} s WHERE s.run_id = d.id AND s.generation = d.generation), 0) + 1,
              ${jsonParam(JSON.stringify(entry))}
            FROM ${t} d WHERE d.id = ${id}
            ON CONFLICT (run_id, step_key) DO UPDATE SET entry = excluded.entry,
              position = CASE WHEN ${steps}.generation = excluded.generation THEN ${steps}.position ELSE excluded.position END,
              generation = excluded.generation`
        return ensureDocument.pipe(
          Effect.zipRight(Effect.forEach(entries, ([key, entry]) => appendOne(key, entry), { discard: true })),
          Effect.mapError(queryError("appendSteps"))
        )
      },
      // One query: the document (part 0), then its current steps in append order (part 1).
      load: (id) =>
        sql<{ part: number; data: unknown; step_key: string }>`
          SELECT 0 AS part, d.body AS data, '' AS step_key, 0 AS position FROM ${t} d WHERE d.id = ${id}
          UNION ALL
          SELECT 1, s.entry, s.step_key, s.position FROM ${steps} s
            JOIN ${t} d ON s.run_id = d.id AND s.generation = d.generation WHERE d.id = ${id}
          ORDER BY 1, 4`.pipe(
          Effect.mapError(queryError("load")),
          Effect.flatMap((rows) => {
            const [document, ...stepRows] = rows
            if (document === undefined || Number(document.part) !== 0) return Effect.succeedNone
            return Effect.map(
              Effect.all([
                parse(`Stored state "${id}"`, document.data),
                Effect.forEach(stepRows, (row) =>
                  Effect.map(parse(`Stored step "${row.step_key}" of "${id}"`, row.data), (entry) => [row.step_key, entry] as const))
              ]),
              ([head, entries]) => Option.some(new LoadedWithSteps(head, entries))
            )
          })
        ),
      delete: (id) =>
        sql`DELETE FROM ${t} WHERE id = ${id}`.pipe(
          // the steps are invisible once the document is gone; a document saved again since keeps its own
          Effect.zipRight(removeStale(id)),
          Effect.asVoid,
          Effect.mapError(queryError("delete"))
        ),
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

/**
 * A SQL backend's store Layer, the one wiring SQLite, Postgres and libSQL share: the table name is
 * checked before `client` is built (a bad name never reaches a server), `prepare` runs on the fresh
 * client (a pragma, a probe), and a client that cannot connect, by a typed failure or a throw (drivers
 * throw on unopenable files and unparsable urls), fails the layer with the StoreError `connectionError` makes.
 */
export const layerOver = <E>(
  options: SqlStoreOptions,
  client: Layer.Layer<SqlClient.SqlClient, E>,
  connectionError: (error: unknown) => StoreError,
  prepare: Effect.Effect<void, StoreError, SqlClient.SqlClient> = Effect.void
): Layer.Layer<SnapshotStore, StoreError> =>
  Layer.unwrapEffect(
    Effect.as(
      validateTable(options.table),
      Layer.effect(SnapshotStore, Effect.zipRight(prepare, make(options))).pipe(
        Layer.provide(Layer.mapError(client, connectionError)),
        Layer.catchAllCause((cause) => {
          if (Cause.isInterruptedOnly(cause)) return Layer.failCause(cause)
          const error = Cause.squash(cause)
          return Layer.fail(error instanceof StoreError ? error : connectionError(error))
        })
      )
    )
  )

/** The store over a `SqlClient` the application already has (sharing its pool). */
export const layer = (options: SqlStoreOptions = {}): Layer.Layer<SnapshotStore, StoreError, SqlClient.SqlClient> =>
  Layer.effect(SnapshotStore, make(options))
