/**
 * The SQL store's tables and their migration, for every dialect it serves (Postgres; SQLite and libSQL).
 *
 * `<table>` holds one row per run: its workflow, version, status, owner and lease, attempts, times
 * (database clock), input, output, and `body`, the document `save` wrote. `<table>_steps` holds one row
 * per step, keyed `(run_id, step_key)`, with its start and completion times, attempt and owner.
 *
 * Nothing a checkpoint updates on the run row (lease_until, updated_at, once half the lease has passed)
 * is indexed, so Postgres can update the row in place (a HOT update). Hence no (status, updated_at)
 * index for `prune`: it narrows by the status index and filters updated_at, off the run's path.
 */
import { Migrator, SqlClient, type SqlError } from "@effect/sql"
import { Cause, Data, Effect, Schedule } from "effect"
import { isBusy } from "../internal/sqliteBusy.js"

export const stepsTable = (table: string) => `${table}_steps`
export const sequenceName = (table: string) => `${table}_seq`
/** The Postgres NOTIFY channel on which started and released runs wake workers. */
export const wakeChannel = (table: string) => `${table}_wake`

/** SQLite's clock (the database's, never the client's), as the ISO text its time columns hold and compare as. */
export const sqliteNow = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`

/**
 * SQLite's clock moved by `ms` milliseconds, a signed SQL term ("+ lease_ms", "- {durationMs}"), as ISO
 * text: julianday arithmetic, cheaper than a modifier string built and parsed per row.
 */
export const sqliteNowPlus = (ms: string) => `strftime('%Y-%m-%dT%H:%M:%fZ', julianday('now') ${ms} / 86400000.0)`

/**
 * SQLite has no DML in a WITH clause: a step row written by its owner renews the run's lease by trigger.
 * Since migration 3 (`whenDue`), once half the lease has passed: until then the step's commit does not
 * also rewrite the run's page (the heartbeat renews it every third of the lease meanwhile), and the
 * times are computed from julianday() (`sqliteNowPlus`). Migration 1's form stays as it was written.
 */
const sqliteLeaseTriggers = (table: string, whenDue: boolean) => {
  const body = whenDue
    ? `UPDATE "${table}" SET lease_until = ${sqliteNowPlus("+ lease_ms")}, updated_at = NEW.completed_at
    WHERE id = NEW.run_id AND owner = NEW.owner AND status = 'running' AND lease_until < ${sqliteNowPlus("+ lease_ms / 2")};`
    : `UPDATE "${table}" SET
      lease_until = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+' || (lease_ms / 1000.0) || ' seconds'),
      updated_at = NEW.completed_at
    WHERE id = NEW.run_id AND owner = NEW.owner AND status = 'running';`
  return [
    `CREATE TRIGGER IF NOT EXISTS "${table}_steps_lease_insert" AFTER INSERT ON "${table}_steps"
      WHEN NEW.owner IS NOT NULL BEGIN ${body} END`,
    `CREATE TRIGGER IF NOT EXISTS "${table}_steps_lease_update" AFTER UPDATE ON "${table}_steps"
      WHEN NEW.owner IS NOT NULL BEGIN ${body} END`
  ]
}

const ddl = (table: string, pg: boolean): ReadonlyArray<string> => {
  const steps = stepsTable(table)
  const time = pg ? "timestamptz" : "TEXT"
  // json, not jsonb: it keeps the text as written (key order, "\u0000" in strings), and costs no
  // conversion on the hot path; it is still queryable in place (`body->>'kind'`)
  const json = pg ? "json" : "TEXT"
  return [
    `CREATE TABLE IF NOT EXISTS "${table}" (
      id text PRIMARY KEY NOT NULL,
      workflow text,
      version text,
      status text NOT NULL,
      owner text,
      lease_ms integer NOT NULL DEFAULT 0,
      lease_until ${time},
      attempts integer NOT NULL DEFAULT 0,
      created_at ${time} NOT NULL,
      updated_at ${time} NOT NULL,
      completed_at ${time},
      seq bigint NOT NULL,
      input ${json},
      output ${json},
      body ${json}
    )`,
    // list order (seq changes on a run's start, end, save; not on every step)
    `CREATE INDEX IF NOT EXISTS "${table}_seq_idx" ON "${table}" (seq)`,
    // list by status and workflow, and the workers' search for due runs
    `CREATE INDEX IF NOT EXISTS "${table}_status_idx" ON "${table}" (status, workflow)`,
    `CREATE TABLE IF NOT EXISTS "${steps}" (
      run_id text NOT NULL,
      step_key text NOT NULL,
      position bigint NOT NULL,
      entry ${json} NOT NULL,
      started_at ${time},
      completed_at ${time},
      attempt integer NOT NULL DEFAULT 0,
      owner text,
      PRIMARY KEY (run_id, step_key)
    )${pg ? "" : " WITHOUT ROWID"}`,
    ...(pg ? [`CREATE SEQUENCE IF NOT EXISTS "${sequenceName(table)}"`] : sqliteLeaseTriggers(table, false))
  ]
}

class MigratedElsewhere extends Data.TaggedError("MigratedElsewhere") {}

/** Creates the tables once per database, however many processes start at the same moment. */
export const migrate = (table: string): Effect.Effect<void, SqlError.SqlError | Migrator.MigrationError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => {
    const pg = sql.onDialectOrElse({ pg: () => true, orElse: () => false })
    const migrations = `${table}_migrations`
    const all = {
      "1_runs": Effect.forEach(ddl(table, pg), (statement) => sql.unsafe(statement), { discard: true }),
      // `Workflow.retry` of a failed run: the worker that takes it re-executes its failed steps
      "2_retry_failed": sql.unsafe(`ALTER TABLE "${table}" ADD COLUMN retry_failed integer NOT NULL DEFAULT 0`),
      // SQLite: a step renews the lease once half of it has passed (Postgres: the engine says when, Checkpoint.renew)
      "3_lease_when_due": pg ? Effect.void : Effect.forEach(
        [
          `DROP TRIGGER IF EXISTS "${table}_steps_lease_insert"`,
          `DROP TRIGGER IF EXISTS "${table}_steps_lease_update"`,
          ...sqliteLeaseTriggers(table, true)
        ],
        (statement) => sql.unsafe(statement),
        { discard: true }
      )
    }
    const run = Migrator.make({})({ loader: Migrator.fromRecord(all), table: migrations })
    // Every start after the first finds all migrations recorded: one read, no lock, no Migrator. (Its
    // text is its own: SQLite's client caches a statement that failed to prepare, "no such table", by text.)
    const recorded = sql<{ latest: unknown }>`SELECT MAX(migration_id) AS latest FROM ${sql(migrations)}`.pipe(
      Effect.map(([row]) => Number(row?.latest ?? 0) >= Object.keys(all).length),
      // no such table yet (SQLite's driver dies on a statement it cannot prepare): migrate
      Effect.catchAllCause((cause) => Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : Effect.succeed(false))
    )
    return Effect.flatMap(recorded, (done) => done ? Effect.void : migrateNow(sql, pg, table, migrations, run, all))
  })

const migrateNow = (
  sql: SqlClient.SqlClient,
  pg: boolean,
  table: string,
  migrations: string,
  run: Effect.Effect<unknown, SqlError.SqlError | Migrator.MigrationError, SqlClient.SqlClient>,
  all: Record<string, unknown>
): Effect.Effect<void, SqlError.SqlError | Migrator.MigrationError, SqlClient.SqlClient> => {
  if (pg) {
    // The pg Migrator creates its table with a racy `select regclass` then CREATE TABLE: concurrent
    // starts (several pods) serialize on an advisory lock, and the table exists before it looks.
    return sql.withTransaction(
      sql`SELECT pg_advisory_xact_lock(hashtext(${`effect-resume:${table}`}))`.pipe(
        Effect.zipRight(sql`CREATE TABLE IF NOT EXISTS ${sql(migrations)} (
          migration_id integer primary key,
          created_at timestamp with time zone not null default now(),
          name text not null
        )`),
        Effect.zipRight(run)
      )
    ).pipe(Effect.asVoid)
  }
  // The Migrator takes a failed insert into its table for "another process is migrating" and returns
  // at once, before that process commits: processes opening one new SQLite file together then found
  // no table ("no such table"). Run it until its table records every migration, waiting meanwhile.
  return run.pipe(
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
}
