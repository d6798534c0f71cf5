/**
 * An in-process store: for tests and short-lived programs. Values are kept as JSON text, so a loaded
 * state never shares objects with the saved one, exactly as with a database. A run is a record plus its
 * steps, one entry each, as the SQL store keeps them one row each; the clock is the process's.
 */
import { Effect, Layer, Option, PubSub, Stream } from "effect"
import type * as Snapshot from "../Snapshot.js"
import {
  type DueRun,
  LoadedWithSteps,
  make as makeService,
  type RunBackend,
  type RunQuery,
  type RunRecord,
  type RunStatus,
  SnapshotStore,
  type SnapshotStoreService,
  type WorkerBackend
} from "../SnapshotStore.js"
import { savedStepKeys } from "../internal/stored.js"

interface Row {
  /** What `save` wrote (JSON), or undefined for a run written by `runDurable` alone. */
  json: string | undefined
  /** key -> the step, in first-written order. */
  readonly steps: Map<string, Step>
  workflow: string | undefined
  version: string | undefined
  status: RunStatus
  owner: string | undefined
  /** Epoch ms. */
  leaseUntil: number
  attempts: number
  createdAt: string
  /** Epoch ms, formatted when read: a checkpoint touches it on every step. */
  updatedAt: number
  completedAt: string | undefined
  input: string | undefined
  output: string | undefined
  retryFailed: boolean
  /** Breaks ties between writes in the same millisecond: newest first means last written first. */
  seq: number
}

/** A step as a step row keeps it: its entry's JSON, and (checkpoints only) when, by which attempt and owner. */
interface Step {
  readonly entry: string
  /** Epoch ms. */
  readonly startedAt: number
  readonly completedAt: number
  readonly attempt: number | undefined
  readonly owner: string | undefined
}

/** The rows behind a memory store; pass one `Data` to several stores (say, with different prefixes) to share it. */
export interface Data {
  readonly rows: Map<string, Row>
  seq: number
  /** Started and released runs are published here: workers of stores over this data wake at once. */
  readonly wake: PubSub.PubSub<void>
}

export const makeData = (): Data => ({ rows: new Map(), seq: 0, wake: Effect.runSync(PubSub.sliding<void>(1)) })

export interface MemoryStoreOptions {
  readonly prefix?: string | undefined
  readonly data?: Data | undefined
}

const leased = (row: Row, now: number) => row.owner !== undefined && row.leaseUntil > now

/**
 * How many steps the document `save` wrote holds that no step row rewrote (`load` shows such a key
 * once): a ResumeState's `steps` array of [key, result] pairs, a snapshot's `steps` object.
 */
const savedSteps = (row: Row): number => savedStepKeys(row.json).filter((key) => !row.steps.has(key)).length

const record = (id: string, row: Row): RunRecord => ({
  id,
  workflow: row.workflow,
  version: row.version,
  status: row.status,
  owner: row.owner,
  leased: leased(row, Date.now()),
  attempts: row.attempts,
  createdAt: row.createdAt,
  updatedAt: new Date(row.updatedAt).toISOString(),
  completedAt: row.completedAt,
  input: row.input === undefined ? undefined : JSON.parse(row.input) as Snapshot.JsonValue,
  output: row.output === undefined ? undefined : JSON.parse(row.output) as Snapshot.StepResult
})

