/**
 * The store contract's part for inspecting and retention: `listRuns`, `countRuns`, `inspect`, `prune`.
 * Run by `StoreContract.suite` on every store; a five-method adapter store (no run records) derives
 * them from its documents, so the durable-run cases are skipped there and the saved-document ones run.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Option, type Scope } from "effect"
import * as ResumeState from "../ResumeState.js"
import type * as Snapshot from "../Snapshot.js"
import { SnapshotStore, type SnapshotStoreService, type StoreError } from "../SnapshotStore.js"
import * as Workflow from "../Workflow.js"

type WithStore = <A, E>(f: (store: SnapshotStoreService) => Effect.Effect<A, E>) => Effect.Effect<A, unknown, Scope.Scope>

const stateOf = (entries: Record<string, Snapshot.JsonValue>): ResumeState.ResumeState =>
  ResumeState.make(Object.entries(entries).map(([key, value]) => [key, { result: { ok: true, value }, stepId: key }]))

const snapshotOf = (status: Snapshot.ExecutionStatus, steps: Record<string, Snapshot.JsonValue>): Snapshot.WorkflowSnapshot => ({
  formatVersion: 1,
  steps: Object.fromEntries(Object.entries(steps).map(([key, value]) => [key, { ok: true, value }])),
  execution: {
    status,
    lastUpdated: new Date().toISOString(),
    ...(status === "running" ? {} : { completedAt: new Date().toISOString() })
  },
  metadata: { workflowName: "saved" }
})

const three = Workflow.make("three", Effect.gen(function*() {
  const a = yield* Workflow.step("a", Effect.succeed(1))
  const b = yield* Workflow.step("b", Effect.sleep("5 millis").pipe(Effect.as(a + 1)))
  return yield* Workflow.step("c", Effect.succeed(b + 1))
}))

const failing = Workflow.make("failing", Effect.gen(function*() {
  yield* Workflow.step("ok", Effect.succeed("fine"))
  return yield* Workflow.step("bad", Effect.fail("nope"))
}))

export const inspectionSuite = (withStore: WithStore, scope: () => string) =>
  describe("inspecting and retention (listRuns, countRuns, inspect, prune)", () => {
    const durable = <A, E>(f: (store: SnapshotStoreService) => Effect.Effect<A, E, SnapshotStore>) =>
      withStore((store) => store.fencing ? Effect.provideService(f(store), SnapshotStore, store) : Effect.void)

    it.scopedLive("listRuns shows each durable run's record and step count; filters by status, workflow, prefix, since, limit", () =>
      durable((store) =>
        Effect.gen(function*() {
          const prefix = scope()
          const before = new Date(Date.now() - 1_000)
          yield* Workflow.runDurable(three, { id: `${prefix}done` })
          yield* Effect.exit(Workflow.runDurable(failing, { id: `${prefix}failed` }))
          // a run held by a live owner, inside its second step
          const inside = yield* Deferred.make<void>()
          const release = yield* Deferred.make<void>()
          const held = Workflow.make("held", Effect.gen(function*() {
            yield* Workflow.step("first", Effect.succeed(1))
            yield* Workflow.step("wait", Effect.zipRight(Deferred.succeed(inside, undefined), Deferred.await(release)))
          }))
          const fiber = yield* Effect.fork(Workflow.runDurable(held, { id: `${prefix}held` }))
          yield* Deferred.await(inside)

          const all = yield* store.listRuns({ prefix })
          expect(all.map((r) => r.id).sort()).toEqual([`${prefix}done`, `${prefix}failed`, `${prefix}held`])
          const byId = new Map(all.map((r) => [r.id, r]))
          expect(byId.get(`${prefix}done`)).toMatchObject({ workflow: "three", status: "completed", attempts: 1, steps: 3, leased: false })
          expect(byId.get(`${prefix}done`)?.completedAt).toBeDefined()
          expect(byId.get(`${prefix}failed`)).toMatchObject({ workflow: "failing", status: "failed", steps: 2 })
          const live = byId.get(`${prefix}held`)!
          expect(live).toMatchObject({ workflow: "held", status: "running", leased: true, steps: 1, completedAt: undefined })
          expect(live.owner).toEqual(expect.any(String))

          expect((yield* store.listRuns({ prefix, status: "completed" })).map((r) => r.id)).toEqual([`${prefix}done`])
          expect((yield* store.listRuns({ prefix, status: ["failed", "running"] })).map((r) => r.id).sort())
            .toEqual([`${prefix}failed`, `${prefix}held`])
          expect((yield* store.listRuns({ prefix, workflow: "failing" })).map((r) => r.id)).toEqual([`${prefix}failed`])
          expect(yield* store.listRuns({ prefix, limit: 2 })).toHaveLength(2)
          expect(yield* store.listRuns({ prefix, since: new Date(Date.now() + 60_000) })).toHaveLength(0)
          expect(yield* store.listRuns({ prefix, since: before })).toHaveLength(3)
          expect(yield* store.listRuns({ prefix: `${prefix}d` })).toHaveLength(1)

          const counts = yield* store.countRuns({ prefix })
          expect(counts).toEqual({ pending: 0, running: 1, completed: 1, failed: 1, cancelled: 0, dead: 0 })
          expect((yield* store.countRuns({ prefix, workflow: "three" })).completed).toBe(1)

          yield* Deferred.succeed(release, undefined)
          expect(Exit.isSuccess(yield* Fiber.await(fiber))).toBe(true)
        })
      ))

    it.scopedLive("inspect gives a durable run's steps in order with database-clock times, attempt and owner", () =>
      durable((store) =>
        Effect.gen(function*() {
          const id = scope() + "timeline"
          yield* Effect.exit(Workflow.runDurable(failing, { id }))
          const details = Option.getOrThrow(yield* store.inspect(id))
          expect(details.run).toMatchObject({ id, workflow: "failing", status: "failed", attempts: 1 })
          expect(details.steps.map((s) => s.key)).toEqual(["ok", "bad"])
          expect(details.steps.map((s) => s.position)).toEqual([0, 1])
          expect(details.steps[0]!.entry.result).toEqual({ ok: true, value: "fine" })
          expect(details.steps[1]!.entry.result.ok).toBe(false)
          for (const step of details.steps) {
            expect(step.attempt).toBe(1)
            expect(step.owner).toEqual(expect.any(String))
            const started = Date.parse(step.startedAt!)
            const completed = Date.parse(step.completedAt!)
            expect(completed).toBeGreaterThanOrEqual(started)
            expect(Math.abs(completed - Date.now())).toBeLessThan(60_000)
          }

          const timed = scope() + "timed"
          yield* Workflow.runDurable(three, { id: timed })
          const b = Option.getOrThrow(yield* store.inspect(timed)).steps.find((s) => s.key === "b")!
          // "b" sleeps 5 ms: its start is its completion minus its duration
          expect(Date.parse(b.completedAt!) - Date.parse(b.startedAt!)).toBeGreaterThanOrEqual(4)

          expect(Option.isNone(yield* store.inspect(scope() + "missing"))).toBe(true)
        })
      ))

    it.scopedLive("a saved document is a run too: listed with its steps, inspected without step times", () =>
      withStore((store) =>
        Effect.gen(function*() {
          const prefix = scope()
          yield* store.save(`${prefix}state`, stateOf({ x: 1, y: 2 }))
          yield* store.save(`${prefix}snap`, snapshotOf("completed", { p: "a", q: "b", r: "c" }))
          const runs = new Map((yield* store.listRuns({ prefix })).map((r) => [r.id, r]))
          expect(runs.get(`${prefix}state`)).toMatchObject({ status: "running", steps: 2 })
          expect(runs.get(`${prefix}snap`)).toMatchObject({ status: "completed", steps: 3 })
          // a snapshot names its workflow: the run lists under it (an imported run stays retryable by its workers)
          expect([runs.get(`${prefix}snap`)?.workflow, runs.get(`${prefix}state`)?.workflow]).toEqual(["saved", undefined])
          expect((yield* store.listRuns({ prefix, workflow: "saved" })).map((r) => r.id)).toEqual([`${prefix}snap`])
          const details = Option.getOrThrow(yield* store.inspect(`${prefix}snap`))
          expect(details.run.status).toBe("completed")
          expect(details.steps.map((s) => [s.key, s.entry.result, s.startedAt, s.attempt])).toEqual([
            ["p", { ok: true, value: "a" }, undefined, undefined],
            ["q", { ok: true, value: "b" }, undefined, undefined],
            ["r", { ok: true, value: "c" }, undefined, undefined]
          ])
          expect((yield* store.countRuns({ prefix })).completed).toBe(1)
          // a step written again over the saved document counts once, in its place, as `load` shows it
          yield* store.saveStep(`${prefix}snap`, "p", { result: { ok: true, value: "again" }, stepId: "p" })
          yield* store.saveStep(`${prefix}snap`, "s", { result: { ok: true, value: "new" }, stepId: "s" })
          expect((yield* store.listRuns({ prefix: `${prefix}snap` })).map((r) => r.steps)).toEqual([4])
          const again = Option.getOrThrow(yield* store.inspect(`${prefix}snap`))
          expect(again.steps.map((s) => [s.key, s.position, s.entry.result])).toEqual([
            ["p", 0, { ok: true, value: "again" }],
            ["q", 1, { ok: true, value: "b" }],
            ["r", 2, { ok: true, value: "c" }],
            ["s", 3, { ok: true, value: "new" }]
          ])
          const loaded = Option.getOrThrow(yield* store.loadResumeState(`${prefix}snap`))
          expect([...loaded.steps.keys()]).toEqual(["p", "q", "r", "s"])
        })
      ))

    it.scopedLive("prune removes finished runs older than a duration with their steps, in batches; never unfinished ones", () =>
      withStore((store) =>
        Effect.gen(function*() {
          const prefix = scope()
          for (let i = 0; i < 5; i++) yield* store.save(`${prefix}done${i}`, snapshotOf("completed", { s: i }))
          yield* store.save(`${prefix}failed`, snapshotOf("failed", { s: "x" }))
          yield* store.save(`${prefix}open`, snapshotOf("running", { s: "y" }))

          // nothing is a day old yet
          expect(yield* store.prune({ olderThan: "1 day", prefix })).toBe(0)
          expect(yield* store.prune({ olderThan: 0, prefix, dryRun: true })).toBe(6)
          expect(yield* store.prune({ olderThan: 0, prefix, status: "failed", dryRun: true })).toBe(1)
          expect(yield* store.listRuns({ prefix })).toHaveLength(7)

          const progress: Array<number> = []
          const removed = yield* store.prune({
            olderThan: 0,
            prefix,
            status: "completed",
            batchSize: 2,
            onProgress: (n) => Effect.sync(() => progress.push(n))
          })
          expect(removed).toBe(5)
          expect(progress.length).toBeGreaterThanOrEqual(3)
          expect(progress.at(-1)).toBe(5)
          expect([...progress].sort((a, b) => a - b)).toEqual(progress)
          expect(Option.isNone(yield* store.load(`${prefix}done0`))).toBe(true)
          expect(Option.isNone(yield* store.inspect(`${prefix}done3`))).toBe(true)

          expect(yield* store.prune({ olderThan: 0, prefix })).toBe(1)
          expect((yield* store.listRuns({ prefix })).map((r) => r.id)).toEqual([`${prefix}open`])
        })
      ))

    it.scopedLive("prune removes a durable run's step rows, and leaves a running one alone", () =>
      durable((store) =>
        Effect.gen(function*() {
          const prefix = scope()
          yield* Workflow.runDurable(three, { id: `${prefix}old` })
          const gate = yield* Deferred.make<void>()
          const inside = yield* Deferred.make<void>()
          const open = Workflow.make("open", Workflow.step("wait", Effect.zipRight(Deferred.succeed(inside, undefined), Deferred.await(gate))))
          const fiber = yield* Effect.fork(Workflow.runDurable(open, { id: `${prefix}open` }))
          yield* Deferred.await(inside)
          expect(yield* store.prune({ olderThan: 0, prefix })).toBe(1)
          expect(Option.isNone(yield* store.inspect(`${prefix}old`))).toBe(true)
          // the same id runs afresh: no step of the pruned run is left to replay
          const executed: Array<string> = []
          const again = Workflow.make("three", Workflow.step("a", Effect.sync(() => executed.push("a"))))
          yield* Workflow.runDurable(again, { id: `${prefix}old` })
          expect(executed).toEqual(["a"])
          expect((yield* store.listRuns({ prefix, status: "running" })).map((r) => r.id)).toEqual([`${prefix}open`])
          yield* Deferred.succeed(gate, undefined)
          yield* Fiber.join(fiber)
        })
      ))

    it.scoped("prune and listRuns refuse bad options with InvalidOption", () =>
      withStore((store) =>
        Effect.gen(function*() {
          for (
            const bad of [
              store.prune({ olderThan: "forever" as never }),
              store.prune({ olderThan: Infinity }),
              store.prune({ olderThan: 0, status: "running" as never }),
              store.prune({ olderThan: 0, batchSize: 0 }),
              store.listRuns({ since: new Date(Number.NaN) }),
              store.listRuns({ status: "nope" as never })
            ] as Array<Effect.Effect<unknown, StoreError>>
          ) {
            expect(yield* Effect.flip(bad)).toMatchObject({ _tag: "StoreError", reason: "InvalidOption" })
          }
        })
      ))
  })
