/**
 * The store service: where runs, their steps, and saved resume states and snapshots live between runs.
 * Every backend is a Layer of this one Tag. `make(backend)` builds the service from a backend's
 * Effect-returning methods, as `@effect/platform`'s KeyValueStore does; the reference's five-method
 * Promise adapter is turned into a backend in `promise/adapter.ts` (`layer(adapter)`).
 *
 * A run is one record (id, workflow, version, status, owner and lease, attempts, times, input and
 * output) plus one row per step. `save` / `load` of a whole ResumeState or WorkflowSnapshot (the
 * reference's API) are views over those rows. A backend that can fence (claim, checkpoint, finish,
 * cancel) serves `Workflow.runDurable`; one that cannot (a five-method adapter) serves `save` / `load` only.
 */
import { Context, Duration, Effect, Either, Layer, Option, ParseResult, Schema, Stream } from "effect"
import { markFresh } from "./internal/freshState.js"
import { keyedLock } from "./internal/keyedLock.js"
import { checkEntries, decodeSteps, decodeStored, fromStoredJson, loneSurrogate, normalizeStored, type StoredJson, withSteps } from "./internal/stored.js"
import * as ResumeState from "./ResumeState.js"
import * as Snapshot from "./Snapshot.js"
import { RunLocked } from "./WorkflowError.js"
import { checkSince, inspection } from "./internal/inspection.js"
import { withSpanWhenTraced } from "./internal/tracing.js"
import { type Adapter, fromAdapter } from "./promise/adapter.js"

export type { Adapter } from "./promise/adapter.js"

export type Stored = ResumeState.ResumeState | Snapshot.WorkflowSnapshot

/**
 * What a store may hold, as one Schema: decodes a live ResumeState, its serialized JSON form or a
 * WorkflowSnapshot to a ResumeState or the snapshot; encodes to the JSON a store writes. Every boundary
 * that takes a stored state (a load, a save, a run's `resumeState`) decodes with it.
 */
export const Stored: Schema.Schema<Stored, StoredJson> = Schema.declare(
  [],
  {
    decode: () => (u, _, ast) =>
      Either.match(decodeStored(u), {
        onLeft: (message) => ParseResult.fail(new ParseResult.Type(ast, u, message)),
        onRight: ParseResult.succeed
      }),
    encode: () => (u, _, ast): Either.Either<StoredJson, ParseResult.ParseIssue> =>
      ResumeState.isResumeState(u)
        ? Either.right(ResumeState.serialize(u))
        : Snapshot.looksLike(u)
        ? Either.right(u as Snapshot.WorkflowSnapshot)
        : Either.left(new ParseResult.Type(ast, u, "not a ResumeState or a WorkflowSnapshot"))
  },
  { identifier: "Stored", description: "a ResumeState, its JSON form, or a WorkflowSnapshot" }
) as unknown as Schema.Schema<Stored, StoredJson>

/**
 * A run's status. `running`, `completed`, `failed`, `cancelled` come from `runDurable` and `cancel`;
 * `pending` (started, not yet claimed) and `dead` (past its attempts) from workers.
 */
export const RunStatus = Schema.Literal("pending", "running", "completed", "failed", "cancelled", "dead")
export type RunStatus = typeof RunStatus.Type

/** The reference's `execution.status` for a run status: `cancelled` and `dead` are `failed`, `pending` is `running`. */
export const executionStatus = (status: RunStatus): Snapshot.ExecutionStatus =>
  status === "completed" ? "completed" : status === "pending" || status === "running" ? "running" : "failed"

export interface ListOptions {
  /** Only ids that start with this text, matched literally (`%`, `_`, `\` are ordinary characters). */
  readonly prefix?: string | undefined
  readonly limit?: number | undefined
  /** Only runs in these statuses. */
  readonly status?: RunStatus | ReadonlyArray<RunStatus> | undefined
  /** Only runs of this workflow (by name). */
  readonly workflow?: string | undefined
}

export interface ListEntry {
  readonly id: string
  /** ISO-8601, the store's clock. */
  readonly updatedAt: string
  /** Stores with run records tell these; a five-method adapter does not. */
  readonly status?: RunStatus
  readonly workflow?: string
}

export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  reason: Schema.Literal(
    "Connection",
    "Query",
    "Migration",
    "Decode",
    "InvalidOption",
    "Adapter",
    "MissingDriver",
    "Unsupported"
  ),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/** The statuses a run ends in: only runs in one of these are pruned. */
export const FinalStatus = Schema.Literal("completed", "failed", "cancelled", "dead")
export type FinalStatus = typeof FinalStatus.Type

export interface ListRunsOptions extends ListOptions {
  /** Only runs updated at or after this time (store clock). */
  readonly since?: Date | undefined
}

