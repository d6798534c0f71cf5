/**
 * The SQL store, shared by every SQL backend (SQLite, Postgres, libSQL), over whatever `SqlClient` is
 * provided. Backends differ only in DDL (column types, see sqlSchema.ts) and the clock expression.
 *
 * The statements a run executes on every step (claim, checkpoint, finish) are built once per store, as
 * plain text with positional parameters: no statement is compiled per call, and the driver's prepared
 * statement cache sees one text. Every one of them is a single statement, so one round trip and one
 * commit: a checkpoint writes the step row fenced by the owner token, and renews the lease in the same
 * statement once half of it has passed (in Postgres by a data-modifying WITH, otherwise a share lock on
 * the run row; in SQLite by a trigger on the step row): the run's row is not rewritten by every step.
 */
import { SqlClient, type SqlError } from "@effect/sql"
import { Cause, Effect, Layer, Option, Stream } from "effect"
import type * as Snapshot from "../Snapshot.js"
import { groupCommit } from "../internal/groupCommit.js"
import {
  type Checkpoint,
  type ClaimDue,
  type DueRun,
  LoadedWithSteps,
  make as makeService,
  type RunBackend,
  type RunStatus,
  SnapshotStore,
  type SnapshotStoreService,
  StoreError,
  type WorkerBackend
} from "../SnapshotStore.js"
import { inspection } from "./sqlInspection.js"
import { describe, isUniqueViolation, optionalText, parse, parseSteps, queryError, type RunRow, runColumns, toIso, toRecord } from "./sqlRows.js"
import { migrate, sequenceName, sqliteNow, sqliteNowPlus, stepsTable, wakeChannel } from "./sqlSchema.js"

export interface SqlStoreOptions {
  /** Table name, a plain identifier (letters, digits, `_`). Default `effect_resume_runs`. */
  readonly table?: string | undefined
  /** Store-wide id prefix: ids are saved as `prefix + id` and listed without it. */
  readonly prefix?: string | undefined
}

export const defaultTable = "effect_resume_runs"

// 48 leaves room for the "_migrations" / "_status_idx" suffixes inside Postgres' 63-byte identifier limit.
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

type Params = Record<string, string | number | null>

/**
 * Runs one statement as a named prepared statement, bypassing the `SqlClient` (PgStore gives one over
 * its node-pg pool): Postgres then parses and plans the run's statements once per connection instead of
 * on every call, which for the checkpoint's WITH ... UPDATE ... INSERT is most of its cost beyond the commit.
 */
export interface PreparedExecutor {
  (
    name: string,
    text: string,
    params: ReadonlyArray<unknown>,
    /** "checkpoint": the group-committed checkpoints, one statement at a time, on a connection of their own. */
    lane: "checkpoint" | undefined,
    /** The same statement through the `SqlClient`, for an executor that cannot run it now. */
    viaClient: () => Effect.Effect<ReadonlyArray<any>, SqlError.SqlError>
  ): Effect.Effect<ReadonlyArray<any>, SqlError.SqlError>
  /**
   * As a call, for a write whose one result is whether it changed a row: from the driver's count
   * (node-pg's rowCount, SQLite's changes), where `RETURNING` would cost a row description and a row to parse.
   */
  readonly changed: (
    name: string,
    text: string,
    params: ReadonlyArray<unknown>,
    lane: "checkpoint" | undefined,
    viaClient: () => Effect.Effect<boolean, SqlError.SqlError>
  ) => Effect.Effect<boolean, SqlError.SqlError>
  /** Run once the store's tables exist, as the store is built: what the executor opens ahead of its first statement. */
  readonly ready?: Effect.Effect<void> | undefined
  /** Postgres: the payloads NOTIFY sends on `channel`, on a connection of the executor's own. */
  readonly listen?: ((channel: string) => Stream.Stream<string, SqlError.SqlError>) | undefined
}

// A stable name per statement text (FNV-1a): a connection keeps each named statement it has prepared
const statementName = (text: string): string => {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return `effect_resume_${(hash >>> 0).toString(16)}_${text.length}`
}

