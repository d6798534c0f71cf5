import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import { ResumeState, Snapshot } from "../src/index.js"
import { toJson, walkJson } from "../src/internal/json.js"
import { resumeState, workflowSnapshot as snapshot } from "../src/testing/Arbitraries.js"

describe("properties", () => {
  it.effect.prop("ResumeState: deserialize(JSON(serialize(s))) equals s", [resumeState], ([state]) =>
    Effect.gen(function*() {
      const back = yield* ResumeState.deserialize(JSON.parse(JSON.stringify(ResumeState.serialize(state))))
      expect(back).toEqual(state)
      // a ResumeState serializes itself: plain JSON.stringify loses nothing
      expect(yield* ResumeState.deserialize(JSON.parse(JSON.stringify(state)))).toEqual(state)
    }))

  it.prop("WorkflowSnapshot: JSON round-trip validates to the same snapshot", [snapshot], ([s]) => {
    const result = Snapshot.validate(JSON.parse(JSON.stringify(s)))
    expect(result.valid).toBe(true)
    if (result.valid) expect(result.snapshot).toEqual(s)
    // and through ResumeState and back, the steps survive
    expect(ResumeState.toSnapshot(ResumeState.fromSnapshot(s)).steps).toEqual(s.steps)
  })

  it.prop("validate never throws on arbitrary JSON; every error has a path and a message", [fc.jsonValue()], ([u]) => {
    const result = Snapshot.validate(u)
    if (!result.valid) {
      expect(result.errors.length).toBeGreaterThan(0)
      for (const error of result.errors) {
        expect(error.path.startsWith("$")).toBe(true)
        expect(error.message.length).toBeGreaterThan(0)
      }
    }
  })

  // values a step may return: flat records and lists of scalars (toJson's shortcut), and everything
  // that must leave it for the general walk (nesting, NaN, undefined, Dates, class instances, toJSON,
  // a "__proto__" key, a getter that throws)
  class Point {
    constructor(readonly x: number) {}
  }
  // (fast-check prints a counterexample through its toStringMethod, not through the getter)
  const throwing = Object.defineProperty({ a: 1, [fc.toStringMethod]: () => "{ a: 1, get b() { throw } }" }, "b", {
    enumerable: true,
    get: () => {
      throw new Error("no")
    }
  })
  const scalar = fc.oneof(fc.string(), fc.boolean(), fc.constant(null), fc.double(), fc.integer())
  const odd = fc.oneof(
    fc.constantFrom(undefined, NaN, Infinity, new Date(0), new Point(1), { toJSON: () => "t" }, throwing, 1n),
    fc.constant(JSON.parse(`{"__proto__": {"x": 1}, "y": 2}`) as unknown)
  )
  const item = fc.oneof({ weight: 4, arbitrary: scalar }, { weight: 1, arbitrary: odd })
  const stepValue = fc.oneof(
    item,
    fc.array(item),
    fc.dictionary(fc.oneof(fc.string(), fc.constant("__proto__")), item),
    fc.anything()
  )

  it.prop("toJson copies exactly as its general walk does, shortcut or not", [stepValue], ([value]) => {
    const copy = toJson(value)
    expect(copy).toStrictEqual(walkJson(value))
    // a copy: never the caller's object, so a later change to it cannot change what was recorded
    if (typeof value === "object" && value !== null) expect(copy.json === value).toBe(false)
  })

  const mutations: ReadonlyArray<readonly [string, (s: any) => void, string]> = [
    ["formatVersion: 2", (s) => (s.formatVersion = 2), "$.formatVersion"],
    ["no formatVersion", (s) => delete s.formatVersion, "$.formatVersion"],
    ["bad status", (s) => (s.execution.status = "paused"), "$.execution.status"],
    ["lastUpdated not a string", (s) => (s.execution.lastUpdated = 1), "$.execution.lastUpdated"],
    ["steps not an object", (s) => (s.steps = []), "$.steps"],
    ["a step with ok: 'yes'", (s) => (s.steps["user:1"] = { ok: "yes", value: 1 }), "$.steps[\"user:1\"]"],
    ["a failed step without cause", (s) => (s.steps["user:1"] = { ok: false, error: "x" }), "$.steps[\"user:1\"]"],
    ["a warning with an unknown reason", (s) => (s.warnings = [{ type: "lossy_value", stepId: "a", path: "$", reason: "lost" }]), "$.warnings[0]"]
  ]

  it.prop("a mutated valid snapshot is rejected, with the path of the mutation", [snapshot, fc.constantFrom(...mutations)], ([s, [, mutate, path]]) => {
    const copy = JSON.parse(JSON.stringify(s))
    mutate(copy)
    const result = Snapshot.validate(copy)
    expect(result.valid).toBe(false)
    if (!result.valid) expect(result.errors.some((e) => e.path.startsWith(path))).toBe(true)
    expect(() => Snapshot.assertValid(copy)).toThrow(Snapshot.SnapshotFormatError)
  })
})

