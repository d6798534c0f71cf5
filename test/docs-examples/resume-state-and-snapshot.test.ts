// Docs section "ResumeState and WorkflowSnapshot": both are JSON-serializable.
import { createResumeStateCollector, createWorkflow, deserializeResumeState, isResumeState, isWorkflowSnapshot } from "effect-resume/workflow"
import type { WorkflowSnapshot } from "effect-resume/workflow"
import { validateSnapshot } from "effect-resume/persistence"
import { describe, expect, it } from "vitest"
import { makeDeps, myWorkflowFn } from "./deps.js"

describe("ResumeState and WorkflowSnapshot", () => {
  it("collected state is a ResumeState: { steps: Map<string, ResumeStateEntry> }, and JSON-serializable", async () => {
    const { deps } = makeDeps()
    const collector = createResumeStateCollector()
    await createWorkflow("workflow", deps, { onEvent: collector.handleEvent }).run(myWorkflowFn)
    const state = collector.getResumeState()
    expect(isResumeState(state)).toBe(true)
    expect(state.steps).toBeInstanceOf(Map)
    expect([...state.steps.keys()]).toEqual(["user:1", "posts:1"])
    // JSON.stringify of the state itself keeps the steps (a bare Map would become {})
    expect(deserializeResumeState(JSON.parse(JSON.stringify(state)))).toEqual(state)
  })

  it("a WorkflowSnapshot survives JSON.stringify / JSON.parse as is", () => {
    const snapshot: WorkflowSnapshot = {
      formatVersion: 1,
      steps: {
        "user:1": { ok: true, value: { id: "1" } },
        "posts:1": { ok: false, error: "timeout", cause: { type: "thrown", originalType: "string", stringRepresentation: "timeout", value: "timeout" }, meta: { origin: "result" } }
      },
      execution: { status: "running", lastUpdated: "2026-11-25T10:00:00.000Z", currentStepId: "fetchPosts" },
      metadata: { workflowId: "wf-123", definitionHash: "abc", input: { userId: "1" }, team: "growth" },
      warnings: [{ type: "lossy_value", stepId: "fetchUser", path: "$.createdAt", reason: "non-json" }]
    }
    const parsed = JSON.parse(JSON.stringify(snapshot))
    expect(parsed).toEqual(snapshot)
    expect(isWorkflowSnapshot(parsed)).toBe(true)
    expect(validateSnapshot(parsed)).toEqual({ valid: true, snapshot })
  })
})
