/**
 * The MongoDB store's document shapes, filters and update pipelines, kept free of the driver so they can
 * be tested without a server.
 *
 * `<collection>` holds one document per run:
 *
 *   { _id: <stored id>, workflow, version, status, owner, leaseMs, leaseUntil: <Date>, attempts,
 *     createdAt, updatedAt, completedAt: <Dates, server clock>, seq: <counter>,
 *     input, output, body: <JSON as strings> }
 *
 * `<collection>_steps` holds one document per step, unique on `{ runId, stepKey }`:
 *
 *   { runId, stepKey, position, entry: <JSON as a string>, startedAt, completedAt, attempt, owner }
 *
 * `body` (the document `save` wrote), `input`, `output` and `entry` are strings, not subdocuments, because
 * not every JSON object is storable as BSON: keys are C strings (a "\u0000" in a key is rejected), keys
 * starting with `$` or containing `.` are refused by servers before 5.0 and are ambiguous in queries and
 * updates, and the server rejects nesting deeper than 100 levels. Step results are arbitrary user JSON, so
 * any of these can happen; a string round-trips byte for byte. Nothing queries inside them.
 *
 * The clock is the database's, never the client's: every time is `$$NOW` in an update pipeline or an
 * aggregation expression (MongoDB 4.2 or later). Every value of ours inside a pipeline is wrapped in
 * `$literal`, so that a workflow name, a version or an owner starting with `$` is never read as a field path.
 *
 * The writes that may create a run (claim, save, appendSteps) are upserts on `{ _id }` alone whose
 * pipeline decides, on the server and in the same write, whether to change the document: MongoDB refuses
 * `$expr` in the predicate of an upsert (error 224, "$expr is not allowed in the query predicate for an
 * upsert"), so a lease check on `$$NOW` cannot be in the filter. A refused write leaves the document as
 * it was; the caller tells by the `seq` it wrote (from the counter, unique to the write) whether it won.
 */
import { Either, Schema } from "effect"
import type * as Snapshot from "../Snapshot.js"
import {
  type Checkpoint,
  type Claim,
  type ListEntry,
  LoadedWithSteps,
  type PruneQuery,
  type RunQuery,
  type RunRecord,
  RunStatus,
  type RunSummary,
  type StepRow,
  StoreError
} from "../SnapshotStore.js"
import { parsedOrText, savedStepKeys } from "../internal/stored.js"

export { savedStepKeys }

/** A run's document as stored. Documents written before run records have only `_id`, `body`, `updatedAt`, `seq`. */
export interface RunDocument {
  readonly _id: string
  readonly workflow?: string | null
  readonly version?: string | null
  readonly status?: RunStatus
  readonly owner?: string | null
  readonly leaseMs?: number
  readonly leaseUntil?: Date | null
  readonly attempts?: number
  readonly createdAt?: Date
  readonly updatedAt: Date
  readonly completedAt?: Date | null
  readonly seq: number
  readonly input?: string | null
  readonly output?: string | null
  readonly body?: string | null
}

export interface StepDocument {
  readonly runId: string
  readonly stepKey: string
  readonly position: number
  readonly entry: string
  readonly startedAt: Date
  readonly completedAt: Date
  readonly attempt: number
  readonly owner: string | null
  /** With the `ttl` option: when the run ended, for the TTL index on step documents. */
  readonly runEndedAt?: Date
}

export interface CounterDocument {
  readonly _id: string
  readonly value: number
}

export const defaultDatabase = "effect_resume"
export const defaultCollection = "effect_resume_snapshots"
/** The one counter document, in `<collection>_counters`, whose `$inc` gives every listed write its `seq`. */
export const counterId = "seq"
export const counterCollection = (collection: string): string => `${collection}_counters`
export const stepsCollection = (collection: string): string => `${collection}_steps`

/** The indexes the layer creates (idempotently) when it is built. */
export const runIndexes = [
  // list order (seq changes on a run's start, end, save, cancel; not on every step)
  { key: { seq: -1 }, name: "seq" },
  // list by status and workflow
  { key: { status: 1, workflow: 1 }, name: "status_workflow" }
] as const
export const stepIndexes = [
  // one document per step: what makes the step upserts safe under concurrency
  { key: { runId: 1, stepKey: 1 }, name: "runId_stepKey", unique: true },
  // a run's steps in load order, and the largest position for an append
  { key: { runId: 1, position: 1 }, name: "runId_position" }
] as const

