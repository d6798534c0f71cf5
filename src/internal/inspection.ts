/**
 * The store service's inspecting and retention methods (`listRuns`, `countRuns`, `inspect`, `prune`),
 * built over a backend: options checked, the store-wide prefix added and stripped, step entries decoded.
 * A backend with run records answers them itself; a five-method adapter's are derived from `list`,
 * `load` and `delete`, one run at a time.
 */
import { Duration, Effect, Either, Option, Schema } from "effect"
import * as ResumeState from "../ResumeState.js"
import type * as Snapshot from "../Snapshot.js"
import {
  type Backend,
  executionStatus,
  FinalStatus,
  type InspectedRun,
  type ListRunsOptions,
  type PruneOptions,
  type RunRecord,
  RunStatus,
  type RunSummary,
  type SnapshotStoreService,
  type StepRecord,
  type StepRow,
  type Stored,
  StoreError,
  toResumeState
} from "../SnapshotStore.js"
import { decodeSteps, fromStoredJson } from "./stored.js"

const invalid = (message: string) => Effect.fail(new StoreError({ reason: "InvalidOption", message }))

export const checkSince = (since: unknown): Effect.Effect<void, StoreError> =>
  since === undefined || (since instanceof Date && !Number.isNaN(since.getTime()))
    ? Effect.void
    : invalid(`since must be a valid Date, got ${String(since)}`)

const finalStatuses = (status: PruneOptions["status"]): Effect.Effect<ReadonlyArray<FinalStatus>, StoreError> => {
  if (status === undefined) return Effect.succeed(FinalStatus.literals)
  const list: ReadonlyArray<unknown> = typeof status === "string" ? [status] : status
  const bad = list.find((s) => !Schema.is(FinalStatus)(s))
  return bad === undefined
    ? Effect.succeed(list as ReadonlyArray<FinalStatus>)
    : invalid(`prune status must be one of ${FinalStatus.literals.join(", ")} (unfinished runs are never pruned); got ${JSON.stringify(bad)}`)
}

const olderThanMs = (input: Duration.DurationInput): Effect.Effect<number, StoreError> => {
  const duration = Duration.decodeUnknown(input)
  if (Option.isNone(duration) || !Duration.isFinite(duration.value)) {
    return invalid(`prune olderThan must be a finite duration (e.g. "30 days"), got ${JSON.stringify(String(input))}`)
  }
  return Effect.succeed(Duration.toMillis(duration.value))
}

const batchSizeOf = (size: number | undefined): Effect.Effect<number, StoreError> =>
  size === undefined
    ? Effect.succeed(500)
    : Number.isInteger(size) && size > 0
    ? Effect.succeed(size)
    : invalid(`prune batchSize must be a positive integer, got ${size}`)

const noTimes = { startedAt: undefined, completedAt: undefined, attempt: undefined, owner: undefined }

/** A saved document's steps first (no times), then the step rows; a key in both shows its row. */
const stepRecords = (id: string, inspected: InspectedRun): Either.Either<ReadonlyArray<StepRecord>, StoreError> =>
  Either.gen(function*() {
    // In `load`'s order: the saved document's steps, a key that a step row rewrote shown with its row
    // (its place kept), then the other rows in order
    const entries = yield* decodeSteps(id, inspected.steps.map((row) => [row.key, row.entry] as const))
    const rows = new Map(inspected.steps.map((row, i) => [row.key, { row, entry: entries[i]![1] }]))
    const records: Array<StepRecord> = []
    const fromRow = ({ entry, row }: { readonly row: StepRow; readonly entry: ResumeState.ResumeStateEntry }) =>
      records.push({ ...row, position: records.length, entry })
    if (inspected.head !== undefined && inspected.head !== null) {
      const head = ResumeState.isResumeState(inspected.head) ? inspected.head : yield* fromStoredJson(id, inspected.head)
      for (const [key, entry] of toResumeState(head).steps) {
        const row = rows.get(key)
        if (row === undefined) {
          records.push({ key, position: records.length, entry, ...noTimes })
        } else {
          fromRow(row)
          rows.delete(key)
        }
      }
    }
    for (const row of rows.values()) fromRow(row)
    return records
  })

