/**
 * The SQL store's inspecting and retention statements (`listRuns`, `countRuns`, `inspect`, `prune`), read
 * by the CLI and the web inspector. Built once per store with its `prepare` helper, as its other
 * statements: every filter is a parameter (NULL when absent, a status list as one JSON array), so each
 * statement has one text whatever the options.
 */
import type { SqlError } from "@effect/sql"
import { Effect, Option } from "effect"
import type { RunBackend, RunStatus, RunSummary, StepRow } from "../SnapshotStore.js"
import { optionalIso, optionalText, parse, queryError, recordFields, type RunRow, runColumns, toRecord } from "./sqlRows.js"
import { parsedOrText } from "../internal/stored.js"
import { sqliteNow, sqliteNowPlus, stepsTable } from "./sqlSchema.js"

type Inspection = Pick<RunBackend, "listRuns" | "countRuns" | "inspect" | "prune">

/** The store's statement builder: `{name}` placeholders, compiled once, run with named parameters. */
export type Prepare = (
  text: string
) => <A extends object = Record<string, unknown>>(
  params: Record<string, string | number | null>
) => Effect.Effect<ReadonlyArray<A>, SqlError.SqlError>

interface SummaryRow extends Omit<RunRow, "input" | "output"> {
  readonly steps: number | string
}

interface StepRowRaw {
  readonly step_key: string
  readonly position: number | string
  readonly entry: unknown
  readonly started_at: unknown
  readonly completed_at: unknown
  readonly attempt: number | string | null
  readonly owner: string | null
}