// ---------------------------------------------------------------------------------------------
// Prefix matching

// Every character that means something in a JS or PCRE (MongoDB) pattern outside a class. All are
// "syntax characters", so the backslash-escaped form is also valid under JS's `u` flag.
const metacharacters = /[\\^$.*+?()[\]{}|/]/g
// Control characters (NUL included, which a BSON pattern string could not carry) as \xHH: same meaning in JS and PCRE.
const controls = /[\u0000-\u001f\u007f]/g

/** `text` as a pattern that matches exactly that text, in JavaScript and in MongoDB (PCRE) alike. */
export const escapeRegex = (text: string): string =>
  text
    .replace(metacharacters, "\\$&")
    .replace(controls, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)

/** The pattern for ids starting with `prefix`; anchored and case-sensitive, so MongoDB bounds it on the `_id` index. */
export const prefixPattern = (prefix: string): string => `^${escapeRegex(prefix)}`

export const idFilter = (id: string) => ({ _id: id })

export const prefixFilter = (prefix: string) => ({ _id: { $regex: prefixPattern(prefix) } })

// ---------------------------------------------------------------------------------------------
// Expressions on the server's clock

/** A value of ours inside a pipeline: never read as a field path (`"$x"`) or an operator. */
export const literal = <A>(value: A) => ({ $literal: value })

/** Whether an owner holds a lease that has not expired, on the server's clock (`owner IS NOT NULL AND lease_until > now`). */
export const leasedExpr = {
  $and: [{ $eq: [{ $type: "$owner" }, "string"] }, { $gt: ["$leaseUntil", "$$NOW"] }]
} as const

/** No live owner holds the run (`owner IS NULL OR lease_until <= now`). */
export const freeExpr = { $not: [leasedExpr] } as const

/** An upsert's new document: it has `_id` alone, no `status`. */
const isNew = { $eq: [{ $type: "$status" }, "missing"] } as const

/** The statuses a claim takes over: the SQL claim's `status IN ('running', 'pending') OR (reopenFailed AND status = 'failed')`. */
export const claimableStatuses = (reopenFailed: boolean): ReadonlyArray<RunStatus> =>
  reopenFailed ? ["running", "pending", "failed"] : ["running", "pending"]

/**
 * Whether a claim takes the document: it is new, or it mirrors the SQL claim's WHERE clause, a claimable
 * status and no live owner. (A document written before run records has no `status` either: it reads as
 * `running`, see `documentStatus`, and is claimable alike.)
 */
export const claimableExpr = (reopenFailed: boolean) => ({
  $or: [
    isNew,
    {
      $and: [
        {
          $or: [
            { $in: ["$status", literal(claimableStatuses(reopenFailed))] },
            // a document `save` wrote, never run: its status is the saved one, and it has no outcome
            { $and: [{ $in: ["$status", literal(["completed", "failed"])] }, { $eq: [{ $ifNull: ["$output", null] }, null] }] }
          ]
        },
        freeExpr
      ]
    }
  ]
})

/** An update pipeline that applies `fields` only when `condition` holds on the current document, else leaves it as it is. */
const when = (condition: unknown, fields: Record<string, unknown>) => [
  { $replaceWith: { $cond: { if: condition, then: { $mergeObjects: ["$$ROOT", fields] }, else: "$$ROOT" } } }
]

// ---------------------------------------------------------------------------------------------
// Writes

/** The filter of every fenced write: `owner` still owns the running run. */
export const ownedFilter = (id: string, owner: string) => ({ _id: id, owner, status: "running" })

/**
 * The claim: an upsert on `{ _id }` (`idFilter`) with this pipeline, `returnDocument: "after"`. It
 * creates the run, or takes over one that `claimableExpr` allows; otherwise it changes nothing. Claimed
 * when the document after holds this `seq`; its `attempts` is the attempt.
 */
export const claimPipeline = (claim: Claim, seq: number) =>
  when(claimableExpr(claim.reopenFailed), {
    workflow: literal(claim.workflow),
    version: literal(claim.version ?? null),
    status: literal("running"),
    owner: literal(claim.owner),
    leaseMs: literal(claim.leaseMs),
    leaseUntil: { $add: ["$$NOW", literal(claim.leaseMs)] },
    attempts: { $add: [{ $ifNull: ["$attempts", 0] }, 1] },
    createdAt: { $ifNull: ["$createdAt", "$$NOW"] },
    updatedAt: "$$NOW",
    completedAt: null,
    seq: literal(seq),
    // the run's input is kept when it already has one
    input: { $ifNull: ["$input", literal(claim.input ?? null)] },
    output: null
  })

