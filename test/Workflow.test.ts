import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Option, Ref, Schema, TestClock } from "effect"
import { ResumeState, Workflow } from "../src/index.js"
import type * as Snapshot from "../src/Snapshot.js"

class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { id: Schema.String }) {}

const counted = <A, E>(ref: Ref.Ref<number>, effect: Effect.Effect<A, E>) => Effect.zipRight(Ref.update(ref, (n) => n + 1), effect)

/** Round-trips a state through JSON, as every store does. */
const throughJson = (state: ResumeState.ResumeState) =>
  ResumeState.deserialize(JSON.parse(JSON.stringify(ResumeState.serialize(state))))

describe("cache semantics", () => {
  it.effect("1. a completed step replays its value and its effect is not executed", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const wf = Workflow.make("wf", Effect.gen(function*() {
        const user = yield* Workflow.step("fetchUser", counted(calls, Effect.succeed({ id: "1", name: "Ada" })), { key: "user:1" })
        const posts = yield* Workflow.step("fetchPosts", counted(calls, Effect.succeed([`post of ${user.id}`])), { key: `posts:${user.id}` })
        return { user, posts }
      }))
      const first = yield* Workflow.runWithState(wf)
      expect(yield* Ref.get(calls)).toBe(2)
      const resumeState = yield* throughJson(first.resumeState)
      const second = yield* Workflow.run(wf, { resumeState })
      expect(yield* Ref.get(calls)).toBe(2)
      expect(second).toEqual({ user: { id: "1", name: "Ada" }, posts: ["post of 1"] })
      expect(Exit.isSuccess(first.result) && first.result.value).toEqual(second)
    }))

  it.effect("2. a typed failure is cached as ok: false and replays as the same typed failure", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const wf = Workflow.make("wf", Workflow.step("find", counted(calls, Effect.fail(new NotFound({ id: "7" }))), { error: NotFound }))
      const first = yield* Workflow.runWithState(wf)
      const entry = first.resumeState.steps.get("find")
      expect(entry?.result).toMatchObject({
        ok: false,
        error: { _tag: "NotFound", id: "7" },
        cause: { type: "error", name: "NotFound" },
        meta: { origin: "result" }
      })
      const replayed = yield* Effect.flip(Workflow.run(wf, { resumeState: yield* throughJson(first.resumeState) }))
      expect(replayed).toBeInstanceOf(NotFound)
      expect(replayed).toEqual(new NotFound({ id: "7" }))
      expect(yield* Ref.get(calls)).toBe(1)
    }))

  it.effect("3. a defect (a throw or Effect.die) is cached with origin throw and replays as a defect", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const wf = Workflow.make("wf", Effect.gen(function*() {
        yield* Workflow.step("ok", counted(calls, Effect.succeed(1)))
        return yield* Workflow.step("boom", counted(calls, Effect.sync(() => {
          throw new RangeError("out of range")
        })))
      }))
      const first = yield* Workflow.runWithState(wf)
      expect(Exit.isFailure(first.result) && Cause.isDie(first.result.cause)).toBe(true)
      const entry = first.resumeState.steps.get("boom")
      expect(entry?.result).toMatchObject({ ok: false, cause: { type: "error", name: "RangeError", message: "out of range" }, meta: { origin: "throw" } })
      const exit = yield* Effect.exit(Workflow.run(wf, { resumeState: yield* throughJson(first.resumeState) }))
      expect(yield* Ref.get(calls)).toBe(2)
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
      if (Exit.isFailure(exit)) {
        const defect = Cause.squash(exit.cause)
        expect(defect).toBeInstanceOf(Workflow.ReplayedDefect)
        expect(defect).toMatchObject({ name: "RangeError", message: "out of range" })
      }

      const died = Workflow.make("died", Workflow.step("die", counted(calls, Effect.die("plain defect"))))
      const dieRun = yield* Workflow.runWithState(died)
      expect(dieRun.resumeState.steps.get("die")?.result).toEqual({
        ok: false,
        error: "plain defect",
        cause: { type: "thrown", originalType: "string", stringRepresentation: "plain defect", value: "plain defect" },
        meta: { origin: "throw" }
      })
      // a defect that is not an Error replays as the same value, also after JSON
      const dieAgain = yield* Effect.exit(Workflow.run(died, { resumeState: yield* throughJson(dieRun.resumeState) }))
      expect(Exit.isFailure(dieAgain) && Cause.isDie(dieAgain.cause)).toBe(true)
      if (Exit.isFailure(dieAgain)) expect(Cause.squash(dieAgain.cause)).toBe("plain defect")
      expect(yield* Ref.get(calls)).toBe(3)
    }))

  it.effect("4. retryFailed re-executes failed steps instead of replaying them", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const wf = Workflow.make("wf", Effect.gen(function*() {
        yield* Workflow.step("ok", counted(calls, Effect.succeed("kept")))
        return yield* Workflow.step("flaky", Effect.flatMap(Ref.updateAndGet(calls, (n) => n + 1), (n): Effect.Effect<number, NotFound> =>
          n < 3 ? Effect.fail(new NotFound({ id: String(n) })) : Effect.succeed(n)), { error: NotFound })
      }))
      const first = yield* Workflow.runWithState(wf)
      expect(Exit.isFailure(first.result)).toBe(true)
      // without retryFailed the failure replays, the step does not run
      const replay = yield* Workflow.runWithState(wf, { resumeState: first.resumeState })
      expect(replay.result).toEqual(first.result)
      expect(yield* Ref.get(calls)).toBe(2)
      const retried = yield* Workflow.run(wf, { resumeState: first.resumeState, retryFailed: true })
      expect(retried).toBe(3)
      expect(yield* Ref.get(calls)).toBe(3) // "ok" was replayed, only "flaky" ran again
    }))

  it.effect("5. two different steps that share one key fail with a clear error", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const wf = Workflow.make("wf", Effect.gen(function*() {
        const a = yield* Workflow.step("fetchUser", counted(calls, Effect.succeed("user")), { key: "shared" })
        const b = yield* Workflow.step("fetchAdmin", counted(calls, Effect.succeed("admin")), { key: "shared" })
        return [a, b]
      }))
      const error = yield* Effect.flip(Workflow.run(wf))
      expect(error).toBeInstanceOf(Workflow.StepKeyConflictError)
      expect(error).toMatchObject({ reason: "DuplicateKey", stepId: "fetchAdmin", otherStepId: "fetchUser", stepKey: "shared" })
      expect((error as Workflow.StepKeyConflictError).message).toContain("\"shared\"")
      expect(yield* Ref.get(calls)).toBe(1)

      // the same step twice with one key (a loop without per-call keys) is refused, not silently replayed
      const loop = Workflow.make("loop", Effect.forEach([1, 2, 3], (i) => Workflow.step("fetch", counted(calls, Effect.succeed(i * 10)))))
      const twice = yield* Effect.flip(Workflow.run(loop))
      expect(twice).toMatchObject({ _tag: "StepKeyConflictError", reason: "DuplicateKey", stepId: "fetch", otherStepId: "fetch" })
      expect(twice.message).toContain("Give each call its own key")
      const keyed = Workflow.make("loop", Effect.forEach([1, 2, 3], (i) => Workflow.step("fetch", Effect.succeed(i * 10), { key: `fetch:${i}` })))
      expect(yield* Workflow.run(keyed)).toEqual([10, 20, 30])

      // a recorded key read by another step after a code change is refused, not shared
      const v1 = Workflow.make("v", Workflow.step("old", Effect.succeed("old value"), { key: "k" }))
      const v2 = Workflow.make("v", Workflow.step("new", Effect.succeed("new value"), { key: "k" }))
      const saved = yield* Workflow.runWithState(v1)
      const diverged = yield* Effect.flip(Workflow.run(v2, { resumeState: saved.resumeState }))
      expect(diverged).toMatchObject({ _tag: "StepKeyConflictError", reason: "Divergence", stepId: "new", otherStepId: "old" })
    }))

  it.effect("Effect.retry around a step re-runs it after a failure, and records the final outcome", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const wf = Workflow.make("retry", Workflow.step("flaky", Effect.flatMap(Ref.updateAndGet(attempts, (n) => n + 1), (n): Effect.Effect<number, string> =>
        n < 3 ? Effect.fail(`attempt ${n}`) : Effect.succeed(n))).pipe(Effect.retry({ times: 5 })))
      const { result, resumeState } = yield* Workflow.runWithState(wf)
      expect(result).toEqual(Exit.succeed(3))
      expect(yield* Ref.get(attempts)).toBe(3)
      expect(resumeState.steps.get("flaky")?.result).toEqual({ ok: true, value: 3 })
    }))

  it.effect("a retry after a timeout runs the step again; a replayed failure is not re-run by a retry", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const slowThenFast = Effect.flatMap(Ref.updateAndGet(attempts, (n) => n + 1), (n) =>
        n === 1 ? Effect.as(Effect.sleep("1 hour"), "slow") : Effect.succeed("fast"))
      const timedOut = Workflow.make("t", Workflow.step("call", slowThenFast).pipe(Effect.timeout("1 second"), Effect.retry({ times: 2 })))
      const fiber = yield* Effect.fork(Workflow.run(timedOut))
      yield* TestClock.adjust("2 seconds")
      expect(yield* Fiber.join(fiber)).toBe("fast")
      expect(yield* Ref.get(attempts)).toBe(2)

      const runs = yield* Ref.make(0)
      const failing = Workflow.make("f", Workflow.step("fail", Effect.zipRight(Ref.update(runs, (n) => n + 1), Effect.fail("no"))).pipe(Effect.retry({ times: 3 })))
      const first = yield* Workflow.runWithState(failing)
      expect(yield* Ref.get(runs)).toBe(4) // 1 + 3 retries, all executed in this run
      yield* Effect.flip(Workflow.run(failing, { resumeState: first.resumeState }))
      expect(yield* Ref.get(runs)).toBe(4) // replayed (retryFailed is off), the retries replay too
    }))

  it.effect("two concurrent calls with one key are refused", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("c", Effect.all([
        Workflow.step("a", Effect.as(Effect.sleep("10 millis"), 1)),
        Workflow.step("a", Effect.succeed(2))
      ], { concurrency: "unbounded" }))
      const error = yield* Effect.flip(Workflow.run(wf))
      expect(error).toMatchObject({ _tag: "StepKeyConflictError", reason: "DuplicateKey" })
    }))

  it.effect("6. interruption is never cached", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const wf = Workflow.make("wf", Effect.gen(function*() {
        yield* Workflow.step("fast", counted(calls, Effect.succeed("done")))
        return yield* Workflow.step("slow", counted(calls, Effect.as(Effect.sleep("1 hour"), "slow done")))
      }))
      const collector = ResumeState.collector()
      const fiber = yield* Effect.fork(Workflow.run(wf, { onEvent: collector.handleEvent }))
      yield* TestClock.adjust("1 minute")
      yield* Fiber.interrupt(fiber)
      const state = collector.get()
      expect([...state.steps.keys()]).toEqual(["fast"])
      expect(yield* Ref.get(calls)).toBe(2)

      // a typed failure whose cause also holds the interruption of a sibling fiber is still recorded
      const mixed = Workflow.make("mixed", Workflow.step("race", Effect.all([Effect.fail("typed"), Effect.never], { concurrency: "unbounded" })))
      const mixedRun = yield* Workflow.runWithState(mixed)
      expect(mixedRun.resumeState.steps.get("race")?.result).toMatchObject({ ok: false, error: "typed", meta: { origin: "result" } })

      const self = Workflow.make("self", Workflow.step("interrupts", Effect.interrupt))
      const selfRun = yield* Workflow.runWithState(self)
      expect(Exit.isInterrupted(selfRun.result)).toBe(true)
      expect(selfRun.resumeState.steps.size).toBe(0)
    }))
})

