import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Deferred, Effect, Exit, Layer, Option, Redacted, Schema, Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { SnapshotStore, Worker, Workflow } from "../src/index.js"
import * as MemoryStore from "../src/layers/MemoryStore.js"
import * as PgStore from "../src/layers/PgStore.js"
import * as SqliteStore from "../src/layers/SqliteStore.js"
import type { StoreError } from "../src/SnapshotStore.js"
import { freshDatabase } from "./setup/pgDatabase.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-resume-worker-"))
const pgUrl = await freshDatabase("Worker")

const stores: ReadonlyArray<readonly [string, Layer.Layer<SnapshotStore.SnapshotStore, StoreError>]> = [
  ["MemoryStore", MemoryStore.layer()],
  ["SqliteStore", SqliteStore.layer({ filename: path.join(dir, "worker.db") })],
  ["PgStore", PgStore.layer({ url: pgUrl })]
]

let counter = 0
const fresh = (label: string) => `${label}-${Date.now().toString(36)}-${counter++}`

/** Side effects by step key, across every worker of a test. */
const tracker = () => {
  const counts = new Map<string, number>()
  const track = <A>(key: string, value: A) =>
    Effect.sync(() => {
      counts.set(key, (counts.get(key) ?? 0) + 1)
      return value
    })
  return { counts, track }
}

/** Starts a worker in the given scope (closing the scope shuts it down). */
const startWorker = <R>(options: Worker.WorkerOptions<R>, scope: Scope.CloseableScope) =>
  Effect.flatMap(Effect.context<SnapshotStore.SnapshotStore | Exclude<R, Workflow.WorkflowRun>>(), (context) =>
    Layer.buildWithScope(Worker.layer(options), scope).pipe(Effect.provide(context)))