/**
 * A checkpoint's fence, the first of its two writes: an `updateOne` on `ownedFilter` that renews the
 * lease. The step is written (`stepPipeline`) only when this matched.
 */
export const checkpointFencePipeline = (leaseMs: number) => [
  { $set: { leaseUntil: { $add: ["$$NOW", literal(leaseMs)] }, updatedAt: "$$NOW" } }
]

export const stepFilter = (id: string, key: string) => ({ runId: id, stepKey: key })

/**
 * A step's upsert (on `stepFilter`): the entry, times on the server's clock, attempt and owner. A key
 * written again keeps its position, as the SQL store's ON CONFLICT keeps it.
 */
export const stepPipeline = (checkpoint: Checkpoint) => [
  {
    $set: {
      // set from the filter by the upsert already; spelled out so a new document never lacks them
      runId: { $ifNull: ["$runId", literal(checkpoint.id)] },
      stepKey: { $ifNull: ["$stepKey", literal(checkpoint.key)] },
      position: { $ifNull: ["$position", literal(checkpoint.position)] },
      entry: literal(checkpoint.entry),
      startedAt: { $subtract: ["$$NOW", literal(checkpoint.durationMs)] },
      completedAt: "$$NOW",
      attempt: literal(checkpoint.attempt),
      owner: literal(checkpoint.owner)
    }
  }
]

/** A step appended outside a run (`appendSteps`): no owner, attempt 0; a new key goes at `position`. */
export const appendStepPipeline = (id: string, key: string, entry: string, position: number) => [
  {
    $set: {
      runId: { $ifNull: ["$runId", literal(id)] },
      stepKey: { $ifNull: ["$stepKey", literal(key)] },
      position: { $ifNull: ["$position", literal(position)] },
      entry: literal(entry),
      startedAt: { $ifNull: ["$startedAt", "$$NOW"] },
      completedAt: "$$NOW",
      attempt: literal(0),
      owner: literal(null)
    }
  }
]

/** Renews the lease (on `ownedFilter`). */
export const renewPipeline = (leaseMs: number) => [{ $set: { leaseUntil: { $add: ["$$NOW", literal(leaseMs)] } } }]

/** Ends the run (on `ownedFilter`): status, output, completion time; the owner and lease are cleared. */
export const finishPipeline = (status: RunStatus, output: string, seq: number) => [
  {
    $set: {
      status: literal(status),
      output: literal(output),
      owner: literal(null),
      leaseUntil: literal(null),
      completedAt: "$$NOW",
      updatedAt: "$$NOW",
      seq: literal(seq)
    }
  }
]

/** Gives the lease up: `updateOne` on `releaseFilter` (the SQL store's `WHERE id AND owner`). */
export const releaseFilter = (id: string, owner: string) => ({ _id: id, owner })
export const releaseUpdate = { $set: { owner: null, leaseUntil: null } } as const

export const cancelFilter = (id: string) => ({ _id: id, status: { $in: ["running", "pending"] } })
export const cancelPipeline = (seq: number) => [
  {
    $set: {
      status: literal("cancelled"),
      owner: literal(null),
      leaseUntil: literal(null),
      completedAt: "$$NOW",
      updatedAt: "$$NOW",
      seq: literal(seq)
    }
  }
]

/**
 * A save (an upsert on `{ _id }`): replaces the run with what `save` wrote, `status` the saved document's,
 * keeping only `createdAt`; refused (nothing changes) while a live owner holds the run. Written when the
 * document after holds this `seq`; the caller then removes the run's steps.
 */
export const savePipeline = (state: unknown, status: RunStatus, seq: number, workflow?: string) =>
  when(freeExpr, {
    workflow: workflow === undefined ? null : literal(workflow),
    version: null,
    status: literal(status),
    owner: null,
    leaseMs: literal(0),
    leaseUntil: null,
    attempts: literal(0),
    createdAt: { $ifNull: ["$createdAt", "$$NOW"] },
    updatedAt: "$$NOW",
    completedAt: null,
    seq: literal(seq),
    input: null,
    output: null,
    body: literal(JSON.stringify(state))
  })

/**
 * Before `appendSteps` writes its steps (an upsert on `{ _id }`): creates a `running` run with nothing
 * saved, or marks an existing one changed; refused while a live owner holds the run. Written when the
 * document after holds this `seq`.
 */
