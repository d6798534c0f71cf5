// Docs section "Auto-save with onEvent": save on every step_complete, and after the run.
import { createResumeStateCollector, createWorkflow } from "effect-resume/workflow"
import { describe, expect, it } from "vitest"
import { makeDeps, myWorkflowFn } from "./deps.js"
import { storeCases } from "./stores.js"

const cases = await storeCases("auto_save")

describe.each(cases)("Auto-save with onEvent on $name", ({ make, skip }) => {
  it.skipIf(skip !== undefined)(`checkpoints every step, and a resumed run calls no completed dep${skip ? ` (skipped: ${skip})` : ""}`, async () => {
    const store = make()
    const { calls, deps } = makeDeps()
    const { fetchUser } = deps
    const pending: Array<Promise<void>> = []
    const checkpoints: Array<number> = []

    const collector = createResumeStateCollector()
    const workflow = createWorkflow("workflow", { fetchUser, fetchPosts: deps.fetchPosts }, {
      onEvent: (event) => {
        collector.handleEvent(event)
        if (event.type === "step_complete") {
          // Optional: save after each step for fine-grained recovery
          checkpoints.push(collector.getResumeState().steps.size)
          pending.push(store.save("wf-123", collector.getResumeState()))
        }
      }
    })

    await workflow.run(myWorkflowFn)
    await Promise.all(pending) // the docs fire and forget; the test waits so it can look
    await store.save("wf-123", collector.getResumeState())
    expect(checkpoints).toEqual([1, 2])

    const saved = await store.loadResumeState("wf-123")
    expect(saved?.steps.size).toBe(2)
    const result = await createWorkflow("workflow", deps).run(myWorkflowFn, { resumeState: saved! })
    expect(result.ok).toBe(true)
    expect(calls).toEqual({ fetchUser: 1, fetchPosts: 1 })
  })
})