describe("Schemas on steps", () => {
  const Rich = Schema.Struct({
    at: Schema.Date,
    big: Schema.BigInt,
    tags: Schema.Map({ key: Schema.String, value: Schema.Number }),
    maybe: Schema.Option(Schema.String)
  })

  it.effect("Date, BigInt, Map and Option come back as the same types after JSON", () =>
    Effect.gen(function*() {
      const value = { at: new Date("2026-01-02T03:04:05.006Z"), big: 12345678901234567890n, tags: new Map([["a", 1]]), maybe: Option.some("x") }
      const calls = yield* Ref.make(0)
      const wf = Workflow.make("rich", Workflow.step("rich", counted(calls, Effect.succeed(value)), { success: Rich }))
      const first = yield* Workflow.runWithState(wf)
      expect(first.resumeState.steps.get("rich")?.warnings).toBeUndefined()
      const replayed = yield* Workflow.run(wf, { resumeState: yield* throughJson(first.resumeState) })
      expect(yield* Ref.get(calls)).toBe(1)
      expect(replayed.at).toBeInstanceOf(Date)
      expect(replayed).toEqual(value)
    }))

  it.effect("a value the Schema cannot encode is a StepCodecError, and a recorded value it cannot decode too", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("bad", Workflow.step("n", Effect.succeed(-1 as number), { success: Schema.NonNegative }))
      const events: Array<string> = []
      const { resumeState, result } = yield* Workflow.runWithState(wf, { onEvent: (e) => void events.push(e._tag) })
      expect(Exit.isFailure(result) && Cause.squash(result.cause)).toMatchObject({ _tag: "StepCodecError", reason: "Encode", stepId: "n", outcome: -1 })
      expect(events).toEqual(["WorkflowStart", "StepStart", "StepError", "WorkflowError"])
      expect(resumeState.steps.size).toBe(0) // not recorded: the step runs again on resume
      const state = ResumeState.make([["n", { result: { ok: true, value: "not a number" }, stepId: "n" }]])
      const decodeWf = Workflow.make("bad", Workflow.step("n", Effect.succeed(1), { success: Schema.Number }))
      expect(yield* Effect.flip(Workflow.run(decodeWf, { resumeState: state }))).toMatchObject({ _tag: "StepCodecError", reason: "Decode" })
    }))
})

