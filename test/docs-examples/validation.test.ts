// Docs section "Validation".
import { assertValidSnapshot, looksLikeWorkflowSnapshot, SnapshotFormatError, validateSnapshot } from "effect-resume/persistence"
import { describe, expect, it } from "vitest"

const obj = {
  formatVersion: 1,
  steps: { "user:1": { ok: true, value: { id: "1" } } },
  execution: { status: "running", lastUpdated: "2026-11-25T10:00:00.000Z" }
}
const broken = {
  formatVersion: 1,
  steps: { "user:1": { ok: "yes" }, "posts:1": { ok: false, error: "x" } },
  execution: { status: "paused" }
}

describe("Validation", () => {
  it("quick check", () => {
    expect(looksLikeWorkflowSnapshot(obj)).toBe(true)
    expect(looksLikeWorkflowSnapshot({ steps: new Map() })).toBe(false)
    expect(looksLikeWorkflowSnapshot(null)).toBe(false)
  })

  it("full validation with readable errors", () => {
    const result = validateSnapshot(obj)
    expect(result.valid).toBe(true)
    if (result.valid) expect(result.snapshot).toEqual(obj)

    // the reference's strings, each naming its path
    const bad = validateSnapshot(broken)
    expect(bad).toEqual({
      valid: false,
      errors: [
        "steps[\"user:1\"].ok must be a boolean",
        "steps[\"posts:1\"] is error result but missing cause field",
        "execution.status must be one of: running, completed, failed",
        "execution missing required field: lastUpdated"
      ]
    })
  })

  it("throwing helper", () => {
    expect(assertValidSnapshot(obj)).toEqual(obj)
    expect(() => assertValidSnapshot(broken)).toThrow(SnapshotFormatError)
    try {
      assertValidSnapshot(broken)
    } catch (error) {
      expect(error).toBeInstanceOf(Error)
      expect((error as Error).message).toBe("Invalid snapshot format: steps[\"user:1\"].ok must be a boolean")
      expect((error as SnapshotFormatError).errors).toHaveLength(4)
    }
  })
})
