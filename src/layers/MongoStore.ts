/**
 * MongoDB through the official `mongodb` driver (an optional peer dependency, loaded when the layer is
 * built), MongoDB 4.2 or later (update pipelines and `$$NOW`). One document per run in `<collection>`,
 * one per step in `<collection>_steps`, the list counter in `<collection>_counters` (the shapes, and why
 * JSON is kept as strings: ./mongoDocument.ts). Every time is the server's clock. The client is connected
 * when the layer is built and closed when its scope closes; an unreachable server fails the layer with a
 * Connection error after `serverSelectionTimeoutMS` (default 5 s) instead of the driver's 30 s.
 *
 * The same semantics as the SQL store, with no transaction (which would need a replica set):
 * - claim, renew, finish, release, cancel are one single-document write each: atomic, fenced by the owner.
 * - a checkpoint is two writes, because the run and its step live in two collections: first a conditional
 *   update of the run document (still owned by this owner, still running) that renews its lease, then,
 *   only if that matched, the step's upsert. The fence has just extended the lease, so no other owner can
 *   claim the run between the two writes (unless the second is delayed past the whole lease); a `cancel`
 *   can, and then the step still lands on the cancelled run, which is harmless: the owner's next write
 *   fails with `Cancelled`.
 * - save, appendSteps and delete write the run document first (refused while a live owner holds it) and
 *   then its steps. A failure between the two leaves the steps behind; a retried delete, or the next save,
 *   removes them.
 */
import { Duration, Effect, Either, Layer, Option, Redacted, type Scope } from "effect"
import type { Collection, Db, Document, MongoClientOptions } from "mongodb"
import { configured } from "../internal/configured.js"
import { importDriver } from "../internal/driver.js"
import * as Doc from "./mongoDocument.js"
import { make as makeService, type RunBackend, SnapshotStore, type SnapshotStoreService, StoreError } from "../SnapshotStore.js"

export interface MongoStoreOptions {
  /** A `mongodb://` or `mongodb+srv://` connection string; may carry credentials, so a Redacted is accepted. */
  readonly url: string | Redacted.Redacted<string>
  /** Default: the database in the url's path, else `effect_resume`. */
  readonly database?: string | undefined
  /**
   * Default `effect_resume_snapshots`: one document per run. Steps live in `<collection>_steps`, the list
   * counter in `<collection>_counters`.
   */
  readonly collection?: string | undefined
  /** Store-wide id prefix: ids are saved as `prefix + id` and listed without it. */
  readonly prefix?: string | undefined
  /** How long to look for a server before failing. Default 5000. */
  readonly serverSelectionTimeoutMS?: number | undefined
  /**
   * Let MongoDB remove finished runs this long after they ended, with their steps (TTL indexes; the
   * server's TTL monitor runs about once a minute). Ending a run then also stamps its step documents.
   * Documents `save` wrote have no end and stay. Without it, finished runs stay until
   * `SnapshotStore.prune` removes them; leaving it out later does not drop the indexes (drop
   * `ttl_completedAt` and `ttl_runEndedAt` to stop expiry).
   */
  readonly ttl?: Duration.DurationInput | undefined
  /** Further driver options (TLS, pool size, …), given to `MongoClient` as they are. */
  readonly clientOptions?: MongoClientOptions | undefined
}

const defaultServerSelectionTimeoutMS = 5_000

/**
 * Creates a TTL index, or changes the expiry of the one an earlier start created with another `ttl`
 * (createIndex refuses other options under the same name: IndexOptionsConflict, code 85).
 */
const ensureTtlIndex = async (
  db: Db,
  target: Collection<any>,
  index: { readonly key: Document; readonly name: string; readonly expireAfterSeconds: number }
) => {
  try {
    await target.createIndex(index.key, { name: index.name, expireAfterSeconds: index.expireAfterSeconds })
  } catch (error) {
    if ((error as { code?: unknown }).code !== 85) throw error
    await db.command({ collMod: target.collectionName, index: { name: index.name, expireAfterSeconds: index.expireAfterSeconds } })
  }
}

const ttlOption = (ttl: Duration.DurationInput | undefined): Effect.Effect<number | undefined, StoreError> => {
  if (ttl === undefined) return Effect.succeed(undefined)
  const duration = Duration.decodeUnknown(ttl)
  return Option.isSome(duration) && Duration.isFinite(duration.value) && Duration.toSeconds(duration.value) >= 1
    ? Effect.succeed(Math.round(Duration.toSeconds(duration.value)))
    : Effect.fail(invalid(`MongoStore ttl must be a finite duration of at least 1 second, got ${JSON.stringify(String(ttl))}`))
}

