// The Promise API beyond the docs' examples: failure shapes, store recovery, in-flight steps.
import { sqlite } from "effect-resume/sqlite"
import {
  createWorkflow,
  deserializeResumeState,
  err,
  isResumeState,
  isWorkflowSnapshot,
  ok,
  serializeResumeState,
  type Step,
  StepFailedError,
  UnexpectedError,
  type WorkflowEvent,
  type WorkflowSnapshot
} from "effect-resume/workflow"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, expectTypeOf, it } from "vitest"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-resume-promise-"))

describe("Promise API", () => {
  it("a failed step caught in user code is an Error naming the step and carrying the error", async () => {
    const workflow = createWorkflow("w", {})
    const result = await workflow.run(async ({ step }) => {
      try {
        await step("charge", () => err({ code: "card_declined" }))
        return "charged"
      } catch (e) {
        expect(e).toBeInstanceOf(StepFailedError)
        expect(e).toBeInstanceOf(Error)
        expect((e as StepFailedError).stepId).toBe("charge")
        expect((e as StepFailedError).error).toEqual({ code: "card_declined" })
        expect((e as Error).message).toContain("charge")
        return "fallback"
      }
    })
    expect(result).toEqual({ ok: true, value: "fallback" })
  })

  it("a failed Result and a throw both end the run with ok: false and the error", async () => {
    const workflow = createWorkflow("w", {})
    expect(await workflow.run(async ({ step }) => step("a", () => err("nope")))).toEqual({ ok: false, error: "nope" })
    const bad = new TypeError("bad")
    const thrown = await workflow.run(async ({ step }) => step("b", () => { throw bad }))
    // as in the reference: the error is an UnexpectedError, the thrown value its cause and the Result's
    expect(thrown).toEqual({ ok: false, error: new UnexpectedError(bad), cause: bad })
    if (!thrown.ok) expect(thrown.error).toMatchObject({ _tag: "UnexpectedError", code: "runtime-unexpected", cause: bad })
  })

  it("the returned resumeState does not change when an un-awaited step finishes later", async () => {
    const workflow = createWorkflow("w", {})
    let finishSlow: () => void = () => {}
    const slowDone = new Promise<void>((resolve) => (finishSlow = resolve))
    const { resumeState } = await workflow.runWithState(async ({ step }) => {
      void step("slow", () => slowDone.then(() => ok("late")))
      await step("fast", () => ok("now"))
      return "done"
    })
    const keys = [...resumeState.steps.keys()]
    finishSlow()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect([...resumeState.steps.keys()]).toEqual(keys)
    expect(keys).toContain("fast")
  })

  it("a call that fails on a working store does not disturb the others, and close waits for calls in flight", async () => {
    const store = sqlite(path.join(dir, "busy.db"))
    const workflow = createWorkflow("w", {})
    const { resumeState } = await workflow.runWithState(async ({ step }) => step("a", () => ok(1)))
    const bad = { formatVersion: 2 } as never
    const results = await Promise.allSettled([store.save("bad", bad), store.save("good", resumeState), store.list(), store.load("good")])
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled", "fulfilled", "fulfilled"])
    const inFlight = store.save("late", resumeState)
    await store.close()
    await expect(inFlight).resolves.toBeUndefined()
    const reopened = sqlite(path.join(dir, "busy.db"))
    expect((await reopened.list()).map((e) => e.id).sort()).toEqual(["good", "late"])
    await reopened.close()
  })

  it("a store whose first use failed connects again on the next call", async () => {
    const missing = path.join(dir, "later")
    const store = sqlite(path.join(missing, "wf.db"))
    const error = await store.list().then(() => undefined, (e: unknown) => e)
    expect(error).toMatchObject({ _tag: "StoreError", reason: "Connection" })
    fs.mkdirSync(missing)
    expect(await store.list()).toEqual([])
    await store.close()
    await expect(store.list()).rejects.toMatchObject({ reason: "InvalidOption", message: "The store is closed" })
  })

  describe("entries: the reference's in-memory { result, meta }, normalized to the wire only when serialized", () => {
    it("a hand-built state whose failed step's cause is any value is accepted, replayed and serializable", async () => {
      const circular: Record<string, unknown> = { name: "loop" }
      circular.self = circular
      const causes = [() => 1, circular, Symbol("s"), undefined, 10n, new RangeError("r")]
      for (const cause of causes) {
        let called = 0
        const resumeState = { steps: new Map([["k", { result: err("E", { cause }), meta: { origin: "result" as const, resultCause: cause } }]]) }
        const result = await createWorkflow("w", {}).run(async ({ step }) => step("s", () => (called++, ok(1)), { key: "k" }), { resumeState })
        expect(called).toBe(0)
        // in memory, the very cause given (as in the reference)
        expect(result).toEqual(cause === undefined ? { ok: false, error: "E" } : { ok: false, error: "E", cause })
        const wire = serializeResumeState(resumeState)
        expect(() => JSON.stringify(wire)).not.toThrow()
        const back = deserializeResumeState(JSON.parse(JSON.stringify(wire)))
        expect(back.steps.get("k")?.result).toMatchObject({ ok: false, error: "E" })
      }
    })

    it("an entry without a result is refused with a RunOptionsError", async () => {
      const resumeState = { steps: new Map([["k", {} as never]]) }
      await expect(createWorkflow("w", {}).run(async () => 1, { resumeState })).rejects.toMatchObject({ _tag: "RunOptionsError" })
    })

    it("a failed step saved to a store loads back live and replays without calling its dep", async () => {
      const store = sqlite(path.join(dir, "failed.db"))
      let called = 0
      const fn = async ({ step }: { step: Step }) => step("s", () => (called++, { ok: false as const, error: "BAD" }), { key: "k" })
      const { result, resumeState } = await createWorkflow("w", {}).runWithState(fn)
      expect(result).toEqual({ ok: false, error: "BAD" })
      await store.save("f", resumeState)
      const loaded = await store.loadResumeState("f")
      await store.close()
      expect(loaded?.steps.get("k")).toEqual({ result: { ok: false, error: "BAD" }, meta: { origin: "result" } })
      expect(await createWorkflow("w", {}).run(fn, { resumeState: loaded! })).toEqual({ ok: false, error: "BAD" })
      expect(called).toBe(1)
    })

    it("run(name, fn) names the run: the events' workflowId; step_cache_miss only when resuming", async () => {
      const events: Array<WorkflowEvent> = []
      const workflow = createWorkflow("w", {}, { onEvent: (e) => events.push(e) })
      await workflow.run("run-1", async ({ step }) => step("s", () => ok(1)))
      expect(new Set(events.map((e) => e.workflowId))).toEqual(new Set(["run-1"]))
      expect(events.map((e) => e.type)).not.toContain("step_cache_miss")
      events.length = 0
      await workflow.run(async ({ step }) => step("s", () => ok(1)), { resumeState: { steps: new Map() } })
      expect(events.map((e) => e.type)).toEqual(["workflow_start", "step_cache_miss", "step_start", "step_success", "step_complete", "workflow_success"])
    })
  })

  describe("createContext, resumeState functions and step descriptions", () => {
    it("the context's type is inferred from createContext: events' context and onEvent's ctx have it", async () => {
      const seen: Array<[string, string | undefined, string]> = []
      const workflow = createWorkflow("w", {}, {
        createContext: () => ({ requestId: "r-1" }),
        onEvent: (event, ctx) => {
          expectTypeOf(ctx).toEqualTypeOf<{ requestId: string }>()
          expectTypeOf(event.context).toEqualTypeOf<{ requestId: string } | undefined>()
          seen.push([event.type, event.context?.requestId, ctx.requestId])
        }
      })
      await workflow.run(async ({ step }) => step("s", () => ok(1), { description: "one" }), {
        createContext: async () => ({ requestId: "r-2" })
      })
      expect(seen).toEqual(["workflow_start", "step_start", "step_success", "step_complete", "workflow_success"].map((t) => [t, "r-2", "r-2"]))
    })

    it("a workflow's resumeState function runs once per run; a run's snapshot replaces it", async () => {
      let calls = 0
      let executed = 0
      const { resumeState } = await createWorkflow("w", {}).runWithState(async ({ step }) => step("s", () => ok(1)))
      const workflow = createWorkflow("w", {}, { resumeState: async () => (calls++, resumeState) })
      const fn = async ({ step }: { step: Step }) => step("s", () => (executed++, ok(2)))
      expect(await workflow.run(fn)).toEqual({ ok: true, value: 1 })
      expect(await workflow.run(fn)).toEqual({ ok: true, value: 1 })
      expect(calls).toBe(2)
      const snapshot: WorkflowSnapshot = {
        formatVersion: 1,
        steps: { s: { ok: true, value: 3 } },
        execution: { status: "running", lastUpdated: "2026-01-01T00:00:00.000Z" }
      }
      // the reference would use the resumeState function here, ignoring the run's snapshot
      expect(await workflow.run(fn, { snapshot })).toEqual({ ok: true, value: 3 })
      expect(calls).toBe(2)
      expect(executed).toBe(0)
    })

    it("a resumeState function's result is checked like a resumeState", async () => {
      const workflow = createWorkflow("w", {})
      await expect(workflow.run(async () => 1, { resumeState: () => ({ steps: new Map([["k", {} as never]]) }) }))
        .rejects.toMatchObject({ _tag: "RunOptionsError", reason: "InvalidResumeState" })
      await expect(workflow.run(async () => 1, { resumeState: async () => null as never }))
        .rejects.toMatchObject({ _tag: "RunOptionsError", reason: "InvalidResumeState" })
    })
  })

  describe("load of a saved WorkflowSnapshot", () => {
    const snapshot = (steps: WorkflowSnapshot["steps"]): WorkflowSnapshot => ({
      formatVersion: 1,
      steps,
      execution: { status: "running", lastUpdated: "2026-01-01T00:00:00.000Z" },
      metadata: { workflowId: "w" }
    })
    const done = { ok: true, value: 1 } as const

    it("is that snapshot, whose steps also answer get(key) without showing it anywhere", async () => {
      const store = sqlite(path.join(dir, "loaded.db"))
      const saved = snapshot({ "user:1": done, "constructor": done })
      // a "__proto__" step is an ordinary step (Snapshot.validate keeps it)
      Object.defineProperty(saved.steps, "__proto__", { value: done, enumerable: true })
      await store.save("s", saved)
      const loaded = await store.load("s")
      await store.close()
      if (loaded === null || !isWorkflowSnapshot(loaded)) return expect.fail("expected the saved snapshot")
      expect(loaded.steps.get("user:1")).toEqual(done)
      expect(loaded.steps.get("__proto__")).toEqual(done)
      expect(loaded.steps.get("constructor")).toEqual(done)
      expect(loaded.steps.get("toString")).toBeUndefined()
      expect(loaded.steps.get("missing")).toBeUndefined()
      expect(Object.keys(loaded.steps).sort()).toEqual(["__proto__", "constructor", "user:1"])
      expect(JSON.parse(JSON.stringify(loaded))).toEqual(JSON.parse(JSON.stringify(saved)))
      expect(loaded).toEqual(saved) // not toStrictEqual: steps has its own prototype
      expect(await createWorkflow("w", {}).run(async ({ step }) => step("one", () => ok(2), { key: "user:1" }), { snapshot: loaded }))
        .toEqual({ ok: true, value: 1 })
    })

    it("with a step keyed \"get\", is its ResumeState: a record cannot hold that step and a get method", async () => {
      const store = sqlite(path.join(dir, "loaded-get.db"))
      await store.save("s", snapshot({ get: done, "user:1": done }))
      const loaded = await store.load("s")
      await store.close()
      expect(isResumeState(loaded)).toBe(true)
      expect(loaded?.steps.get("get")).toEqual({ result: done })
      expect(loaded?.steps.get("user:1")).toEqual({ result: done })
    })
  })
})