/** A run as `listRuns` shows it: its record without input and output, and how many steps it recorded. */
export interface RunSummary extends Omit<RunRecord, "input" | "output"> {
  readonly steps: number
}

/** One recorded step with what its step row keeps. Times are the store's clock (ISO-8601). */
export interface StepRecord {
  readonly key: string
  /** Load order, from 0. */
  readonly position: number
  readonly entry: ResumeState.ResumeStateEntry
  /** Undefined for a step inside a document `save` wrote; a step `appendSteps` added has its write time for both. */
  readonly startedAt: string | undefined
  readonly completedAt: string | undefined
  /** The claim's attempt that wrote the step, and its owner token (checkpoints only). */
  readonly attempt: number | undefined
  readonly owner: string | undefined
}

/** What the run inspector and `show` read: the run's record and its steps in load order. */
export interface RunDetails {
  readonly run: RunRecord
  readonly steps: ReadonlyArray<StepRecord>
}

export interface PruneOptions {
  /** Runs whose last change (`updatedAt`, store clock) is at least this long ago are removed; `0` means every finished run. */
  readonly olderThan: Duration.DurationInput
  /** Only runs in these final statuses; all four when absent. Unfinished runs are never pruned. */
  readonly status?: FinalStatus | ReadonlyArray<FinalStatus> | undefined
  /** Only ids that start with this text. */
  readonly prefix?: string | undefined
  /** Runs removed per transaction (default 500), so that a large prune never holds locks for long. */
  readonly batchSize?: number | undefined
  /** Count what would be removed, removing nothing. */
  readonly dryRun?: boolean | undefined
  /** Called after each batch with the number removed so far (for progress output). */
  readonly onProgress?: ((removedSoFar: number) => Effect.Effect<void>) | undefined
}

/** A run's record, as the store keeps it. `input` and `output` are the stored JSON (`output` a StepResult). */
export interface RunRecord {
  readonly id: string
  readonly workflow: string | undefined
  readonly version: string | undefined
  readonly status: RunStatus
  readonly owner: string | undefined
  /** Whether `owner` holds a lease that has not expired, on the store's clock. */
  readonly leased: boolean
  readonly attempts: number
  readonly createdAt: string
  readonly updatedAt: string
  readonly completedAt: string | undefined
  readonly input: Snapshot.JsonValue | undefined
  readonly output: Snapshot.StepResult | undefined
}

/** A claim: create the run, or take it over when it has no live owner. */
export interface Claim {
  readonly id: string
  readonly workflow: string
  readonly version: string | undefined
  /** A token naming this owner (one per `runDurable` call): every later write is fenced by it. */
  readonly owner: string
  readonly leaseMs: number
  /** The run's input as JSON text, kept when the run already has one. */
  readonly input: string | undefined
  /** Also take over a `failed` run (`retryFailed`). */
  readonly reopenFailed: boolean
}

/** One step's checkpoint by the run's owner: written only while `owner` still owns the running run. */
export interface Checkpoint {
  readonly id: string
  readonly owner: string
  /** The claim's attempt, recorded on the step row. */
  readonly attempt: number
  readonly key: string
  /** Load order of a new key: one more than the run's steps before it. A key written again keeps its place. */
  readonly position: number
  /**
   * The run holds no step under this key (the engine has not loaded or written one): a store may insert
   * it without looking for a row to replace, and must still replace one if it finds it.
   */
  readonly fresh?: boolean | undefined
  /** `JSON.stringify` of the ResumeStateEntry. */
  readonly entry: string
  /** How long the step ran: its start time is the store's clock at completion minus this. */
  readonly durationMs: number
  readonly leaseMs: number
  /**
   * Half the lease has passed since the claim or the last renewing checkpoint: this one must renew it
   * (to `leaseMs` from the store's clock). A store may renew on every checkpoint; Postgres renews only
   * then, and otherwise holds the run row with a share lock, which writes no new row version.
   */
  readonly renew?: boolean | undefined
}

/**
 * What `load` gets from a backend with run records: the document `save` wrote (undefined for a run
 * written by `runDurable` alone), the steps recorded since, in order (JSON), and the run's record.
 */
export class LoadedWithSteps {
  constructor(
    readonly head: unknown,
    readonly steps: ReadonlyArray<readonly [key: string, entry: unknown]>,
    readonly run?: RunRecord | undefined
  ) {}
}

/**
 * Every method taking an `id` refuses, with a StoreError "InvalidOption", an id that is longer than
 * `maxIdLength` (2048) UTF-16 code units, holds a NUL character or a lone surrogate (is not well-formed
 * UTF-16); so does `list` for such a `prefix`. Every store checks this alike.
 */
