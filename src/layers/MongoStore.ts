/**
 * MongoDB through the official `mongodb` driver (an optional peer dependency, loaded when the layer is
 * built): one document per id in one collection (the shape and why `body` is a string: ./mongoDocument.ts). The client is connected when the layer is built
 * and closed when its scope closes; an unreachable server fails the layer with a Connection error
 * after `serverSelectionTimeoutMS` (default 5 s) instead of the driver's 30 s.
 */
import { Duration, Effect, Layer, Option, Redacted, type Scope } from "effect"
import type { Collection, MongoClientOptions } from "mongodb"
import { configured } from "../internal/configured.js"
import { importDriver } from "../internal/driver.js"
import * as Doc from "./mongoDocument.js"
import { fromBackend, SnapshotStore, type SnapshotStoreService, StoreError } from "../SnapshotStore.js"

export interface MongoStoreOptions {
  /** A `mongodb://` or `mongodb+srv://` connection string; may carry credentials, so a Redacted is accepted. */
  readonly url: string | Redacted.Redacted<string>
  /** Default: the database in the url's path, else `effect_resume`. */
  readonly database?: string | undefined
  /** Default `effect_resume_snapshots`; the save counter lives in `<collection>_counters`. */
  readonly collection?: string | undefined
  /** Store-wide id prefix: ids are saved as `prefix + id` and listed without it. */
  readonly prefix?: string | undefined
  /** How long to look for a server before failing. Default 5000. */
  readonly serverSelectionTimeoutMS?: number | undefined
  /** Further driver options (TLS, pool size, …), given to `MongoClient` as they are. */
  readonly clientOptions?: MongoClientOptions | undefined
}

const defaultServerSelectionTimeoutMS = 5_000

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
    const driver = yield* loadDriver
    const attempt = <A>(op: string, f: () => Promise<A>): Effect.Effect<A, StoreError> =>
      Effect.tryPromise({ try: f, catch: operationError(driver, op) })
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
    const snapshots: Collection<Doc.SnapshotDocument> = db.collection(collection)
    const counters: Collection<Doc.CounterDocument> = db.collection(Doc.counterCollection(collection))
    yield* Effect.tryPromise({
      try: async () => {
        await snapshots.createIndex(Doc.listSort, { name: "updatedAt_seq" })
        // created up front so the first concurrent saves do not race to upsert it
        await counters.updateOne({ _id: Doc.counterId }, { $setOnInsert: { value: 0 } }, { upsert: true })
      },
      catch: (cause) =>
        new StoreError({
          reason: "Migration",
          message: `Could not prepare MongoDB collection "${database}.${collection}": ${describe(cause)}`,
          cause
        })
    })

    return fromBackend({
      save: (id, state) =>
        Effect.gen(function*() {
          const counter = yield* attempt("save", () =>
            counters.findOneAndUpdate({ _id: Doc.counterId }, { $inc: { value: 1 } }, { upsert: true, returnDocument: "after" }))
          if (counter === null) return yield* operationError(driver, "save")("the save counter returned no document")
          yield* attempt("save", () => snapshots.updateOne(Doc.idFilter(id), Doc.saveUpdate(state, counter.value), { upsert: true }))
        }),
      load: (id) =>
        Effect.flatMap(
          attempt("load", () => snapshots.findOne(Doc.idFilter(id), { projection: { body: 1 } })),
          (doc) => {
            if (doc === null) return Effect.succeedNone
            const parsed = Doc.parseBody(doc)
            return parsed.ok
              ? Effect.succeed(Option.some(parsed.json))
              : Effect.fail(new StoreError({ reason: "Decode", message: `Stored state "${id}" is unreadable: ${parsed.error}` }))
          }
        ),
      delete: (id) => Effect.asVoid(attempt("delete", () => snapshots.deleteOne(Doc.idFilter(id)))),
      list: (listOptions) => {
        const query = Doc.listQuery(listOptions)
        if (query === undefined) return Effect.succeed([])
        return Effect.map(
          attempt("list", () =>
            snapshots.find(query.filter, {
              sort: query.sort,
              projection: query.projection,
              ...(query.limit === undefined ? {} : { limit: query.limit })
            }).toArray()),
          (docs) => docs.map(Doc.toListEntry)
        )
      }
    }, { prefix: options.prefix, name: "MongoStore" })
  })

export const layer = (options: MongoStoreOptions): Layer.Layer<SnapshotStore, StoreError> =>
  Layer.scoped(SnapshotStore, make(options))

export const layerConfig = configured<Omit<MongoStoreOptions, "clientOptions">>("MongoStore", layer)
