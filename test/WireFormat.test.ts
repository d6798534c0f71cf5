/**
 * One wire format, the reference's: states written by the real `awaitly` load and replay here, and ours
 * load there. `SerializedCause` is compared with awaitly's own serializers value by value.
 */
import { describe, expect, it } from "@effect/vitest"
import { err, ok } from "awaitly"
import { serializeError, serializeThrown, validateSnapshot } from "awaitly/persistence"
import { createResumeStateCollector, createWorkflow, deserializeResumeState, serializeResumeState } from "awaitly/workflow"
import { Cause, Effect, Exit, FastCheck as fc, Ref, Schema } from "effect"
import { ResumeState, Snapshot, Workflow } from "../src/index.js"

const viaJson = (u: unknown): unknown => JSON.parse(JSON.stringify(u))

const squashed = <A, E>(exit: Exit.Exit<A, E>): unknown => Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined

// A success, an err, a thrown TypeError and a thrown string, recorded by awaitly itself. A run stops at
// its first failure, so each failure gets its own run; one collector keeps them all.
const referenceState = async () => {
  const collector = createResumeStateCollector()
  const deps = {
    good: async () => ok({ a: 1 }),
    bad: async () => err("BAD"),
    typeError: async (): Promise<never> => {
      throw new TypeError("boom")
    },
    str: async (): Promise<never> => {
      throw "str"
    }
  }
  const wf = createWorkflow("reference", deps, { onEvent: collector.handleEvent })
  await wf.run(async ({ step, deps }) => {
    await step("good", () => deps.good())
    return step("bad", () => deps.bad())
  })
  await wf.run(async ({ step, deps }) => step("typeError", () => deps.typeError()))
  await wf.run(async ({ step, deps }) => step("str", () => deps.str()))
  return serializeResumeState(collector.getResumeState())
}

describe("states written by awaitly", () => {
  it.effect("deserialize, then replay every step without executing it", () =>
    Effect.gen(function*() {
      const serialized = yield* Effect.promise(referenceState)
      const state = yield* ResumeState.deserialize(viaJson(serialized))
      expect([...state.steps.keys()]).toEqual(["good", "bad", "typeError", "str"])

      const calls = yield* Ref.make(0)
      const never = Effect.zipRight(Ref.update(calls, (n) => n + 1), Effect.succeed("executed"))
      const run = <A, E>(body: Effect.Effect<A, E, Workflow.WorkflowRun>) =>
        Effect.exit(Workflow.run(Workflow.make("ours", body), { resumeState: state }))

      expect(yield* run(Workflow.step("good", never))).toStrictEqual(Exit.succeed({ a: 1 }))
      // err(...) is a typed failure (meta.origin "result")
      expect(squashed(yield* run(Workflow.step("bad", never)))).toBe("BAD")
      // a thrown Error is a defect: a ReplayedDefect with the same name, message and stack
      const typeError = squashed(yield* run(Workflow.step("typeError", never)))
      expect(typeError).toBeInstanceOf(Workflow.ReplayedDefect)
      expect(typeError).toMatchObject({ name: "TypeError", message: "boom" })
      expect((typeError as Error).stack).toContain("TypeError: boom")
      // a thrown string replays as that string
      const str = yield* run(Workflow.step("str", never))
      expect(Exit.isFailure(str) && Cause.isDie(str.cause)).toBe(true)
      expect(squashed(str)).toBe("str")
      expect(yield* Ref.get(calls)).toBe(0)
    }))

  it.effect("a snapshot awaitly's durable run writes validates (a failed step with an error cause and origin throw)", () =>
    Effect.sync(() => {
      const snapshot = {
        formatVersion: 1,
        workflowName: "wf-1",
        steps: {
          "k:a": { ok: true, value: { a: 1 } },
          "k:t": {
            ok: false,
            error: { _tag: "UnexpectedError", name: "UnexpectedError", code: "runtime-unexpected", cause: {} },
            cause: { type: "error", name: "TypeError", message: "boom", stack: "TypeError: boom\n    at x" },
            meta: { origin: "throw" }
          }
        },
        execution: { status: "running", lastUpdated: "2026-11-29T08:10:30.052Z", currentStepId: "k:t" },
        metadata: { tenant: "t1", version: 1, lastStepKey: "k:t" }
      }
      const result = Snapshot.validate(snapshot)
      expect(result.valid).toBe(true)
      if (result.valid) expect(result.snapshot).toMatchObject(snapshot)
    }))

  it("garbage is refused with paths, never thrown", () => {
    for (const bad of [null, {}, { kind: "ResumeState", steps: {} }, { kind: "ResumeState", steps: [["k"]] }]) {
      const result = ResumeState.deserializeEither(bad)
      expect(result._tag).toBe("Left")
    }
    const result = ResumeState.deserializeEither({ kind: "ResumeState", steps: [["k", { ok: false, error: "E", cause: { type: "weird" } }]] })
    expect(result._tag).toBe("Left")
    if (result._tag === "Left") expect(result.left.errors.every((e) => e.path.startsWith("$.steps[0][1]"))).toBe(true)
  })
})