export interface SnapshotStoreService {
  /**
   * Saves a whole ResumeState or WorkflowSnapshot under `id`, replacing its steps. Refused with
   * `RunLocked` while a `runDurable` owner holds the run.
   * @param id At most 2048 UTF-16 code units (`maxIdLength`), well-formed (no lone surrogate), no NUL;
   * the same for every method and every store.
   */
  readonly save: (id: string, state: Stored) => Effect.Effect<void, StoreError | RunLocked>
  /**
   * What was saved under `id`, as it was saved: a ResumeState or a WorkflowSnapshot. A run written by
   * `runDurable` loads as a snapshot: its `execution.status` the reference's, `metadata.status` the exact one.
   */
  readonly load: (id: string) => Effect.Effect<Option.Option<Stored>, StoreError>
  /** What was saved under `id` as a ResumeState; a stored snapshot is converted, never dropped. */
  readonly loadResumeState: (id: string) => Effect.Effect<Option.Option<ResumeState.ResumeState>, StoreError>
  /** Removes the run and its steps. Refused with `RunLocked` while a `runDurable` owner holds the run. */
  readonly delete: (id: string) => Effect.Effect<void, StoreError | RunLocked>
  /** Most recently changed first. `status` / `workflow` filters need a store with run records. */
  readonly list: (options?: ListOptions) => Effect.Effect<ReadonlyArray<ListEntry>, StoreError>
  /**
   * Adds step outcomes to what is saved under `id` (later entries win) without rewriting the rest.
   * With nothing saved yet, starts a ResumeState. Refused with `RunLocked` while an owner holds the run.
   */
  readonly appendSteps: (
    id: string,
    entries: ReadonlyArray<readonly [key: string, entry: ResumeState.ResumeStateEntry]>
  ) => Effect.Effect<void, StoreError | RunLocked>
  /** `appendSteps` with one entry. */
  readonly saveStep: (
    id: string,
    key: string,
    entry: ResumeState.ResumeStateEntry
  ) => Effect.Effect<void, StoreError | RunLocked>

  // -------------------------------------------------------------------------------------------
  // Inspecting and retention (the CLI and the web inspector read these)

  /**
   * Runs with their record's fields and step count, most recently changed first. A five-method adapter
   * store derives them from `list` and `load` (status from the snapshot, no owner or attempts).
   */
  readonly listRuns: (options?: ListRunsOptions) => Effect.Effect<ReadonlyArray<RunSummary>, StoreError>
  /** How many runs are in each status, with the same filters as `listRuns` (no limit). */
  readonly countRuns: (options?: Omit<ListRunsOptions, "limit" | "status">) => Effect.Effect<Readonly<Record<RunStatus, number>>, StoreError>
  /** A run's record and its steps in load order, with the times and attempt of each step row. */
  readonly inspect: (id: string) => Effect.Effect<Option.Option<RunDetails>, StoreError>
  /**
   * Removes finished runs last changed before `olderThan` ago, with their steps, in batches of one
   * transaction each. Returns how many runs were removed (or would be, with `dryRun`).
   */
  readonly prune: (options: PruneOptions) => Effect.Effect<number, StoreError>

  // -------------------------------------------------------------------------------------------
  // Durable runs (`Workflow.runDurable`, workers). A store made from a five-method adapter cannot
  // fence its writes: `fencing` is false there and these fail with StoreError "Unsupported".

  readonly fencing: boolean
  /** The run's record, or None. */
  readonly getRun: (id: string) => Effect.Effect<Option.Option<RunRecord>, StoreError>
  /** One statement: creates the run or takes it over when it has no live owner. Some(attempt) when claimed. */
  readonly claim: (claim: Claim) => Effect.Effect<Option.Option<number>, StoreError>
  /** The run's recorded steps, to resume from. */
  readonly loadSteps: (id: string) => Effect.Effect<ResumeState.ResumeState, StoreError>
  /**
   * One statement: records a step, and renews the lease when `renew` says so (a store may renew it on
   * every checkpoint), only while `owner` owns the running run (false otherwise, writing nothing). The
   * entry is the engine's own, built from a JSON copy: not checked again here, unlike `saveStep`.
   */
  readonly checkpoint: (checkpoint: Checkpoint) => Effect.Effect<boolean, StoreError>
  /** Renews the lease while a long step runs; false when `owner` no longer owns the running run. */
  readonly renew: (id: string, owner: string, leaseMs: number) => Effect.Effect<boolean, StoreError>
  /** Ends the run: status, output, completion time; fenced as `checkpoint`. */
  readonly finish: (
    id: string,
    owner: string,
    status: "completed" | "failed" | "dead",
    output: Snapshot.StepResult
  ) => Effect.Effect<boolean, StoreError>
  /** Gives the lease up (an interrupted run), so that the next claim takes it at once. */
  readonly release: (id: string, owner: string) => Effect.Effect<void, StoreError>
  /** Marks a `pending` or `running` run `cancelled`; false when there is no such run. */
  readonly cancel: (id: string) => Effect.Effect<boolean, StoreError>