export const make = (options: MemoryStoreOptions = {}): SnapshotStoreService => {
  const data = options.data ?? makeData()
  const rows = data.rows
  const wake = () => void data.wake.unsafeOffer(undefined)
  const touch = (row: Row) => {
    row.updatedAt = Date.now()
    row.seq = ++data.seq
  }
  const create = (id: string, status: RunStatus): Row => {
    const now = new Date().toISOString()
    const row: Row = {
      json: undefined,
      steps: new Map(),
      workflow: undefined,
      version: undefined,
      status,
      owner: undefined,
      leaseUntil: 0,
      attempts: 0,
      createdAt: now,
      updatedAt: Date.parse(now),
      completedAt: undefined,
      input: undefined,
      output: undefined,
      retryFailed: false,
      seq: ++data.seq
    }
    rows.set(id, row)
    return row
  }
  // The owner's row, while it owns the running run
  const owned = (id: string, owner: string): Row | undefined => {
    const row = rows.get(id)
    return row !== undefined && row.owner === owner && row.status === "running" ? row : undefined
  }
  const matching = (query: Omit<RunQuery, "limit">) =>
    Array.from(rows).filter(([id, row]) =>
      id.startsWith(query.prefix) && (query.status === undefined || query.status.includes(row.status)) &&
      (query.workflow === undefined || row.workflow === query.workflow) &&
      (query.since === undefined || row.updatedAt >= Date.parse(query.since))
    )
  const runs: RunBackend = {
    get: (id) => Effect.sync(() => Option.map(Option.fromNullable(rows.get(id)), (row) => record(id, row))),
    claim: (claim) =>
      Effect.sync(() => {
        const now = Date.now()
        let row = rows.get(claim.id)
        if (row === undefined) {
          row = create(claim.id, "running")
          row.input = claim.input
        } else {
          const open = row.status === "running" || row.status === "pending" || (claim.reopenFailed && row.status === "failed") ||
            // a document `save` wrote, never run: its status is the saved one, and it has no outcome
            (row.output === undefined && (row.status === "completed" || row.status === "failed"))
          if (!open || leased(row, now)) return Option.none()
          row.input ??= claim.input
          row.status = "running"
          row.completedAt = undefined
          row.output = undefined
        }
        row.workflow = claim.workflow
        row.version = claim.version
        row.owner = claim.owner
        row.leaseUntil = now + claim.leaseMs
        row.attempts++
        touch(row)
        return Option.some(row.attempts)
      }),
    checkpoint: (checkpoint) =>
      Effect.sync(() => {
        const row = owned(checkpoint.id, checkpoint.owner)
        if (row === undefined) return false
        const now = Date.now()
        row.steps.set(checkpoint.key, {
          entry: checkpoint.entry,
          startedAt: now - checkpoint.durationMs,
          completedAt: now,
          attempt: checkpoint.attempt,
          owner: checkpoint.owner
        })
        row.leaseUntil = now + checkpoint.leaseMs
        // a step changes the run's time, not its place in the list (as the SQL stores' seq)
        row.updatedAt = now
        return true
      }),
    renew: (id, owner, leaseMs) =>
      Effect.sync(() => {
        const row = owned(id, owner)
        if (row !== undefined) row.leaseUntil = Date.now() + leaseMs
        return row !== undefined
      }),
    finish: (id, owner, status, output) =>
      Effect.sync(() => {
        const row = owned(id, owner)
        if (row === undefined) return false
        row.status = status
        row.output = output
        row.owner = undefined
        row.retryFailed = false
        touch(row)
        row.completedAt = new Date(row.updatedAt).toISOString()
        return true
      }),
    // a graceful release does not count as an attempt
    release: (id, owner) =>
      Effect.sync(() => {
        const row = rows.get(id)
        if (row === undefined || row.owner !== owner) return
        row.owner = undefined
        row.attempts = Math.max(row.attempts - 1, 0)
        wake()
      }),
    cancel: (id) =>
      Effect.sync(() => {
        const row = rows.get(id)
        if (row === undefined || (row.status !== "running" && row.status !== "pending")) return false
        row.status = "cancelled"
        row.owner = undefined
        touch(row)
        row.completedAt = new Date(row.updatedAt).toISOString()
        return true
      }),
    listRuns: (query) =>
      Effect.sync(() =>
        matching(query)
          .sort(([, a], [, b]) => b.seq - a.seq)
          .slice(0, query.limit)
          .map(([id, row]) => {
            const { input: _input, output: _output, ...summary } = record(id, row)
            return { ...summary, steps: row.steps.size + savedSteps(row) }
          })
      ),
    countRuns: (query) =>
      Effect.sync(() => {
        const counts: Partial<Record<RunStatus, number>> = {}
        for (const [, row] of matching({ ...query, status: undefined })) counts[row.status] = (counts[row.status] ?? 0) + 1
        return counts
      }),
    inspect: (id) =>
      Effect.sync(() =>
        Option.map(Option.fromNullable(rows.get(id)), (row) => ({
          run: record(id, row),
          head: row.json === undefined ? undefined : JSON.parse(row.json),
          steps: Array.from(row.steps, ([key, step], position) => ({
            key,
            position,
            entry: JSON.parse(step.entry) as unknown,
            startedAt: new Date(step.startedAt).toISOString(),
            completedAt: new Date(step.completedAt).toISOString(),
            attempt: step.attempt,
            owner: step.owner
          }))
        }))
      ),
    prune: (query, dryRun) =>
      Effect.sync(() => {
        const cutoff = Date.now() - query.olderThanMs
        const doomed = Array.from(rows).filter(([id, row]) =>
          id.startsWith(query.prefix) && row.updatedAt <= cutoff && (query.status as ReadonlyArray<RunStatus>).includes(row.status)
        )
        if (dryRun) return doomed.length
        const batch = doomed.slice(0, query.limit)
        for (const [id] of batch) rows.delete(id)
        return batch.length
      })
  }
  const workers: WorkerBackend = {
    start: (run) =>
      Effect.sync(() => {
        if (rows.has(run.id)) return false
        const row = create(run.id, "pending")
        row.workflow = run.workflow
        row.version = run.version
        row.input = run.input
        wake()
        return true
      }),
    claimDue: (request, idPrefix) =>
      Effect.sync(() => {
        const now = Date.now()
        const serves = (row: Row) => request.workflows.some((w) => w.name === row.workflow && w.version === row.version)
        const previousIncarnation = (row: Row) =>
          row.owner !== undefined && row.owner.startsWith(request.ownerPrefix) && !row.owner.startsWith(request.incarnationPrefix)
        const due = Array.from(rows)
          .filter(([id, row]) =>
            id.startsWith(idPrefix) && serves(row) &&
            (row.status === "pending" || (row.status === "running" && (!leased(row, now) || previousIncarnation(row))))
          )
          // its previous incarnation's runs first (it takes them back at once), then the oldest
          .sort(([, a], [, b]) => Number(previousIncarnation(b)) - Number(previousIncarnation(a)) || a.seq - b.seq)
          .slice(0, request.limit)
        return due.map(([id, row]): DueRun => {
          if (!(row.owner !== undefined && row.owner.startsWith(request.ownerPrefix))) row.attempts++
          row.status = "running"
          row.owner = request.owner
          row.leaseUntil = now + request.leaseMs
          row.completedAt = undefined
          row.output = undefined
          touch(row)
          return {
            id,
            workflow: row.workflow!,
            version: row.version,
            attempts: row.attempts,
            input: row.input === undefined ? undefined : JSON.parse(row.input) as Snapshot.JsonValue,
            retryFailed: row.retryFailed
          }
        })
      }),
    retry: (id) =>
      Effect.sync(() => {
        const row = rows.get(id)
        if (row === undefined || (row.status !== "failed" && row.status !== "dead")) return false
        row.retryFailed = row.status === "failed"
        if (row.status === "dead") row.attempts = 0
        row.status = "pending"
        row.output = undefined
        row.completedAt = undefined
        row.owner = undefined
        touch(row)
        wake()
        return true
      }),
    wakeups: Stream.fromPubSub(data.wake).pipe(Stream.as(undefined))
  }
  return makeService({
    save: (id, state, status, workflow) =>
      Effect.sync(() => {
        const existing = rows.get(id)
        if (existing !== undefined && leased(existing, Date.now())) return false
        rows.delete(id)
        const row = create(id, status)
        row.json = JSON.stringify(state)
        row.workflow = workflow
        return true
      }),
    appendSteps: (id, entries) =>
      Effect.sync(() => {
        const row = rows.get(id) ?? create(id, "running")
        if (leased(row, Date.now())) return false
        const now = Date.now()
        for (const [key, entry] of entries) {
          row.steps.set(key, { entry: JSON.stringify(entry), startedAt: now, completedAt: now, attempt: undefined, owner: undefined })
        }
        touch(row)
        return true
      }),
    load: (id) =>
      Effect.sync(() =>
        Option.map(Option.fromNullable(rows.get(id)), (row) =>
          new LoadedWithSteps(
            row.json === undefined ? undefined : JSON.parse(row.json),
            Array.from(row.steps, ([key, step]) => [key, JSON.parse(step.entry) as unknown] as const),
            record(id, row)
          ))
      ),
    delete: (id) =>
      Effect.sync(() => {
        const row = rows.get(id)
        if (row !== undefined && leased(row, Date.now())) return false
        rows.delete(id)
        return true
      }),
    list: ({ limit, prefix, status, workflow }) =>
      Effect.sync(() =>
        Array.from(rows)
          .filter(([id, row]) =>
            id.startsWith(prefix) && (status === undefined || status.includes(row.status)) &&
            (workflow === undefined || row.workflow === workflow)
          )
          .sort(([, a], [, b]) => b.seq - a.seq)
          .slice(0, limit)
          .map(([id, row]) => ({
            id,
            updatedAt: new Date(row.updatedAt).toISOString(),
            status: row.status,
            ...(row.workflow === undefined ? {} : { workflow: row.workflow })
          }))
      ),
    runs,
    workers
  }, { prefix: options.prefix, name: "MemoryStore" })
}

export const layer = (options: MemoryStoreOptions = {}): Layer.Layer<SnapshotStore> =>
  Layer.sync(SnapshotStore, () => make(options))