class Invalid extends Schema.TaggedError<Invalid>()("Invalid", { field: Schema.String }) {}

// Our run: a success, typed failures (a TaggedError, a string) and defects (an Error, a plain value).
const ourState = Effect.gen(function*() {
  const steps = new Map<string, ResumeState.ResumeStateEntry>()
  const record = <A, E>(body: Effect.Effect<A, E, Workflow.WorkflowRun>) =>
    Effect.tap(
      Workflow.runWithState(Workflow.make("ours", body)),
      ({ resumeState }) => Effect.sync(() => resumeState.steps.forEach((entry, key) => steps.set(key, entry)))
    )
  yield* record(Workflow.step("good", Effect.succeed({ a: 1, when: new Date(0) })))
  yield* record(Workflow.step("tagged", Effect.fail(new Invalid({ field: "email" })), { error: Invalid }))
  yield* record(Workflow.step("bad", Effect.fail("BAD")))
  yield* record(Workflow.step("boom", Effect.die(new TypeError("boom", { cause: new RangeError("inner") }))))
  yield* record(Workflow.step("plain", Effect.die({ code: 1 })))
  return ResumeState.make(steps)
})

describe("states we write, read by awaitly", () => {
  it.effect("serialize: the reference's shape; awaitly deserializes and replays it", () =>
    Effect.gen(function*() {
      const state = yield* ourState
      const json = viaJson(ResumeState.serialize(state)) as {
        kind: string
        steps: Array<[string, Record<string, unknown>]>
        warnings?: Array<unknown>
      }
      expect(json.kind).toBe("ResumeState")
      expect(json.steps.map(([key]) => key)).toEqual(["good", "tagged", "bad", "boom", "plain"])
      expect(json.steps.map(([, result]) => result["stepId"])).toEqual(["good", "tagged", "bad", "boom", "plain"])
      // the Date was recorded as JSON: its lossy warning sits in the top-level list, keyed to its entry
      expect(json.warnings).toEqual([{ type: "lossy_value", stepId: "good", stepKey: "good", path: "$.when", reason: "non-json" }])
      const byKey = Object.fromEntries(json.steps)
      expect(byKey["tagged"]).toMatchObject({
        error: { _tag: "Invalid", field: "email" },
        cause: { type: "error", name: "Invalid" },
        meta: { origin: "result" }
      })
      expect(byKey["bad"]).toMatchObject({
        error: "BAD",
        cause: { type: "thrown", originalType: "string", value: "BAD", stringRepresentation: "BAD" },
        meta: { origin: "result" }
      })
      expect(byKey["boom"]).toMatchObject({
        cause: { type: "error", name: "TypeError", message: "boom", cause: { type: "error", name: "RangeError", message: "inner" } },
        meta: { origin: "throw" }
      })
      expect(byKey["plain"]).toMatchObject({
        error: { code: 1 },
        cause: { type: "thrown", originalType: "Object", value: { code: 1 }, stringRepresentation: "[object Object]" },
        meta: { origin: "throw" }
      })

      // awaitly reads it and replays the steps instead of running its deps
      const reference = deserializeResumeState(json as Parameters<typeof deserializeResumeState>[0])
      expect([...reference.steps.keys()]).toEqual(["good", "tagged", "bad", "boom", "plain"])
      let called = 0
      const deps = {
        dep: async () => {
          called++
          return ok("executed")
        }
      }
      const wf = createWorkflow("reference", deps, { resumeState: reference })
      const good = yield* Effect.promise(() => wf.run(async ({ step, deps }) => step("good", () => deps.dep())))
      expect(good).toEqual({ ok: true, value: { a: 1, when: "1970-01-01T00:00:00.000Z" } })
      const bad = yield* Effect.promise(() => wf.run(async ({ step, deps }) => step("bad", () => deps.dep())))
      expect(bad).toMatchObject({ ok: false, error: "BAD" })
      const plain = yield* Effect.promise(() => wf.run(async ({ step, deps }) => step("plain", () => deps.dep())))
      expect(plain).toMatchObject({ ok: false, error: { code: 1 }, cause: { code: 1 } })
      expect(called).toBe(0)

      // and our own reader gives the state back exactly
      expect(yield* ResumeState.deserialize(json)).toStrictEqual(state)
    }))

  it.effect("toSnapshot output passes awaitly's validateSnapshot", () =>
    Effect.gen(function*() {
      const snapshot = viaJson(ResumeState.toSnapshot(yield* ourState, { metadata: { workflowId: "w" } }))
      expect(validateSnapshot(snapshot)).toMatchObject({ valid: true })
      expect(Snapshot.validate(snapshot).valid).toBe(true)
    }))

  it.effect("a defect that is not an Error replays as the same value after JSON", () =>
    Effect.gen(function*() {
      for (const defect of ["str", 42, null, true, { code: 1, nested: [1, "a"] }, [1, 2]]) {
        const wf = Workflow.make("defect", Workflow.step("s", Effect.die(defect)))
        const { resumeState } = yield* Workflow.runWithState(wf)
        const loaded = yield* ResumeState.deserialize(viaJson(resumeState))
        const exit = yield* Effect.exit(Workflow.run(wf, { resumeState: loaded }))
        expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
        expect(squashed(exit)).toStrictEqual(defect)
      }
      // without a JSON value (a bigint), it replays as its string form
      const wf = Workflow.make("defect", Workflow.step("s", Effect.die(10n)))
      const { resumeState } = yield* Workflow.runWithState(wf)
      const exit = yield* Effect.exit(Workflow.run(wf, { resumeState: yield* ResumeState.deserialize(viaJson(resumeState)) }))
      expect(squashed(exit)).toBe("10")
    }))
})