// Run documents as the driver sees them: a string `_id`, the rest read through Doc.toRunRecord
interface RunRow extends Document {
  _id: string
}

const describe = (cause: unknown) => cause instanceof Error ? cause.message : String(cause)

const invalid = (message: string) => new StoreError({ reason: "InvalidOption", message })

// The driver's own message may quote the url, password included: it is scrubbed, and the raw error is
// kept as the cause only when it did not carry a secret.
const connectionError = (url: string) => (message: string, cause: unknown) => {
  const text = describe(cause)
  const scrubbed = Doc.scrubSecrets(text, url)
  return new StoreError({ reason: "Connection", message: `${message}: ${scrubbed}`, ...(scrubbed === text ? { cause } : {}) })
}

type Driver = typeof import("mongodb")

const loadDriver = importDriver("MongoStore", "mongodb", () => import("mongodb"))

// A lost connection during an operation is still a Connection problem, not a bad query.
const operationError = (driver: Driver, op: string) => (cause: unknown) =>
  new StoreError({
    reason: cause instanceof driver.MongoNetworkError || cause instanceof driver.MongoServerSelectionError ? "Connection" : "Query",
    message: `MongoDB store ${op} failed: ${describe(cause)}`,
    cause
  })

const names = (options: MongoStoreOptions, url: string): Effect.Effect<{ database: string; collection: string }, StoreError> => {
  const database = options.database ?? Doc.databaseFromUrl(url) ?? Doc.defaultDatabase
  const collection = options.collection ?? Doc.defaultCollection
  const badDatabase = Doc.invalidDatabaseName(database)
  if (badDatabase !== undefined) return Effect.fail(invalid(`Invalid MongoDB database name ${JSON.stringify(database)}: ${badDatabase}`))
  const badCollection = Doc.invalidCollectionName(collection)
  if (badCollection !== undefined) {
    return Effect.fail(invalid(`Invalid MongoDB collection name ${JSON.stringify(collection)}: ${badCollection}`))
  }
  return Effect.succeed({ database, collection })
}