for (const [name, storeLayer] of stores) {
  describe(`workers on ${name}`, () => {
    const withStore = <A, E>(effect: Effect.Effect<A, E, SnapshotStore.SnapshotStore | Scope.Scope>) =>
      Effect.scoped(Effect.flatMap(Layer.build(storeLayer), (context) => Effect.provide(effect, context)))

    it.live("start returns at once; a worker runs the run; result gives its typed value", () =>
      withStore(Effect.gen(function*() {
        const { counts, track } = tracker()
        const tag = fresh("greet")
        const greet = Workflow.make(tag, (input: { readonly name: string }) =>
          Effect.gen(function*() {
            const hello = yield* Workflow.step("hello", track("hello", `hello ${input.name}`))
            return { text: hello, at: new Date(0) }
          }), { success: Schema.Struct({ text: Schema.String, at: Schema.Date }) })
        const id = yield* Workflow.start(greet, { id: fresh("run"), input: { name: "Ada" } })
        // idempotent per id
        expect(yield* Workflow.start(greet, { id, input: { name: "Bob" } })).toBe(id)
        expect(yield* Workflow.poll(greet, id)).toEqual(Option.none())
        const scope = yield* Scope.make()
        yield* startWorker({ workflows: [greet], workerId: "w1", pollInterval: "50 millis" }, scope)
        const result = yield* Workflow.result(greet, id)
        expect(result).toEqual({ text: "hello Ada", at: new Date(0) })
        expect(result.at).toBeInstanceOf(Date)
        expect([...counts]).toEqual([["hello", 1]])
        expect(Option.getOrThrow(yield* SnapshotStore.getRun(id))).toMatchObject({ status: "completed", attempts: 1 })
        yield* Scope.close(scope, Exit.void)
      })))

    it.live("several workers share many runs: every step runs exactly once", () =>
      withStore(Effect.gen(function*() {
        const { counts, track } = tracker()
        const tag = fresh("many")
        const wf = Workflow.make(tag, (input: { readonly n: number }) =>
          Effect.gen(function*() {
            const a = yield* Workflow.step("a", track(`${input.n}:a`, input.n))
            yield* Effect.sleep("2 millis")
            return yield* Workflow.step("b", track(`${input.n}:b`, a * 2))
          }))
        const ids = yield* Effect.forEach(Array.from({ length: 30 }, (_, n) => n), (n) => Workflow.start(wf, { id: fresh(`r${n}`), input: { n } }))
        const scopes = yield* Effect.forEach([1, 2, 3], () => Scope.make())
        yield* Effect.forEach(scopes, (scope, i) =>
          startWorker({ workflows: [wf], workerId: `pod-${i}`, concurrency: 4, pollInterval: "20 millis" }, scope))
        const results = yield* Effect.forEach(ids, (id) => Workflow.result(wf, id), { concurrency: "unbounded" })
        expect(results).toEqual(Array.from({ length: 30 }, (_, n) => n * 2))
        expect(counts.size).toBe(60)
        expect([...counts.values()].every((c) => c === 1)).toBe(true)
        yield* Effect.forEach(scopes, (scope) => Scope.close(scope, Exit.void))
      })), 60_000)

    it.live("a worker claims only the versions it serves: another version's run waits for its worker", () =>
      withStore(Effect.gen(function*() {
        const tag = fresh("versioned")
        const v1 = Workflow.make(tag, Workflow.step("a", Effect.succeed("v1")), { version: "1" })
        const v2 = Workflow.make(tag, Workflow.step("a", Effect.succeed("v2")), { version: "2" })
        const id = yield* Workflow.start(v2, { id: fresh("run") })
        const scope1 = yield* Scope.make()
        yield* startWorker({ workflows: [v1], workerId: "old", pollInterval: "20 millis" }, scope1)
        yield* Effect.sleep("200 millis")
        expect(Option.getOrThrow(yield* SnapshotStore.getRun(id)).status).toBe("pending")
        const scope2 = yield* Scope.make()
        yield* startWorker({ workflows: [v2], workerId: "new", pollInterval: "20 millis" }, scope2)
        expect(yield* Workflow.result(v2, id)).toBe("v2")
        yield* Scope.close(scope1, Exit.void)
        yield* Scope.close(scope2, Exit.void)
      })))

    it.live("shutdown releases unfinished runs at once, without counting an attempt; another worker finishes them", () =>
      withStore(Effect.gen(function*() {
        const { counts, track } = tracker()
        const tag = fresh("slow")
        const entered = yield* Deferred.make<void>()
        const wf = Workflow.make(tag, Effect.gen(function*() {
          yield* Workflow.step("a", track("a", 1))
          // the first worker's run is interrupted here by its shutdown
          yield* Workflow.step("b", Effect.zipRight(Deferred.succeed(entered, undefined), Effect.flatMap(Deferred.isDone(entered), () => track("b", 2))).pipe(
            Effect.zipLeft(Effect.sleep("300 millis"))
          ))
          return "done"
        }))
        const id = yield* Workflow.start(wf, { id: fresh("run") })
        const scope1 = yield* Scope.make()
        yield* startWorker({ workflows: [wf], workerId: "leaving", pollInterval: "20 millis", shutdownTimeout: "10 millis", lease: "1 hour" }, scope1)
        yield* Deferred.await(entered)
        yield* Scope.close(scope1, Exit.void)
        const released = Option.getOrThrow(yield* SnapshotStore.getRun(id))
        expect(released).toMatchObject({ status: "running", owner: undefined, attempts: 0, leased: false })
        const scope2 = yield* Scope.make()
        yield* startWorker({ workflows: [wf], workerId: "staying", pollInterval: "20 millis" }, scope2)
        expect(yield* Workflow.result(wf, id)).toBe("done")
        expect(counts.get("a")).toBe(1)
        expect(Option.getOrThrow(yield* SnapshotStore.getRun(id)).attempts).toBe(1)
        yield* Scope.close(scope2, Exit.void)
      })))

    it.live("crash loops end dead; a take-back by the same worker id does not count; retry revives a dead run", () =>
      withStore(Effect.gen(function*() {
        const store = yield* SnapshotStore.SnapshotStore
        const tag = fresh("crashy")
        const wf = Workflow.make(tag, Workflow.step("a", Effect.succeed("ok")), { maxAttempts: 2 })
        const id = yield* Workflow.start(wf, { id: fresh("run") })
        const workflows = [{ name: tag, version: undefined }]
        // an incarnation of "pod-a" claims the run and dies (its lease stays live)
        const claim = (owner: string, ownerPrefix: string) =>
          store.claimDue({ workflows, owner, ownerPrefix, incarnationPrefix: owner, leaseMs: 60_000, limit: 10 })
        expect((yield* claim("worker:pod-a/1", "worker:pod-a/")).map((r) => [r.id, r.attempts])).toEqual([[id, 1]])
        // another worker cannot take it while the lease lives; pod-a's next incarnation takes it back at once, not counted
        expect(yield* claim("worker:pod-b/1", "worker:pod-b/")).toEqual([])
        expect((yield* claim("worker:pod-a/2", "worker:pod-a/")).map((r) => r.attempts)).toEqual([1])
        // pod-a/2 dies too and its lease expires: the next claim counts
        yield* store.renew(id, "worker:pod-a/2", 1)
        yield* Effect.sleep("20 millis")
        expect((yield* claim("worker:pod-b/1", "worker:pod-b/")).map((r) => r.attempts)).toEqual([2])
        yield* store.renew(id, "worker:pod-b/1", 1)
        yield* Effect.sleep("20 millis")
        // the third claim is past maxAttempts: the worker marks the run dead
        const scope = yield* Scope.make()
        yield* startWorker({ workflows: [wf], workerId: "pod-c", pollInterval: "20 millis" }, scope)
        const dead = yield* Effect.flip(Workflow.result(wf, id))
        expect(dead).toMatchObject({ _tag: "RunDead", runId: id, attempts: 3 })
        expect(yield* Effect.flip(Workflow.runDurable(wf, { id }))).toMatchObject({ _tag: "RunDead", runId: id })
        expect(yield* Workflow.retry(id)).toBe(true)
        expect(yield* Workflow.result(wf, id)).toBe("ok")
        expect(Option.getOrThrow(yield* SnapshotStore.getRun(id))).toMatchObject({ status: "completed", attempts: 1 })
        yield* Scope.close(scope, Exit.void)
      })))

    it.live("a restarted worker takes back its own runs before older due ones", () =>
      withStore(Effect.gen(function*() {
        const store = yield* SnapshotStore.SnapshotStore
        const tag = fresh("takeback")
        const wf = Workflow.make(tag, Workflow.step("a", Effect.succeed(1)))
        const workflows = [{ name: tag, version: undefined }]
        const first = yield* Workflow.start(wf, { id: fresh("old") })
        const second = yield* Workflow.start(wf, { id: fresh("newer") })
        const claim = (owner: string) =>
          store.claimDue({ workflows, owner, ownerPrefix: "worker:pod-a/", incarnationPrefix: owner, leaseMs: 60_000, limit: 1 })
        // pod-a's first incarnation holds the older run and dies; the newer one is pending
        expect((yield* claim("worker:pod-a/1")).map((r) => r.id)).toEqual([first])
        // its next incarnation, with one free slot, takes its own run back first, not counting an attempt
        expect((yield* claim("worker:pod-a/2")).map((r) => [r.id, r.attempts])).toEqual([[first, 1]])
        expect((yield* claim("worker:pod-a/2")).map((r) => [r.id, r.attempts])).toEqual([[second, 1]])
      })))

    it.live("a run whose step always fails ends failed, not dead; retry re-executes the failed step", () =>
      withStore(Effect.gen(function*() {
        let approve = false
        const { counts, track } = tracker()
        const tag = fresh("declined")
        const wf = Workflow.make(tag, Effect.gen(function*() {
          yield* Workflow.step("reserve", track("reserve", 1))
          return yield* Workflow.step("charge", Effect.flatMap(track("charge", 0), () => approve ? Effect.succeed("charged") : Effect.fail("declined")))
        }))
        const id = yield* Workflow.start(wf, { id: fresh("run") })
        const scope = yield* Scope.make()
        yield* startWorker({ workflows: [wf], workerId: "pod", pollInterval: "20 millis" }, scope)
        expect(yield* Effect.flip(Workflow.result(wf, id))).toBe("declined")
        expect(Option.getOrThrow(yield* SnapshotStore.getRun(id)).status).toBe("failed")
        approve = true
        expect(yield* Workflow.retry(id)).toBe(true)
        expect(yield* Workflow.result(wf, id)).toBe("charged")
        expect([...counts]).toEqual([["reserve", 1], ["charge", 2]])
        yield* Scope.close(scope, Exit.void)
      })))

    it.live("a started run wakes a worker at once where the store can tell (Postgres NOTIFY, memory); else it polls", () =>
      withStore(Effect.gen(function*() {
        const tag = fresh("woken")
        const wf = Workflow.make(tag, Workflow.step("a", Effect.succeed(1)))
        const scope = yield* Scope.make()
        const polls = name === "SqliteStore"
        yield* startWorker({ workflows: [wf], workerId: "sleepy", pollInterval: polls ? "100 millis" : "1 hour" }, scope)
        yield* Effect.sleep("100 millis") // the worker is listening, and idle
        const id = yield* Workflow.start(wf, { id: fresh("run") })
        expect(yield* Workflow.result(wf, id).pipe(Effect.timeout("5 seconds"))).toBe(1)
        yield* Scope.close(scope, Exit.void)
      })))
  })
}