export const touchPipeline = (seq: number) =>
  when(freeExpr, {
    status: { $ifNull: ["$status", "running"] },
    attempts: { $ifNull: ["$attempts", 0] },
    leaseMs: { $ifNull: ["$leaseMs", 0] },
    createdAt: { $ifNull: ["$createdAt", "$$NOW"] },
    updatedAt: "$$NOW",
    seq: literal(seq)
  })

/** A delete: the run only while no live owner holds it. */
export const deleteFilter = (id: string) => ({ _id: id, $expr: freeExpr })

/** Whether a conditional upsert (claim, save, touch) changed the document: the `seq` it wrote is there. */
export const wrote = (after: { readonly [field: string]: unknown } | null | undefined, seq: number): boolean =>
  after !== null && after !== undefined && Number(after["seq"]) === seq

/** MongoDB's duplicate key error (an upsert racing another on a unique key), from any driver error. */
export const isDuplicateKey = (error: unknown): boolean =>
  typeof error === "object" && error !== null && (error as { readonly code?: unknown }).code === 11000

// ---------------------------------------------------------------------------------------------
// Reads

/** The run's document with `leased` computed on the server's clock; `body` only when asked for. */
export const runPipeline = (id: string, withBody: boolean) => [
  { $match: idFilter(id) },
  { $limit: 1 },
  { $addFields: { leased: leasedExpr } },
  ...(withBody ? [] : [{ $project: { body: 0 } }])
]

/** A run's steps in load order. */
export const stepsSort = { position: 1 } as const
export const stepsProjection = { _id: 0, stepKey: 1, entry: 1 } as const

/** Newest first: `seq` comes from the counter, so it orders writes within one millisecond too. Also the index key. */
export const listSort = { seq: -1 } as const

export interface ListQuery {
  readonly filter: {
    readonly _id: { readonly $regex: string }
    readonly status?: { readonly $in: ReadonlyArray<RunStatus> }
    readonly workflow?: string
  }
  readonly sort: typeof listSort
  readonly projection: { readonly _id: 1; readonly updatedAt: 1; readonly status: 1; readonly workflow: 1 }
  readonly limit: number | undefined
}

/** The `find` for a list, or `undefined` when nothing can match: MongoDB reads `limit: 0` as "no limit". */
export const listQuery = (options: {
  readonly prefix: string
  readonly limit: number | undefined
  readonly status?: ReadonlyArray<RunStatus> | undefined
  readonly workflow?: string | undefined
}): ListQuery | undefined =>
  options.limit === 0 || options.status?.length === 0 ? undefined : {
    filter: runsFilter({ prefix: options.prefix, status: options.status, workflow: options.workflow, since: undefined }),
    sort: listSort,
    projection: { _id: 1, updatedAt: 1, status: 1, workflow: 1 },
    limit: options.limit
  }

// ---------------------------------------------------------------------------------------------
// Inspecting and retention

/** The runs a `listRuns` / `countRuns` query matches. */
export const runsFilter = (query: Omit<RunQuery, "limit">) => ({
  ...prefixFilter(query.prefix),
  ...(query.status === undefined ? {} : { status: { $in: query.status } }),
  ...(query.workflow === undefined ? {} : { workflow: query.workflow }),
  ...(query.since === undefined ? {} : { updatedAt: { $gte: new Date(query.since) } })
})

/** The fields a summary needs: no input or output; the body only to count a saved document's steps. */
export const summaryProjection = { input: 0, output: 0 } as const

/** Step documents counted per run, for the runs listed. */
export const stepCountPipeline = (ids: ReadonlyArray<string>) => [
  { $match: { runId: { $in: ids } } },
  { $group: { _id: "$runId", n: { $sum: 1 } } }
]

export const statusCountPipeline = (query: Omit<RunQuery, "limit" | "status">) => [
  { $match: runsFilter({ ...query, status: undefined }) },
  { $group: { _id: "$status", n: { $sum: 1 } } }
]

/** Finished runs in the given statuses whose last change is older than `olderThanMs` on the server's clock. */
export const pruneFilter = (query: PruneQuery) => ({
  ...prefixFilter(query.prefix),
  status: { $in: query.status },
  $expr: { $lte: ["$updatedAt", { $subtract: ["$$NOW", literal(query.olderThanMs)] }] }
})

/** How many steps a saved document holds. */
export const savedStepCount = (body: unknown): number => savedStepKeys(body).length