describe("lossy values without a Schema", () => {
  it.effect("non-JSON, circular and encode-failed values are stored as JSON with lossy_value warnings", () =>
    Effect.gen(function*() {
      const circular: Record<string, unknown> = { name: "loop" }
      circular.self = circular
      const throwing = { toJSON: () => { throw new Error("no") } }
      const wf = Workflow.make("lossy", Effect.gen(function*() {
        yield* Workflow.step("date", Effect.succeed({ when: new Date("2026-01-01T00:00:00.000Z") }))
        yield* Workflow.step("circular", Effect.succeed(circular))
        yield* Workflow.step("throwing", Effect.succeed({ inner: throwing }))
        yield* Workflow.step("plain", Effect.succeed({ a: [1, "two", null] }))
      }))
      const { resumeState } = yield* Workflow.runWithState(wf)
      const warningsOf = (key: string) => resumeState.steps.get(key)?.warnings
      expect(warningsOf("date")).toEqual([{ type: "lossy_value", stepId: "date", stepKey: "date", path: "$.when", reason: "non-json" }])
      expect(resumeState.steps.get("date")?.result).toEqual({ ok: true, value: { when: "2026-01-01T00:00:00.000Z" } })
      expect(warningsOf("circular")).toEqual([{ type: "lossy_value", stepId: "circular", stepKey: "circular", path: "$.self", reason: "circular" }])
      expect(warningsOf("throwing")).toEqual([{ type: "lossy_value", stepId: "throwing", stepKey: "throwing", path: "$.inner", reason: "encode-failed" }])
      expect(warningsOf("plain")).toBeUndefined()
      const snapshot = ResumeState.toSnapshot(resumeState)
      expect(snapshot.warnings?.map((w) => w.reason)).toEqual(["non-json", "circular", "encode-failed"])
    }))

  it.effect("the recorded value is a copy: mutating the returned object later does not change history", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("copy", Workflow.step("list", Effect.succeed([1, 2])))
      const { resumeState, result } = yield* Workflow.runWithState(wf)
      if (Exit.isSuccess(result)) result.value.push(3)
      expect(resumeState.steps.get("list")?.result).toEqual({ ok: true, value: [1, 2] })
    }))
})