/**
 * `{name}` placeholders compiled to the dialect's positional form (`$1` on Postgres, where a name used
 * twice is one parameter; `?` elsewhere, repeated), and the names in parameter order.
 */
const compile = (pg: boolean, text: string) => {
  const names: Array<string> = []
  const compiled = text.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (!pg) {
      names.push(name)
      return "?"
    }
    const at = names.indexOf(name)
    if (at !== -1) return `$${at + 1}`
    names.push(name)
    return `$${names.length}`
  })
  return { compiled, valuesOf: (params: Params) => names.map((name) => params[name] ?? null) }
}

/**
 * A statement written once with `{name}` placeholders, compiled once. With an executor, it runs as a
 * named prepared statement.
 */
const prepare = (sql: SqlClient.SqlClient, pg: boolean, text: string, executor?: PreparedExecutor, lane?: "checkpoint") => {
  const { compiled, valuesOf } = compile(pg, text)
  if (executor !== undefined) {
    const name = statementName(compiled)
    return <A extends object = Record<string, unknown>>(params: Params): Effect.Effect<ReadonlyArray<A>, SqlError.SqlError> => {
      const values = valuesOf(params)
      return executor(name, compiled, values, lane, () => Effect.withTracerEnabled(sql.unsafe<A>(compiled, values), false))
    }
  }
  return <A extends object = Record<string, unknown>>(params: Params): Effect.Effect<ReadonlyArray<A>, SqlError.SqlError> =>
    sql.unsafe<A>(compiled, valuesOf(params))
}

/**
 * As `prepare`, for the statements of a run's every step: without the `sql.execute` span @effect/sql
 * puts on each statement, which costs more than a SQLite INSERT (it captures a stack trace).
 */
const prepareHot = (sql: SqlClient.SqlClient, pg: boolean, text: string, executor?: PreparedExecutor, lane?: "checkpoint") => {
  const statement = prepare(sql, pg, text, executor, lane)
  if (executor !== undefined) return statement
  return <A extends object = Record<string, unknown>>(params: Params): Effect.Effect<ReadonlyArray<A>, SqlError.SqlError> =>
    Effect.withTracerEnabled(statement<A>(params), false)
}

/**
 * As `prepareHot`, for a fenced write of a run's every step (a checkpoint, a renewal, the end):
 * whether it changed a row. An executor reads the driver's count of changed rows; through the
 * `SqlClient`, which gives no count, the statement returns a row per changed row instead.
 */
const prepareChanged = (sql: SqlClient.SqlClient, pg: boolean, text: string, executor?: PreparedExecutor, lane?: "checkpoint") => {
  const { compiled, valuesOf } = compile(pg, text)
  const returning = `${compiled} RETURNING 1 AS ok`
  const viaClient = (values: ReadonlyArray<unknown>) =>
    Effect.withTracerEnabled(Effect.map(sql.unsafe(returning, values), (rows) => rows.length > 0), false)
  if (executor === undefined) return (params: Params) => viaClient(valuesOf(params))
  const name = statementName(compiled)
  return (params: Params): Effect.Effect<boolean, SqlError.SqlError> => {
    const values = valuesOf(params)
    return executor.changed(name, compiled, values, lane, () => viaClient(values))
  }
}

interface DueRow {
  readonly id: string
  readonly workflow: string
  readonly version: string | null
  readonly attempts: number | string
  readonly input: unknown
  readonly retry_failed: number | string
}

const toDueRun = (row: DueRow): Effect.Effect<DueRun, StoreError> =>
  Effect.map(parse(`The input of run "${row.id}"`, row.input), (input) => ({
    id: row.id,
    workflow: row.workflow,
    version: optionalText(row.version),
    attempts: Number(row.attempts),
    input: input as Snapshot.JsonValue | undefined,
    retryFailed: Number(row.retry_failed) === 1
  }))