export const make = (options: MongoStoreOptions): Effect.Effect<SnapshotStoreService, StoreError, Scope.Scope> =>
  Effect.gen(function*() {
    const url = Redacted.isRedacted(options.url) ? Redacted.value(options.url) : options.url
    const { collection, database } = yield* names(options, url)
    const ttlSeconds = yield* ttlOption(options.ttl)
    const driver = yield* loadDriver
    const attempt = <A>(op: string, f: () => Promise<A>): Effect.Effect<A, StoreError> =>
      Effect.tryPromise({ try: f, catch: operationError(driver, op) })
    // An upsert that raced another upsert of the same new document fails with a duplicate key error: the
    // document exists now, so the same write, once more, updates it (or is refused by its own condition).
    const upsert = <A>(op: string, f: () => Promise<A>): Effect.Effect<A, StoreError> =>
      Effect.tryPromise({ try: f, catch: (cause) => cause }).pipe(
        Effect.catchIf(Doc.isDuplicateKey, () => Effect.tryPromise({ try: f, catch: (cause) => cause })),
        Effect.mapError(operationError(driver, op))
      )
    const decoded = <A>(result: Either.Either<A, StoreError>): Effect.Effect<A, StoreError> => result
    const timeoutMS = options.serverSelectionTimeoutMS ?? defaultServerSelectionTimeoutMS
    const connectionFailure = connectionError(url)

    const client = yield* Effect.acquireRelease(
      Effect.try({
        // the constructor parses the url and throws on a malformed one
        try: () => new driver.MongoClient(url, { ...options.clientOptions, serverSelectionTimeoutMS: timeoutMS }),
        catch: (cause) => connectionFailure("Invalid MongoDB connection string", cause)
      }),
      (client) => Effect.ignoreLogged(Effect.tryPromise(() => client.close()))
    )
    yield* Effect.tryPromise({
      try: () => client.connect(),
      catch: (cause) => connectionFailure("Cannot connect to MongoDB", cause)
    }).pipe(
      // server selection is bounded by the driver; this also bounds SRV lookups, with some slack
      Effect.timeoutFail({
        duration: Duration.millis(timeoutMS + 5_000),
        onTimeout: () => connectionFailure("Cannot connect to MongoDB", `no answer within ${timeoutMS + 5_000} ms`)
      })
    )

    const db = client.db(database)
    const runsCollection: Collection<RunRow> = db.collection(collection)
    const steps: Collection<Document> = db.collection(Doc.stepsCollection(collection))
    const counters: Collection<Doc.CounterDocument> = db.collection(Doc.counterCollection(collection))
    yield* Effect.tryPromise({
      try: async () => {
        for (const index of Doc.runIndexes) await runsCollection.createIndex(index.key, { name: index.name })
        for (const index of Doc.stepIndexes) {
          await steps.createIndex(index.key, { name: index.name, ...("unique" in index ? { unique: index.unique } : {}) })
        }
        if (ttlSeconds !== undefined) {
          const ttl = Doc.ttlIndexes(ttlSeconds)
          await ensureTtlIndex(db, runsCollection, ttl.runs)
          await ensureTtlIndex(db, steps, ttl.steps)
        }
        // created up front so the first concurrent writes do not race to upsert it
        await counters.updateOne({ _id: Doc.counterId }, { $setOnInsert: { value: 0 } }, { upsert: true })
      },
      catch: (cause) =>
        new StoreError({
          reason: "Migration",
          message: `Could not prepare MongoDB collection "${database}.${collection}": ${describe(cause)}`,
          cause
        })
    })

    // The list order of a write that changes a run's place (start, end, save, cancel, append)
    const nextSeq = (op: string): Effect.Effect<number, StoreError> =>
      Effect.flatMap(
        attempt(op, () => counters.findOneAndUpdate({ _id: Doc.counterId }, { $inc: { value: 1 } }, { upsert: true, returnDocument: "after" })),
        (counter) =>
          counter === null
            ? Effect.fail(operationError(driver, op)("the list counter returned no document"))
            : Effect.succeed(Number(counter.value))
      )
    // A conditional upsert on `{ _id }` (claim, save, touch): the document after it, and whether it wrote
    const conditionalUpsert = (op: string, id: string, pipeline: Array<Document>, seq: number) =>
      Effect.map(
        upsert(op, () =>
          runsCollection.findOneAndUpdate(Doc.idFilter(id), pipeline, {
            upsert: true,
            returnDocument: "after",
            projection: { seq: 1, attempts: 1, completedAt: 1 }
          })),
        (after) => ({ written: Doc.wrote(after, seq), after })
      )
    const matched = (result: { readonly matchedCount: number }) => result.matchedCount > 0
    const readRun = (op: string, id: string, withBody: boolean) =>
      Effect.map(
        attempt(op, () => runsCollection.aggregate(Doc.runPipeline(id, withBody)).toArray()),
        (docs) => docs[0] as RunRow | undefined
      )
    const deleteSteps = (op: string, id: string) => attempt(op, () => steps.deleteMany({ runId: id }))
    // With `ttl`, a run document expires `ttl` after its completedAt (set only when a run ends). Step
    // documents have no cascade: ending a run stamps its steps' runEndedAt, which a second TTL index
    // expires alike; a step appended to an ended run is stamped as it is written, and a claim that
    // reopens a run unstamps its steps. A process that dies between a run's end and the stamp leaves its
    // steps unstamped until `prune` or a `delete` of that id removes them.
    const stampEnded = (op: string, id: string) =>
      ttlSeconds === undefined
        ? Effect.void
        : Effect.asVoid(attempt(op, () => steps.updateMany({ runId: id }, [{ $set: { runEndedAt: "$$NOW" } }])))
    const unstampEnded = (id: string) =>
      ttlSeconds === undefined ? Effect.void : Effect.asVoid(attempt("claim", () => steps.updateMany({ runId: id }, { $unset: { runEndedAt: "" } })))

    const runs: RunBackend = {
      get: (id) =>
        Effect.flatMap(readRun("getRun", id, false), (doc) =>
          doc === undefined ? Effect.succeedNone : Effect.map(decoded(Doc.toRunRecord(doc)), Option.some)),
      claim: (claim) =>
        Effect.flatMap(nextSeq("claim"), (seq) =>
          Effect.map(
            conditionalUpsert("claim", claim.id, Doc.claimPipeline(claim, seq), seq),
            ({ after, written }) => written && after !== null ? Option.some(Number(after["attempts"])) : Option.none()
          ).pipe(Effect.tap((claimed) => Option.isSome(claimed) ? unstampEnded(claim.id) : Effect.void))),
      checkpoint: (checkpoint) =>
        // Two writes (see the module comment): the step is written only after the fence matched.
        Effect.flatMap(
          attempt("checkpoint", () =>
            runsCollection.updateOne(
              Doc.ownedFilter(checkpoint.id, checkpoint.owner),
              Doc.checkpointFencePipeline(checkpoint.leaseMs)
            )),
          (fence) =>
            matched(fence)
              ? Effect.as(
                upsert("checkpoint", () =>
                  steps.updateOne(Doc.stepFilter(checkpoint.id, checkpoint.key), Doc.stepPipeline(checkpoint), { upsert: true })),
                true
              )
              : Effect.succeed(false)
        ),
      renew: (id, owner, leaseMs) =>
        Effect.map(attempt("renew", () => runsCollection.updateOne(Doc.ownedFilter(id, owner), Doc.renewPipeline(leaseMs))), matched),
      finish: (id, owner, status, output) =>
        Effect.flatMap(nextSeq("finish"), (seq) =>
          Effect.flatMap(
            attempt("finish", () => runsCollection.updateOne(Doc.ownedFilter(id, owner), Doc.finishPipeline(status, output, seq))),
            (result) => Effect.as(matched(result) ? stampEnded("finish", id) : Effect.void, matched(result))
          )),
      release: (id, owner) =>
        Effect.asVoid(attempt("release", () => runsCollection.updateOne(Doc.releaseFilter(id, owner), Doc.releaseUpdate))),
      cancel: (id) =>
        Effect.flatMap(nextSeq("cancel"), (seq) =>
          Effect.flatMap(
            attempt("cancel", () => runsCollection.updateOne(Doc.cancelFilter(id), Doc.cancelPipeline(seq))),
            (result) => Effect.as(matched(result) ? stampEnded("cancel", id) : Effect.void, matched(result))
          )),
      listRuns: (query) => {
        if (Doc.listQuery(query) === undefined) return Effect.succeed([])
        return Effect.flatMap(
          attempt("listRuns", () =>
            runsCollection.aggregate([
              { $match: Doc.runsFilter(query) },
              { $sort: Doc.listSort },
              ...(query.limit === undefined ? [] : [{ $limit: query.limit }]),
              { $addFields: { leased: Doc.leasedExpr } },
              { $project: Doc.summaryProjection }
            ]).toArray()),
          (docs) =>
            Effect.flatMap(
              attempt("listRuns", () => steps.aggregate(Doc.stepCountPipeline(docs.map((doc) => String(doc._id)))).toArray()),
              (counts) => {
                const byRun = new Map(counts.map((c) => [String(c._id), Number(c["n"])]))
                return Effect.forEach(docs, (doc) => {
                  const stepDocuments = byRun.get(String(doc._id)) ?? 0
                  // a saved document's key that a step document rewrote counts once
                  const saved = stepDocuments === 0 ? [] : Doc.savedStepKeys(doc["body"])
                  const rewritten = saved.length === 0
                    ? Effect.succeed(0)
                    : attempt("listRuns", () => steps.countDocuments({ runId: doc._id, stepKey: { $in: [...saved] } }))
                  return Effect.flatMap(rewritten, (n) => decoded(Doc.toSummary(doc as RunRow, stepDocuments, n)))
                })
              }
            )
        )
      },
      countRuns: (query) =>
        Effect.map(
          attempt("countRuns", () => runsCollection.aggregate(Doc.statusCountPipeline(query)).toArray()),
          (rows) => {
            // a document written before runs had a status (its _id null here) is running, as listRuns shows it
            const counts: Record<string, number> = {}
            for (const row of rows) {
              const status = row._id === null || row._id === undefined ? "running" : String(row._id)
              counts[status] = (counts[status] ?? 0) + Number(row["n"])
            }
            return counts
          }
        ),
      inspect: (id) =>
        Effect.flatMap(readRun("inspect", id, true), (doc) =>
          doc === undefined ? Effect.succeedNone : Effect.flatMap(
            attempt("inspect", () => steps.find({ runId: id }, { sort: Doc.stepsSort, projection: { _id: 0 } }).toArray()),
            (stepDocs) =>
              Effect.map(
                Effect.all([decoded(Doc.toRunRecord(doc)), decoded(Doc.parseJsonField(`Stored state "${id}"`, doc["body"]))]),
                ([run, head]) => Option.some({ run, head, steps: stepDocs.map(Doc.toStepRow) })
              )
          )),
      // No transaction (it would need a replica set). A batch's runs go first, rechecked against the
      // filter, so a run retried or claimed meanwhile stays, and keeps its steps; then the steps of the
      // runs that are gone. (Steps first would let a run reopened in between lose its history and run
      // its steps again.) A prune cut short between the two leaves orphaned steps of deleted runs.
      prune: (query, dryRun) => {
        const filter = Doc.pruneFilter(query)
        if (dryRun) return attempt("prune", () => runsCollection.countDocuments(filter))
        return Effect.flatMap(
          attempt("prune", () => runsCollection.find(filter, { projection: { _id: 1 }, limit: query.limit }).toArray()),
          (docs) => {
            if (docs.length === 0) return Effect.succeed(0)
            const ids = docs.map((doc) => doc._id)
            return Effect.flatMap(
              attempt("prune", () => runsCollection.deleteMany({ ...filter, _id: { $in: ids } })),
              (deleted) =>
                Effect.flatMap(
                  attempt("prune", () => runsCollection.find({ _id: { $in: ids } }, { projection: { _id: 1 } }).toArray()),
                  (kept) => {
                    const stay = new Set(kept.map((doc) => String(doc._id)))
                    const gone = ids.filter((id) => !stay.has(String(id)))
                    return Effect.as(
                      gone.length === 0 ? Effect.void : attempt("prune", () => steps.deleteMany({ runId: { $in: gone } })),
                      deleted.deletedCount
                    )
                  }
                )
            )
          }
        )
      }
    }

    return makeService({
      save: (id, state, status, workflow) =>
        Effect.flatMap(nextSeq("save"), (seq) =>
          Effect.flatMap(conditionalUpsert("save", id, Doc.savePipeline(state, status, seq, workflow), seq), ({ written }) =>
            // the saved document replaces the run's steps
            written ? Effect.as(deleteSteps("save", id), true) : Effect.succeed(false))),
      appendSteps: (id, entries) =>
        Effect.flatMap(nextSeq("appendSteps"), (seq) =>
          Effect.flatMap(conditionalUpsert("appendSteps", id, Doc.touchPipeline(seq), seq), ({ after, written }) => {
            if (!written) return Effect.succeed(false)
            if (entries.length === 0) return Effect.succeed(true)
            const ended = after?.["completedAt"] instanceof Date
            // New keys go after the run's last step, as the SQL store's MAX(position) + 1; a key written
            // again keeps its place (the upsert tells which were new).
            return Effect.flatMap(
              attempt("appendSteps", () =>
                steps.find({ runId: id }, { sort: { position: -1 }, limit: 1, projection: { _id: 0, position: 1 } }).toArray()),
              ([last]) => {
                let position = Number(last?.["position"] ?? 0)
                return Effect.as(
                  Effect.forEach(entries, ([key, entry]) =>
                    Effect.map(
                      upsert("appendSteps", () =>
                        steps.updateOne(
                          Doc.stepFilter(id, key),
                          Doc.appendStepPipeline(id, key, JSON.stringify(entry), position + 1),
                          { upsert: true }
                        )),
                      (result) => {
                        if (result.upsertedCount > 0) position++
                      }
                    ), { discard: true }),
                  true
                )
              }
            ).pipe(Effect.tap(() => ended ? stampEnded("appendSteps", id) : Effect.void))
          })),
      load: (id) =>
        Effect.flatMap(readRun("load", id, true), (doc) =>
          doc === undefined ? Effect.succeedNone : Effect.flatMap(
            attempt("load", () => steps.find({ runId: id }, { sort: Doc.stepsSort, projection: Doc.stepsProjection }).toArray()),
            (stepDocs) => Effect.map(decoded(Doc.toLoaded(doc, stepDocs)), Option.some)
          )),
      delete: (id) =>
        Effect.flatMap(attempt("delete", () => runsCollection.deleteOne(Doc.deleteFilter(id))), (result) => {
          if (result.deletedCount > 0) return Effect.as(deleteSteps("delete", id), true)
          // nothing deleted: a live owner holds the run, or there is none (then steps an interrupted
          // delete left behind are removed, so a retried delete finishes the job)
          return Effect.flatMap(
            attempt("delete", () => runsCollection.findOne(Doc.idFilter(id), { projection: { _id: 1 } })),
            (found) => found !== null ? Effect.succeed(false) : Effect.as(deleteSteps("delete", id), true)
          )
        }),
      list: (query) => {
        const find = Doc.listQuery(query)
        if (find === undefined) return Effect.succeed([])
        return Effect.flatMap(
          attempt("list", () =>
            runsCollection.find(find.filter, {
              sort: find.sort,
              projection: find.projection,
              ...(find.limit === undefined ? {} : { limit: find.limit })
            }).toArray()),
          (docs) => Effect.forEach(docs, (doc) => decoded(Doc.toListEntry(doc)))
        )
      },
      runs
    }, { prefix: options.prefix, name: "MongoStore" })
  })

export const layer = (options: MongoStoreOptions): Layer.Layer<SnapshotStore, StoreError> =>
  Layer.scoped(SnapshotStore, make(options))

export const layerConfig = configured<Omit<MongoStoreOptions, "clientOptions">>("MongoStore", layer)