describe("run options", () => {
  const wf = Workflow.make("wf", Workflow.step("a", Effect.succeed(1)))
  const snapshot: Snapshot.WorkflowSnapshot = {
    formatVersion: 1,
    steps: { a: { ok: true, value: 41 } },
    execution: { status: "running", lastUpdated: "2026-01-01T00:00:00.000Z" }
  }

  it.effect("refuses resumeState and snapshot together", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Workflow.run(wf, { resumeState: ResumeState.empty, snapshot }))
      expect(error).toMatchObject({ _tag: "RunOptionsError", reason: "BothResumeStateAndSnapshot" })
    }))

  it.effect("refuses a WorkflowSnapshot passed as resumeState, naming the snapshot option", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Workflow.run(wf, { resumeState: snapshot as unknown as ResumeState.ResumeState }))
      expect(error).toMatchObject({ _tag: "RunOptionsError", reason: "SnapshotAsResumeState" })
      expect(error.message).toContain("`snapshot`")
    }))

  it.effect("resumes from a snapshot, and refuses an invalid one with its paths", () =>
    Effect.gen(function*() {
      expect(yield* Workflow.run(wf, { snapshot })).toBe(41)
      const broken = { ...snapshot, steps: { a: { ok: "yes" } } } as unknown as Snapshot.WorkflowSnapshot
      const error = yield* Effect.flip(Workflow.run(wf, { snapshot: broken }))
      expect(error).toMatchObject({ _tag: "RunOptionsError", reason: "InvalidSnapshot" })
      expect(error.message).toContain("$.steps.a")
    }))

  it.effect("a serialized ResumeState passed as resumeState is refused with a hint", () =>
    Effect.gen(function*() {
      const json = ResumeState.serialize(ResumeState.empty) as unknown as ResumeState.ResumeState
      const error = yield* Effect.flip(Workflow.run(wf, { resumeState: json }))
      expect(error).toMatchObject({ reason: "InvalidResumeState" })
      expect(error.message).toContain("deserialize")
    }))

  it.effect("input reaches a body defined as a function of it, and is required by the types", () =>
    Effect.gen(function*() {
      const greet = Workflow.make("greet", (name: string) => Workflow.step("hello", Effect.succeed(`hello ${name}`)))
      expect(yield* Workflow.run(greet, { input: "Ada" })).toBe("hello Ada")
      // @ts-expect-error the body takes an input, so run needs one
      const missing = () => Workflow.run(greet)
      // @ts-expect-error likewise inside the options
      const missingInOptions = () => Workflow.runWithState(greet, { retryFailed: true })
      expect([typeof missing, typeof missingInOptions]).toEqual(["function", "function"])
    }))

  it.effect("a hand-built ResumeState with a malformed entry is refused with the key and path", () =>
    Effect.gen(function*() {
      const bad = { steps: new Map([["a", { ok: true, value: 1 }]]) } as unknown as ResumeState.ResumeState
      const error = yield* Effect.flip(Workflow.run(wf, { resumeState: bad }))
      expect(error).toMatchObject({ _tag: "RunOptionsError", reason: "InvalidResumeState" })
      expect(error.message).toContain("\"a\"")
      expect(error.message).toContain("$.result")
    }))
})