// Errors with cause chains (including a cycle) besides fc.anything()'s values.
const thrown = fc.oneof(
  fc.anything({
    withBigInt: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withTypedArray: true,
    withSparseArray: true,
    withBoxedValues: true,
    withObjectString: true
  }),
  fc.tuple(fc.string(), fc.anything()).map(([message, cause]) => new RangeError(message, { cause: new Error("mid", { cause }) })),
  fc.string().map((message) => {
    const error = new Error(message)
    error.cause = error
    return error
  })
)

describe("serializeCause", () => {
  it.prop("always a valid SerializedCause that JSON gives back exactly", [thrown], ([u]) => {
    const cause = Snapshot.serializeCause(u)
    expect(Schema.is(Snapshot.SerializedCause)(cause)).toBe(true)
    expect(viaJson(cause)).toStrictEqual(cause)
  })

  it.prop("the same as awaitly's serializeError / serializeThrown", [thrown], ([u]) => {
    const reference = u instanceof Error && u.cause !== u ? serializeError(u) : u instanceof Error ? undefined : serializeThrown(u)
    if (reference !== undefined) expect(Snapshot.serializeCause(u)).toEqual(reference)
  })

  it("String(v) is cut to 1000 characters; the JSON value is kept whole", () => {
    expect(Snapshot.serializeCause("x".repeat(1000))).not.toHaveProperty("truncated")
    const long = Snapshot.serializeCause("x".repeat(1001))
    expect(long).toMatchObject({ type: "thrown", truncated: true, value: "x".repeat(1001) })
    expect(long.type === "thrown" && long.stringRepresentation.length).toBe(1000)
  })

  it("deserializeCause: the inverse used on replay", () => {
    const error = Snapshot.deserializeCause(Snapshot.serializeCause(new TypeError("t", { cause: { x: 1 } })))
    expect(error).toBeInstanceOf(Workflow.ReplayedDefect)
    expect(error).toMatchObject({ name: "TypeError", message: "t", cause: { x: 1 } })
    expect(Snapshot.deserializeCause(Snapshot.serializeCause(NaN))).toBe(null)
    expect(Snapshot.deserializeCause(Snapshot.serializeCause(undefined))).toBe("undefined")
  })
})