/**
 * A run document as `listRuns` shows it: its step documents, and the saved document's steps less
 * `rewritten`, those of its keys that a step document also holds (`load` shows such a key once).
 */
export const toSummary = (
  doc: { readonly _id: unknown; readonly [field: string]: unknown },
  stepDocuments: number,
  rewritten = 0
): Either.Either<RunSummary, StoreError> =>
  Either.map(toRunRecord(doc), ({ input: _input, output: _output, ...run }) => ({
    ...run,
    steps: stepDocuments + savedStepCount(doc["body"]) - rewritten
  }))

/** A step document as `inspect` shows it (its entry parsed; the service checks it). */
export const toStepRow = (doc: { readonly [field: string]: unknown }): StepRow => {
  const time = (value: unknown) => value instanceof Date ? value.toISOString() : undefined
  const attempt = Number(doc["attempt"] ?? 0)
  return {
    key: String(doc["stepKey"]),
    position: Number(doc["position"] ?? 0),
    entry: parsedOrText(doc["entry"]),
    startedAt: time(doc["startedAt"]),
    completedAt: time(doc["completedAt"]),
    attempt: attempt > 0 ? attempt : undefined,
    owner: optionalText(doc["owner"])
  }
}

/**
 * The `ttl` option's TTL indexes: MongoDB removes a run document `seconds` after its `completedAt` (set
 * only when a run ends), and its step documents the same time after `runEndedAt`, which ending a run
 * stamps on them (and a claim that reopens a failed run removes).
 */
export const ttlIndexes = (seconds: number) => ({
  runs: { key: { completedAt: 1 }, name: "ttl_completedAt", expireAfterSeconds: seconds },
  steps: { key: { runEndedAt: 1 }, name: "ttl_runEndedAt", expireAfterSeconds: seconds }
})

// ---------------------------------------------------------------------------------------------
// Reading documents back

const decodeError = (message: string, cause?: unknown) =>
  new StoreError({ reason: "Decode", message, ...(cause === undefined ? {} : { cause }) })

/** A stored time as ISO-8601, or why it is not one. */
const isoField = (what: string, value: unknown): Either.Either<string, StoreError> => {
  if (!(value instanceof Date) && typeof value !== "string" && typeof value !== "number") {
    return Either.left(decodeError(`${what} is not a date`))
  }
  const date = value instanceof Date ? value : new Date(value)
  return Number.isNaN(date.getTime()) ? Either.left(decodeError(`${what} is not a valid date`)) : Either.right(date.toISOString())
}

const optionalIso = (what: string, value: unknown): Either.Either<string | undefined, StoreError> =>
  value === null || value === undefined ? Either.right(undefined) : isoField(what, value)

const optionalText = (value: unknown): string | undefined =>
  value === null || value === undefined ? undefined : String(value)

/** A JSON string field parsed: undefined when absent, a Decode error when it is not a string of valid JSON. */
export const parseJsonField = (what: string, value: unknown): Either.Either<unknown, StoreError> => {
  if (value === null || value === undefined) return Either.right(undefined)
  if (typeof value !== "string") return Either.left(decodeError(`${what} is not a JSON string`))
  try {
    return Either.right(JSON.parse(value) as unknown)
  } catch (cause) {
    return Either.left(decodeError(`${what} is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`, cause))
  }
}

/**
 * A document's status. A document written before run records (by `save` alone) has none: it reads as
 * `running`, as a run with nothing but saved steps. Anything else that is not a status is undefined.
 */
export const documentStatus = (doc: { readonly status?: unknown }): RunStatus | undefined =>
  doc.status === undefined || doc.status === null ? "running" : Schema.is(RunStatus)(doc.status) ? doc.status : undefined

/** The `RunRecord` of a document read by `runPipeline` (`leased` computed by the server). */
export const toRunRecord = (doc: { readonly _id: unknown; readonly [field: string]: unknown }): Either.Either<RunRecord, StoreError> => {
  const id = String(doc._id)
  const status = documentStatus({ status: doc["status"] })
  if (status === undefined) return Either.left(decodeError(`The status of run "${id}" is ${JSON.stringify(doc["status"])}, not a run status`))
  return Either.map(
    Either.all([
      isoField(`The createdAt of run "${id}"`, doc["createdAt"] ?? doc["updatedAt"]),
      isoField(`The updatedAt of run "${id}"`, doc["updatedAt"]),
      optionalIso(`The completedAt of run "${id}"`, doc["completedAt"]),
      parseJsonField(`The input of run "${id}"`, doc["input"]),
      parseJsonField(`The output of run "${id}"`, doc["output"])
    ]),
    ([createdAt, updatedAt, completedAt, input, output]): RunRecord => ({
      id,
      workflow: optionalText(doc["workflow"]),
      version: optionalText(doc["version"]),
      status,
      owner: optionalText(doc["owner"]),
      leased: doc["leased"] === true,
      attempts: Number(doc["attempts"] ?? 0),
      createdAt,
      updatedAt,
      completedAt,
      input: input as Snapshot.JsonValue | undefined,
      output: output as Snapshot.StepResult | undefined
    })
  )
}