/** A document saved through a five-method adapter, seen as a run: what its snapshot says of itself. */
const adapterRecord = (id: string, stored: Stored, storeUpdatedAt: string | undefined): RunRecord => {
  const snapshot = ResumeState.isResumeState(stored) ? undefined : stored
  const exact = snapshot?.metadata?.status
  const status: RunStatus = snapshot === undefined
    ? "running"
    : Schema.is(RunStatus)(exact) && executionStatus(exact) === snapshot.execution.status
    ? exact
    : snapshot.execution.status
  const name = snapshot?.metadata?.workflowName
  // the store's own time of the last write (what `since` and `prune` go by), else what the snapshot says
  const updatedAt = isoOf(storeUpdatedAt) ?? isoOf(snapshot?.execution.lastUpdated) ?? new Date(0).toISOString()
  return {
    id,
    workflow: typeof name === "string" ? name : undefined,
    version: undefined,
    status,
    owner: undefined,
    leased: false,
    attempts: 0,
    createdAt: updatedAt,
    updatedAt,
    completedAt: snapshot?.execution.completedAt,
    input: snapshot?.metadata?.input as Snapshot.JsonValue | undefined,
    output: undefined
  }
}

/** A time as ISO text in UTC, whatever form it came in (an offset, no milliseconds), if it is one. */
const isoOf = (text: string | undefined): string | undefined => {
  if (text === undefined) return undefined
  const ms = Date.parse(text)
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString()
}

const summaryOf = ({ input: _input, output: _output, ...run }: RunRecord, steps: number): RunSummary => ({ ...run, steps })

const emptyCounts = (): Record<RunStatus, number> => ({
  pending: 0,
  running: 0,
  completed: 0,
  failed: 0,
  cancelled: 0,
  dead: 0
})