export const inspection = (
  q: Prepare,
  pg: boolean,
  table: string,
  transaction: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E | SqlError.SqlError>
): Inspection => {
  const t = `"${table}"`
  const steps = `"${stepsTable(table)}"`
  const now = pg ? "now()" : sqliteNow
  const leased = `(r.owner IS NOT NULL AND r.lease_until > ${now}) AS leased`
  // A saved document's steps count too, those no step row rewrote (`load` shows such a key once): a
  // ResumeState's `steps` is an array of [key, result] pairs, a snapshot's an object keyed by step
  const noRow = (key: string) => `NOT EXISTS (SELECT 1 FROM ${steps} s2 WHERE s2.run_id = r.id AND s2.step_key = ${key})`
  const savedSteps = pg
    ? `CASE json_typeof(r.body->'steps')
        WHEN 'array' THEN (SELECT count(*) FROM json_array_elements(r.body->'steps') AS e(pair) WHERE ${noRow("e.pair->>0")})
        WHEN 'object' THEN (SELECT count(*) FROM json_object_keys(r.body->'steps') AS k(key) WHERE ${noRow("k.key")})
        ELSE 0 END`
    : `CASE WHEN r.body IS NULL THEN 0 ELSE (SELECT count(*) FROM json_each(r.body, '$.steps') j
        WHERE ${noRow("CASE j.type WHEN 'array' THEN json_extract(j.value, '$[0]') ELSE j.key END")}) END`
  const columns = (names: ReadonlyArray<string>) => names.map((c) => `r.${c}`).join(", ")
  const summaryColumns = columns(runColumns.split(", ").filter((c) => c !== "input" && c !== "output"))
  // the members of a JSON array parameter, as rows
  const members = (name: string) =>
    pg ? `(SELECT json_array_elements_text({${name}}::json))` : `(SELECT value FROM json_each({${name}}))`
  const text = (name: string) => pg ? `{${name}}::text` : `{${name}}`
  // substr, not LIKE: a prefix is literal, and SQLite's LIKE ignores case
  const prefixed = `substr(r.id, 1, length(${text("prefix")})) = ${text("prefix")}`
  const where = `${prefixed}
    AND (${pg ? "{statuses}::json" : "{statuses}"} IS NULL OR r.status IN ${members("statuses")})
    AND (${text("workflow")} IS NULL OR r.workflow = ${text("workflow")})
    AND (${pg ? "{since}::timestamptz" : "{since}"} IS NULL OR r.updated_at >= ${pg ? "{since}::timestamptz" : "{since}"})`
  const doomed = `${prefixed} AND r.status IN ${members("statuses")}
    AND r.updated_at <= ${
    pg ? `now() - {olderThanMs}::float8 * interval '1 millisecond'` : sqliteNowPlus("- {olderThanMs}")
  }`

  const listRuns = q(`SELECT ${summaryColumns}, ${leased},
      (SELECT count(*) FROM ${steps} s WHERE s.run_id = r.id) + ${savedSteps} AS steps
    FROM ${t} r WHERE ${where}
    ORDER BY r.seq DESC, r.id DESC LIMIT {limit}`)
  const countRuns = q(`SELECT r.status, count(*) AS n FROM ${t} r WHERE ${where} GROUP BY r.status`)
  const getRun = q(`SELECT ${columns(runColumns.split(", "))}, ${leased}, r.body FROM ${t} r WHERE r.id = {id}`)
  const getSteps = q(`SELECT step_key, position, entry, started_at, completed_at, attempt, owner
    FROM ${steps} WHERE run_id = {id} ORDER BY position`)
  const countDoomed = q(`SELECT count(*) AS n FROM ${t} r WHERE ${doomed}`)
  // Postgres: one statement; the runs it picks are locked, runs another prune holds are skipped
  const pruneBatch = pg
    ? q(`WITH doomed AS (SELECT r.id FROM ${t} r WHERE ${doomed} LIMIT {limit} FOR UPDATE SKIP LOCKED),
        gone AS (DELETE FROM ${steps} WHERE run_id IN (SELECT id FROM doomed))
      DELETE FROM ${t} WHERE id IN (SELECT id FROM doomed) RETURNING id`)
    : undefined
  // SQLite: no DML in a WITH clause. A batch deletes its runs, then their steps, in one transaction that
  // begins with the write: a transaction that read first could not take the write lock while another
  // connection writes (SQLITE_BUSY at once, no busy wait), as a CLI prune next to a live application would
  const deleteDoomedRuns = q(`DELETE FROM ${t} WHERE id IN (SELECT r.id FROM ${t} r WHERE ${doomed} LIMIT {limit}) RETURNING id`)
  const deleteStepsOf = q(`DELETE FROM ${steps} WHERE run_id IN ${members("ids")}`)

  const filters = (query: { prefix: string; workflow: string | undefined; since: string | undefined }) => ({
    prefix: query.prefix,
    workflow: query.workflow ?? null,
    since: query.since ?? null
  })
  // Postgres reads LIMIT NULL as no limit, SQLite LIMIT -1
  const noLimit = pg ? null : -1

  return {
    listRuns: (query) =>
      listRuns<SummaryRow>({
        ...filters(query),
        statuses: query.status === undefined ? null : JSON.stringify(query.status),
        limit: query.limit ?? noLimit
      }).pipe(
        Effect.mapError(queryError("listRuns")),
        Effect.map((rows) => rows.map(toSummary))
      ),
    countRuns: (query) =>
      countRuns<{ status: RunStatus; n: number | string }>({ ...filters(query), statuses: null }).pipe(
        Effect.mapError(queryError("countRuns")),
        Effect.map((rows) => Object.fromEntries(rows.map((row) => [row.status, Number(row.n)])))
      ),
    inspect: (id) =>
      getRun<RunRow>({ id }).pipe(
        Effect.flatMap(([row]) =>
          row === undefined ? Effect.succeedNone : Effect.map(
            Effect.all([toRecord(id, row), parse(`Stored state "${id}"`, row.body), getSteps<StepRowRaw>({ id })]),
            ([run, head, rows]) => Option.some({ run, head, steps: rows.map(toStepRow) })
          )
        ),
        Effect.mapError((error) => error._tag === "SqlError" ? queryError("inspect")(error) : error)
      ),
    prune: (query, dryRun) => {
      const params = { prefix: query.prefix, statuses: JSON.stringify(query.status), olderThanMs: query.olderThanMs }
      if (dryRun) {
        return countDoomed<{ n: number | string }>(params).pipe(
          Effect.map(([row]) => Number(row?.n ?? 0)),
          Effect.mapError(queryError("prune"))
        )
      }
      const batch = pruneBatch !== undefined
        ? pruneBatch<{ id: string }>({ ...params, limit: query.limit })
        : transaction(
          Effect.flatMap(deleteDoomedRuns<{ id: string }>({ ...params, limit: query.limit }), (rows) =>
            rows.length === 0 ? Effect.succeed(rows) : Effect.as(deleteStepsOf({ ids: JSON.stringify(rows.map((row) => row.id)) }), rows))
        )
      return batch.pipe(Effect.map((rows) => rows.length), Effect.mapError(queryError("prune")))
    }
  }
}

const toSummary = (row: SummaryRow): RunSummary => ({ ...recordFields(row), steps: Number(row.steps) })

// node-pg parses json columns on read; SQLite hands back the text (parsed here, checked by the service)
const toStepRow = (row: StepRowRaw): StepRow => ({
  key: row.step_key,
  position: Number(row.position),
  entry: parsedOrText(row.entry),
  startedAt: optionalIso(row.started_at),
  completedAt: optionalIso(row.completed_at),
  // appendSteps writes attempt 0: no claim wrote it
  attempt: row.attempt === null || Number(row.attempt) === 0 ? undefined : Number(row.attempt),
  owner: optionalText(row.owner)
})