  // -------------------------------------------------------------------------------------------
  // Workers (the SQL and memory stores): StoreError "Unsupported" elsewhere.

  /** Whether this store serves workers (`start`, `claimDue`, `retry`). */
  readonly queues: boolean
  /** Creates a `pending` run unless `id` exists; true when created. */
  readonly start: (run: NewRun) => Effect.Effect<boolean, StoreError>
  readonly claimDue: (request: ClaimDue) => Effect.Effect<ReadonlyArray<DueRun>, StoreError>
  readonly retry: (id: string) => Effect.Effect<boolean, StoreError>
  /** Emits when a run may have become due; `Stream.never` where the store cannot tell (workers poll). */
  readonly wakeups: Stream.Stream<void>
}

export class SnapshotStore extends Context.Tag("effect-resume/SnapshotStore")<SnapshotStore, SnapshotStoreService>() {}

// ---------------------------------------------------------------------------------------------
// Accessors: `yield* SnapshotStore.save(id, state)`

export const save = (id: string, state: Stored) => Effect.flatMap(SnapshotStore, (store) => store.save(id, state))
export const load = (id: string) => Effect.flatMap(SnapshotStore, (store) => store.load(id))
export const loadResumeState = (id: string) => Effect.flatMap(SnapshotStore, (store) => store.loadResumeState(id))
const delete_ = (id: string) => Effect.flatMap(SnapshotStore, (store) => store.delete(id))
export { delete_ as delete }
export const list = (options?: ListOptions) => Effect.flatMap(SnapshotStore, (store) => store.list(options))
export const appendSteps = (id: string, entries: ReadonlyArray<readonly [string, ResumeState.ResumeStateEntry]>) =>
  Effect.flatMap(SnapshotStore, (store) => store.appendSteps(id, entries))
export const saveStep = (id: string, key: string, entry: ResumeState.ResumeStateEntry) =>
  Effect.flatMap(SnapshotStore, (store) => store.saveStep(id, key, entry))
export const getRun = (id: string) => Effect.flatMap(SnapshotStore, (store) => store.getRun(id))
export const listRuns = (options?: ListRunsOptions) => Effect.flatMap(SnapshotStore, (store) => store.listRuns(options))
export const countRuns = (options?: Omit<ListRunsOptions, "limit" | "status">) =>
  Effect.flatMap(SnapshotStore, (store) => store.countRuns(options))
export const inspect = (id: string) => Effect.flatMap(SnapshotStore, (store) => store.inspect(id))
export const prune = (options: PruneOptions) => Effect.flatMap(SnapshotStore, (store) => store.prune(options))

// ---------------------------------------------------------------------------------------------
// Stored documents

export const toResumeState = (stored: Stored): ResumeState.ResumeState =>
  ResumeState.isResumeState(stored) ? stored : ResumeState.fromSnapshot(stored)

/** The snapshot a run written by `runDurable` shows to `load`. */
const runSnapshot = (run: RunRecord, entries: ReadonlyArray<readonly [string, ResumeState.ResumeStateEntry]>) =>
  ResumeState.toSnapshot(ResumeState.make(entries), {
    status: executionStatus(run.status),
    now: run.updatedAt,
    ...(run.completedAt === undefined ? {} : { completedAt: run.completedAt }),
    metadata: {
      workflowId: run.id,
      workflowName: run.workflow,
      definitionHash: run.version,
      status: run.status,
      attempts: run.attempts,
      input: run.input
    }
  })

/** A saved snapshot that `runDurable` has run since shows the run's status, not the saved one. */
const withRunStatus = (snapshot: Snapshot.WorkflowSnapshot, run: RunRecord): Snapshot.WorkflowSnapshot => ({
  ...snapshot,
  execution: {
    status: executionStatus(run.status),
    lastUpdated: run.updatedAt,
    ...(run.completedAt === undefined ? {} : { completedAt: run.completedAt })
  },
  metadata: { ...snapshot.metadata, status: run.status }
})

const fromLoaded = (id: string, loaded: unknown): Either.Either<Stored, StoreError> => {
  if (!(loaded instanceof LoadedWithSteps)) return fromStoredJson(id, loaded)
  const run = loaded.run
  return Either.flatMap(decodeSteps(id, loaded.steps), (entries) => {
    if (loaded.head === undefined || loaded.head === null) {
      return Either.right(run?.workflow === undefined ? ResumeState.make(entries) : runSnapshot(run, entries))
    }
    return Either.map(fromStoredJson(id, loaded.head), (head) => {
      const merged = withSteps(head, entries)
      return run !== undefined && run.attempts > 0 && !ResumeState.isResumeState(merged) ? withRunStatus(merged, run) : merged
    })
  })
}

