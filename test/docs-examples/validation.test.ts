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

    const bad = validateSnapshot(broken)
    expect(bad.valid).toBe(false)
    if (!bad.valid) {
      const paths = bad.errors.map((e) => e.path)
      expect(paths).toEqual(expect.arrayContaining(["$.execution.status", "$.execution.lastUpdated"]))
      expect(paths.some((p) => p.startsWith("$.steps[\"user:1\"]"))).toBe(true)
      expect(paths.some((p) => p.startsWith("$.steps[\"posts:1\"]"))).toBe(true)
      for (const error of bad.errors) expect(error.message).toMatch(/\w/)
      const status = bad.errors.find((e) => e.path === "$.execution.status")
      expect(status?.message).toContain("\"paused\"")
    }
  })

  it("throwing helper", () => {
    expect(assertValidSnapshot(obj)).toEqual(obj)
    expect(() => assertValidSnapshot(broken)).toThrow(SnapshotFormatError)
    try {
      assertValidSnapshot(broken)
    } catch (error) {
      expect(error).toBeInstanceOf(Error)
      expect((error as Error).message).toContain("$.execution.status")
    }
  })
})