describe("workers: configuration", () => {
  it.effect("a store that cannot queue runs is refused, by name", () =>
    Effect.gen(function*() {
      const adapter = SnapshotStore.layer({ save: () => undefined, load: () => null, delete: () => undefined, list: () => [] })
      const wf = Workflow.make("w", Workflow.step("a", Effect.succeed(1)))
      const error = yield* Effect.flip(Effect.scoped(Layer.build(Worker.layer({ workflows: [wf] }).pipe(Layer.provide(adapter)))))
      expect(error).toMatchObject({ _tag: "StoreError", reason: "Unsupported" })
    }))
})

describe("workers on PgStore: two live workers wrongly given one id", () => {
  it.live("take runs from each other (LeaseLost), but never commit a step twice", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      // every overwrite of a step row (a second commit of one step) is recorded here
      yield* sql`CREATE TABLE IF NOT EXISTS step_overwrites (run_id text, step_key text, old_owner text, new_owner text)`
      yield* sql.unsafe(`CREATE OR REPLACE FUNCTION record_overwrite() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO step_overwrites VALUES (OLD.run_id, OLD.step_key, OLD.owner, NEW.owner); RETURN NEW; END $$`)
      yield* sql.unsafe(`CREATE OR REPLACE TRIGGER record_overwrite BEFORE UPDATE ON effect_resume_runs_steps
        FOR EACH ROW EXECUTE FUNCTION record_overwrite()`)
      const { counts, track } = tracker()
      const tag = fresh("twins")
      const wf = Workflow.make(tag, (input: { readonly n: number }) =>
        Effect.forEach(["a", "b", "c", "d", "e"], (key) =>
          Workflow.step(key, Effect.zipRight(Effect.sleep("5 millis"), track(`${input.n}:${key}`, key)))))
      const ids = yield* Effect.forEach(Array.from({ length: 12 }, (_, n) => n), (n) => Workflow.start(wf, { id: fresh(`t${n}`), input: { n } }))
      const scopes = yield* Effect.forEach([1, 2], () => Scope.make())
      // one id, two live processes' worth of workers: each sees the other's runs as its own dead incarnation's
      yield* Effect.forEach(scopes, (scope) => startWorker({ workflows: [wf], workerId: "twin", concurrency: 4, pollInterval: "10 millis" }, scope))
      const results = yield* Effect.forEach(ids, (id) => Workflow.result(wf, id).pipe(Effect.timeout("30 seconds")), { concurrency: "unbounded" })
      expect(results.every((r) => r.join("") === "abcde")).toBe(true)
      yield* Effect.forEach(scopes, (scope) => Scope.close(scope, Exit.void))
      const overwrites = yield* sql`SELECT * FROM step_overwrites WHERE run_id = ANY(${ids})`
      expect(overwrites).toEqual([])
      // side effects may have run twice (a step in flight when its run was taken), commits never
      expect(counts.size).toBe(60)
      yield* sql.unsafe(`DROP TRIGGER record_overwrite ON effect_resume_runs_steps`)
    }).pipe(
      Effect.provide(PgStore.layer({ url: pgUrl })),
      Effect.provide(PgClient.layer({ url: Redacted.make(pgUrl), maxConnections: 2 })),
      Effect.scoped
    ), 60_000)
})
