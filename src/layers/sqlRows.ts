/**
 * Reading the SQL store's rows: run records, step entries, and what a failed statement means.
 * Shared by the store's statements (SqlStore.ts) and its inspecting queries (sqlInspection.ts).
 */
import type { SqlError } from "@effect/sql"
import { Effect } from "effect"
import type * as Snapshot from "../Snapshot.js"
import { type RunRecord, type RunStatus, StoreError } from "../SnapshotStore.js"

// A SqlError's own message is generic ("Failed to execute statement"); the driver's error, down the
// cause chain, says why.
export const describe = (error: { readonly message: string; readonly cause?: unknown }): string =>
  error.cause instanceof Error ? `${error.message}: ${describe(error.cause)}` : error.message

// The server is unreachable or went away (worth a retry), rather than the statement being wrong:
// a failed pool checkout, a dropped socket, a connection that had failed before the statement,
// SQLSTATE class 08 or 57P01-57P03 (shutdown/restart).
const isConnectionError = (error: SqlError.SqlError): boolean => {
  const cause = error.cause as { readonly code?: unknown; readonly message?: unknown } | null | undefined
  const code = typeof cause?.code === "string" ? cause.code : ""
  return error.message.startsWith("Failed to acquire connection") || error.message === "Connection error" ||
    /^(08...|57P0[123]|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)$/.test(code) ||
    (typeof cause?.message === "string" &&
      // node-pg: the socket closed, or a query on a connection that had already failed or closed
      (cause.message.startsWith("Connection terminated") || cause.message.endsWith("is not queryable")))
}

/** A row under that key exists already: Postgres' unique_violation, SQLite's (and libSQL's) constraint codes. */
export const isUniqueViolation = (error: SqlError.SqlError): boolean => {
  const cause = error.cause as { readonly code?: unknown; readonly extendedCode?: unknown } | null | undefined
  const codes = [cause?.code, cause?.extendedCode]
  return codes.some((code) => code === "23505" || code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE")
}

export const queryError = (op: string) => (cause: SqlError.SqlError) =>
  new StoreError({
    reason: isConnectionError(cause) ? "Connection" : "Query",
    message: `SQL store ${op} failed: ${describe(cause)}`,
    cause
  })

export const toIso = (u: unknown): string => u instanceof Date ? u.toISOString() : new Date(String(u)).toISOString()
export const optionalIso = (u: unknown): string | undefined => u === null || u === undefined ? undefined : toIso(u)
export const optionalText = (u: unknown): string | undefined => u === null || u === undefined ? undefined : String(u)

// node-pg parses json on read; SQLite hands back the text
export const parse = (what: string, value: unknown): Effect.Effect<unknown, StoreError> =>
  typeof value !== "string" ? Effect.succeed(value ?? undefined) : Effect.try({
    try: () => JSON.parse(value) as unknown,
    catch: (cause) => new StoreError({ reason: "Decode", message: `${what} is not valid JSON`, cause })
  })

// A plain loop: a run of 10,000 steps loads 10,000 rows, and an Effect per row would cost more than the parse
export const parseSteps = (
  id: string,
  rows: ReadonlyArray<{ readonly step_key: string; readonly entry: unknown }>
): Effect.Effect<Array<readonly [string, unknown]>, StoreError> => {
  const steps: Array<readonly [string, unknown]> = new Array(rows.length)
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!
    if (typeof row.entry !== "string") {
      steps[i] = [row.step_key, row.entry]
      continue
    }
    try {
      steps[i] = [row.step_key, JSON.parse(row.entry) as unknown]
    } catch (cause) {
      return Effect.fail(new StoreError({ reason: "Decode", message: `Stored step "${row.step_key}" of "${id}" is not valid JSON`, cause }))
    }
  }
  return Effect.succeed(steps)
}

export const runColumns = `id, workflow, version, status, owner, attempts, created_at, updated_at, completed_at, input, output`

export interface RunRow {
  readonly id: string
  readonly workflow: string | null
  readonly version: string | null
  readonly status: RunStatus
  readonly owner: string | null
  readonly attempts: number | string
  readonly created_at: unknown
  readonly updated_at: unknown
  readonly completed_at: unknown
  readonly input: unknown
  readonly output: unknown
  readonly leased: unknown
  readonly body?: unknown
}

/** A run row's columns as a record, all but its encoded input and output. */
export const recordFields = (row: Omit<RunRow, "input" | "output">): Omit<RunRecord, "input" | "output"> => ({
  id: row.id,
  workflow: optionalText(row.workflow),
  version: optionalText(row.version),
  status: row.status,
  owner: optionalText(row.owner),
  // Postgres gives a boolean, SQLite 0 / 1
  leased: row.leased === true || Number(row.leased) === 1,
  attempts: Number(row.attempts),
  createdAt: toIso(row.created_at),
  updatedAt: toIso(row.updated_at),
  completedAt: optionalIso(row.completed_at)
})

export const toRecord = (id: string, row: RunRow): Effect.Effect<RunRecord, StoreError> =>
  Effect.map(
    Effect.all([parse(`The input of run "${id}"`, row.input), parse(`The output of run "${id}"`, row.output)]),
    ([input, output]) => ({
      ...recordFields(row),
      input: input as Snapshot.JsonValue | undefined,
      output: output as Snapshot.StepResult | undefined
    })
  )

