/**
 * PostgreSQL through `@effect/sql-pg` (node-pg pool), an optional peer dependency loaded when the
 * layer is built. Documents, steps, inputs and outputs are stored as `json` (the text as written, key
 * order kept), queryable in place (`body->>'kind'`);
 * updated_at is the server's `now()`.
 */
import { SqlError } from "@effect/sql/SqlError"
import { Config, Duration, Effect, Layer, Redacted, Stream } from "effect"
import { createRequire } from "node:module"
import { type SnapshotStore, StoreError } from "../SnapshotStore.js"
import { configured } from "../internal/configured.js"
import { importDriver } from "../internal/driver.js"
import * as SqlStore from "./SqlStore.js"

export interface PgStoreOptions extends SqlStore.SqlStoreOptions {
  /** `postgresql://user:password@host:port/database`; kept Redacted, never logged. */
  readonly url: Redacted.Redacted<string> | string
  /** Pool size. Default 10 (node-pg's default). */
  readonly maxConnections?: number | undefined
  /** Bound on opening a connection, at startup and for every later checkout. Default 5 seconds. */
  readonly connectTimeout?: Duration.DurationInput | undefined
}

// The part of node-pg's Pool used here (node-pg ships no types of its own).
type QueryResult = { readonly rows: ReadonlyArray<unknown>; readonly rowCount: number | null }
type QueryCallback = (error: Error | undefined, result: QueryResult) => void
type NamedQuery = { readonly name: string; readonly text: string; readonly values: ReadonlyArray<unknown> }

interface PoolClient {
  query(query: Submittable): void
  query(config: NamedQuery, callback: QueryCallback): void
  query(text: string, callback: QueryCallback): void
  on(event: "error", listener: (error: Error) => void): unknown
  on(event: "notification", listener: (message: { readonly channel: string; readonly payload?: string | undefined }) => void): unknown
  /** With an error, the connection is destroyed instead of returned to the pool. */
  release(error?: Error | boolean): void
}

interface Pool {
  connect(callback: (error: Error | null | undefined, client: PoolClient | undefined) => void): void
  query(text: string): Promise<unknown>
  query(config: NamedQuery, callback: QueryCallback): void
  end(): Promise<void>
  on(event: "error", listener: (error: unknown) => void): unknown
}
type PoolConstructor = new(config: Record<string, unknown>) => Pool
/** node-pg's Query, a "submittable" a client runs as it is. */
interface Submittable {
  name?: string | undefined
  readonly submit: unknown
}
type QueryConstructor = new(text: string, values: ReadonlyArray<unknown>, callback: QueryCallback) => Submittable

const loadDriver = importDriver("PgStore", "@effect/sql-pg", async () => {
  const { PgClient } = await import("@effect/sql-pg")
  // node-pg is @effect/sql-pg's own dependency: resolved from there, not from this package
  const requireFromDriver = createRequire(createRequire(import.meta.url).resolve("@effect/sql-pg"))
  const { Pool, Query } = requireFromDriver("pg") as { readonly Pool: PoolConstructor; readonly Query: QueryConstructor }
  return { PgClient, Pool, Query }
})

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * What of a url an error message must not show: the credentials, everything between "://" and the
 * last "@". A password with an unencoded "@" plus "/", "?" or "#" is cut by the parser elsewhere than
 * meant, and a piece of it becomes the host (`getaddrinfo ENOTFOUND ss`); so every run of the pieces
 * between those delimiters is a secret too, raw and percent-decoded, longest first.
 */