/** The workflow a saved snapshot names, if any. */
const savedWorkflow = (state: Stored): string | undefined => {
  if (ResumeState.isResumeState(state)) return undefined
  const name = state.metadata?.workflowName
  return typeof name === "string" && name !== "" ? name : undefined
}

/** The status a saved document gives its run: a snapshot's `metadata.status` when it agrees with `execution.status`. */
const savedStatus = (state: Stored): RunStatus => {
  if (ResumeState.isResumeState(state)) return "running"
  const exact = state.metadata?.status
  return Schema.is(RunStatus)(exact) && executionStatus(exact) === state.execution.status ? exact : state.execution.status
}

// ---------------------------------------------------------------------------------------------
// Building a service from a backend

export interface ListQuery {
  /** The store-wide prefix plus the caller's, matched literally. */
  readonly prefix: string
  readonly limit: number | undefined
  readonly status: ReadonlyArray<RunStatus> | undefined
  readonly workflow: string | undefined
}

/** What a backend implements: ids as given (store-wide prefix included), literal prefix matching. */
export interface Backend {
  /**
   * `JSON.stringify(state)` is the JSON to store; it replaces the run's steps. `status` is the run's status
   * for a new record, `workflow` its workflow name (a snapshot's `metadata.workflowName`), so that a saved
   * or imported run lists under its workflow and a worker serving it can retry it. Returns false, writing
   * nothing, when a live owner holds the run.
   */
  readonly save: (id: string, state: Stored, status: RunStatus, workflow?: string) => Effect.Effect<boolean, StoreError>
  /** The stored JSON parsed, or a `LoadedWithSteps` from a backend that keeps steps as rows. */
  readonly load: (id: string) => Effect.Effect<Option.Option<unknown>, StoreError>
  /**
   * Optional: one write per entry (`JSON.stringify(entry)`); false, writing nothing, when a live owner
   * holds the run. Without it, the service reads, merges and saves.
   */
  readonly appendSteps?: (
    id: string,
    entries: ReadonlyArray<readonly [string, ResumeState.ResumeStateEntry]>
  ) => Effect.Effect<boolean, StoreError>
  /** False, removing nothing, when a live owner holds the run. */
  readonly delete: (id: string) => Effect.Effect<boolean, StoreError>
  readonly list: (query: ListQuery) => Effect.Effect<ReadonlyArray<ListEntry>, StoreError>
  /** Run records and fenced writes; a backend without them cannot serve `runDurable`. */
  readonly runs?: RunBackend | undefined
  /** Queued runs and batch claims; a backend without them cannot serve workers. */
  readonly workers?: WorkerBackend | undefined
}

export interface RunBackend {
  readonly get: (id: string) => Effect.Effect<Option.Option<RunRecord>, StoreError>
  readonly claim: (claim: Claim) => Effect.Effect<Option.Option<number>, StoreError>
  readonly checkpoint: (checkpoint: Checkpoint) => Effect.Effect<boolean, StoreError>
  readonly renew: (id: string, owner: string, leaseMs: number) => Effect.Effect<boolean, StoreError>
  /** `output` is the JSON text of a StepResult. */
  readonly finish: (id: string, owner: string, status: RunStatus, output: string) => Effect.Effect<boolean, StoreError>
  readonly release: (id: string, owner: string) => Effect.Effect<void, StoreError>
  readonly cancel: (id: string) => Effect.Effect<boolean, StoreError>
  /** Summaries, most recently changed first; `steps` counts the step rows and a saved document's steps. */
  readonly listRuns: (query: RunQuery) => Effect.Effect<ReadonlyArray<RunSummary>, StoreError>
  readonly countRuns: (query: Omit<RunQuery, "limit" | "status">) => Effect.Effect<Partial<Record<RunStatus, number>>, StoreError>
  /** The record, the saved document (undefined when none) and the step rows in load order; None when no run. */
  readonly inspect: (id: string) => Effect.Effect<Option.Option<InspectedRun>, StoreError>
  /**
   * Removes up to `query.limit` finished runs matching the query, with their steps, in one transaction;
   * returns how many. With `dryRun`, counts every match instead (no limit) and removes nothing.
   */
  readonly prune: (query: PruneQuery, dryRun: boolean) => Effect.Effect<number, StoreError>
}

export interface RunQuery extends ListQuery {
  /** ISO-8601: only runs updated at or after it. */
  readonly since: string | undefined
}

export interface PruneQuery {
  readonly prefix: string
  readonly status: ReadonlyArray<FinalStatus>
  /** Runs last updated at or before the store clock's now minus this (0: every finished run). */
  readonly olderThanMs: number
  readonly limit: number
}

