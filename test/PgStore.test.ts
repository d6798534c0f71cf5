import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Config, ConfigProvider, Context, Effect, Fiber, Layer, Option, Redacted } from "effect"
import { createRequire } from "node:module"
import * as net from "node:net"
import { afterAll, beforeAll } from "vitest"
import * as PgStore from "../src/layers/PgStore.js"
import { SqlError } from "@effect/sql/SqlError"
import { queryError } from "../src/layers/sqlRows.js"
import * as SqlStore from "../src/layers/SqlStore.js"
import * as Worker from "../src/Worker.js"
import * as Workflow from "../src/Workflow.js"
import * as ResumeState from "../src/ResumeState.js"
import type * as Snapshot from "../src/Snapshot.js"
import { SnapshotStore, type StoreError } from "../src/SnapshotStore.js"
import { freshDatabase } from "./setup/pgDatabase.js"
import { type Embedded, startEmbedded } from "./setup/postgres.js"
import { StoreContract } from "effect-resume/testing"
import { layerFailure } from "./helpers/layerFailure.js"

const url = await freshDatabase("PgStore")

StoreContract.suite("PgStore", (options) => PgStore.layer({ url, ...options }))

const stateOf = (value: Snapshot.JsonValue) => ResumeState.make([["k", { result: { ok: true, value }, stepId: "k" }]])

const build = (layer: Layer.Layer<SnapshotStore, StoreError>) =>
  Effect.map(Layer.build(layer), (ctx) => Context.get(ctx, SnapshotStore))

const failure = layerFailure

/** A raw SqlClient on the file's database, to look at what the store wrote. */
const raw = PgClient.layer({ url: Redacted.make(url), maxConnections: 2 })

/** A TCP server that accepts connections and never says a word; counts them. */
const silentServer = Effect.acquireRelease(
  Effect.async<{ port: number; connections: () => number; close: () => void }>((resume) => {
    const sockets = new Set<net.Socket>()
    let count = 0
    const server = net.createServer((socket) => {
      count++
      sockets.add(socket)
      socket.on("error", () => {})
    })
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed({
        port: (server.address() as net.AddressInfo).port,
        connections: () => count,
        close: () => {
          for (const socket of sockets) socket.destroy()
          server.close()
        }
      })))
  }),
  (server) => Effect.sync(server.close)
)

/** A message of the server's as Postgres frames it: a type byte, then an int32 length counting itself. */
const serverMessage = (type: string, body: Buffer) => {
  const head = Buffer.alloc(5)
  head.write(type, 0, "latin1")
  head.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}
// What pg_terminate_backend makes a session send before it exits
const terminated = serverMessage(
  "E",
  Buffer.from("SFATAL\0VFATAL\0C57P01\0Mterminating connection due to administrator command\0\0", "latin1")
)

/**
 * A TCP proxy to the test's server. Once `poison` is on, every new session ends the moment it is
 * ready: its ReadyForQuery and a FATAL (57P01) reach the client in one write, then the connection
 * closes, as when a session is terminated just as it opens. `drop()` cuts every open session.
 */