/** What `load` hands the service: the saved document (if any), the steps in order, the run's record. */
export const toLoaded = (
  doc: { readonly _id: unknown; readonly [field: string]: unknown },
  steps: ReadonlyArray<{ readonly [field: string]: unknown }>
): Either.Either<LoadedWithSteps, StoreError> => {
  const id = String(doc._id)
  return Either.map(
    Either.all([
      toRunRecord(doc),
      parseJsonField(`Stored state "${id}"`, doc["body"]),
      Either.all(steps.map((step) => {
        const key = String(step["stepKey"])
        return Either.map(
          parseJsonField(`Stored step "${key}" of "${id}"`, step["entry"]),
          (entry) => [key, entry] as const
        )
      }))
    ]),
    ([run, head, entries]) => new LoadedWithSteps(head, entries, run)
  )
}

export const toListEntry = (doc: { readonly _id: unknown; readonly updatedAt?: unknown; readonly status?: unknown; readonly workflow?: unknown }): Either.Either<ListEntry, StoreError> => {
  const id = String(doc._id)
  const status = documentStatus(doc)
  return Either.map(isoField(`The updatedAt of run "${id}"`, doc.updatedAt), (updatedAt) => ({
    id,
    updatedAt,
    ...(status === undefined ? {} : { status }),
    ...(typeof doc.workflow === "string" ? { workflow: doc.workflow } : {})
  }))
}

// ---------------------------------------------------------------------------------------------
// Names

/**
 * The database named in a connection string's path (`mongodb://host/<db>?…`), if any. Parsed by hand:
 * several hosts (`h1:1,h2:2`) are not a valid WHATWG URL authority.
 */
export const databaseFromUrl = (url: string): string | undefined => {
  const rest = url.replace(/^mongodb(\+srv)?:\/\//i, "")
  if (rest === url) return undefined
  const beforeQuery = rest.split(/[?#]/, 1)[0] ?? ""
  const slash = beforeQuery.indexOf("/", beforeQuery.lastIndexOf("@") + 1)
  if (slash === -1) return undefined
  const path = beforeQuery.slice(slash + 1)
  if (path === "") return undefined
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}

/** Why MongoDB would refuse this database name, or undefined when it is fine. */
export const invalidDatabaseName = (name: string): string | undefined =>
  name.length === 0 || name.length > 63
    ? "use 1-63 characters"
    : /[/\\. "$*<>:|?\u0000]/.test(name)
    ? "it may not contain / \\ . space \" $ * < > : | ? or NUL"
    : undefined

/** Why MongoDB would refuse this collection name (or its `_counters` / `_steps` companions), or undefined when it is fine. */
export const invalidCollectionName = (name: string): string | undefined =>
  name.length === 0 || name.length > 200
    ? "use 1-200 characters"
    : /[$\u0000]/.test(name)
    ? "it may not contain $ or NUL"
    : name.startsWith("system.")
    ? "names starting with \"system.\" are reserved"
    : undefined

/**
 * `text` (a driver error message) with the connection string and its password taken out: the driver's
 * parse errors quote the whole url, credentials included.
 */
export const scrubSecrets = (text: string, url: string): string => {
  const secrets = [url]
  const userinfo = /^[a-z+]+:\/\/([^@/?#]*)@/i.exec(url)?.[1]
  const colon = userinfo?.indexOf(":") ?? -1
  if (userinfo !== undefined && colon !== -1) {
    const password = userinfo.slice(colon + 1)
    secrets.push(password)
    try {
      secrets.push(decodeURIComponent(password))
    } catch {
      // not percent-encoded: the raw form is already covered
    }
  }
  return secrets
    .filter((secret) => secret.length > 0)
    .sort((a, b) => b.length - a.length)
    .reduce((acc, secret) => acc.split(secret).join(secret === url ? "<connection string>" : "****"), text)
}
