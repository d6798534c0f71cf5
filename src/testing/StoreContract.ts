/**
 * `effect-resume/testing`: the store contract. Every SnapshotStore Layer in this package passes it;
 * the author of a custom store runs it in a vitest file of their own:
 *
 *   import { StoreContract } from "effect-resume/testing"
 *   StoreContract.suite("MyStore", MyStore.layer(options))
 *   // or, to also test the store-wide prefix, a factory over the same data:
 *   StoreContract.suite("MyStore", (extra) => MyStore.layer({ ...options, ...extra }))
 *
 * A factory is called with `{}` and with `{ prefix }`; both layers must see the same data.
 * Tests isolate themselves by id prefix, so one database can serve the whole suite.
 * Needs `vitest` and `@effect/vitest` (dev dependencies of the caller).
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Context, Deferred, Effect, Fiber, Layer, Option, Schema } from "effect"
import * as ResumeState from "../ResumeState.js"
import * as Workflow from "../Workflow.js"
import { inspectionSuite } from "./inspectionContract.js"
import type * as Snapshot from "../Snapshot.js"
import { maxIdLength, SnapshotStore, type SnapshotStoreService, type StoreError } from "../SnapshotStore.js"

export type StoreFactory = (options: { readonly prefix?: string }) => Layer.Layer<SnapshotStore, StoreError>

export interface SuiteOptions {
  /** Size of the large ResumeState value the contract saves and loads back, in bytes. Default 5 MB. */
  readonly bigValueBytes?: number
  /** Size of the large WorkflowSnapshot, in bytes. Default 10 MB. */
  readonly bigSnapshotBytes?: number
}

const stateOf = (entries: Record<string, Snapshot.JsonValue>): ResumeState.ResumeState =>
  ResumeState.make(Object.entries(entries).map(([key, value]) => [key, { result: { ok: true, value }, stepId: key }]))

const snapshotOf = (value: Snapshot.JsonValue): Snapshot.WorkflowSnapshot => ({
  formatVersion: 1,
  steps: { "user:1": { ok: true, value } },
  execution: { status: "completed", lastUpdated: "2026-01-01T00:00:00.000Z", completedAt: "2026-01-01T00:00:00.000Z" },
  metadata: { workflowId: "wf", input: { n: 1 } }
})

let counter = 0
/** A fresh id namespace per test, so tests sharing one database never see each other's rows. */
const scope = () => `t${Date.now().toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 6)}/`

const build = (layer: Layer.Layer<SnapshotStore, StoreError>) =>
  Effect.map(Layer.build(layer), (ctx) => Context.get(ctx, SnapshotStore))

const ids = (entries: ReadonlyArray<{ id: string }>) => entries.map((e) => e.id)

const bigArray = (bytes: number) => {
  const chunk = "x".repeat(1024)
  return Array.from({ length: Math.ceil(bytes / 1024) }, (_, i) => `${i}:${chunk}`)
}