export const make = (
  options: SqlStoreOptions = {},
  executor?: PreparedExecutor
): Effect.Effect<SnapshotStoreService, StoreError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const pg = sql.onDialectOrElse({ pg: () => true, orElse: () => false })
    // Postgres folds unquoted names to lowercase, and the Migrator looks its table up unquoted
    // (`'Name'::regclass`): on pg a mixed-case name is used lowercased, as `CREATE TABLE Name` would.
    const table = yield* Effect.map(validateTable(options.table), (name) => pg ? name.toLowerCase() : name)
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
    if (executor?.ready !== undefined) yield* executor.ready
    const t = `"${table}"`
    const steps = `"${stepsTable(table)}"`
    // The database clock, never the client's. SQLite's is text in one ISO format, so it compares as text.
    const now = pg ? "now()" : sqliteNow
    const leaseUntil = pg ? `now() + {leaseMs}::int * interval '1 millisecond'` : sqliteNowPlus("+ {leaseMs}")
    const nextSeq = pg ? `nextval('"${sequenceName(table)}"')` : `(SELECT COALESCE(MAX(seq), 0) + 1 FROM ${t})`
    const json = (name: string) => pg ? `{${name}}::json` : `{${name}}`
    const free = `(${t}.owner IS NULL OR ${t}.lease_until <= ${now})`
    const leased = `(owner IS NOT NULL AND lease_until > ${now}) AS leased`
    // The fence of a run's writes. A run has an owner only while it is running (every statement that ends,
    // cancels, saves or re-queues a run clears it), so the owner alone says "running", and the match is
    // by primary key. With status = 'running' beside it, Postgres' plan for a new table (no statistics
    // yet) scanned the (status, workflow) index, every running run, on every checkpoint.
    const ours = "id = {id} AND owner = {owner}"
    const q = (text: string) => prepare(sql, pg, text)
    // the statements of a run's every step; the others (transactions among them) go through the SqlClient
    const hot = (text: string) => prepareHot(sql, pg, text, executor)
    // the checkpoints: group commit writes one statement at a time, so one connection serves them all
    const checkpointLane = (text: string) => prepareHot(sql, pg, text, executor, "checkpoint")
    const changed = (text: string, lane?: "checkpoint") => prepareChanged(sql, pg, text, executor, lane)

    const getRun = hot(`SELECT ${runColumns}, ${leased} FROM ${t} WHERE id = {id}`)
    const getRunAndBody = q(`SELECT ${runColumns}, ${leased}, body FROM ${t} WHERE id = {id}`)
    const getSteps = hot(`SELECT step_key, entry FROM ${steps} WHERE run_id = {id} ORDER BY position`)

    const claim = hot(`INSERT INTO ${t} AS r (id, workflow, version, status, owner, lease_ms, lease_until, attempts,
        created_at, updated_at, seq, input)
      VALUES ({id}, {workflow}, {version}, 'running', {owner}, ${pg ? "{leaseMs}::int" : "{leaseMs}"}, ${leaseUntil}, 1, ${now}, ${now}, ${nextSeq},
        ${json("input")})
      ON CONFLICT (id) DO UPDATE SET workflow = excluded.workflow, version = excluded.version, status = 'running',
        owner = excluded.owner, lease_ms = excluded.lease_ms, lease_until = excluded.lease_until,
        attempts = r.attempts + 1, updated_at = excluded.updated_at, seq = excluded.seq, completed_at = NULL,
        output = NULL, input = COALESCE(r.input, excluded.input)
      WHERE (r.status IN ('running', 'pending') OR (${pg ? "{reopenFailed}::int" : "{reopenFailed}"} = 1 AND r.status = 'failed')
          -- a document \`save\` wrote, never run: its status is the saved one, and it has no outcome
          OR (r.output IS NULL AND r.status IN ('completed', 'failed')))
        AND (r.owner IS NULL OR r.lease_until <= ${now})
      RETURNING attempts`)

    // A step under a new key (nearly every one) is a plain INSERT: an upsert costs Postgres a speculative
    // insertion and its confirmation on every row. A key written again (a retried step) is an upsert.
    // The fence, on Postgres: while the lease has time left, a share lock on the run row, which writes no
    // new version of it (an UPDATE on every step, each leaving a version behind, cost more than the step
    // row); once half the lease has passed (Checkpoint.renew), an UPDATE that renews it. Both wait for a
    // claim or cancel in flight on the row, then read it again. On SQLite the lease trigger renews it.
    const checkpointStatement = (upsert: boolean, renew: boolean) => {
      const onConflict = upsert
        ? `ON CONFLICT (run_id, step_key) DO UPDATE SET entry = excluded.entry, started_at = excluded.started_at,
          completed_at = excluded.completed_at, attempt = excluded.attempt, owner = excluded.owner`
        : ""
      if (!pg) {
        return changed(`INSERT INTO ${steps} (run_id, step_key, position, entry, started_at, completed_at, attempt, owner)
          SELECT id, {key}, {position}, {entry}, ${sqliteNowPlus("- {durationMs}")},
            ${now}, {attempt}, owner
          FROM ${t} WHERE ${ours}
          ${onConflict}`, "checkpoint")
      }
      const row = `{key}, {position}, {entry}::json, now() - {durationMs}::float8 * interval '1 millisecond', now(), {attempt}, {owner}`
      return changed(
        renew
          ? `WITH r AS (UPDATE ${t} SET lease_until = ${leaseUntil}, updated_at = now() WHERE ${ours} RETURNING id)
            INSERT INTO ${steps} AS s (run_id, step_key, position, entry, started_at, completed_at, attempt, owner)
            SELECT r.id, ${row} FROM r
            ${onConflict}`
          : `INSERT INTO ${steps} AS s (run_id, step_key, position, entry, started_at, completed_at, attempt, owner)
            SELECT id, ${row} FROM ${t} WHERE ${ours} FOR SHARE
            ${onConflict}`,
        "checkpoint"
      )
    }
    const checkpointNew = checkpointStatement(false, false)
    const checkpointAgain = checkpointStatement(true, false)
    const renewing = pg ? { fresh: checkpointStatement(false, true), again: checkpointStatement(true, true) } : undefined
    const newStep = (c: Checkpoint) => c.renew === true && renewing !== undefined ? renewing.fresh : checkpointNew
    const stepAgain = (c: Checkpoint) => c.renew === true && renewing !== undefined ? renewing.again : checkpointAgain

    // Many checkpoints in one statement (group commit): each written only while its owner owns its run.
    // On Postgres the batch renews each run's lease as well: batches come under load, one statement for many steps.
    const checkpointColumns = ["id", "owner", "key", "position", "entry", "durationMs", "attempt", "leaseMs"] as const
    const pgTypes = ["text", "text", "text", "bigint", "json", "float8", "int", "int"]
    const manyCheckpoints = new Map<number, ReturnType<typeof checkpointLane>>()
    const checkpointMany = (n: number) => {
      const cached = manyCheckpoints.get(n)
      if (cached !== undefined) return cached
      const rows = Array.from({ length: n }, (_, i) =>
        `(${checkpointColumns.map((c, j) => pg ? `{${c}${i}}::${pgTypes[j]}` : `{${c}${i}}`).join(", ")})`)
      const values = `VALUES ${rows.join(", ")}`
      const upsert = `ON CONFLICT (run_id, step_key) DO UPDATE SET entry = excluded.entry, started_at = excluded.started_at,
          completed_at = excluded.completed_at, attempt = excluded.attempt, owner = excluded.owner
        RETURNING run_id, step_key, owner`
      const statement = pg
        ? checkpointLane(`WITH v (run_id, owner, step_key, position, entry, duration_ms, attempt, lease_ms) AS (${values}),
          r AS (
            UPDATE ${t} AS run SET lease_until = now() + v.lease_ms * interval '1 millisecond', updated_at = now()
            FROM v WHERE run.id = v.run_id AND run.owner = v.owner RETURNING run.id)
          INSERT INTO ${steps} AS s (run_id, step_key, position, entry, started_at, completed_at, attempt, owner)
          SELECT v.run_id, v.step_key, v.position, v.entry, now() - v.duration_ms * interval '1 millisecond', now(),
            v.attempt, v.owner
          FROM v WHERE v.run_id IN (SELECT id FROM r)
          ${upsert}`)
        : checkpointLane(`INSERT INTO ${steps} (run_id, step_key, position, entry, started_at, completed_at, attempt, owner)
          SELECT run.id, v.column3, v.column4, v.column5,
            ${sqliteNowPlus("- v.column6")}, ${now}, v.column7, run.owner
          FROM (${values}) AS v, ${t} AS run
          WHERE run.id = v.column1 AND run.owner = v.column2
          ${upsert}`)
      manyCheckpoints.set(n, statement)
      return statement
    }
    const checkpointParams = (c: Checkpoint): Params => ({
      id: c.id,
      owner: c.owner,
      key: c.key,
      position: c.position,
      entry: c.entry,
      durationMs: c.durationMs,
      attempt: c.attempt,
      leaseMs: c.leaseMs
    })
    const checkpointError = queryError("checkpoint")
    // Errors become StoreErrors here, in the failure handler a new key's statement has anyway: one
    // handler per checkpoint instead of two (every step pays each one)
    const groupedCheckpoint = groupCommit<Checkpoint, boolean, StoreError>({
      one: (c) => {
        const params = checkpointParams(c)
        if (c.fresh !== true) return Effect.mapError(stepAgain(c)(params), checkpointError)
        return Effect.catchAll(newStep(c)(params), (error) =>
          isUniqueViolation(error)
            // the key was there after all (the engine's view of the run is its own): replace it
            ? Effect.mapError(stepAgain(c)(params), checkpointError)
            : Effect.fail(checkpointError(error)))
      },
      many: (batch) => {
        // a key written twice in one batch (a retried step) would be one row touched twice: the last wins
        const latest = new Map<string, number>()
        batch.forEach((c, i) => latest.set(JSON.stringify([c.id, c.key]), i))
        const unique = batch.filter((c, i) => latest.get(JSON.stringify([c.id, c.key])) === i)
        const params: Params = {}
        unique.forEach((c, i) => {
          const p = checkpointParams(c)
          for (const column of checkpointColumns) params[`${column}${i}`] = p[column] ?? null
        })
        return checkpointMany(unique.length)<{ run_id: string; step_key: string; owner: string }>(params).pipe(
          Effect.map((rows) => {
            const written = new Set(rows.map((row) => JSON.stringify([row.run_id, row.step_key, row.owner])))
            return batch.map((c) => written.has(JSON.stringify([c.id, c.key, c.owner])))
          }),
          Effect.mapError(checkpointError)
        )
      },
      // 8 parameters per checkpoint: far below SQLite's 32766 and Postgres' 65535
      maxBatch: 200
    })

    const renew = changed(`UPDATE ${t} SET lease_until = ${leaseUntil}
      WHERE ${ours}`)
    // On the checkpoints' connection: a run ends right after its last checkpoint, which holds that
    // connection for a moment; from the pool, its end would open a second one (a fresh process's restart)
    const finish = changed(`UPDATE ${t} SET status = {status}, output = ${json("output")}, owner = NULL, lease_until = NULL, retry_failed = 0,
        completed_at = ${now}, updated_at = ${now}, seq = ${nextSeq}
      WHERE ${ours}`, "checkpoint")
    // A graceful release does not count as an attempt; on Postgres it wakes a worker to take the run
    const notify = (rows: string) => pg ? `SELECT pg_notify('${wakeChannel(table)}', id) AS ok FROM ${rows}` : ""
    const release = pg
      ? q(`WITH released AS (UPDATE ${t} SET owner = NULL, lease_until = NULL, attempts = GREATEST(attempts - 1, 0)
          WHERE id = {id} AND owner = {owner} RETURNING id) ${notify("released")}`)
      : q(`UPDATE ${t} SET owner = NULL, lease_until = NULL, attempts = MAX(attempts - 1, 0) WHERE id = {id} AND owner = {owner}`)
    const start = q(`${pg ? "WITH started AS (" : ""}INSERT INTO ${t} (id, workflow, version, status, attempts, lease_ms, created_at,
        updated_at, seq, input)
      VALUES ({id}, {workflow}, {version}, 'pending', 0, 0, ${now}, ${now}, ${nextSeq}, ${json("input")})
      ON CONFLICT (id) DO NOTHING RETURNING id${pg ? `) ${notify("started")}` : ""}`)
    const retry = q(`${pg ? "WITH retried AS (" : ""}UPDATE ${t} SET status = 'pending',
        retry_failed = CASE WHEN status = 'failed' THEN 1 ELSE 0 END,
        attempts = CASE WHEN status = 'dead' THEN 0 ELSE attempts END,
        output = NULL, completed_at = NULL, owner = NULL, lease_until = NULL, updated_at = ${now}, seq = ${nextSeq}
      WHERE id = {id} AND status IN ('failed', 'dead') RETURNING id${pg ? `) ${notify("retried")}` : ""}`)
    // Due: pending; running with no live owner; or held by an earlier incarnation of this worker id
    const startsWith = (column: string, prefix: string) =>
      `substr(${column}, 1, length(${pg ? `{${prefix}}::text` : `{${prefix}}`})) = {${prefix}}`
    // held by this worker id: its own claims (no attempt counted when it takes them back)
    const mine = (column: string) => startsWith(column, "ownerPrefix")
    // held by another incarnation of this worker id: that process is dead
    const previous = (column: string) => `(${mine(column)} AND NOT ${startsWith(column, "incarnationPrefix")})`
    const claimDue = (request: ClaimDue, idPrefix: string) => {
      const params: Params = {
        owner: request.owner,
        ownerPrefix: request.ownerPrefix,
        incarnationPrefix: request.incarnationPrefix,
        leaseMs: request.leaseMs,
        limit: request.limit,
        idPrefix
      }
      const served = request.workflows.map((workflow, i) => {
        params[`w${i}`] = workflow.name
        params[`v${i}`] = workflow.version ?? null
        return `(workflow = {w${i}} AND version ${pg ? "IS NOT DISTINCT FROM" : "IS"} {v${i}})`
      })
      const due = `(status = 'pending' OR (status = 'running' AND (owner IS NULL OR lease_until <= ${now}
          OR ${previous("owner")})))
        AND (${served.join(" OR ") || "1 = 0"})
        ${idPrefix === "" ? "" : `AND substr(id, 1, length(${pg ? "{idPrefix}::text" : "{idPrefix}"})) = {idPrefix}`}`
      const set = `status = 'running', owner = {owner}, lease_ms = ${pg ? "{leaseMs}::int" : "{leaseMs}"},
        lease_until = ${leaseUntil}, updated_at = ${now}, seq = ${nextSeq}, completed_at = NULL, output = NULL,
        attempts = attempts + CASE WHEN owner IS NOT NULL AND ${mine("owner")} THEN 0 ELSE 1 END`
      const returning = `RETURNING id, workflow, version, attempts, input, retry_failed`
      // its previous incarnation's runs first (it takes them back at once), then the oldest
      const order = `CASE WHEN owner IS NOT NULL AND ${previous("owner")} THEN 0 ELSE 1 END, seq`
      // Postgres: the rows are locked as they are picked, and rows another worker is claiming are skipped.
      // SQLite: one writer at a time, so the pick and the update are one atomic statement anyway.
      const text = pg
        ? `UPDATE ${t} SET ${set}
          FROM (SELECT id AS due_id FROM ${t} WHERE ${due} ORDER BY ${order} LIMIT {limit}::int FOR UPDATE SKIP LOCKED) d
          WHERE id = d.due_id ${returning}`
        : `UPDATE ${t} SET ${set} WHERE id IN (SELECT id FROM ${t} WHERE ${due} ORDER BY ${order} LIMIT {limit}) ${returning}`
      return q(text)<DueRow>(params).pipe(
        Effect.mapError(queryError("claimDue")),
        Effect.flatMap((rows) => Effect.forEach(rows, toDueRun))
      )
    }
    const cancel = q(`UPDATE ${t} SET status = 'cancelled', owner = NULL, lease_until = NULL, completed_at = ${now},
        updated_at = ${now}, seq = ${nextSeq}
      WHERE id = {id} AND status IN ('running', 'pending') RETURNING 1 AS ok`)

    // The seed's whole-document writes: refused (nothing written) while a live owner holds the run
    const saveRun = q(`INSERT INTO ${t} AS r (id, workflow, status, attempts, lease_ms, created_at, updated_at, seq, body)
      VALUES ({id}, {workflow}, {status}, 0, 0, ${now}, ${now}, ${nextSeq}, ${json("body")})
      ON CONFLICT (id) DO UPDATE SET workflow = excluded.workflow, version = NULL, status = excluded.status, owner = NULL,
        lease_until = NULL, attempts = 0, updated_at = excluded.updated_at, completed_at = NULL, seq = excluded.seq,
        input = NULL, output = NULL, body = excluded.body
      WHERE ${free.replaceAll(t, "r")}
      RETURNING 1 AS ok`)
    const touchRun = q(`INSERT INTO ${t} AS r (id, status, attempts, lease_ms, created_at, updated_at, seq)
      VALUES ({id}, 'running', 0, 0, ${now}, ${now}, ${nextSeq})
      ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, seq = excluded.seq
      WHERE ${free.replaceAll(t, "r")}
      RETURNING 1 AS ok`)
    const appendStep = q(`INSERT INTO ${steps} AS s (run_id, step_key, position, entry, started_at, completed_at, attempt, owner)
      VALUES ({id}, {key}, (SELECT COALESCE(MAX(position), 0) + 1 FROM ${steps} WHERE run_id = {id}), ${json("entry")},
        ${now}, ${now}, 0, NULL)
      ON CONFLICT (run_id, step_key) DO UPDATE SET entry = excluded.entry, completed_at = excluded.completed_at,
        attempt = 0, owner = NULL`)
    const deleteSteps = q(`DELETE FROM ${steps} WHERE run_id = {id}`)
    const deleteRun = q(`DELETE FROM ${t} WHERE id = {id} AND ${free} RETURNING 1 AS ok`)
    const exists = q(`SELECT 1 AS ok FROM ${t} WHERE id = {id}`)

    const affected = (rows: ReadonlyArray<unknown>) => rows.length > 0
    const transaction = <A, E>(effect: Effect.Effect<A, E>) => sql.withTransaction(effect)

    const runs: RunBackend = {
      get: (id) =>
        getRun<RunRow>({ id }).pipe(
          Effect.mapError(queryError("getRun")),
          Effect.flatMap(([row]) => row === undefined ? Effect.succeedNone : Effect.map(toRecord(id, row), Option.some))
        ),
      claim: (c) =>
        claim<{ attempts: number | string }>({
          id: c.id,
          workflow: c.workflow,
          version: c.version ?? null,
          owner: c.owner,
          leaseMs: c.leaseMs,
          input: c.input ?? null,
          reopenFailed: c.reopenFailed ? 1 : 0
        }).pipe(
          Effect.map(([row]) => row === undefined ? Option.none() : Option.some(Number(row.attempts))),
          Effect.mapError(queryError("claim"))
        ),
      checkpoint: groupedCheckpoint,
      renew: (id, owner, leaseMs) => renew({ id, owner, leaseMs }).pipe(Effect.mapError(queryError("renew"))),
      finish: (id, owner, status, output) =>
        finish({ id, owner, status, output }).pipe(Effect.mapError(queryError("finish"))),
      release: (id, owner) => release({ id, owner }).pipe(Effect.asVoid, Effect.mapError(queryError("release"))),
      cancel: (id) => cancel({ id }).pipe(Effect.map(affected), Effect.mapError(queryError("cancel"))),
      ...inspection(q, pg, table, transaction)
    }

    // Postgres clients (PgClient) can LISTEN: started and released runs wake workers at once. PgStore
    // listens on a connection of its own pool (see PgStore's `listen`); over an application's PgClient,
    // through that client.
    const client = sql as SqlClient.SqlClient & { readonly listen?: (channel: string) => Stream.Stream<string, SqlError.SqlError> }
    const listen = executor?.listen ?? (typeof client.listen === "function" ? client.listen : undefined)
    const workers: WorkerBackend = {
      start: (run) =>
        start({ id: run.id, workflow: run.workflow, version: run.version ?? null, input: run.input ?? null }).pipe(
          Effect.map(affected),
          Effect.mapError(queryError("start"))
        ),
      claimDue,
      retry: (id) => retry({ id }).pipe(Effect.map(affected), Effect.mapError(queryError("retry"))),
      wakeups: pg && listen !== undefined
        ? listen(wakeChannel(table)).pipe(
          Stream.as(undefined),
          // a dropped LISTEN connection: workers still poll; listen again after a pause
          Stream.catchAll(() => Stream.empty),
          Stream.concat(Stream.fromEffect(Effect.sleep("1 second")).pipe(Stream.drain)),
          Stream.forever
        )
        : undefined
    }

    return makeService({
      save: (id, state, status, workflow) =>
        transaction(
          Effect.flatMap(saveRun({ id, workflow: workflow ?? null, status, body: JSON.stringify(state) }), (rows) =>
            affected(rows) ? Effect.as(deleteSteps({ id }), true) : Effect.succeed(false))
        ).pipe(Effect.mapError(queryError("save"))),
      appendSteps: (id, entries) =>
        transaction(
          Effect.flatMap(touchRun({ id }), (rows) =>
            affected(rows)
              ? Effect.as(
                Effect.forEach(entries, ([key, entry]) => appendStep({ id, key, entry: JSON.stringify(entry) }), { discard: true }),
                true
              )
              : Effect.succeed(false))
        ).pipe(Effect.mapError(queryError("appendSteps"))),
      load: (id) =>
        getRunAndBody<RunRow>({ id }).pipe(
          Effect.mapError(queryError("load")),
          Effect.flatMap(([row]) => {
            if (row === undefined) return Effect.succeedNone
            return Effect.map(
              Effect.all([
                toRecord(id, row),
                parse(`Stored state "${id}"`, row.body),
                getSteps<{ step_key: string; entry: unknown }>({ id }).pipe(
                  Effect.mapError(queryError("load")),
                  Effect.flatMap((rows) => parseSteps(id, rows))
                )
              ]),
              ([run, head, entries]) => Option.some(new LoadedWithSteps(head, entries, run))
            )
          })
        ),
      delete: (id) =>
        transaction(
          Effect.flatMap(deleteRun({ id }), (rows) =>
            affected(rows)
              ? Effect.as(deleteSteps({ id }), true)
              // nothing deleted: either no such run (done), or a live owner holds it
              : Effect.map(exists({ id }), (found) => !affected(found)))
        ).pipe(Effect.mapError(queryError("delete"))),
      list: ({ limit, prefix, status, workflow }) =>
        sql<{ id: string; updated_at: unknown; status: RunStatus; workflow: string | null }>`
          SELECT id, updated_at, status, workflow FROM ${sql(table)}
          WHERE 1 = 1
          ${
          // substr, not LIKE: a prefix is literal, and SQLite's LIKE ignores case
          prefix === "" ? sql`` : sql`AND substr(id, 1, length(CAST(${prefix} AS TEXT))) = CAST(${prefix} AS TEXT)`}
          ${status === undefined ? sql`` : status.length === 0 ? sql`AND 1 = 0` : sql`AND ${sql.in("status", status)}`}
          ${workflow === undefined ? sql`` : sql`AND workflow = ${workflow}`}
          ORDER BY seq DESC, id DESC
          ${limit === undefined ? sql`` : sql`LIMIT ${limit}`}`.pipe(
          Effect.mapError(queryError("list")),
          Effect.map((rows) =>
            rows.map((row) => ({
              id: row.id,
              updatedAt: toIso(row.updated_at),
              status: row.status,
              ...(row.workflow === null ? {} : { workflow: row.workflow })
            }))
          )
        ),
      runs,
      workers
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
  prepareClient: Effect.Effect<void, StoreError, SqlClient.SqlClient> = Effect.void,
  executor?: PreparedExecutor
): Layer.Layer<SnapshotStore, StoreError> =>
  Layer.unwrapEffect(
    Effect.as(
      validateTable(options.table),
      Layer.effect(SnapshotStore, Effect.zipRight(prepareClient, make(options, executor))).pipe(
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
