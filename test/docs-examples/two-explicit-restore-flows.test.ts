// Docs section "Two explicit restore flows", and the docs' warning against mixing them up.
import { createWorkflow, isWorkflowSnapshot, type WorkflowSnapshot } from "effect-resume/workflow"
import { describe, expect, it } from "vitest"
import { expectedResult, makeDeps, myWorkflowFn } from "./deps.js"
import { storeCases } from "./stores.js"

const cases = await storeCases("restore_flows")
const fn = myWorkflowFn

const savedSnapshot: WorkflowSnapshot = {
  formatVersion: 1,
  steps: {
    "user:1": { ok: true, value: { id: "1", name: "user 1" } },
    "posts:1": { ok: true, value: [{ id: "p1", userId: "1", title: "hello" }] }
  },
  execution: { status: "completed", lastUpdated: "2026-11-25T10:00:00.000Z", completedAt: "2026-11-25T10:00:00.000Z" }
}

describe.each(cases)("restore flows on $name", ({ make, skip }) => {
  const note = skip ? ` (skipped: ${skip})` : ""

  it.skipIf(skip !== undefined)(`Flow 1: resume from ResumeState${note}`, async () => {
    const store = make()
    const { calls, deps } = makeDeps()
    const workflow = createWorkflow("workflow", deps)
    await store.save("wf-123", (await workflow.runWithState(fn)).resumeState)

    const resumeState = await store.loadResumeState("wf-123")
    if (resumeState) await workflow.run(fn, { resumeState })
    expect(calls).toEqual({ fetchUser: 1, fetchPosts: 1 })
  })

  it.skipIf(skip !== undefined)(`Flow 2: resume from a WorkflowSnapshot${note}`, async () => {
    const store = make()
    const { calls, deps } = makeDeps()
    const workflow = createWorkflow("workflow", deps)
    await store.save("wf-123", savedSnapshot)

    const snapshot = await store.load("wf-123")
    let result
    if (snapshot && isWorkflowSnapshot(snapshot)) {
      result = await workflow.run(fn, { snapshot })
    }
    expect(result).toEqual({ ok: true, value: expectedResult })
    expect(calls).toEqual({ fetchUser: 0, fetchPosts: 0 })
    // loadResumeState converts a stored snapshot rather than returning nothing
    expect((await store.loadResumeState("wf-123"))?.steps.size).toBe(2)
  })
})

describe("restore flows without a store", () => {
  it("creation-time resume state", async () => {
    const first = makeDeps()
    const { resumeState: savedState } = await createWorkflow("workflow", first.deps).runWithState(fn)
    const { calls, deps } = makeDeps()
    const workflow = createWorkflow("workflow", deps, { resumeState: savedState })
    expect(await workflow.run(fn)).toEqual({ ok: true, value: expectedResult })
    expect(calls).toEqual({ fetchUser: 0, fetchPosts: 0 })
  })

  it("a WorkflowSnapshot passed as resumeState is refused with an error naming the snapshot option", async () => {
    const { calls, deps } = makeDeps()
    const workflow = createWorkflow("workflow", deps)
    const error = await workflow.run(fn, { resumeState: savedSnapshot as never }).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect(error).toMatchObject({ _tag: "RunOptionsError", reason: "SnapshotAsResumeState" })
    expect((error as Error).message).toContain("`snapshot` option")
    expect(calls).toEqual({ fetchUser: 0, fetchPosts: 0 })
  })

  it("resumeState and snapshot together are refused", async () => {
    const { deps } = makeDeps()
    const { resumeState } = await createWorkflow("workflow", deps).runWithState(fn)
    const error = await createWorkflow("workflow", deps)
      .run(fn, { resumeState, snapshot: savedSnapshot } as never)
      .then(() => undefined, (e: unknown) => e)
    expect(error).toMatchObject({ reason: "BothResumeStateAndSnapshot" })
  })
})
