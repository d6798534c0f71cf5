// The Promise API beyond the docs' examples: failure shapes, store recovery, in-flight steps.
import { sqlite } from "effect-resume/sqlite"
import { createWorkflow, err, isResumeState, isWorkflowSnapshot, StepFailedError, type WorkflowSnapshot } from "effect-resume/workflow"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"

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
    const thrown = await workflow.run(async ({ step }) => step("b", () => { throw new TypeError("bad") }))
    expect(thrown.ok).toBe(false)
    if (!thrown.ok) expect(thrown.error).toMatchObject({ name: "TypeError", message: "bad" })
  })

  it("the returned resumeState does not change when an un-awaited step finishes later", async () => {
    const workflow = createWorkflow("w", {})
    let finishSlow: () => void = () => {}
    const slowDone = new Promise<void>((resolve) => (finishSlow = resolve))
    const { resumeState } = await workflow.runWithState(async ({ step }) => {
      void step("slow", () => slowDone.then(() => "late"))
      await step("fast", () => "now")
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
    const { resumeState } = await workflow.runWithState(async ({ step }) => step("a", () => 1))
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
      expect(await createWorkflow("w", {}).run(async ({ step }) => step("one", () => 2, { key: "user:1" }), { snapshot: loaded }))
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