describe("Snapshot helpers", () => {
  const base: Snapshot.WorkflowSnapshot = {
    formatVersion: 1,
    steps: { a: { ok: true, value: 1 }, b: { ok: true, value: 2 } },
    execution: { status: "running", lastUpdated: "2026-01-01T00:00:00.000Z" },
    metadata: { workflowId: "wf", input: 1 }
  }
  const delta: Snapshot.WorkflowSnapshot = {
    formatVersion: 1,
    steps: { b: { ok: true, value: 20 }, c: { ok: true, value: 3 } },
    execution: { status: "completed", lastUpdated: "2026-01-02T00:00:00.000Z", completedAt: "2026-01-02T00:00:00.000Z" },
    metadata: { definitionHash: "v2" }
  }

  it("merge: delta's steps overwrite, execution from delta, metadata shallow-merged", () => {
    expect(Snapshot.merge(base, delta)).toEqual({
      formatVersion: 1,
      steps: { a: { ok: true, value: 1 }, b: { ok: true, value: 20 }, c: { ok: true, value: 3 } },
      execution: delta.execution,
      metadata: { workflowId: "wf", input: 1, definitionHash: "v2" }
    })
  })

  it("looksLike / isWorkflowSnapshot / decode / assertValid", () => {
    expect(Snapshot.looksLike(base)).toBe(true)
    expect(Snapshot.looksLike({ steps: new Map() })).toBe(false)
    expect(Snapshot.isWorkflowSnapshot(base)).toBe(true)
    expect(Snapshot.isWorkflowSnapshot({ ...base, formatVersion: 2 })).toBe(false)
    expect(Snapshot.assertValid(base)).toEqual(base)
    const error = Effect.runSync(Effect.flip(Snapshot.decode({ ...base, execution: {} })))
    expect(error._tag).toBe("SnapshotFormatError")
    expect(error.message).toContain("$.execution.status")
  })

  it("keys named __proto__ survive validation, as step keys and inside values", () => {
    const text = '{"formatVersion":1,"steps":{"__proto__":{"ok":true,"value":{"__proto__":{"a":[1]}}}},' +
      '"execution":{"status":"running","lastUpdated":"2026-01-01T00:00:00.000Z"}}'
    const result = Snapshot.validate(JSON.parse(text))
    expect(result.valid).toBe(true)
    if (result.valid) expect(JSON.stringify(result.snapshot)).toBe(text)
  })

  it("a value that is not JSON is refused with the path inside the value", () => {
    const result = Snapshot.validate({ ...base, steps: { a: { ok: true, value: { list: [1, new Date(0)] } } } })
    expect(result.valid).toBe(false)
    if (!result.valid) expect(result.errors.map((e) => e.path)).toEqual(["$.steps.a.value.list[1]"])
  })

  it("ResumeState.deserialize fails with a typed error carrying paths", () => {
    const error = Effect.runSync(Effect.flip(ResumeState.deserialize({ kind: "ResumeState", steps: [[1, { ok: true }]] })))
    expect(error._tag).toBe("ResumeStateFormatError")
    expect(error.errors.some((e) => e.path === "$.steps[0][0]")).toBe(true)
  })
})