describe("events", () => {
  it.effect("report start, completion (cached or not, with duration), errors, with names, ids and keys", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("evt", Effect.gen(function*() {
        yield* Workflow.step("one", Effect.succeed(1), { key: "k1" })
        yield* Workflow.step("two", Effect.fail(new NotFound({ id: "x" })), { key: "k2", error: NotFound })
      }))
      const events: Array<Workflow.WorkflowEvent> = []
      const first = yield* Workflow.runWithState(wf, { onEvent: (e) => void events.push(e) })
      expect(events.map((e) => e._tag)).toEqual(["WorkflowStart", "StepStart", "StepComplete", "StepStart", "StepError", "WorkflowError"])
      expect(events.every((e) => e.workflowName === "evt")).toBe(true)
      const complete = events[2]
      expect(complete).toMatchObject({ _tag: "StepComplete", stepId: "one", stepKey: "k1", cached: false })
      if (complete?._tag === "StepComplete") expect(complete.durationMs).toBeGreaterThanOrEqual(0)
      expect(events[4]).toMatchObject({ stepId: "two", stepKey: "k2", cached: false, error: new NotFound({ id: "x" }) })

      const replayEvents: Array<Workflow.WorkflowEvent> = []
      const collector = ResumeState.collector()
      yield* Workflow.runWithState(wf, {
        resumeState: first.resumeState,
        onEvent: (e) => Effect.sync(() => {
          replayEvents.push(e)
          collector.handleEvent(e)
        })
      })
      expect(replayEvents.map((e) => e._tag)).toEqual(["WorkflowStart", "StepComplete", "StepError", "WorkflowError"])
      expect(replayEvents[1]).toMatchObject({ cached: true, stepKey: "k1" })
      expect(collector.get()).toEqual(first.resumeState)
    }))

  it.effect("a throwing onEvent handler is logged and does not change the outcome", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("w", Workflow.step("a", Effect.succeed(1)))
      const { result, resumeState } = yield* Workflow.runWithState(wf, {
        onEvent: () => {
          throw new Error("observer bug")
        }
      })
      expect(result).toEqual(Exit.succeed(1))
      expect(resumeState.steps.size).toBe(1)
    }))

  it.effect("the collector's state equals runWithState's", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("c", Effect.gen(function*() {
        const a = yield* Workflow.step("a", Effect.succeed({ n: 1 }))
        return yield* Workflow.step("b", Effect.succeed(a.n + 1))
      }))
      const collector = ResumeState.collector()
      const { resumeState } = yield* Workflow.runWithState(wf, { onEvent: collector.handleEvent })
      expect(collector.get()).toEqual(resumeState)
      expect(ResumeState.isStepComplete(resumeState, "b")).toBe(true)
      expect(ResumeState.isStepComplete(resumeState, "c")).toBe(false)
    }))
})

describe("types", () => {
  it("a step outside a run does not type-check: it requires the run's context", () => {
    const orphan = Workflow.step("orphan", Effect.succeed(1))
    // @ts-expect-error WorkflowRun is not provided outside Workflow.run
    const run = () => Effect.runPromise(orphan)
    expect(typeof run).toBe("function")
  })
})