interface Context {
  readonly prefix: string
  readonly storedId: (id: string) => Effect.Effect<string, StoreError>
  readonly span: (op: string, id?: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Checks the list options alike for every method; the status list, when given. */
  readonly checkQuery: (
    options: ListRunsOptions | undefined
  ) => Effect.Effect<ReadonlyArray<RunStatus> | undefined, StoreError>
}

type Inspection = Pick<SnapshotStoreService, "listRuns" | "countRuns" | "inspect" | "prune">

export const inspection = (backend: Backend, context: Context): Inspection => {
  const { prefix, span } = context
  const unprefixed = (id: string) => id.slice(prefix.length)
  const runs = backend.runs
  const fallback = runs === undefined ? adapterInspection(backend, context) : undefined
  return {
    listRuns: (options) =>
      Effect.flatMap(context.checkQuery(options), (status) =>
        runs === undefined
          ? fallback!.listRuns(options, status)
          : Effect.map(
            runs.listRuns({
              prefix: prefix + (options?.prefix ?? ""),
              limit: options?.limit,
              status,
              workflow: options?.workflow,
              since: options?.since?.toISOString()
            }),
            (summaries) => prefix === "" ? summaries : summaries.map((s) => ({ ...s, id: unprefixed(s.id) }))
          )).pipe(span("listRuns")),
    countRuns: (options) =>
      Effect.flatMap(context.checkQuery(options), () =>
        runs === undefined
          ? fallback!.countRuns(options)
          : Effect.map(
            runs.countRuns({ prefix: prefix + (options?.prefix ?? ""), workflow: options?.workflow, since: options?.since?.toISOString() }),
            (counts) => ({ ...emptyCounts(), ...counts })
          )).pipe(span("countRuns")),
    inspect: (id) =>
      Effect.flatMap(context.storedId(id), (stored) =>
        runs === undefined
          ? fallback!.inspect(id, stored)
          : Effect.flatMap(runs.inspect(stored), Option.match({
            onNone: () => Effect.succeedNone,
            onSome: (inspected) =>
              Effect.map(stepRecords(id, inspected), (steps) => Option.some({ run: { ...inspected.run, id }, steps }))
          }))).pipe(span("inspect", id)),
    prune: (options) =>
      Effect.all([
        olderThanMs(options.olderThan),
        finalStatuses(options.status),
        batchSizeOf(options.batchSize),
        context.checkQuery({ prefix: options.prefix })
      ]).pipe(
        Effect.flatMap(([olderThanMs, status, limit]) => {
          const query = { prefix: prefix + (options.prefix ?? ""), status, olderThanMs, limit }
          if (runs === undefined) return fallback!.prune(query, options)
          if (options.dryRun === true) return runs.prune(query, true)
          // batch after batch until one removes nothing: each its own transaction, so no lock is held long
          // (a short batch is no end: Postgres skips runs another prune holds, Mongo keeps runs reopened meanwhile)
          const loop = (removed: number): Effect.Effect<number, StoreError> =>
            Effect.flatMap(runs.prune(query, false), (n) => {
              const total = removed + n
              const progress = options.onProgress === undefined || n === 0 ? Effect.void : options.onProgress(total)
              return Effect.zipRight(progress, n === 0 ? Effect.succeed(total) : loop(total))
            })
          return loop(0)
        }),
        span("prune")
      )
  }
}

/** For a five-method adapter: everything from `list`, `load` and `delete`, one run at a time. */
const adapterInspection = (backend: Backend, context: Context) => {
  const { prefix } = context
  // every run under the prefix, with its record as its document tells it
  const records = (options: ListRunsOptions | undefined) =>
    Effect.flatMap(
      backend.list({ prefix: prefix + (options?.prefix ?? ""), limit: undefined, status: undefined, workflow: undefined }),
      (entries) =>
        Effect.forEach(entries, (entry) =>
          Effect.flatMap(backend.load(entry.id), Option.match({
            onNone: () => Effect.succeed(Option.none<readonly [RunRecord, number]>()),
            onSome: (json) =>
              Effect.map(fromStoredJson(entry.id.slice(prefix.length), json), (stored) =>
                Option.some([
                  adapterRecord(entry.id.slice(prefix.length), stored, entry.updatedAt),
                  toResumeState(stored).steps.size
                ] as const))
          })))
    ).pipe(
      Effect.map((found) =>
        found.flatMap(Option.toArray).filter(([run]) =>
          (options?.workflow === undefined || run.workflow === options.workflow) &&
          (options?.since === undefined || Date.parse(run.updatedAt) >= options.since.getTime())
        )
      )
    )
  return {
    listRuns: (options: ListRunsOptions | undefined, status: ReadonlyArray<RunStatus> | undefined) =>
      Effect.map(records(options), (found) =>
        found
          .filter(([run]) => status === undefined || status.includes(run.status))
          .slice(0, options?.limit)
          .map(([run, steps]) => summaryOf(run, steps))),
    countRuns: (options: Omit<ListRunsOptions, "limit" | "status"> | undefined) =>
      Effect.map(records(options), (found) => {
        const counts = emptyCounts()
        for (const [run] of found) counts[run.status]++
        return counts
      }),
    inspect: (id: string, stored: string) =>
      Effect.flatMap(backend.load(stored), Option.match({
        onNone: () => Effect.succeedNone,
        onSome: (json) =>
          Effect.map(fromStoredJson(id, json), (document) => {
            const run = adapterRecord(id, document, undefined)
            const steps = Array.from(toResumeState(document).steps, ([key, entry], position): StepRecord => ({ key, position, entry, ...noTimes }))
            return Option.some({ run, steps })
          })
      })),
    prune: (
      query: { readonly prefix: string; readonly status: ReadonlyArray<FinalStatus>; readonly olderThanMs: number; readonly limit: number },
      options: PruneOptions
    ) =>
      Effect.flatMap(records({ prefix: query.prefix.slice(prefix.length) }), (found) => {
        const cutoff = Date.now() - query.olderThanMs
        const doomed = found.filter(([run]) => Date.parse(run.updatedAt) <= cutoff && (query.status as ReadonlyArray<RunStatus>).includes(run.status))
        if (options.dryRun === true) return Effect.succeed(doomed.length)
        let removed = 0
        const progress = () => options.onProgress === undefined ? Effect.void : options.onProgress(removed)
        return Effect.forEach(doomed, ([run]) =>
          Effect.flatMap(backend.delete(prefix + run.id), (deleted) => {
            if (!deleted) return Effect.void
            removed++
            return removed % query.limit === 0 ? progress() : Effect.void
          }), { discard: true }).pipe(
          Effect.zipRight(Effect.suspend(() => removed % query.limit === 0 ? Effect.void : progress())),
          Effect.map(() => removed)
        )
      })
  }
}
