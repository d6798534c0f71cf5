// Docs section "Merge Snapshots".
import { mergeSnapshots, type WorkflowSnapshot } from "effect-resume/persistence"
import { describe, expect, it } from "vitest"

const baseSnapshot: WorkflowSnapshot = {
  formatVersion: 1,
  steps: { "user:1": { ok: true, value: { id: "1" } }, "posts:1": { ok: true, value: [] } },
  execution: { status: "running", lastUpdated: "2026-11-25T10:00:00.000Z" },
  metadata: { workflowId: "wf-123", input: { userId: "1" } }
}
const deltaSnapshot: WorkflowSnapshot = {
  formatVersion: 1,
  steps: { "posts:1": { ok: true, value: [{ id: "p1" }] }, "email:1": { ok: true, value: "sent" } },
  execution: { status: "completed", lastUpdated: "2026-11-25T10:05:00.000Z", completedAt: "2026-11-25T10:05:00.000Z" },
  metadata: { definitionHash: "v2", input: { userId: "2" } }
}

describe("Merge Snapshots", () => {
  it("delta.steps overwrites base.steps, execution from delta, metadata shallow merged", () => {
    const merged = mergeSnapshots(baseSnapshot, deltaSnapshot)
    expect(merged.steps).toEqual({
      "user:1": { ok: true, value: { id: "1" } },
      "posts:1": { ok: true, value: [{ id: "p1" }] },
      "email:1": { ok: true, value: "sent" }
    })
    expect(merged.execution).toEqual(deltaSnapshot.execution)
    expect(merged.metadata).toEqual({ workflowId: "wf-123", definitionHash: "v2", input: { userId: "2" } })
    expect(baseSnapshot.steps["posts:1"]).toEqual({ ok: true, value: [] }) // inputs are not mutated
  })
})
