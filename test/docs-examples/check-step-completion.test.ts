// Docs section "Check Step Completion": via the loaded state's steps Map, and isStepComplete on events.
import { createWorkflow, isStepComplete, type WorkflowEvent } from "effect-resume/workflow"
import { describe, expect, it } from "vitest"
import { makeDeps, myWorkflowFn } from "./deps.js"
import { storeCases } from "./stores.js"

const cases = await storeCases("step_completion")

describe.each(cases)("Check Step Completion on $name", ({ make, skip }) => {
  it.skipIf(skip !== undefined)(`steps Map of the loaded state${skip ? ` (skipped: ${skip})` : ""}`, async () => {
    const store = make()
    const { deps } = makeDeps()
    await store.save("wf-123", (await createWorkflow("workflow", deps).runWithState(myWorkflowFn)).resumeState)

    const logs: Array<string> = []
    const savedState = await store.load("wf-123") as { steps?: Map<string, unknown> } | null
    if (savedState?.steps?.get("user:1")) {
      logs.push("User step already completed")
    }
    expect(logs).toEqual(["User step already completed"])
    expect(savedState?.steps?.get("email:1")).toBeUndefined()
  })
})

describe("isStepComplete on an event stream", () => {
  it("narrows events to step_complete", async () => {
    const { deps } = makeDeps()
    const events: Array<WorkflowEvent> = []
    await createWorkflow("workflow", deps, { onEvent: (e) => events.push(e) }).run(myWorkflowFn)
    const completed = events.filter(isStepComplete)
    expect(completed.map((e) => [e.stepId, e.stepKey, e.cached])).toEqual([["fetchUser", "user:1", false], ["fetchPosts", "posts:1", false]])
    expect(events.filter((e) => !isStepComplete(e)).map((e) => e.type)).toEqual(["workflow_start", "step_start", "step_start", "workflow_success"])
  })
})