export const suite = (
  name: string,
  store: Layer.Layer<SnapshotStore, StoreError> | StoreFactory,
  suiteOptions: SuiteOptions = {}
) =>
  describe(`store contract: ${name}`, () => {
    const isLayer = Layer.isLayer(store)
    const factory: StoreFactory = isLayer ? () => store as Layer.Layer<SnapshotStore, StoreError> : store as StoreFactory
    const withStore = <A, E>(f: (store: SnapshotStoreService) => Effect.Effect<A, E>) =>
      Effect.flatMap(build(factory({})), f)

    it.scoped("save / load round-trips a ResumeState", () =>
      withStore((store) =>
        Effect.gen(function*() {
          const id = scope() + "rs"
          const state = stateOf({ "user:1": { id: "1", name: "Ada" }, "posts:1": [1, 2, 3] })
          yield* store.save(id, state)
          const loaded = yield* store.load(id)
          expect(Option.isSome(loaded)).toBe(true)
          const value = Option.getOrThrow(loaded)
          expect(ResumeState.isResumeState(value)).toBe(true)
          expect(value).toEqual(state)
        })
      ))

    it.scoped("save / load round-trips a WorkflowSnapshot, and loadResumeState converts it", () =>
      withStore((store) =>
        Effect.gen(function*() {
          const id = scope() + "snap"
          const snapshot = snapshotOf({ nested: { a: [true, null, 1.5, "x"] } })
          yield* store.save(id, snapshot)
          expect(Option.getOrThrow(yield* store.load(id))).toEqual(snapshot)
          const resumed = Option.getOrThrow(yield* store.loadResumeState(id))
          expect(ResumeState.isStepComplete(resumed, "user:1")).toBe(true)
          expect(resumed.steps.get("user:1")?.result).toEqual({ ok: true, value: { nested: { a: [true, null, 1.5, "x"] } } })
        })
      ))

    it.scoped("overwrite replaces; delete removes; a missing id loads as none", () =>
      withStore((store) =>
        Effect.gen(function*() {
          const id = scope() + "ow"
          yield* store.save(id, stateOf({ a: 1 }))
          yield* store.save(id, stateOf({ a: 2 }))
          expect(Option.getOrThrow(yield* store.load(id))).toEqual(stateOf({ a: 2 }))
          expect(yield* store.list({ prefix: id })).toHaveLength(1)
          yield* store.delete(id)
          expect(yield* store.load(id)).toEqual(Option.none())
          expect(yield* store.loadResumeState(id)).toEqual(Option.none())
          yield* store.delete(id) // deleting a missing id is not an error
          expect(yield* store.load(scope() + "never-saved")).toEqual(Option.none())
        })
      ))

    it.scoped("list is newest first, with limit, and updatedAt is ISO-8601", () =>
      withStore((store) =>
        Effect.gen(function*() {
          const p = scope()
          for (const id of ["a", "b", "c"]) yield* store.save(p + id, stateOf({ [id]: id }))
          expect(ids(yield* store.list({ prefix: p }))).toEqual([p + "c", p + "b", p + "a"])
          yield* store.save(p + "a", stateOf({ a: "again" }))
          const listed = yield* store.list({ prefix: p })
          expect(ids(listed)).toEqual([p + "a", p + "c", p + "b"])
          expect(ids(yield* store.list({ prefix: p, limit: 2 }))).toEqual([p + "a", p + "c"])
          expect(yield* store.list({ prefix: p, limit: 0 })).toEqual([])
          for (const entry of listed) {
            expect(entry.updatedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/)
            expect(new Date(entry.updatedAt).toISOString()).toBe(entry.updatedAt)
          }
          const all = yield* store.list()
          expect(ids(all)).toEqual(expect.arrayContaining([p + "a", p + "b", p + "c"]))
        })
      ))

    it.scoped("what cannot load back is refused at save time with a StoreError, not stored", () =>
      withStore((store) =>
        Effect.gen(function*() {
          const id = scope() + "refused"
          const badSnapshot = { ...snapshotOf(1), formatVersion: 2 } as unknown as Snapshot.WorkflowSnapshot
          const notJson = ResumeState.make([["k", { result: { ok: true, value: 10n as unknown as Snapshot.JsonValue } }]])
          const malformed = ResumeState.make([["k", { result: { ok: "yes" } } as unknown as ResumeState.ResumeStateEntry]])
          for (const state of [badSnapshot, notJson, malformed]) {
            const error = yield* Effect.flip(store.save(id, state))
            expect(error).toMatchObject({ _tag: "StoreError", reason: "InvalidOption" })
          }
          const stepError = yield* Effect.flip(store.saveStep(id, "k", { result: { ok: true, value: 10n as unknown as Snapshot.JsonValue } }))
          expect(stepError).toMatchObject({ _tag: "StoreError", reason: "InvalidOption" })
          expect(stepError.message).toContain("$.result.value")
          expect(yield* store.load(id)).toEqual(Option.none())
        })
      ))

    it.scoped("parallel saveStep calls on one run all land", () =>
      withStore((store) =>
        Effect.gen(function*() {
          const id = scope() + "parallel"
          const keys = Array.from({ length: 10 }, (_, i) => `s${i}`)
          yield* Effect.forEach(keys, (key) => store.saveStep(id, key, { result: { ok: true, value: key }, stepId: key }), {
            concurrency: "unbounded"
          })
          const loaded = Option.getOrThrow(yield* store.loadResumeState(id))
          expect([...loaded.steps.keys()].sort()).toEqual(keys)
        })
      ))

    it.scoped("a bad limit is a StoreError", () =>
      withStore((store) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(store.list({ limit: -1 }))
          expect(error._tag).toBe("StoreError")
          expect(error.reason).toBe("InvalidOption")
        })
      ))

    it.scoped("list prefix matches literally: % _ and \\ are not wildcards, case matters", () =>
      withStore((store) =>
        Effect.gen(function*() {
          const p = scope()
          const all = ["50%off", "50xoff", "a_b", "axb", "c\\d", "c\\\\d", "cxd", "Case", "case"]
          for (const id of all) yield* store.save(p + id, stateOf({ id }))
          const matching = (prefix: string) =>
            Effect.map(store.list({ prefix: p + prefix }), (es) => ids(es).map((id) => id.slice(p.length)).sort())
          expect(yield* matching("50%")).toEqual(["50%off"])
          expect(yield* matching("a_")).toEqual(["a_b"])
          expect(yield* matching("c\\")).toEqual(["c\\\\d", "c\\d"])
          expect(yield* matching("C")).toEqual(["Case"])
          expect(yield* matching("%")).toEqual([])
        })
      ))

    const prefixTest = isLayer ? it.scoped.skip : it.scoped
    prefixTest(`a store-wide prefix scopes ids: saved as prefix + id, listed without it${
      isLayer ? " (skipped: pass a factory instead of a Layer to test it)" : ""
    }`, () =>
      Effect.gen(function*() {
        const p = scope()
        const plain = yield* build(factory({}))
        const tenant = yield* build(factory({ prefix: p + "tenant:" }))
        yield* tenant.save("wf-1", stateOf({ x: 1 }))
        yield* plain.save(p + "other", stateOf({ y: 1 }))
        expect(Option.getOrThrow(yield* tenant.load("wf-1"))).toEqual(stateOf({ x: 1 }))
        expect(Option.isSome(yield* plain.load(p + "tenant:wf-1"))).toBe(true)
        expect(yield* tenant.load(p + "other")).toEqual(Option.none())
        expect(ids(yield* tenant.list())).toEqual(["wf-1"])
        expect(ids(yield* tenant.list({ prefix: "wf" }))).toEqual(["wf-1"])
        expect(ids(yield* tenant.list({ prefix: "x" }))).toEqual([])
        // the inspecting methods add and strip the prefix alike, and prune stays inside it
        yield* tenant.save("done", snapshotOf({ z: 1 }))
        expect(ids(yield* tenant.listRuns()).sort()).toEqual(["done", "wf-1"])
        expect(ids(yield* tenant.listRuns({ prefix: "wf" }))).toEqual(["wf-1"])
        expect(Option.getOrThrow(yield* tenant.inspect("wf-1")).run.id).toBe("wf-1")
        expect(yield* tenant.countRuns()).toMatchObject({ running: 1, completed: 1 })
        expect(yield* tenant.prune({ olderThan: 0 })).toBe(1)
        expect(ids(yield* tenant.listRuns())).toEqual(["wf-1"])
        expect(Option.isSome(yield* plain.load(p + "other"))).toBe(true)
        yield* tenant.delete("wf-1")
        expect(yield* plain.load(p + "tenant:wf-1")).toEqual(Option.none())
      }))

    it.scoped("unicode and quote-laden ids", () =>
      withStore((store) =>
        Effect.gen(function*() {
          const p = scope()
          const weird = ["ünïcødé/码/🙂", "it's \"quoted\"", "back\\slash", "'; DROP TABLE x; --", "tab\tnew\nline", "__proto__"]
          for (const [i, id] of weird.entries()) yield* store.save(p + id, stateOf({ [id]: i }))
          for (const [i, id] of weird.entries()) {
            expect(Option.getOrThrow(yield* store.load(p + id))).toEqual(stateOf({ [id]: i }))
          }
          expect(ids(yield* store.list({ prefix: p })).sort()).toEqual(weird.map((id) => p + id).sort())
        })
      ))

    it.scoped("a large value round-trips", () =>
      withStore((store) =>
        Effect.gen(function*() {
          const id = scope() + "big"
          const value = bigArray(suiteOptions.bigValueBytes ?? 5 * 1024 * 1024)
          yield* store.save(id, stateOf({ big: value }))
          const loaded = Option.getOrThrow(yield* store.loadResumeState(id))
          const entry = loaded.steps.get("big")
          expect(entry?.result.ok && (entry.result.value as Array<string>).length).toBe(value.length)
          expect(entry?.result).toEqual({ ok: true, value })
        })
      ), 60_000)

    it.scoped("a large WorkflowSnapshot round-trips", () =>
      withStore((store) =>
        Effect.gen(function*() {
          const id = scope() + "big-snapshot"
          const snapshot = snapshotOf({ pages: bigArray(suiteOptions.bigSnapshotBytes ?? 10 * 1024 * 1024) })
          yield* store.save(id, snapshot)
          expect(Option.getOrThrow(yield* store.load(id))).toEqual(snapshot)
        })
      ), 60_000)

    it.scoped("1 KB ids and prefixes, with % _ ' \\ and unicode in them", () =>
      withStore((store) =>
        Effect.gen(function*() {
          const p = scope() + "%_'\\ü码".repeat(100) + "x".repeat(1024 - 600)
          const ids = [p + "a", p + "b", p.slice(0, -1) + "y" + "a"]
          for (const id of ids) yield* store.save(id, stateOf({ id }))
          for (const id of ids) expect(Option.getOrThrow(yield* store.load(id))).toEqual(stateOf({ id }))
          expect((yield* store.list({ prefix: p })).map((e) => e.id)).toEqual([p + "b", p + "a"])
        })
      ))

    it.scoped("ids are checked alike: too long, NUL or a lone surrogate is an InvalidOption StoreError", () =>
      withStore((store) =>
        Effect.gen(function*() {
          const p = scope()
          const state = stateOf({ a: 1 })
          const longest = p + "x".repeat(maxIdLength - p.length)
          yield* store.save(longest, state)
          expect(Option.isSome(yield* store.load(longest))).toBe(true)
          const bad = [
            [longest + "x", "more than the 2048 allowed"],
            [p + "a\u0000b", "NUL"],
            [p + "a\uD800", "lone surrogate"],
            [p + "\uDC00a", "lone surrogate"]
          ] as const
          for (const [id, problem] of bad) {
            for (
              const op of [
                store.save(id, state),
                store.load(id),
                store.loadResumeState(id),
                store.delete(id),
                store.saveStep(id, "k", { result: { ok: true, value: 1 } }),
                store.appendSteps(id, []),
                store.list({ prefix: id })
              ]
            ) {
              const error = yield* Effect.flip(op)
              expect(error).toMatchObject({ _tag: "StoreError", reason: "InvalidOption" })
              expect(error.message).toContain(problem)
            }
          }
          // a well-formed pair is one character, not a lone surrogate
          yield* store.save(p + "😀", state)
          expect(ids(yield* store.list({ prefix: p + "😀" }))).toEqual([p + "😀"])
        })
      ))

    it.scoped("a value or step key holding a lone surrogate is refused at save time, naming its path", () =>
      withStore((store) =>
        Effect.gen(function*() {
          const id = scope() + "surrogate"
          const inValue = stateOf({ k: { text: "a\uD800" } })
          const error = yield* Effect.flip(store.save(id, inValue))
          expect(error).toMatchObject({ _tag: "StoreError", reason: "InvalidOption" })
          expect(error.message).toContain("$.result.value.text")
          const inKey = stateOf({ k: { ["\uDC00"]: 1 } })
          expect(yield* Effect.flip(store.save(id, inKey))).toMatchObject({ reason: "InvalidOption" })
          const inSnapshot = yield* Effect.flip(store.save(id, snapshotOf(["ok", "\uD83D"])))
          expect(inSnapshot.message).toContain('$.steps["user:1"].value[1]')
          const step = yield* Effect.flip(store.saveStep(id, "k", { result: { ok: true, value: "\uDFFF" } }))
          expect(step.message).toContain("$.result.value")
          expect(yield* Effect.flip(store.saveStep(id, "\uD800", { result: { ok: true, value: 1 } }))).toMatchObject({ reason: "InvalidOption" })
          expect(yield* store.load(id)).toEqual(Option.none())
        })
      ))

    it.scoped("list is last-saved-first even when saves share a timestamp", () =>
      withStore((store) =>
        Effect.gen(function*() {
          const p = scope()
          const n = Array.from({ length: 30 }, (_, i) => p + String(i).padStart(2, "0"))
          // saved back to back: many share a millisecond, so only a save counter can order them
          for (const id of n) yield* store.save(id, stateOf({ id }))
          expect(ids(yield* store.list({ prefix: p }))).toEqual([...n].reverse())
          yield* store.save(n[10]!, stateOf({ again: true }))
          expect(ids(yield* store.list({ prefix: p, limit: 2 }))).toEqual([n[10], n[29]])
        })
      ))

    describe("incremental checkpoints (appendSteps / saveStep)", () => {
      const entry = (value: Snapshot.JsonValue, stepId: string): ResumeState.ResumeStateEntry => ({ result: { ok: true, value }, stepId })

      it.scoped("append to a saved ResumeState: later entries win, order is kept", () =>
        withStore((store) =>
          Effect.gen(function*() {
            const id = scope() + "append"
            yield* store.save(id, stateOf({ a: 1, b: 2 }))
            yield* store.saveStep(id, "c", entry(3, "c"))
            yield* store.appendSteps(id, [["b", entry(20, "b")], ["d", entry(4, "d")]])
            const loaded = Option.getOrThrow(yield* store.load(id)) as ResumeState.ResumeState
            expect(ResumeState.isResumeState(loaded)).toBe(true)
            expect([...loaded.steps]).toEqual([["a", entry(1, "a")], ["b", entry(20, "b")], ["c", entry(3, "c")], ["d", entry(4, "d")]])
          })
        ))

      it.scoped("append to a saved snapshot: it stays a snapshot with its execution and metadata", () =>
        withStore((store) =>
          Effect.gen(function*() {
            const id = scope() + "append-snapshot"
            const snapshot = snapshotOf({ n: 1 })
            yield* store.save(id, snapshot)
            yield* store.saveStep(id, "posts:1", {
              result: { ok: true, value: [1] },
              stepId: "fetchPosts",
              warnings: [{ type: "lossy_value", stepId: "fetchPosts", path: "$", reason: "non-json" }]
            })
            const loaded = Option.getOrThrow(yield* store.load(id)) as Snapshot.WorkflowSnapshot
            expect(loaded.execution).toEqual(snapshot.execution)
            expect(loaded.metadata).toEqual(snapshot.metadata)
            expect(loaded.steps).toEqual({ ...snapshot.steps, "posts:1": { ok: true, value: [1], stepId: "fetchPosts" } })
            expect(loaded.warnings).toEqual([{ type: "lossy_value", stepId: "fetchPosts", path: "$", reason: "non-json" }])
            const resumed = Option.getOrThrow(yield* store.loadResumeState(id))
            expect([...resumed.steps.keys()]).toEqual(["user:1", "posts:1"])
          })
        ))

      it.scoped("append with nothing saved starts a ResumeState, listed like any save", () =>
        withStore((store) =>
          Effect.gen(function*() {
            const p = scope()
            yield* store.save(p + "older", stateOf({ x: 1 }))
            yield* store.saveStep(p + "fresh", "k", entry("v", "k"))
            expect(Option.getOrThrow(yield* store.load(p + "fresh"))).toEqual(ResumeState.make([["k", entry("v", "k")]]))
            expect(ids(yield* store.list({ prefix: p }))).toEqual([p + "fresh", p + "older"])
            yield* store.saveStep(p + "older", "y", entry(2, "y"))
            expect(ids(yield* store.list({ prefix: p }))).toEqual([p + "older", p + "fresh"])
          })
        ))

      it.scoped("a save replaces appended steps; a delete removes them for good", () =>
        withStore((store) =>
          Effect.gen(function*() {
            const id = scope() + "replace"
            yield* store.save(id, stateOf({ a: 1 }))
            yield* store.saveStep(id, "b", entry(2, "b"))
            yield* store.save(id, stateOf({ z: 26 }))
            expect(Option.getOrThrow(yield* store.load(id))).toEqual(stateOf({ z: 26 }))
            yield* store.saveStep(id, "c", entry(3, "c"))
            yield* store.delete(id)
            expect(yield* store.load(id)).toEqual(Option.none())
            yield* store.saveStep(id, "d", entry(4, "d"))
            expect(Option.getOrThrow(yield* store.load(id))).toEqual(ResumeState.make([["d", entry(4, "d")]]))
          })
        ))

      it.scoped("many appends load back whole and in order", () =>
        withStore((store) =>
          Effect.gen(function*() {
            const id = scope() + "many"
            yield* store.save(id, ResumeState.empty)
            const keys = Array.from({ length: 200 }, (_, i) => `step:${i}`)
            for (const key of keys) yield* store.saveStep(id, key, entry({ key }, key))
            const loaded = Option.getOrThrow(yield* store.loadResumeState(id))
            expect([...loaded.steps.keys()]).toEqual(keys)
            expect(loaded.steps.get("step:199")).toEqual(entry({ key: "step:199" }, "step:199"))
          })
        ), 60_000)
    })

    inspectionSuite(withStore, scope)

    describe("durable runs: one owner, fenced checkpoints, cancel, versions", () => {
      // A store made from a five-method adapter cannot fence: runDurable refuses it, naming the stores that can
      const durable = <E>(f: (store: SnapshotStoreService) => Effect.Effect<void, E, SnapshotStore>) =>
        withStore((store): Effect.Effect<void, unknown> =>
          store.fencing
            ? Effect.provideService(f(store), SnapshotStore, store)
            : Effect.gen(function*() {
              const wf = Workflow.make("refused", Workflow.step("a", Effect.succeed(1)))
              const error = yield* Effect.flip(Workflow.runDurable(wf, { id: scope() + "x" }).pipe(Effect.provideService(SnapshotStore, store)))
              expect(error).toMatchObject({ _tag: "StoreError", reason: "Unsupported" })
              expect((error as StoreError).message).toContain("PgStore")
            })
        )
      const counter = () => {
        const counts = new Map<string, number>()
        const track = <A>(key: string, value: A) =>
          Effect.sync(() => {
            counts.set(key, (counts.get(key) ?? 0) + 1)
            return value
          })
        return { counts, track }
      }
      // A step of owner "A" under a key new to the run, as the engine's checkpoint sends it
      const freshCheckpoint = (
        store: SnapshotStoreService,
        id: string,
        key: string,
        position: number,
        value: number,
        leaseMs = 60_000,
        renew = false
      ) =>
        store.checkpoint({
          id,
          owner: "A",
          attempt: 1,
          key,
          position,
          fresh: true,
          entry: JSON.stringify({ result: { ok: true, value }, stepId: key }),
          durationMs: 1,
          leaseMs,
          renew
        })

      it.scopedLive("a run is a record: claimed, checkpointed per step, finished; a second call returns the result from it", () =>
        durable((store) =>
          Effect.gen(function*() {
            const id = scope() + "run"
            const { counts, track } = counter()
            const wf = Workflow.make("order", (input: { readonly n: number }) =>
              Effect.gen(function*() {
                const a = yield* Workflow.step("a", track("a", input.n + 1))
                const b = yield* Workflow.step("b", track("b", a * 2))
                return { total: b, at: new Date(0) }
              }), { version: "v1", success: Schema.Struct({ total: Schema.Number, at: Schema.Date }) })
            const first = yield* Workflow.runDurable(wf, { id, input: { n: 1 } })
            expect(first).toEqual({ total: 4, at: new Date(0) })
            const record = Option.getOrThrow(yield* store.getRun(id))
            expect(record).toMatchObject({
              id,
              workflow: "order",
              version: "v1",
              status: "completed",
              attempts: 1,
              leased: false,
              input: { n: 1 },
              output: { ok: true, value: { total: 4, at: "1970-01-01T00:00:00.000Z" } }
            })
            expect(record.completedAt).toBeDefined()
            // the result comes from the record: the body does not run again, and the Date is decoded
            const again = yield* Workflow.runDurable(wf, { id, input: { n: 1 } })
            expect(again).toEqual(first)
            expect(again.at).toBeInstanceOf(Date)
            expect([...counts]).toEqual([["a", 1], ["b", 1]])
            // the seed's view: a snapshot, the reference's status, the exact one in metadata
            const view = Option.getOrThrow(yield* store.load(id)) as Snapshot.WorkflowSnapshot
            expect(Object.keys(view.steps)).toEqual(["a", "b"])
            expect(view.execution.status).toBe("completed")
            expect(view.metadata).toMatchObject({ workflowId: id, workflowName: "order", definitionHash: "v1", status: "completed" })
            expect(yield* store.list({ prefix: id, status: "completed", workflow: "order" })).toMatchObject([
              { id, status: "completed", workflow: "order" }
            ])
            expect(yield* store.list({ prefix: id, status: ["running", "failed"] })).toEqual([])
          })
        ))

      it.scopedLive("a run held by a live owner: RunLocked at once, or the result after waiting; save and delete are refused", () =>
        durable((store) =>
          Effect.gen(function*() {
            const id = scope() + "locked"
            const gate = yield* Deferred.make<void>()
            const started = yield* Deferred.make<void>()
            const { counts, track } = counter()
            const wf = Workflow.make("slow", Effect.gen(function*() {
              yield* Workflow.step("a", Effect.zipRight(Deferred.succeed(started, undefined), track("a", 1)))
              yield* Deferred.await(gate)
              return yield* Workflow.step("b", track("b", 2))
            }))
            const owner = yield* Effect.fork(Workflow.runDurable(wf, { id }))
            yield* Deferred.await(started)
            const locked = yield* Effect.flip(Workflow.runDurable(wf, { id }))
            expect(locked).toMatchObject({ _tag: "RunLocked", runId: id })
            expect(yield* Effect.flip(store.save(id, ResumeState.empty))).toMatchObject({ _tag: "RunLocked" })
            expect(yield* Effect.flip(store.delete(id))).toMatchObject({ _tag: "RunLocked" })
            const waiter = yield* Effect.fork(Workflow.runDurable(wf, { id, onLocked: "wait" }))
            yield* Deferred.succeed(gate, undefined)
            expect(yield* Fiber.join(owner)).toBe(2)
            expect(yield* Fiber.join(waiter)).toBe(2)
            expect([...counts]).toEqual([["a", 1], ["b", 1]])
          })
        ))

      it.scopedLive("an owner whose lease passed to another stops at its next checkpoint with LeaseLost, writing nothing", () =>
        durable((store) =>
          Effect.gen(function*() {
            const id = scope() + "fenced"
            const claimed = Option.getOrThrow(
              yield* store.claim({ id, workflow: "w", version: undefined, owner: "A", leaseMs: 60_000, input: undefined, reopenFailed: false })
            )
            expect(claimed).toBe(1)
            const entry = (value: number) => JSON.stringify({ result: { ok: true, value }, stepId: "s" })
            // renew: a checkpoint that renews the lease as it writes (on Postgres another statement: the run
            // row updated instead of share-locked); both are fenced alike
            const checkpoint = (owner: string, key: string, value: number, renew = false) =>
              store.checkpoint({
                id,
                owner,
                attempt: 1,
                key,
                position: "abc".indexOf(key) + 1,
                entry: entry(value),
                durationMs: 2,
                leaseMs: 60_000,
                renew
              })
            expect(yield* checkpoint("A", "a", 1)).toBe(true)
            // A's lease is live: B cannot claim
            expect(yield* store.claim({ id, workflow: "w", version: undefined, owner: "B", leaseMs: 50, input: undefined, reopenFailed: false }))
              .toEqual(Option.none())
            // A gives the lease up (a graceful release: it does not count as an attempt); B takes the run over
            yield* store.release(id, "A")
            expect(
              yield* store.claim({ id, workflow: "w", version: undefined, owner: "B", leaseMs: 60_000, input: undefined, reopenFailed: false })
            ).toEqual(Option.some(1))
            expect(yield* checkpoint("A", "b", 99)).toBe(false)
            expect(yield* checkpoint("A", "b", 99, true)).toBe(false)
            expect(yield* store.renew(id, "A", 60_000)).toBe(false)
            expect(yield* store.finish(id, "A", "completed", { ok: true, value: 99 })).toBe(false)
            expect(yield* checkpoint("B", "b", 2)).toBe(true)
            expect(yield* checkpoint("B", "c", 3, true)).toBe(true)
            const state = yield* store.loadSteps(id)
            expect([...state.steps.keys()]).toEqual(["a", "b", "c"])
            expect(state.steps.get("b")?.result).toEqual({ ok: true, value: 2 })
            expect(Option.getOrThrow(yield* store.getRun(id))).toMatchObject({ owner: "B", attempts: 1, leased: true })
          })
        ))

      it.scopedLive("a checkpoint marked fresh under a key the run already holds replaces that step, keeping its place", () =>
        durable((store) =>
          Effect.gen(function*() {
            const id = scope() + "fresh-again"
            yield* store.claim({ id, workflow: "w", version: undefined, owner: "A", leaseMs: 60_000, input: undefined, reopenFailed: false })
            expect(yield* freshCheckpoint(store, id, "a", 1, 1)).toBe(true)
            expect(yield* freshCheckpoint(store, id, "b", 2, 2)).toBe(true)
            expect(yield* freshCheckpoint(store, id, "a", 3, 10)).toBe(true)
            const state = yield* store.loadSteps(id)
            expect([...state.steps.keys()]).toEqual(["a", "b"])
            expect(state.steps.get("a")?.result).toEqual({ ok: true, value: 10 })
          })
        ))

      it.scopedLive("checkpoints alone keep a run's lease alive: one marked renew (half the lease gone) renews it", () =>
        durable((store) =>
          Effect.gen(function*() {
            const id = scope() + "renewed-by-checkpoint"
            const leaseMs = 1000
            yield* store.claim({ id, workflow: "w", version: undefined, owner: "A", leaseMs, input: undefined, reopenFailed: false })
            expect(yield* freshCheckpoint(store, id, "a", 1, 1, leaseMs)).toBe(true)
            yield* Effect.sleep("600 millis")
            // as the engine marks it: more than half the lease has passed since the claim
            expect(yield* freshCheckpoint(store, id, "b", 2, 2, leaseMs, true)).toBe(true)
            // 1.2 s after the claim: the claim's lease has run out, the one the second checkpoint took has not
            yield* Effect.sleep("600 millis")
            const claimB = store.claim({ id, workflow: "w", version: undefined, owner: "B", leaseMs, input: undefined, reopenFailed: false })
            expect(yield* claimB).toEqual(Option.none())
            expect(Option.getOrThrow(yield* store.getRun(id))).toMatchObject({ owner: "A", leased: true })
          })
        ))

      it.scopedLive("a step longer than the lease keeps the run owned: the heartbeat renews the lease meanwhile", () =>
        durable(() =>
          Effect.gen(function*() {
            const id = scope() + "heartbeat"
            const { counts, track } = counter()
            const wf = Workflow.make("long", Workflow.step("slow", Effect.zipRight(Effect.sleep("900 millis"), track("slow", 7))))
            const owner = yield* Effect.fork(Workflow.runDurable(wf, { id, lease: "300 millis" }))
            // three leases later, the first owner still holds the run
            yield* Effect.sleep("700 millis")
            expect(yield* Effect.flip(Workflow.runDurable(wf, { id, lease: "300 millis" }))).toMatchObject({ _tag: "RunLocked" })
            expect(yield* Fiber.join(owner)).toBe(7)
            expect([...counts]).toEqual([["slow", 1]])
          })
        ))

      it.scopedLive("a heartbeat that finds its run cancelled interrupts the step at once: the run stops with Cancelled", () =>
        durable(() =>
          Effect.gen(function*() {
            const id = scope() + "heartbeat-cancelled"
            const entered = yield* Deferred.make<void>()
            const interrupted = yield* Deferred.make<void>()
            const wf = Workflow.make("long", Workflow.step(
              "slow",
              Effect.zipRight(Deferred.succeed(entered, undefined), Effect.never).pipe(
                Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))
              )
            ))
            const owner = yield* Effect.fork(Effect.flip(Workflow.runDurable(wf, { id, lease: "300 millis" })))
            yield* Deferred.await(entered)
            expect(yield* Workflow.cancel(id)).toBe(true)
            // the next beat (a third of the lease) sees it
            const error = yield* Fiber.join(owner).pipe(Effect.timeout("3 seconds"))
            expect(error).toMatchObject({ _tag: "Cancelled" })
            yield* Deferred.await(interrupted).pipe(Effect.timeout("1 second"))
          })
        ))

      it.scopedLive("a lease runs out on the store's clock: another caller then takes the run over and resumes it", () =>
        durable((store) =>
          Effect.gen(function*() {
            const id = scope() + "expired"
            yield* store.claim({ id, workflow: "resume", version: undefined, owner: "crashed", leaseMs: 150, input: undefined, reopenFailed: false })
            yield* store.checkpoint({
              id,
              owner: "crashed",
              attempt: 1,
              key: "a",
              position: 1,
              entry: JSON.stringify({ result: { ok: true, value: 10 }, stepId: "a" }),
              durationMs: 1,
              leaseMs: 150
            })
            const { counts, track } = counter()
            const wf = Workflow.make("resume", Effect.gen(function*() {
              const a = yield* Workflow.step("a", track("a", 1))
              return yield* Workflow.step("b", track("b", a + 1))
            }))
            expect(yield* Effect.flip(Workflow.runDurable(wf, { id }))).toMatchObject({ _tag: "RunLocked" })
            expect(yield* Workflow.runDurable(wf, { id, onLocked: "wait" })).toBe(11)
            expect([...counts]).toEqual([["b", 1]])
            expect(Option.getOrThrow(yield* store.getRun(id))).toMatchObject({ status: "completed", attempts: 2 })
          })
        ))

      it.scopedLive("cancel: the owner stops at its next checkpoint with Cancelled, and the run is never resumed", () =>
        durable((store) =>
          Effect.gen(function*() {
            const id = scope() + "cancel"
            const gate = yield* Deferred.make<void>()
            const started = yield* Deferred.make<void>()
            const { counts, track } = counter()
            const wf = Workflow.make("cancellable", Effect.gen(function*() {
              yield* Workflow.step("a", Effect.zipRight(Deferred.succeed(started, undefined), track("a", 1)))
              yield* Workflow.step("b", Effect.zipRight(Deferred.await(gate), track("b", 2)))
              return yield* Workflow.step("c", track("c", 3))
            }))
            const owner = yield* Effect.fork(Workflow.runDurable(wf, { id }))
            yield* Deferred.await(started)
            expect(yield* Workflow.cancel(id)).toBe(true)
            yield* Deferred.succeed(gate, undefined)
            expect(yield* Effect.flip(Fiber.join(owner))).toMatchObject({ _tag: "Cancelled", runId: id })
            expect([...counts]).toEqual([["a", 1], ["b", 1]])
            expect([...(yield* store.loadSteps(id)).steps.keys()]).toEqual(["a"])
            expect(yield* Effect.flip(Workflow.runDurable(wf, { id }))).toMatchObject({ _tag: "Cancelled" })
            expect(yield* Workflow.cancel(id)).toBe(false)
            const view = Option.getOrThrow(yield* store.load(id)) as Snapshot.WorkflowSnapshot
            expect(view.execution.status).toBe("failed")
            expect(view.metadata?.status).toBe("cancelled")
          })
        ))

      it.scopedLive("a run recorded by another version: VersionMismatch, unless the workflow opts in", () =>
        durable((store) =>
          Effect.gen(function*() {
            const id = scope() + "version"
            let fail = true
            const make = (version: string, onVersionChange?: "continue") =>
              Workflow.make("versioned", Effect.gen(function*() {
                yield* Workflow.step("a", Effect.succeed(1))
                return yield* Workflow.step("b", Effect.suspend(() => fail ? Effect.die("crash") : Effect.succeed(2)))
              }), { version, ...(onVersionChange === undefined ? {} : { onVersionChange }) })
            // a run interrupted part-way stays running; here it is left by a defect the caller retries
            yield* Effect.exit(Workflow.runDurable(make("v1"), { id }))
            fail = false
            const mismatch = yield* Effect.flip(Workflow.runDurable(make("v2"), { id, retryFailed: true }))
            expect(mismatch).toMatchObject({ _tag: "VersionMismatch", stored: "v1", current: "v2" })
            expect(yield* Workflow.runDurable(make("v2", "continue"), { id, retryFailed: true })).toBe(2)
            expect(Option.getOrThrow(yield* store.getRun(id))).toMatchObject({ version: "v2", status: "completed" })
          })
        ))

      it.scopedLive("many runs checkpointing at once (group commit) all land, each step once, fenced per run", () =>
        durable((store) =>
          Effect.gen(function*() {
            const p = scope()
            const { counts, track } = counter()
            const wf = Workflow.make("together", (input: { readonly n: number }) =>
              Effect.forEach(Array.from({ length: 10 }, (_, i) => i), (i) =>
                Workflow.step(`s${i}`, track(`${input.n}:${i}`, input.n * 100 + i))))
            const runs = Array.from({ length: 20 }, (_, n) => n)
            const results = yield* Effect.forEach(runs, (n) => Workflow.runDurable(wf, { id: `${p}${n}`, input: { n } }), {
              concurrency: "unbounded"
            })
            expect(results).toEqual(runs.map((n) => Array.from({ length: 10 }, (_, i) => n * 100 + i)))
            expect(counts.size).toBe(200)
            expect([...counts.values()].every((c) => c === 1)).toBe(true)
            for (const n of runs) {
              const state = yield* store.loadSteps(`${p}${n}`)
              expect([...state.steps.keys()]).toEqual(Array.from({ length: 10 }, (_, i) => `s${i}`))
            }
            // a write by an owner that lost its run matches nothing, while its neighbours in the batch land
            const claimAs = (id: string, owner: string) =>
              store.claim({ id, workflow: "w", version: undefined, owner, leaseMs: 60_000, input: undefined, reopenFailed: false })
            yield* claimAs(`${p}mine`, "me")
            yield* claimAs(`${p}theirs`, "them")
            const write = (id: string, owner: string) =>
              store.checkpoint({
                id,
                owner,
                attempt: 1,
                key: "k",
                position: 1,
                entry: JSON.stringify({ result: { ok: true, value: owner } }),
                durationMs: 1,
                leaseMs: 60_000
              })
            const written = yield* Effect.all([write(`${p}mine`, "me"), write(`${p}theirs`, "me"), write(`${p}theirs`, "them")], {
              concurrency: "unbounded"
            })
            expect(written).toEqual([true, false, true])
            expect((yield* store.loadSteps(`${p}theirs`)).steps.get("k")?.result).toEqual({ ok: true, value: "them" })
          })
        ), 60_000)

      it.scopedLive("a failed run returns its recorded error from the record; retryFailed re-executes the failed step", () =>
        durable((store) =>
          Effect.gen(function*() {
            const id = scope() + "failed"
            let approve = false
            const { counts, track } = counter()
            const wf = Workflow.make("charge", Effect.gen(function*() {
              yield* Workflow.step("reserve", track("reserve", "r"))
              return yield* Workflow.step("charge", Effect.flatMap(track("charge", 0), () => approve ? Effect.succeed("charged") : Effect.fail({ declined: true })))
            }))
            expect(yield* Effect.flip(Workflow.runDurable(wf, { id }))).toEqual({ declined: true })
            expect(Option.getOrThrow(yield* store.getRun(id)).status).toBe("failed")
            approve = true
            expect(yield* Effect.flip(Workflow.runDurable(wf, { id }))).toEqual({ declined: true })
            expect(yield* Workflow.runDurable(wf, { id, retryFailed: true })).toBe("charged")
            expect([...counts]).toEqual([["reserve", 1], ["charge", 2]])
            expect(Option.getOrThrow(yield* store.getRun(id))).toMatchObject({ status: "completed", attempts: 2 })
          })
        ))
    })

    it.scoped("50 concurrent saves to different ids all land", () =>
      withStore((store) =>
        Effect.gen(function*() {
          const p = scope()
          const n = Chunk.toReadonlyArray(Chunk.range(1, 50))
          yield* Effect.forEach(n, (i) => store.save(p + i, stateOf({ i })), { concurrency: "unbounded" })
          const loaded = yield* Effect.forEach(n, (i) => store.load(p + i), { concurrency: "unbounded" })
          expect(loaded.map((o) => Option.getOrThrow(o))).toEqual(n.map((i) => stateOf({ i })))
          expect(yield* store.list({ prefix: p })).toHaveLength(50)
        })
      ))
  })