/** A step row as a backend reads it: the entry is parsed JSON, decoded by the service. */
export interface StepRow {
  readonly key: string
  readonly position: number
  readonly entry: unknown
  readonly startedAt: string | undefined
  readonly completedAt: string | undefined
  readonly attempt: number | undefined
  readonly owner: string | undefined
}

export interface InspectedRun {
  readonly run: RunRecord
  readonly head: unknown
  readonly steps: ReadonlyArray<StepRow>
}

/** A run `Workflow.start` queues: `pending` until a worker claims it. `input` is its JSON text. */
export interface NewRun {
  readonly id: string
  readonly workflow: string
  readonly version: string | undefined
  readonly input: string | undefined
}

/** A run a worker claimed: its record's fields a worker needs to run it. */
export interface DueRun {
  readonly id: string
  readonly workflow: string
  readonly version: string | undefined
  /** The claim's attempt (a take-back by the same worker id and a graceful release do not count). */
  readonly attempts: number
  readonly input: Snapshot.JsonValue | undefined
  /** `Workflow.retry` of a failed run: its failed steps execute again. */
  readonly retryFailed: boolean
}

export interface ClaimDue {
  /** The (name, version) pairs this worker serves: only their runs are claimed. */
  readonly workflows: ReadonlyArray<{ readonly name: string; readonly version: string | undefined }>
  /**
   * The owner token of this claim: new for every claim, so that an execution that lost its run never
   * passes the fence again when the same worker takes the run back. It starts with `incarnationPrefix`.
   */
  readonly owner: string
  /** Owner tokens of every incarnation of this worker id: runs of another incarnation are taken back at once. */
  readonly ownerPrefix: string
  /** Owner tokens of this incarnation (it starts with `ownerPrefix`): its own live runs are not taken back. */
  readonly incarnationPrefix: string
  readonly leaseMs: number
  readonly limit: number
}

/** What workers need beyond durable runs: queued runs, a batch claim of due runs, and revival. */
export interface WorkerBackend {
  /** Creates a `pending` run unless one exists under `id`; true when created. Wakes workers where it can. */
  readonly start: (run: NewRun) => Effect.Effect<boolean, StoreError>
  /**
   * Claims up to `limit` due runs of the given workflows: pending ones, running ones whose lease expired,
   * and running ones held by an earlier incarnation of this worker. Many workers never claim one run twice.
   */
  readonly claimDue: (request: ClaimDue, idPrefix: string) => Effect.Effect<ReadonlyArray<DueRun>, StoreError>
  /** `dead` becomes `pending` (attempts from 0); `failed` becomes `pending`, its failed steps to run again. */
  readonly retry: (id: string) => Effect.Effect<boolean, StoreError>
  /** Emits when a run is started or released (Postgres LISTEN/NOTIFY); absent where only polling works. */
  readonly wakeups?: Stream.Stream<void> | undefined
}

const checkLimit = (limit: number | undefined): Effect.Effect<void, StoreError> =>
  limit === undefined || (Number.isInteger(limit) && limit >= 0)
    ? Effect.void
    : Effect.fail(new StoreError({ reason: "InvalidOption", message: `list limit must be a non-negative integer, got ${limit}` }))

/** The longest id (and list prefix) a store accepts, in UTF-16 code units, not counting a store-wide prefix. */
export const maxIdLength = 2048

/**
 * Why `text` cannot be an id, or undefined. Every store checks ids alike: Postgres would store two ids
 * that differ only in lone surrogates as one (node-pg writes each as U+FFFD), and cannot store NUL.
 */
const idProblem = (text: unknown, maxLength: number): string | undefined =>
  typeof text !== "string"
    ? `must be a string, got ${typeof text}`
    : text.length > maxLength
    ? `is ${text.length} UTF-16 code units long, more than the ${maxLength} allowed`
    : text.includes("\u0000")
    ? `holds a NUL character (\\u0000) at index ${text.indexOf("\u0000")}`
    : loneSurrogate.test(text)
    ? `holds a lone surrogate at index ${text.search(loneSurrogate)}: it is not well-formed UTF-16`
    : undefined

const checkText = (what: string, text: unknown, maxLength: number): Effect.Effect<void, StoreError> => {
  const problem = idProblem(text, maxLength)
  return problem === undefined
    ? Effect.void
    : Effect.fail(new StoreError({ reason: "InvalidOption", message: `Invalid ${what}: it ${problem}` }))
}

const statusList = (status: ListOptions["status"]): Effect.Effect<ReadonlyArray<RunStatus> | undefined, StoreError> => {
  if (status === undefined) return Effect.succeed(undefined)
  const list: ReadonlyArray<unknown> = typeof status === "string" ? [status] : status
  const bad = list.find((s) => !Schema.is(RunStatus)(s))
  return bad === undefined
    ? Effect.succeed(list as ReadonlyArray<RunStatus>)
    : Effect.fail(
      new StoreError({
        reason: "InvalidOption",
        message: `list status must be one of ${RunStatus.literals.join(", ")}; got ${JSON.stringify(bad)}`
      })
    )
}

