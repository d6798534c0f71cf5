// Docs section "Check Step Completion": via the loaded state's steps, and isStepComplete on events.
// The snippet is the docs' own, uncast: `npx tsc --noEmit` checks that it type-checks as written.
import type { ResumableStore } from "effect-resume/postgres"
import { createWorkflow, isStepComplete, type WorkflowEvent, type WorkflowSnapshot } from "effect-resume/workflow"
import { describe, expect, it, vi } from "vitest"
import { makeDeps, myWorkflowFn } from "./deps.js"
import { storeCases } from "./stores.js"

const cases = await storeCases("step_completion")

const savedSnapshot: WorkflowSnapshot = {
  formatVersion: 1,
  steps: { "user:1": { ok: true, value: { id: "1", name: "user 1" } } },
  execution: { status: "running", lastUpdated: "2026-11-25T10:00:00.000Z" }
}

describe.each(cases)("Check Step Completion on $name", ({ make, skip }) => {
  const note = skip ? ` (skipped: ${skip})` : ""

  it.skipIf(skip !== undefined)(`steps of a loaded ResumeState${note}`, async () => {
    const store: ResumableStore = make()
    const { deps } = makeDeps()
    await store.save("wf-123", (await createWorkflow("workflow", deps).runWithState(myWorkflowFn)).resumeState)
    const log = vi.spyOn(console, "log").mockImplementation(() => {})

    const savedState = await store.load("wf-123")
    if (savedState?.steps?.get("user:1")) {
      console.log("User step already completed")
    }
    expect(log.mock.calls).toEqual([["User step already completed"]])
    log.mockRestore()
    expect(savedState?.steps?.get("email:1")).toBeUndefined()
  })

  it.skipIf(skip !== undefined)(`steps of a loaded WorkflowSnapshot${note}`, async () => {
    const store: ResumableStore = make()
    await store.save("wf-123", savedSnapshot)
    const log = vi.spyOn(console, "log").mockImplementation(() => {})

    const savedState = await store.load("wf-123")
    if (savedState?.steps?.get("user:1")) {
      console.log("User step already completed")
    }
    expect(log.mock.calls).toEqual([["User step already completed"]])
    log.mockRestore()
    expect(savedState?.steps?.get("email:1")).toBeUndefined()
    // still the snapshot that was saved
    expect(JSON.parse(JSON.stringify(savedState))).toEqual(savedSnapshot)
  })
})

describe("isStepComplete on an event stream", () => {
  it("narrows events to step_complete", async () => {
    const { deps } = makeDeps()
    const events: Array<WorkflowEvent> = []
    await createWorkflow("workflow", deps, { onEvent: (e) => events.push(e) }).run(myWorkflowFn)
    const completed = events.filter(isStepComplete)
    // as in the reference: `name` is the step's id, `stepKey` its key, and `result` / `meta` what a collector keeps
    expect(completed.map((e) => [e.name, e.stepKey, e.result, e.meta])).toEqual([
      ["fetchUser", "user:1", { ok: true, value: { id: "1", name: "user 1" } }, undefined],
      ["fetchPosts", "posts:1", { ok: true, value: [{ id: "p1", userId: "1", title: "hello" }] }, undefined]
    ])
    expect(events.filter((e) => !isStepComplete(e)).map((e) => e.type))
      .toEqual(["workflow_start", "step_start", "step_success", "step_start", "step_success", "workflow_success"])
  })
})