const poisoningProxy = (target: URL) =>
  Effect.acquireRelease(
    Effect.async<{ url: string; setPoison: (on: boolean) => void; drop: () => void; close: () => void }>((resume) => {
      const open = new Set<() => void>()
      let poison = false
      const server = net.createServer((client) => {
        const upstream = net.connect(Number(target.port || 5432), target.hostname)
        const close = () => {
          client.destroy()
          upstream.destroy()
          open.delete(close)
        }
        open.add(close)
        for (const socket of [client, upstream]) socket.on("error", close).on("close", close)
        client.pipe(upstream)
        if (!poison) return void upstream.pipe(client)
        // forward the server's messages whole until its first ReadyForQuery ("Z"), then that and the FATAL together
        let pending = Buffer.alloc(0)
        upstream.on("data", (chunk: Buffer) => {
          pending = Buffer.concat([pending, chunk])
          let at = 0
          while (at + 5 <= pending.length && at + 1 + pending.readInt32BE(at + 1) <= pending.length) {
            const end = at + 1 + pending.readInt32BE(at + 1)
            if (pending[at] === 0x5a) {
              client.end(Buffer.concat([pending.subarray(0, end), terminated]))
              upstream.destroy()
              return
            }
            client.write(pending.subarray(at, end))
            at = end
          }
          pending = pending.subarray(at)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const proxied = new URL(target.toString())
        proxied.hostname = "127.0.0.1"
        proxied.port = String((server.address() as net.AddressInfo).port)
        resume(Effect.succeed({
          url: proxied.toString(),
          setPoison: (on) => void (poison = on),
          drop: () => [...open].forEach((close) => close()),
          close: () => {
            ;[...open].forEach((close) => close())
            server.close()
          }
        }))
      })
    }),
    (proxy) => Effect.sync(proxy.close)
  )

describe("PgStore", () => {
  it("a statement on a connection that had already failed or closed is a Connection error, not a Query error", () => {
    for (const message of ["Client has encountered a connection error and is not queryable", "Client was closed and is not queryable", "Connection terminated unexpectedly"]) {
      const error = queryError("checkpoint")(new SqlError({ cause: new Error(message), message: "Failed to execute statement" }))
      expect(error.reason, message).toBe("Connection")
    }
    const syntax = Object.assign(new Error("syntax error"), { code: "42601" })
    expect(queryError("checkpoint")(new SqlError({ cause: syntax, message: "Failed to execute statement" })).reason).toBe("Query")
  })

  it.scopedLive("rejects a table name holding SQL before opening any connection", () =>
    Effect.gen(function*() {
      const server = yield* silentServer
      const { error, ms } = yield* failure(
        PgStore.layer({ url: `postgresql://postgres:pw@127.0.0.1:${server.port}/db`, table: "x; DROP TABLE y" })
      )
      expect(error.reason).toBe("InvalidOption")
      expect(error.message).toContain("Invalid table name")
      expect(ms).toBeLessThan(500)
      expect(server.connections()).toBe(0)
    }))

  it.live("an unreachable port is a Connection error, at once", () =>
    Effect.gen(function*() {
      const { error, ms, text } = yield* failure(PgStore.layer({ url: "postgresql://postgres:s3cret-pw@127.0.0.1:1/db" }))
      expect(error.reason).toBe("Connection")
      expect(error.message).toContain("ECONNREFUSED")
      expect(ms).toBeLessThan(3000)
      expect(text).not.toContain("s3cret-pw")
    }))

  it.scopedLive("a server that never answers fails within connectTimeout instead of hanging", () =>
    Effect.gen(function*() {
      const server = yield* silentServer
      const { error, ms, text } = yield* failure(
        PgStore.layer({ url: `postgresql://postgres:s3cret-pw@127.0.0.1:${server.port}/db`, connectTimeout: "1 second" })
      )
      expect(error.reason).toBe("Connection")
      expect(error.message).toMatch(/timed out/i)
      expect(server.connections()).toBeGreaterThan(0)
      expect(ms).toBeGreaterThanOrEqual(900)
      expect(ms).toBeLessThan(4000)
      expect(text).not.toContain("s3cret-pw")
    }))

  it.live("a database that does not exist is a Connection error", () =>
    Effect.gen(function*() {
      const wrong = new URL(url)
      wrong.pathname = "/no_such_database_here"
      const { error } = yield* failure(PgStore.layer({ url: Redacted.make(wrong.toString()) }))
      expect(error.reason).toBe("Connection")
      expect(error.message).toContain("does not exist")
    }))

  it.live("an unparsable url is a Connection error, not a defect", () =>
    Effect.gen(function*() {
      const { error, text } = yield* failure(PgStore.layer({ url: "postgresql://postgres:s3cret-pw@127.0.0.1:notaport/db" }))
      expect(error.reason).toBe("Connection")
      expect(text).not.toContain("s3cret-pw")
    }))

  // issue #14 §4: node-pg cuts such a url at the "/", "?" or "#", and the password's tail became the host
  for (
    const bad of [
      "postgresql://user:p@ss/word@nohost.invalid:5432/db",
      "postgresql://user:p@ss#word@nohost.invalid:5432/db",
      "postgresql://user:p@ss?word@nohost.invalid:5432/db",
      "postgresql://user:p@ss@word@nohost.invalid:5432/db",
      "postgresql://us@er:p@ss/wo%40rd@nohost.invalid/db"
    ]
  ) {
    it.live(`a password holding an unencoded "@" never shows in the error: ${bad.replace(/:\/\/.*@/, "://…@")}`, () =>
      Effect.gen(function*() {
        const { error, text } = yield* failure(PgStore.layer({ url: Redacted.make(bad), connectTimeout: "3 seconds" }))
        expect(error.reason).toBe("Connection")
        for (const secret of ["p@ss", "ss/word", "ss#word", "ss?word", "ss@word", "word", "wo@rd", "wo%40rd", "us@er"]) {
          expect(text).not.toContain(secret)
        }
        expect(text).not.toMatch(/(?<![A-Za-z0-9])ss(?![A-Za-z0-9])/)
        // the message was scrubbed, so the raw error is not kept
        if (error.message.includes("****")) expect(error.cause).toBeUndefined()
      }))
  }

  it.live("an error that quotes no secret keeps its cause", () =>
    Effect.gen(function*() {
      const { error } = yield* failure(PgStore.layer({ url: "postgresql://user:pw@nohost.invalid:5432/db", connectTimeout: "3 seconds" }))
      expect(error.message).toContain("nohost.invalid")
      expect(error.cause).toBeDefined()
    }))

  it.scoped("bodies are json, queryable in place, and keep their key order", () =>
    Effect.gen(function*() {
      const store = yield* build(PgStore.layer({ url, table: "jsonb_check" }))
      const snapshot: Snapshot.WorkflowSnapshot = {
        formatVersion: 1,
        steps: { "user:1": { ok: true, value: { name: "Ada" } } },
        execution: { status: "completed", lastUpdated: "2026-01-01T00:00:00.000Z", completedAt: "2026-01-01T00:00:00.000Z" },
        metadata: { workflowId: "wf-jsonb" }
      }
      yield* store.save("rs", stateOf({ n: 1 }))
      yield* store.save("snap", snapshot)
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ id: string; type: string; kind: string | null; column_type: string; workflow: string | null }>`
        SELECT id, json_typeof(body) AS type, body->>'kind' AS kind, pg_typeof(body)::text AS column_type,
          body->'metadata'->>'workflowId' AS workflow
        FROM jsonb_check ORDER BY id`
      expect(rows).toEqual([
        { id: "rs", type: "object", kind: "ResumeState", column_type: "json", workflow: null },
        { id: "snap", type: "object", kind: null, column_type: "json", workflow: "wf-jsonb" }
      ])
      // node-pg hands json back parsed; the store loads it unchanged, keys in their order
      const loaded = Option.getOrThrow(yield* store.load("snap"))
      expect(loaded).toEqual(snapshot)
      expect(JSON.stringify(loaded)).toBe(JSON.stringify(snapshot))
      expect(Option.getOrThrow(yield* store.load("rs"))).toEqual(stateOf({ n: 1 }))
    }).pipe(Effect.provide(raw)))

  it.scoped("a NUL character in a value round-trips (json keeps it; jsonb could not)", () =>
    Effect.gen(function*() {
      const store = yield* build(PgStore.layer({ url }))
      yield* store.save("nul", stateOf("a\u0000b"))
      expect(Option.getOrThrow(yield* store.load("nul"))).toEqual(stateOf("a\u0000b"))
    }))

  it.scopedLive("a checkpoint holds the run row with a share lock (no new version of it) until it must renew the lease", () =>
    Effect.gen(function*() {
      const table = `fence_${Date.now().toString(36)}`
      const store = yield* build(PgStore.layer({ url, table }))
      const sql = yield* SqlClient.SqlClient
      const id = "fenced-by-lock"
      const leaseMs = 60_000
      yield* store.claim({ id, workflow: "w", version: undefined, owner: "A", leaseMs, input: undefined, reopenFailed: false })
      // xmin: the transaction that wrote this version of the row; an UPDATE makes a new one
      const version = Effect.map(
        sql<{ xmin: string; lease_until: Date }>`SELECT xmin::text AS xmin, lease_until FROM ${sql(table)} WHERE id = ${id}`,
        ([row]) => row!
      )
      const entry = JSON.stringify({ result: { ok: true, value: 1 } })
      const checkpoint = (key: string, position: number, renew: boolean) =>
        store.checkpoint({ id, owner: "A", attempt: 1, key, position, fresh: true, entry, durationMs: 1, leaseMs, renew })
      const claimed = yield* version
      expect(yield* checkpoint("a", 1, false)).toBe(true)
      expect(yield* checkpoint("b", 2, false)).toBe(true)
      expect(yield* version).toEqual(claimed)
      expect(yield* checkpoint("c", 3, true)).toBe(true)
      const renewed = yield* version
      expect(renewed.xmin).not.toBe(claimed.xmin)
      expect(renewed.lease_until.getTime()).toBeGreaterThan(claimed.lease_until.getTime())
      expect([...(yield* store.loadSteps(id)).steps.keys()]).toEqual(["a", "b", "c"])
    }).pipe(Effect.provide(raw)))

  it.scopedLive("five layers starting at once on a fresh table all succeed", () =>
    Effect.gen(function*() {
      const table = `race_${Date.now().toString(36)}`
      const stores = yield* Effect.all(
        Array.from({ length: 5 }, () => build(PgStore.layer({ url, table, maxConnections: 2 }))),
        { concurrency: "unbounded" }
      )
      yield* Effect.forEach(stores, (store, i) => store.save(`from-${i}`, stateOf(i)), { concurrency: "unbounded" })
      expect((yield* stores[0]!.list()).map((e) => e.id).sort()).toEqual(["from-0", "from-1", "from-2", "from-3", "from-4"])
      const sql = yield* SqlClient.SqlClient
      // each migration ran exactly once
      const migrations = yield* sql<{ migration_id: number }>`SELECT migration_id FROM ${sql(`${table}_migrations`)} ORDER BY migration_id`
      expect(migrations.map((m) => m.migration_id)).toEqual([1, 2, 3])
    }).pipe(Effect.provide(raw)))

  it.scopedLive("a run's statements go to the server as named prepared statements, one name per statement text", () =>
    Effect.gen(function*() {
      // node-pg as the store loads it (the dependency of @effect/sql-pg), watched where every statement passes
      const pg = createRequire(createRequire(import.meta.url).resolve("@effect/sql-pg"))("pg") as {
        readonly Client: { readonly prototype: { query: (...args: Array<unknown>) => unknown } }
      }
      const sent: Array<{ readonly text: string; readonly name: string | undefined }> = []
      const query = pg.Client.prototype.query
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          pg.Client.prototype.query = function(this: unknown, ...args: Array<unknown>) {
            const config = args[0] as { readonly text?: unknown; readonly name?: unknown } | null
            if (typeof config?.text === "string" && config.text.includes("named_check")) {
              sent.push({ text: config.text, name: typeof config.name === "string" ? config.name : undefined })
            }
            return query.apply(this, args)
          }
        }),
        () => Effect.sync(() => (pg.Client.prototype.query = query))
      )
      const store = yield* build(PgStore.layer({ url, table: "named_check" }))
      const wf = Workflow.make("named", Effect.gen(function*() {
        const a = yield* Workflow.step("a", Effect.succeed(1))
        const b = yield* Workflow.step("b", Effect.succeed(a + 1))
        return yield* Workflow.step("c", Effect.succeed(b + 1))
      }))
      expect(yield* Workflow.runDurable(wf, { id: "named-1" }).pipe(Effect.provideService(SnapshotStore, store))).toBe(3)
      const run = sent.filter((s) => !/migrations|CREATE|ALTER/.test(s.text))
      // getRun, claim, three checkpoints, finish
      expect(run.length).toBe(6)
      expect(run.filter((s) => s.name === undefined)).toEqual([])
      const checkpoints = run.filter((s) => s.text.includes("named_check_steps"))
      expect(checkpoints.length).toBe(3)
      expect(new Set(checkpoints.map((s) => s.name)).size).toBe(1)
    }))

  it.scopedLive("a connection has one statement at a time: runs ending while others checkpoint queue none on node-pg's own queue", () =>
    Effect.gen(function*() {
      // node-pg as the store loads it; queueing a second query on a busy connection is deprecated (pg@9 removes it)
      const pg = createRequire(createRequire(import.meta.url).resolve("@effect/sql-pg"))("pg") as {
        readonly Client: { readonly prototype: { query: (...args: Array<unknown>) => unknown } }
      }
      const outstanding = new WeakMap<object, number>()
      let most = 0
      const query = pg.Client.prototype.query
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          pg.Client.prototype.query = function(this: object, ...args: Array<unknown>) {
            const now = (outstanding.get(this) ?? 0) + 1
            outstanding.set(this, now)
            most = Math.max(most, now)
            const done = () => outstanding.set(this, (outstanding.get(this) ?? 1) - 1)
            // a callback as the last argument, or on a Query object (the store's checkpoints), or a promise
            const last = args.length - 1
            const config = args[0] as { callback?: unknown; submit?: unknown } | null
            if (typeof args[last] === "function") {
              const callback = args[last] as (...xs: Array<unknown>) => unknown
              args[last] = (...xs: Array<unknown>) => (done(), callback(...xs))
            } else if (typeof config?.submit === "function" && typeof config.callback === "function") {
              const callback = config.callback as (...xs: Array<unknown>) => unknown
              config.callback = (...xs: Array<unknown>) => (done(), callback(...xs))
            } else {
              const result = query.apply(this, args) as Promise<unknown>
              result.then(done, done)
              return result
            }
            return query.apply(this, args)
          }
        }),
        () => Effect.sync(() => (pg.Client.prototype.query = query))
      )
      const store = yield* build(PgStore.layer({ url, table: "one_at_a_time" }))
      const wf = Workflow.make("one-at-a-time", Effect.gen(function*() {
        let total = 0
        for (let i = 0; i < 5; i++) total += yield* Workflow.step(`s${i}`, Effect.succeed(i))
        return total
      }))
      const results = yield* Effect.forEach(
        Array.from({ length: 30 }, (_, i) => i),
        (i) => Workflow.runDurable(wf, { id: `one-${i}` }),
        { concurrency: "unbounded" }
      ).pipe(Effect.provideService(SnapshotStore, store))
      expect(results).toEqual(Array.from({ length: 30 }, () => 10))
      expect(most).toBe(1)
    }))

  it.scopedLive("the checkpoints' connection, lent again and again by a one-connection pool, gains no listener per loan", () =>
    Effect.gen(function*() {
      // Node warns once an emitter holds more than 10 listeners of one event
      const warnings: Array<string> = []
      const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`)
      yield* Effect.acquireRelease(
        Effect.sync(() => process.on("warning", onWarning)),
        () => Effect.sync(() => process.off("warning", onWarning))
      )
      const store = yield* build(PgStore.layer({ url, maxConnections: 1, table: "lane_listeners" }))
      const wf = Workflow.make("lane", Workflow.step("a", Effect.succeed(1)))
      for (let i = 0; i < 15; i++) {
        expect(yield* Workflow.runDurable(wf, { id: `lane-${i}` }).pipe(Effect.provideService(SnapshotStore, store))).toBe(1)
        // the lane gives its connection back after 50 ms without a checkpoint
        yield* Effect.sleep("80 millis")
      }
      // warnings are emitted on the next tick
      yield* Effect.sleep("20 millis")
      expect(warnings.filter((w) => w.startsWith("MaxListenersExceededWarning"))).toEqual([])
    }))

  // node-pg reads the messages of one network read one after another: the checkpoints' connection must
  // have its error listener before the next message of the read that made it ready is handled, or a
  // session terminated as it opens is an uncaught exception (seen in the connection test under load)
  it.scopedLive("a checkpoint connection terminated the moment it opens fails the run with a Connection error, never an uncaught one", () =>
    Effect.gen(function*() {
      const uncaught: Array<unknown> = []
      const onUncaught = (error: unknown) => uncaught.push(error)
      yield* Effect.acquireRelease(
        Effect.sync(() => process.on("uncaughtException", onUncaught)),
        () => Effect.sync(() => process.off("uncaughtException", onUncaught))
      )
      const proxy = yield* poisoningProxy(new URL(url))
      const store = yield* build(PgStore.layer({ url: proxy.url, maxConnections: 1, table: "lane_poisoned" }))
      const latch = yield* Effect.makeLatch(false)
      let executed = 0
      const wf = Workflow.make(
        "poisoned",
        Workflow.step("a", Effect.zipRight(latch.await, Effect.sync(() => ++executed)))
      )
      const first = yield* Workflow.runDurable(wf, { id: "poisoned", lease: "1 second" }).pipe(
        Effect.provideService(SnapshotStore, store),
        Effect.either,
        Effect.fork
      )
      // the run is claimed and its step waits: its one connection is idle in the pool. Cut it, so that the
      // step's checkpoint opens a new one, which the proxy ends as it becomes ready.
      yield* Effect.sleep("200 millis")
      proxy.drop()
      proxy.setPoison(true)
      yield* Effect.sleep("100 millis")
      yield* latch.open
      const result = yield* Fiber.join(first)
      expect(result).toMatchObject({ _tag: "Left", left: { _tag: "StoreError", reason: "Connection" } })
      expect(uncaught).toEqual([])
      // the server is reachable again: a new call, once the lease has passed, runs the unrecorded step again
      proxy.setPoison(false)
      const again = yield* Workflow.runDurable(wf, { id: "poisoned", lease: "1 second", onLocked: "wait" }).pipe(
        Effect.provideService(SnapshotStore, store)
      )
      expect(again).toBe(2)
      expect(executed).toBe(2)
      expect(uncaught).toEqual([])
    }), 20_000)

  // A worker listens for wakeups on a connection of its own; stopped while that connection is still
  // opening, it must not leave it open (an application that stops a worker at once would never exit)
  it.scopedLive("workers stopped as they start leave no LISTEN connection open once the store is closed", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const table = "listen_stopped"
      const storeSessions = sql<{ n: number | string }>`SELECT count(*) AS n FROM pg_stat_activity
        WHERE application_name = 'effect-resume' AND datname = current_database()`
      const wf = Workflow.make("listen", Workflow.step("a", Effect.succeed(1)))
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* build(PgStore.layer({ url, table }))
        for (let i = 0; i < 8; i++) {
          // built, then stopped at once: its LISTEN connection is still connecting, or just connected
          yield* Effect.scoped(Layer.build(Worker.layer({ workflows: [wf], workerId: `w${i}`, pollInterval: "1 hour" })).pipe(
            Effect.provideService(SnapshotStore, store)
          ))
          yield* Effect.sleep(`${i * 3} millis`)
        }
        // and a worker that does its work: started runs wake it
        yield* Effect.scoped(Effect.gen(function*() {
          yield* Layer.build(Worker.layer({ workflows: [wf], workerId: "awake", pollInterval: "1 hour" }))
          yield* Effect.sleep("100 millis")
          yield* Workflow.start(wf, { id: "listen-woken" })
          expect(yield* Workflow.result(wf, "listen-woken", { pollInterval: "10 millis" }).pipe(Effect.timeout("5 seconds"))).toBe(1)
        }).pipe(Effect.provideService(SnapshotStore, store)))
      }))
      // the store is closed: none of its connections is left (a connection closes a moment after its client)
      let open = Infinity
      for (let i = 0; i < 50 && open > 0; i++) {
        yield* Effect.sleep("50 millis")
        open = Number((yield* storeSessions)[0]?.n)
      }
      expect(open).toBe(0)
    }).pipe(Effect.provide(raw)), 30_000)

  it.scopedLive("a mixed-case table name is used lowercased, and restarts fine", () =>
    Effect.gen(function*() {
      const name = `Mixed_${Date.now().toString(36)}`
      const first = yield* build(PgStore.layer({ url, table: name }))
      yield* first.save("a", stateOf(1))
      const again = yield* Effect.all([build(PgStore.layer({ url, table: name })), build(PgStore.layer({ url, table: name }))], {
        concurrency: "unbounded"
      })
      expect(Option.isSome(yield* again[1].load("a"))).toBe(true)
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ id: string }>`SELECT id FROM ${sql(name.toLowerCase())}`
      expect(rows).toEqual([{ id: "a" }])
    }).pipe(Effect.provide(raw)))

  it.scoped("SqlStore.layer runs over the application's own PgClient", () =>
    Effect.gen(function*() {
      const store = yield* SnapshotStore
      yield* store.save("wf-1", stateOf("shared pool"))
      expect(Option.getOrThrow(yield* store.load("wf-1"))).toEqual(stateOf("shared pool"))
      expect((yield* store.list()).map((e) => e.id)).toEqual(["wf-1"])
      const sql = yield* PgClient.PgClient
      expect(yield* sql<{ id: string }>`SELECT id FROM app_snapshots`).toEqual([{ id: "app:wf-1" }])
    }).pipe(
      Effect.provide(SqlStore.layer({ table: "app_snapshots", prefix: "app:" }).pipe(Layer.provideMerge(raw)))
    ))

  it.scoped("PgStoreLive reads DATABASE_URL", () =>
    Effect.gen(function*() {
      const store = yield* SnapshotStore
      yield* store.save("live", stateOf("from config"))
      expect(Option.getOrThrow(yield* store.load("live"))).toEqual(stateOf("from config"))
    }).pipe(
      Effect.provide(
        PgStore.PgStoreLive.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["DATABASE_URL", url]])))))
      )
    ))

  it.live("PgStoreLive without DATABASE_URL is an InvalidOption error", () =>
    Effect.gen(function*() {
      const { error } = yield* failure(
        PgStore.PgStoreLive.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map()))))
      )
      expect(error.reason).toBe("InvalidOption")
      expect(error.message).toBe("PgStore config: DATABASE_URL is not set")
    }))

  it.live("a PgStore setting that does not parse names the setting, never its value", () =>
    Effect.gen(function*() {
      const { error } = yield* failure(
        PgStore.layerConfig({ url: Config.redacted("DATABASE_URL"), maxConnections: Config.integer("PG_POOL") }).pipe(
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["DATABASE_URL", url], ["PG_POOL", "many"]]))))
        )
      )
      expect(error.reason).toBe("InvalidOption")
      expect(error.message).toMatch(/^PgStore config: PG_POOL is invalid: /)
      expect(error.message).not.toContain(url)
    }))
})

// A server of this file's own (password auth, and free to stop), whatever the global setup uses.
describe("PgStore against a server it can restart", () => {
  let server: Embedded
  beforeAll(async () => {
    server = await startEmbedded({ persistent: true })
  })
  afterAll(() => server?.destroy())

  it.live("a wrong password is a Connection error that does not echo the password", () =>
    Effect.gen(function*() {
      const wrong = new URL(server.url)
      wrong.password = "not-the-password-42"
      const { error, text } = yield* failure(PgStore.layer({ url: Redacted.make(wrong.toString()) }))
      expect(error.reason).toBe("Connection")
      expect(error.message).toContain("password authentication failed")
      expect(text).not.toContain("not-the-password-42")
      expect(text).not.toContain(server.password)
    }))

  it.scopedLive("save and load after the server restarts: the pool recovers", () =>
    Effect.gen(function*() {
      const store = yield* build(PgStore.layer({ url: server.url, connectTimeout: "2 seconds" }))
      yield* Effect.forEach([1, 2, 3], (i) => store.save(`before-${i}`, stateOf(i)), { concurrency: "unbounded" })

      yield* Effect.promise(() => server.stop())
      const down = yield* Effect.flip(store.load("before-1"))
      expect(down.reason).toBe("Connection")
      yield* Effect.promise(() => server.start())

      // a pooled connection may still be the dead one: one retry on Connection is allowed, not more
      const retryOnce = <A, E extends { readonly _tag: string }>(effect: Effect.Effect<A, E>) =>
        Effect.retry(effect, { times: 1, while: (e) => e._tag === "StoreError" && (e as unknown as StoreError).reason === "Connection" })
      yield* retryOnce(store.save("after", stateOf("after")))
      expect(Option.getOrThrow(yield* retryOnce(store.load("before-2")))).toEqual(stateOf(2))
      expect(Option.getOrThrow(yield* retryOnce(store.load("after")))).toEqual(stateOf("after"))
    }))
})