const secretsOf = (url: string): Array<string> => {
  const secrets = new Set([url])
  const start = url.indexOf("://")
  const end = url.lastIndexOf("@")
  if (start !== -1 && end > start + 3) {
    const pieces = url.slice(start + 3, end).split(/[:@/?#]/)
    for (let i = 0; i < pieces.length; i++) {
      for (let j = i + 1; j <= pieces.length; j++) {
        // the original text of pieces i..j-1, delimiters included
        const offset = pieces.slice(0, i).reduce((n, p) => n + p.length + 1, start + 3)
        const length = pieces.slice(i, j).reduce((n, p) => n + p.length + 1, -1)
        const run = url.slice(offset, offset + length)
        secrets.add(run)
        try {
          secrets.add(decodeURIComponent(run))
        } catch {
          // not percent-encoded: the raw form is covered
        }
      }
    }
  }
  return [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length)
}

// Each secret is replaced where it stands as a whole token (a host in `ENOTFOUND ss`), not inside a
// longer word: a short piece such as "ss" must not mangle "address".
const scrub = (text: string, url: string): string =>
  secretsOf(url).reduce(
    (acc, secret) => acc.replace(new RegExp(`(?<![A-Za-z0-9])${escapeRegExp(secret)}(?![A-Za-z0-9])`, "g"), "****"),
    text
  )

// The raw error is kept as the cause only when its message carried no secret.
const connectionError = (url: string) => (cause: unknown) => {
  // the SqlError's own message is generic ("PgClient: Failed to connect"); node-pg's says why
  const inner = cause instanceof Error && cause.cause instanceof Error ? cause.cause.message : undefined
  const outer = cause instanceof Error ? cause.message : String(cause)
  const text = inner === undefined || outer.endsWith(inner) ? outer : `${outer}: ${inner}`
  const scrubbed = scrub(text, url)
  return new StoreError({
    reason: "Connection",
    message: `Cannot connect to PostgreSQL: ${scrubbed}`,
    ...(scrubbed === text ? { cause } : {})
  })
}

export const layer = (options: PgStoreOptions): Layer.Layer<SnapshotStore, StoreError> =>
  Layer.unwrapEffect(Effect.map(loadDriver, ({ PgClient, Pool, Query }) => {
    const connectTimeout = Duration.decode(options.connectTimeout ?? Duration.seconds(5))
    const url = Redacted.isRedacted(options.url) ? Redacted.value(options.url) : options.url
    // Our own pool rather than PgClient.layer's, for one setting: allowExitOnIdle. Idle connections
    // then do not keep Node alive, so a script that never closes its store still exits at once
    // instead of after the pool's idle timeout; a checked-out connection still does.
    const pool = Effect.acquireRelease(
      Effect.sync(() => {
        const pool = new Pool({
          connectionString: url,
          max: options.maxConnections,
          connectionTimeoutMillis: Duration.toMillis(connectTimeout),
          application_name: "effect-resume",
          allowExitOnIdle: true
        })
        // an idle connection that drops emits here; the next checkout reconnects
        pool.on("error", () => {})
        return pool
      }),
      (pool) => Effect.promise(() => pool.end()).pipe(Effect.interruptible, Effect.timeoutOption(1000))
    )
    // The pool once open: the run's statements go to it directly, as named prepared statements. The
    // checkpoints, written one statement at a time by group commit, keep one connection of their own
    // (no pool checkout per step); it is dropped on any error and taken afresh by the next checkpoint.
    let open: Pool | undefined
    let lane: Promise<PoolClient> | undefined
    // A checked-out connection keeps Node alive: given back when checkpoints pause (50 ms without one), so
    // that a script that never closes its store still exits. One timer, pushed back by every checkpoint.
    let idle: ReturnType<typeof setTimeout> | undefined
    let inFlight = 0
    const idleSoon = () => {
      if (idle === undefined) {
        idle = setTimeout(() => {
          idle = undefined
          // a checkpoint in flight re-arms the timer as it completes
          if (inFlight === 0 && lane !== undefined) closeLane()
        }, 50)
        idle.unref()
      } else {
        idle.refresh()
      }
    }
    let laneClient: PoolClient | undefined
    // One statement at a time on the lane: group commit sends one checkpoint at a time, but a run's end
    // (or a lone checkpoint while a batch is in flight) may come meanwhile. node-pg would queue it on the
    // connection itself, which it deprecates (pg@9 removes it); here it waits for the one in flight, then
    // goes to the lane as it is then (a new connection, if the last one was dropped on an error).
    // (the lane is busy exactly while `inFlight` counts a statement: the one sent, or being sent, and those waiting)
    const laneWaiting: Array<() => void> = []
    const laneNext = () => laneWaiting.shift()?.()
    // The lane's listener, put on a connection once, the first time the lane takes it, and left there: an
    // error the connection emits later (back in the pool, or after the lane dropped it) must never go
    // unheard, and the pool lends one connection to the lane again and again (a listener per loan
    // piled up). It acts only while the connection is the lane's.
    const listened = new WeakSet<PoolClient>()
    const onLaneError = function(this: PoolClient, error: Error) {
      if (laneClient === this) closeLane(error)
    }
    // The lane's connection: its listener goes on in pool.connect's own callback, not in a promise's
    // `then`: node-pg reads the server's messages one after another out of one network read, and a
    // session terminated just as it became ready (its ReadyForQuery and its FATAL in one read) emitted
    // that error before a `then` could run, to no listener (an uncaught exception, seen in the
    // connection test).
    const takeLane = (pool: Pool): Promise<PoolClient> => {
      let resolve!: (client: PoolClient) => void
      let reject!: (error: Error) => void
      const current = new Promise<PoolClient>((ok, fail) => {
        resolve = ok
        reject = fail
      })
      // the lane is set before connecting: the callback runs before `connect` returns when a connection is idle
      lane = current
      pool.connect((error, client) => {
        if (error !== undefined && error !== null) return reject(error)
        if (client === undefined) return reject(new Error("the pool gave no connection"))
        if (!listened.has(client)) {
          listened.add(client)
          client.on("error", onLaneError)
        }
        if (lane === current) laneClient = client
        resolve(client)
      })
      return current
    }
    const closeLane = (error?: Error) => {
      const current = lane
      lane = undefined
      laneClient = undefined
      current?.then((client) => client.release(error ?? false), () => {})
    }
    // A named statement as node-pg's Query, made from its text: given a config object instead, node-pg
    // copies it property by property (descriptors and all) on every call, about 3 µs, on every step.
    // Only on the lane: the pool's own query() must wrap the callback to give its connection back.
    const namedQuery = (name: string, text: string, values: ReadonlyArray<unknown>, callback: QueryCallback) => {
      const query = new Query(text, values, callback)
      query.name = name
      return query
    }
    const poolClosed = () => new SqlError({ cause: new Error("the pool is closed"), message: "Failed to acquire connection" })
    const rowsOf = (result: QueryResult) => result.rows
    const changedAny = (result: QueryResult) => (result.rowCount ?? 0) > 0
    const settle = <A>(resume: (effect: Effect.Effect<A, SqlError>) => void, pick: (result: QueryResult) => A): QueryCallback =>
    (error, result) =>
      resume(
        error === undefined || error === null
          ? Effect.succeed(pick(result))
          : Effect.fail(new SqlError({ cause: error, message: "Failed to execute statement" }))
      )
    const execute = <A>(
      name: string,
      text: string,
      values: ReadonlyArray<unknown>,
      onLane: "checkpoint" | undefined,
      pick: (result: QueryResult) => A
    ): Effect.Effect<A, SqlError> =>
      Effect.async((resume) => {
        const pool = open
        if (pool === undefined) return resume(Effect.fail(poolClosed()))
        if (onLane !== "checkpoint") return pool.query({ name, text, values }, settle(resume, pick))
        const laneBusy = inFlight > 0
        inFlight++
        // (returns nothing: what the registration returns, Effect.async takes for its canceler)
        const onLaneNow = (): void => {
          // (the pool as it is now: a statement that waited may find the store closed meanwhile)
          const poolNow = open
          if (poolNow === undefined) {
            inFlight--
            laneNext()
            return resume(Effect.fail(poolClosed()))
          }
          const current = lane ?? takeLane(poolNow)
          const send = (client: PoolClient): void => {
            client.query(namedQuery(name, text, values, (error, result) => {
              inFlight--
              if (error !== undefined && error !== null && lane === current) closeLane(error)
              idleSoon()
              laneNext()
              settle(resume, pick)(error, result)
            }))
          }
          // the lane's connection at hand (every checkpoint but the first after a pause): sent at once
          if (laneClient !== undefined && lane === current) return send(laneClient)
          current.then(send, (error: unknown) => {
            inFlight--
            if (lane === current) lane = undefined
            laneNext()
            resume(Effect.fail(new SqlError({ cause: error, message: "Failed to acquire connection" })))
          })
        }
        if (laneBusy) laneWaiting.push(onLaneNow)
        else onLaneNow()
      })
    // The workers' wakeups: LISTEN on a connection of this pool, checked out for as long as the stream
    // runs, then closed (not returned: its LISTEN would go with it to the next user). @effect/sql-pg's own
    // listen could leave a connection open for good when its stream was interrupted while connecting
    // (Effect's RcRef does not close the scope of an interrupted acquisition), and an application that
    // stopped a worker just after starting it never exited.
    const listen = (channel: string): Stream.Stream<string, SqlError> =>
      Stream.asyncScoped<string, SqlError>((emit) =>
        Effect.gen(function*() {
          const client = yield* Effect.acquireRelease(
            Effect.async<PoolClient, SqlError>((resume) => {
              const pool = open
              if (pool === undefined) {
                return resume(Effect.fail(new SqlError({ cause: new Error("the pool is closed"), message: "Failed to listen" })))
              }
              pool.connect((error, client) => {
                if (client === undefined || (error !== undefined && error !== null)) {
                  return resume(
                    Effect.fail(new SqlError({ cause: error ?? new Error("the pool gave no connection"), message: "Failed to listen" }))
                  )
                }
                // at once, as the lane's (takeLane): the read that made it ready may hold its termination
                client.on("error", (error) => void emit.fail(new SqlError({ cause: error, message: "The LISTEN connection failed" })))
                resume(Effect.succeed(client))
              })
            }),
            (client) => Effect.sync(() => client.release(true))
          )
          client.on("notification", (message) => {
            if (message.channel === channel) void emit.single(message.payload ?? "")
          })
          yield* Effect.async<void, SqlError>((resume) =>
            client.query(`LISTEN "${channel.replaceAll("\"", "\"\"")}"`, (error) =>
              resume(
                error === undefined || error === null
                  ? Effect.void
                  : Effect.fail(new SqlError({ cause: error, message: "Failed to listen" }))
              ))
          )
        })
      )
    const executor: SqlStore.PreparedExecutor = Object.assign(
      (name: string, text: string, values: ReadonlyArray<unknown>, onLane: "checkpoint" | undefined) =>
        execute(name, text, values, onLane, rowsOf),
      {
        changed: (name: string, text: string, values: ReadonlyArray<unknown>, onLane: "checkpoint" | undefined) =>
          execute(name, text, values, onLane, changedAny),
        listen
      }
    )
    const connected = Effect.tap(pool, (pool) =>
      Effect.tryPromise({
        try: () => pool.query("SELECT 1"),
        catch: (cause) => new SqlError({ cause, message: "PgClient: Failed to connect" })
      }).pipe(
        Effect.timeoutFail({
          duration: connectTimeout,
          onTimeout: () => new SqlError({ cause: new Error("Connection timed out"), message: "PgClient: Connection timed out" })
        }),
        Effect.zipRight(Effect.acquireRelease(Effect.sync(() => (open = pool)), () =>
          Effect.sync(() => {
            open = undefined
            closeLane()
          })))
      ))
    return SqlStore.layerOver(
      options,
      // `connected` yields node-pg's Pool, typed above only by the part used here
      PgClient.layerFromPool({ acquire: connected as never, applicationName: "effect-resume" }),
      connectionError(url),
      undefined,
      executor
    )
  }))

export const layerConfig = configured("PgStore", layer)

/** The store at `DATABASE_URL`, default table. */
export const PgStoreLive: Layer.Layer<SnapshotStore, StoreError> = layerConfig({ url: Config.redacted("DATABASE_URL") })