const locked = (id: string, op: string) =>
  new RunLocked({ runId: id, message: `Cannot ${op} run "${id}": a runDurable owner holds its lease` })

/** Names the stores that can serve `runDurable`, for the error of one that cannot. */
export const fencingStores = "MemoryStore, SqliteStore, PgStore, LibsqlStore or MongoStore"

/** Names the stores that can serve workers (run queues), for the error of one that cannot. */
export const queueStores = "MemoryStore, SqliteStore, PgStore, LibsqlStore or SqlStore"

/**
 * Builds the service from a backend: JSON conversion and validation, the store-wide `prefix` (saved as
 * `prefix + id`, stripped again by `list`), and a span on every operation.
 *
 * Ids, list prefixes and the store-wide prefix are checked alike for every store: well-formed UTF-16
 * (no lone surrogate), no NUL, at most `maxIdLength` code units each (a StoreError "InvalidOption" otherwise).
 */
export const make = (backend: Backend, options: { readonly prefix?: string | undefined; readonly name: string }): SnapshotStoreService => {
  const prefix = options.prefix ?? ""
  const checkPrefix = checkText("store prefix", prefix, Infinity)
  const prefixProblem = idProblem(prefix, Infinity)
  // the id as the backend stores it: `prefix + id`, once both are checked
  const storedId = (id: string): Effect.Effect<string, StoreError> => {
    const problem = prefixProblem ?? idProblem(id, maxIdLength)
    return problem === undefined
      ? Effect.succeed(prefix + id)
      : Effect.fail(new StoreError({ reason: "InvalidOption", message: `Invalid ${prefixProblem === undefined ? "id" : "store prefix"}: it ${problem}` }))
  }
  // The options of `list` and of the inspecting methods, checked alike; the status list, when given
  const checkQuery = (options: ListRunsOptions | undefined) =>
    Effect.all([
      statusList(options?.status),
      checkLimit(options?.limit),
      checkPrefix,
      checkText("list prefix", options?.prefix ?? "", maxIdLength),
      options?.workflow === undefined ? Effect.void : checkText("list workflow", options.workflow, maxIdLength),
      checkSince(options?.since)
    ]).pipe(Effect.map(([status]) => status))
  // Spans only under a real tracer (internal/tracing.ts), and without a stack capture, most of a span's cost
  const span = (op: string, id?: string) =>
    withSpanWhenTraced(`${options.name}.${op}`, { captureStackTrace: false, ...(id === undefined ? {} : { attributes: { id } }) })
  // Stores without native appends read, merge and save: one at a time per id, or parallel steps
  // would overwrite each other's checkpoints.
  const withLock = keyedLock()
  const load: SnapshotStoreService["load"] = (id) =>
    Effect.flatMap(storedId(id), (stored) => backend.load(stored)).pipe(
      Effect.flatMap(Option.match({
        onNone: () => Effect.succeedNone,
        onSome: (loaded) => Effect.map(fromLoaded(id, loaded), Option.some)
      })),
      span("load", id)
    )
  const appendSteps: SnapshotStoreService["appendSteps"] = (id, entries) =>
    Effect.zipRight(
      checkEntries(entries),
      Effect.flatMap(storedId(id), (stored) =>
        backend.appendSteps !== undefined
          ? backend.appendSteps(stored, entries)
          : withLock(id)(
            Effect.flatMap(load(id), (loaded) =>
              backend.save(stored, withSteps(Option.getOrElse(loaded, () => ResumeState.empty), entries), "running"))
          ))
    ).pipe(
      Effect.flatMap((written) => written ? Effect.void : Effect.fail(locked(id, "append steps to"))),
      span("appendSteps", id)
    )
  const runs = backend.runs
  const unsupported = (op: string) =>
    Effect.fail(
      new StoreError({
        reason: "Unsupported",
        message: `${options.name} cannot ${op}: it keeps whole documents and cannot fence a run's writes. ` +
          `Durable runs need the ${fencingStores}.`
      })
    )
  const workers = backend.workers
  const unsupportedWorkers = (op: string) =>
    Effect.fail(
      new StoreError({
        reason: "Unsupported",
        message: `${options.name} cannot ${op}: workers need the ${queueStores}.`
      })
    )
  const withRuns = <A>(op: string, id: string, f: (runs: RunBackend, stored: string) => Effect.Effect<A, StoreError>) =>
    runs === undefined ? unsupported(op) : Effect.flatMap(storedId(id), (stored) => f(runs, stored)).pipe(span(op, id))
  return SnapshotStore.of({
    appendSteps,
    saveStep: (id, key, entry) => appendSteps(id, [[key, entry]]),
    save: (id, state) =>
      Effect.flatMap(storedId(id), (stored) =>
        Effect.flatMap(normalizeStored(state), (state) => backend.save(stored, state, savedStatus(state), savedWorkflow(state)))).pipe(
          Effect.flatMap((written) => written ? Effect.void : Effect.fail(locked(id, "save"))),
          span("save", id)
        ),
    load,
    loadResumeState: (id) => Effect.map(load(id), Option.map(toResumeState)),
    delete: (id) =>
      Effect.flatMap(storedId(id), (stored) => backend.delete(stored)).pipe(
        Effect.flatMap((removed) => removed ? Effect.void : Effect.fail(locked(id, "delete"))),
        span("delete", id)
      ),
    list: (listOptions) =>
      checkQuery(listOptions).pipe(
        Effect.flatMap((status) =>
          runs === undefined && (status !== undefined || listOptions?.workflow !== undefined)
            ? unsupported("list by status or workflow")
            : backend.list({
              prefix: prefix + (listOptions?.prefix ?? ""),
              limit: listOptions?.limit,
              status,
              workflow: listOptions?.workflow
            })
        ),
        Effect.map((entries) => prefix === "" ? entries : entries.map((e) => ({ ...e, id: e.id.slice(prefix.length) }))),
        span("list")
      ),
    ...inspection(backend, { prefix, storedId, span, checkQuery }),
    fencing: runs !== undefined,
    getRun: (id) =>
      withRuns("getRun", id, (runs, stored) =>
        Effect.map(runs.get(stored), Option.map((run) => prefix === "" ? run : { ...run, id })))
    ,
    claim: (claim) => withRuns("claim", claim.id, (runs, stored) => runs.claim({ ...claim, id: stored })),
    // what a resuming run needs, without the snapshot view `load` builds for a run
    loadSteps: (id) =>
      Effect.flatMap(storedId(id), (stored) => backend.load(stored)).pipe(
        Effect.flatMap((loaded) => {
          if (Option.isNone(loaded)) return Effect.succeed(ResumeState.empty)
          const value = loaded.value
          if (value instanceof LoadedWithSteps && (value.head === undefined || value.head === null)) {
            return Effect.map(decodeSteps(id, value.steps), (entries) => markFresh(ResumeState.make(entries)))
          }
          return Effect.map(fromLoaded(id, value), toResumeState)
        }),
        span("loadSteps", id)
      ),
    // No span of its own (one per step, under a tracer, the step's span already shows it), nor an id
    // check: the claim checked the id, and a checkpoint is fenced by the run's owner, so one for an id
    // never claimed matches no run and writes nothing
    checkpoint: runs === undefined
      ? () => unsupported("checkpoint")
      : prefix === ""
      ? runs.checkpoint
      : (checkpoint) => runs.checkpoint({ ...checkpoint, id: prefix + checkpoint.id }),
    renew: (id, owner, leaseMs) => withRuns("renew", id, (runs, stored) => runs.renew(stored, owner, leaseMs)),
    finish: (id, owner, status, output) =>
      withRuns("finish", id, (runs, stored) => runs.finish(stored, owner, status, JSON.stringify(output))),
    release: (id, owner) => withRuns("release", id, (runs, stored) => runs.release(stored, owner)),
    cancel: (id) => withRuns("cancel", id, (runs, stored) => runs.cancel(stored)),
    queues: workers !== undefined,
    start: (run) =>
      workers === undefined
        ? unsupportedWorkers("start runs")
        : Effect.flatMap(storedId(run.id), (stored) => workers.start({ ...run, id: stored })).pipe(span("start", run.id)),
    claimDue: (request) =>
      workers === undefined
        ? unsupportedWorkers("claim due runs")
        : Effect.map(
          workers.claimDue(request, prefix),
          (due) => prefix === "" ? due : due.map((run) => ({ ...run, id: run.id.slice(prefix.length) }))
        ).pipe(span("claimDue")),
    retry: (id) =>
      workers === undefined
        ? unsupportedWorkers("retry runs")
        : Effect.flatMap(storedId(id), (stored) => workers.retry(stored)).pipe(span("retry", id)),
    wakeups: workers?.wakeups ?? Stream.never
  })
}

// ---------------------------------------------------------------------------------------------
// Custom adapters: the reference's five Promise methods (see promise/adapter.ts)

/** The store over a reference-style adapter; `close` runs when the scope closes. It cannot serve `runDurable`. */
export const layer = (adapter: Adapter | (() => Adapter), options?: { readonly prefix?: string }) =>
  Layer.scoped(SnapshotStore, Effect.suspend(() => fromAdapter(typeof adapter === "function" ? adapter() : adapter, options)))
