// The same scripted workflows under the reference (`awaitly/workflow` 1.35.0) and under
// `effect-resume/workflow`: equal results, equal event streams (ignoring ts, durations, generated ids
// and the fields we add), and state that crosses in both directions. Where the two differ on
// purpose, the test says so and asserts our behaviour.
/* eslint-disable @typescript-eslint/no-explicit-any */
import { err as refErr, ok as refOk } from "awaitly"
import { durable } from "awaitly/durable"
import * as RefPersistence from "awaitly/persistence"
import * as Ref from "awaitly/workflow"
import * as OursPersistence from "effect-resume/persistence"
import * as Ours from "effect-resume/workflow"
import { describe, expect, it } from "vitest"

type Lib = {
  readonly name: "reference" | "ours"
  readonly ok: (v: unknown) => any
  readonly err: (e: unknown, o?: { cause?: unknown }) => any
  readonly createWorkflow: (name: string, deps: any, options?: any) => any
  readonly createResumeStateCollector: () => any
  readonly serializeResumeState: (s: any) => any
  readonly deserializeResumeState: (s: any) => any
  readonly isStepComplete: (e: any) => boolean
}
const reference: Lib = { name: "reference", ...(Ref as any), ok: refOk, err: refErr }
const ours: Lib = { name: "ours", ...(Ours as any) }

// ---------------------------------------------------------------------------------------------
// Normalizing, so that two libraries' values can be compared

/** Fields we add to an Error that the reference's has not. */
const addedErrorFields = new Set(["recorded"])

/** Errors as `{ "<error>": name, message, ...own fields, cause }` (no stack, no class); Maps as entries. */
const norm = (u: unknown, depth = 0): unknown => {
  if (depth > 20) return "<deep>"
  if (u instanceof Error) {
    const out: Record<string, unknown> = { "<error>": u.name, message: u.message }
    for (const key of Object.keys(u)) {
      if (key !== "stack" && !addedErrorFields.has(key)) out[key] = norm((u as any)[key], depth + 1)
    }
    if ("cause" in u && u.cause !== undefined) out.cause = norm(u.cause, depth + 1)
    return out
  }
  if (u instanceof Map) return { "<map>": [...u].map(([k, v]) => [k, norm(v, depth + 1)]) }
  if (Array.isArray(u)) return u.map((v) => norm(v, depth + 1))
  if (typeof u === "object" && u !== null) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(u)) if (v !== undefined) out[k] = norm(v, depth + 1)
    return out
  }
  return u
}

const ignoredEventFields = new Set(["ts", "durationMs", "workflowId"])

/** Our event cut to the reference event's fields; fails if ours lacks one of them. */
const project = (ref: Record<string, unknown>, mine: Record<string, unknown>) => {
  const out: Record<string, unknown> = {}
  const want: Record<string, unknown> = {}
  for (const key of Object.keys(ref)) {
    if (ignoredEventFields.has(key) || ref[key] === undefined) continue
    expect(Object.keys(mine), `our ${String(mine.type)} event has ${key}`).toContain(key)
    want[key] = key === "diagnostics" ? { ...(ref[key] as object), cumulativeDurationMs: 0 } : ref[key]
    out[key] = key === "diagnostics" ? { ...(mine[key] as object), cumulativeDurationMs: 0 } : mine[key]
  }
  return { want: norm(want), got: norm(out) }
}

const expectSameEvents = (refEvents: Array<any>, ourEvents: Array<any>) => {
  expect(ourEvents.map((e) => e.type)).toEqual(refEvents.map((e) => e.type))
  refEvents.forEach((ref, i) => {
    const { got, want } = project(ref, ourEvents[i])
    expect(got, `event ${i} (${ref.type})`).toEqual(want)
    // the reference's fields come in the same order (so JSON lines read alike)
    expect(Object.keys(ourEvents[i]).filter((k) => k in ref && ref[k] !== undefined))
      .toEqual(Object.keys(ref).filter((k) => ref[k] !== undefined))
  })
  // one workflowId per run, on every event
  expect(new Set(ourEvents.map((e) => e.workflowId)).size).toBe(1)
}

// ---------------------------------------------------------------------------------------------
// Scripts: each builds deps (counting calls) and a workflow fn from a library's ok / err

interface Script {
  readonly name: string
  readonly make: (L: Lib) => { readonly deps: Record<string, (...a: Array<any>) => any>; readonly fn: (ctx: any) => Promise<unknown> }
}

const calls: Array<string> = []
const counted = <F extends (...a: Array<any>) => any>(name: string, f: F) => (...a: Parameters<F>) => {
  calls.push(name)
  return f(...a)
}

const twoSteps = (L: Lib, second: () => unknown): ReturnType<Script["make"]> => {
  const deps = {
    getA: counted("getA", async (x: number) => L.ok({ a: x })),
    second: counted("second", async () => second())
  }
  return {
    deps,
    fn: async ({ step, deps }: any) => {
      const a = await step("stepA", () => deps.getA(1), { key: "k:a" })
      const b = await step("stepB", () => deps.second(), { key: "k:b" })
      return { a, b }
    }
  }
}

const scripts: Array<Script> = [
  { name: "success", make: (L) => twoSteps(L, () => L.ok(42)) },
  { name: "a typed error", make: (L) => twoSteps(L, () => L.err("BAD")) },
  { name: "a typed error with a cause", make: (L) => twoSteps(L, () => L.err({ code: "E" }, { cause: new Error("why") })) },
  { name: "a throwing dep", make: (L) => twoSteps(L, () => { throw new TypeError("boom") }) },
  { name: "a non-Error throw (string)", make: (L) => twoSteps(L, () => { throw "str" }) },
  { name: "a non-Error throw (object)", make: (L) => twoSteps(L, () => { throw { code: 1 } }) },
  { name: "a dep returning a plain value", make: () => twoSteps(ours, () => ({ hello: "world" })) },
  {
    name: "a nested Error cause chain",
    make: (L) => twoSteps(L, () => { throw new Error("outer", { cause: new RangeError("inner", { cause: { x: 1 } }) }) })
  },
  {
    name: "a throw in the workflow body",
    make: (L) => {
      const { deps } = twoSteps(L, () => L.ok(1))
      return { deps, fn: async ({ step, deps }: any) => {
        await step("stepA", () => deps.getA(1), { key: "k:a" })
        throw new RangeError("body")
      } }
    }
  }
]

/** Runs a script; `rejected` is set when the run rejects. `ctxs` holds onEvent's second arguments. */
const runSettled = async (L: Lib, script: Script, options: Record<string, unknown> = {}, runConfig?: Record<string, unknown>) => {
  const events: Array<any> = []
  const ctxs: Array<unknown> = []
  const collector = L.createResumeStateCollector()
  const { deps, fn } = script.make(L)
  const workflow = L.createWorkflow(`wf_${script.name.replace(/\W+/g, "_")}`, deps, {
    ...options,
    onEvent: (e: any, ctx: unknown) => {
      events.push(e)
      ctxs.push(ctx)
      collector.handleEvent(e)
    }
  })
  calls.length = 0
  const run = runConfig === undefined ? workflow.run(fn) : workflow.run(fn, runConfig)
  const [result, rejected] = await run.then((r: unknown) => [r, undefined], (e: unknown) => [undefined, { error: e }])
  return { result, rejected: rejected as { readonly error: unknown } | undefined, events, ctxs, collector, calls: [...calls] }
}

const runScript = async (L: Lib, script: Script, options: Record<string, unknown> = {}, runConfig?: Record<string, unknown>) => {
  const { rejected, ...out } = await runSettled(L, script, options, runConfig)
  if (rejected !== undefined) throw rejected.error
  return out
}

/** Run 1, then its collected state through serialize → JSON → deserialize. */
const serializedState = async (L: Lib, script: Script) => {
  const first = await runScript(L, script)
  return L.deserializeResumeState(JSON.parse(JSON.stringify(L.serializeResumeState(first.collector.getResumeState()))))
}

// Replays where we differ on purpose: a failure recorded without a cause replays with no cause; the
// reference replays it as `cause: "undefined"` (the string).
const causeless = new Set(["a typed error", "a dep returning a plain value"])

describe("differential: effect-resume/workflow against awaitly/workflow 1.35.0", () => {
  describe.each(scripts)("$name", (script) => {
    it("gives the same result and the same events", async () => {
      const ref = await runScript(reference, script)
      const mine = await runScript(ours, script)
      expect(norm(mine.result)).toEqual(norm(ref.result))
      expect(mine.calls).toEqual(ref.calls)
      expectSameEvents(ref.events, mine.events)
    })

    it("replays the same from a serialized resumeState, calling no completed dep", async () => {
      const ref = await runScript(reference, script, {}, { resumeState: await serializedState(reference, script) })
      const mine = await runScript(ours, script, {}, { resumeState: await serializedState(ours, script) })
      expect(mine.calls).toEqual(ref.calls)
      expectSameEvents(ref.events, mine.events)
      if (causeless.has(script.name)) {
        expect(norm(ref.result)).toEqual({ ...(norm(mine.result) as object), cause: "undefined" })
        expect(mine.result).not.toHaveProperty("cause")
      } else {
        expect(norm(mine.result)).toEqual(norm(ref.result))
      }
    })

    it("replays the same from the in-memory collected state (the same instances)", async () => {
      const refState = (await runScript(reference, script)).collector.getResumeState()
      const ourState = (await runScript(ours, script)).collector.getResumeState()
      const ref = await runScript(reference, script, { resumeState: refState })
      const mine = await runScript(ours, script, { resumeState: ourState })
      expect(norm(mine.result)).toEqual(norm(ref.result))
      expect(mine.calls).toEqual(ref.calls)
      expectSameEvents(ref.events, mine.events)
    })

    it("resumes from a WorkflowSnapshot of the same steps", async () => {
      const toSnapshot = (state: any) => ({
        formatVersion: 1,
        steps: Object.fromEntries(ours.serializeResumeState(state).steps),
        execution: { status: "running", lastUpdated: "2026-11-29T00:00:00.000Z" }
      })
      const snapshot = toSnapshot((await runScript(ours, script)).collector.getResumeState())
      // A step whose error is undefined is written without `error` by both libraries; the reference's
      // validateSnapshot rejects that form (its own), ours accepts it (on purpose).
      expect(RefPersistence.validateSnapshot(snapshot).valid).toBe(script.name !== "a dep returning a plain value")
      expect(OursPersistence.validateSnapshot(snapshot).valid).toBe(true)
      const ref = await runScript(reference, script, {}, { snapshot })
      const mine = await runScript(ours, script, {}, { snapshot })
      expect(mine.calls).toEqual(ref.calls)
      expectSameEvents(ref.events, mine.events)
      if (causeless.has(script.name)) expect(norm(ref.result)).toEqual({ ...(norm(mine.result) as object), cause: "undefined" })
      else expect(norm(mine.result)).toEqual(norm(ref.result))
    })

    it("serializes a run's state to the same wire format (stacks aside)", async () => {
      const strip = (json: unknown): unknown => JSON.parse(JSON.stringify(json, (k, v) => (k === "stack" ? undefined : v)))
      const ref = reference.serializeResumeState((await runScript(reference, script)).collector.getResumeState())
      const mine = ours.serializeResumeState((await runScript(ours, script)).collector.getResumeState())
      expect(strip(mine)).toEqual(strip(ref))
    })

    it("state crosses both ways: each library resumes the other's serialized state", async () => {
      const refJson = JSON.parse(JSON.stringify(reference.serializeResumeState((await runScript(reference, script)).collector.getResumeState())))
      const ourJson = JSON.parse(JSON.stringify(ours.serializeResumeState((await runScript(ours, script)).collector.getResumeState())))
      const mineFromRef = await runScript(ours, script, {}, { resumeState: ours.deserializeResumeState(refJson) })
      const refFromMine = await runScript(reference, script, {}, { resumeState: reference.deserializeResumeState(ourJson) })
      const mineFromMine = await runScript(ours, script, {}, { resumeState: ours.deserializeResumeState(ourJson) })
      const refFromRef = await runScript(reference, script, {}, { resumeState: reference.deserializeResumeState(refJson) })
      expect(mineFromRef.calls).toEqual(mineFromMine.calls)
      expect(refFromMine.calls).toEqual(refFromRef.calls)
      expect(norm(mineFromRef.result)).toEqual(norm(mineFromMine.result))
      expect(norm(refFromMine.result)).toEqual(norm(refFromRef.result))
    })
  })

  describe("a resumeState given as a function, createContext, step descriptions", () => {
    const inMemoryStates = async (script: Script) => ({
      ref: (await runScript(reference, script)).collector.getResumeState(),
      ours: (await runScript(ours, script)).collector.getResumeState()
    })
    /** Only k:a recorded: a resumed run replays it (step_cache_hit) and executes the rest (step_cache_miss). */
    const partial = (state: any) => ({ steps: new Map([...state.steps].filter(([k]) => k === "k:a")) })

    it.each(scripts)("$name: replays the same from a resumeState function (sync at creation, async per run)", async (script) => {
      const states = await inMemoryStates(script)
      const pick = (L: Lib) => (L === reference ? states.ref : states.ours)
      for (const L of [reference, ours]) expect(pick(L).steps.size).toBeGreaterThan(0)
      const atCreation = async (L: Lib) => runScript(L, script, { resumeState: () => pick(L) })
      const perRun = async (L: Lib) => runScript(L, script, {}, { resumeState: async () => partial(pick(L)) })
      for (const go of [atCreation, perRun]) {
        const ref = await go(reference)
        const mine = await go(ours)
        expect(norm(mine.result)).toEqual(norm(ref.result))
        expect(mine.calls).toEqual(ref.calls)
        expectSameEvents(ref.events, mine.events)
      }
    })

    it("a resumeState function is called once per run, after workflow_start; a run's own replaces the workflow's", async () => {
      for (const L of [reference, ours]) {
        const log: Array<string> = []
        const state = (await runScript(L, scripts[0]!)).collector.getResumeState()
        const { deps, fn } = scripts[0]!.make(L)
        const workflow = L.createWorkflow("w", deps, {
          resumeState: () => (log.push("workflow's"), state),
          onEvent: (e: any) => log.push(e.type)
        })
        await workflow.run(fn)
        await workflow.run(fn, { resumeState: async () => (log.push("run's"), state) })
        expect(log, L.name).toEqual([
          "workflow_start", "workflow's", "step_cache_hit", "step_cache_hit", "workflow_success",
          "workflow_start", "run's", "step_cache_hit", "step_cache_hit", "workflow_success"
        ])
      }
    })

    it("a resumeState function that throws or rejects rejects the run with that error; only workflow_start is emitted", async () => {
      const boom = new TypeError("load failed")
      const factories: Array<[string, () => unknown]> = [
        ["throws", () => { throw boom }],
        ["rejects", async () => { throw boom }],
        ["rejects with a non-Error", () => Promise.reject("str")]
      ]
      for (const [label, factory] of factories) {
        for (const where of ["creation", "run"] as const) {
          const go = (L: Lib) =>
            where === "creation"
              ? runSettled(L, scripts[0]!, { resumeState: factory })
              : runSettled(L, scripts[0]!, {}, { resumeState: factory })
          const ref = await go(reference)
          const mine = await go(ours)
          const expected = label === "rejects with a non-Error" ? "str" : boom
          expect(ref.rejected, `${label} (${where})`).toEqual({ error: expected })
          expect(mine.rejected?.error, `${label} (${where})`).toBe(expected)
          expect(mine.calls).toEqual([])
          expect(ref.calls).toEqual([])
          expect(mine.events.map((e) => e.type)).toEqual(["workflow_start"])
          expectSameEvents(ref.events, mine.events)
        }
      }
    })

    it("on purpose, a resumeState function that gives undefined rejects with a RunOptionsError (the reference's with a TypeError)", async () => {
      const ref = await runSettled(reference, scripts[0]!, {}, { resumeState: () => undefined })
      const mine = await runSettled(ours, scripts[0]!, {}, { resumeState: () => undefined })
      expect(ref.rejected?.error).toBeInstanceOf(TypeError)
      expect(mine.rejected?.error).toMatchObject({ _tag: "RunOptionsError", reason: "InvalidResumeState" })
      expect(mine.calls).toEqual([])
      expectSameEvents(ref.events, mine.events)
    })

    it.each(scripts)("$name: createContext's value is every event's context and onEvent's second argument", async (script) => {
      const fresh = (L: Lib) => runScript(L, script, { createContext: () => ({ req: "r1", lib: "same" }) })
      const ref = await fresh(reference)
      const mine = await fresh(ours)
      expect(norm(mine.result)).toEqual(norm(ref.result))
      expectSameEvents(ref.events, mine.events)
      expect(norm(mine.ctxs)).toEqual(norm(ref.ctxs))
      expect(mine.events.every((e, i) => e.context === mine.ctxs[i] && e.context !== undefined)).toBe(true)

      // resumed, with a run's own (async) createContext replacing the workflow's
      const states = await inMemoryStates(script)
      const resumed = (L: Lib) =>
        runScript(L, script, { createContext: () => ({ req: "r1" }) }, {
          resumeState: partial(L === reference ? states.ref : states.ours),
          createContext: async () => ({ req: "run" })
        })
      const refResumed = await resumed(reference)
      const mineResumed = await resumed(ours)
      expect(norm(mineResumed.result)).toEqual(norm(refResumed.result))
      expectSameEvents(refResumed.events, mineResumed.events)
      expect(norm(mineResumed.ctxs)).toEqual(norm(refResumed.ctxs))
      expect(mineResumed.ctxs).toContainEqual({ req: "run" })
    })

    it("createContext: a falsy value is still the context, undefined is none; without it onEvent's ctx is undefined", async () => {
      for (const value of [undefined, null, 0, ""]) {
        const ref = await runScript(reference, scripts[0]!, { createContext: () => value })
        const mine = await runScript(ours, scripts[0]!, { createContext: () => value })
        expectSameEvents(ref.events, mine.events)
        for (const run of [ref, mine]) {
          expect(run.events.every((e) => ("context" in e) === (value !== undefined)), `${String(value)}`).toBe(true)
          expect(run.ctxs.every((c) => c === value)).toBe(true)
        }
      }
      for (const run of [await runScript(reference, scripts[1]!), await runScript(ours, scripts[1]!)]) {
        expect(run.events.some((e) => "context" in e)).toBe(false)
        expect(run.ctxs.every((c) => c === undefined)).toBe(true)
      }
    })

    it("a createContext that throws or rejects rejects the run with that error, before any event", async () => {
      const boom = new Error("no context")
      const cases: Array<[Record<string, unknown>, Record<string, unknown> | undefined]> = [
        [{ createContext: () => { throw boom } }, undefined],
        [{}, { createContext: async () => { throw boom } }]
      ]
      for (const [options, runConfig] of cases) {
        const ref = await runSettled(reference, scripts[0]!, options, runConfig)
        const mine = await runSettled(ours, scripts[0]!, options, runConfig)
        expect(ref.rejected?.error).toBe(boom)
        expect(mine.rejected?.error).toBe(boom)
        expect(mine.events).toEqual([])
        expect(ref.events).toEqual([])
        expect(mine.calls).toEqual([])
      }
    })

    const described = (second: (L: Lib) => unknown): Script => ({
      name: "described",
      make: (L) => {
        const { deps } = twoSteps(L, () => second(L))
        return {
          deps,
          fn: async ({ step, deps }: any) => {
            const a = await step("stepA", () => deps.getA(1), { key: "k:a", description: "gets A" })
            const b = await step("stepB", () => deps.second(), { description: "the second step" })
            return { a, b }
          }
        }
      }
    })

    it.each([
      ["success", described((L) => L.ok(42))],
      ["a typed error", described((L) => L.err("BAD", { cause: new Error("why") }))],
      ["a throw", described(() => { throw new TypeError("boom") })]
    ])("%s: a step's description is on step_start, step_success / step_error and step_complete", async (_, script) => {
      const ref = await runScript(reference, script, { createContext: () => ({ req: "r1" }) })
      const mine = await runScript(ours, script, { createContext: () => ({ req: "r1" }) })
      expect(norm(mine.result)).toEqual(norm(ref.result))
      expectSameEvents(ref.events, mine.events)
      const withDescription = mine.events.filter((e) => "description" in e)
      expect(withDescription.map((e) => [e.type, e.description])).toEqual([
        ["step_start", "gets A"],
        ["step_success", "gets A"],
        ["step_complete", "gets A"],
        ["step_start", "the second step"],
        [mine.result.ok ? "step_success" : "step_error", "the second step"],
        ["step_complete", "the second step"]
      ])
      // resumed: neither step_cache_hit nor step_cache_miss carries it
      const resumed = (L: Lib, state: any) => runScript(L, script, {}, { resumeState: partial(state) })
      const refResumed = await resumed(reference, ref.collector.getResumeState())
      const mineResumed = await resumed(ours, mine.collector.getResumeState())
      expectSameEvents(refResumed.events, mineResumed.events)
      expect(mineResumed.events.filter((e) => "description" in e).map((e) => e.type)).toEqual(
        ["step_start", mine.result.ok ? "step_success" : "step_error", "step_complete"]
      )
    })
  })

  it("a dep returning null fails with the reference's TypeError, wrapped as UnexpectedError", async () => {
    const script: Script = { name: "null", make: (L) => twoSteps(L, () => null) }
    const ref = await runScript(reference, script)
    const mine = await runScript(ours, script)
    expect(norm(mine.result)).toEqual(norm(ref.result))
    expectSameEvents(ref.events, mine.events)
  })

  it("on purpose, one step id twice in a run without keys: the reference runs both, we refuse the shared key", async () => {
    const script: Script = {
      name: "dup",
      make: (L) => ({
        deps: { getA: counted("getA", async (x: number) => L.ok({ a: x })) },
        fn: async ({ step, deps }: any) => [await step("unk", () => deps.getA(2)), await step("unk", () => deps.getA(3))]
      })
    }
    const ref = await runScript(reference, script)
    expect(ref.result).toEqual({ ok: true, value: [{ a: 2 }, { a: 3 }] })
    const mine = await runScript(ours, script)
    expect(mine.result).toMatchObject({ ok: false, error: { _tag: "StepKeyConflictError", reason: "DuplicateKey" } })
    expect(mine.calls).toEqual(["getA"])
  })

  it("the step_complete save pattern: a Map of { result, meta } resumes both libraries", async () => {
    for (const script of scripts.slice(0, 4)) {
      const saved = (L: Lib) => {
        const steps = new Map<string, unknown>()
        return {
          steps,
          onEvent: (e: any) => {
            if (L.isStepComplete(e)) steps.set(e.stepKey, { result: e.result, meta: e.meta })
          }
        }
      }
      const refSaved = saved(reference)
      const ourSaved = saved(ours)
      await runScript(reference, script, {}, { onEvent: refSaved.onEvent })
      await runScript(ours, script, {}, { onEvent: ourSaved.onEvent })
      expect(norm(ourSaved.steps)).toEqual(norm(refSaved.steps))
      // a hand-built state whose failed step's cause is any value is accepted
      const ref = await runScript(reference, script, {}, { resumeState: { steps: refSaved.steps } })
      const mine = await runScript(ours, script, {}, { resumeState: { steps: ourSaved.steps } })
      expect(mine.calls).toEqual(ref.calls)
      expect(norm(mine.result)).toEqual(norm(ref.result))
    }
  })

  it("the collector: equal after a fresh run; after a resumed run ours also keeps the replayed steps (on purpose)", async () => {
    const script = scripts[0]!
    const ref = await runScript(reference, script)
    const mine = await runScript(ours, script)
    expect(norm(mine.collector.getResumeState().steps)).toEqual(norm(ref.collector.getResumeState().steps))

    // resume with only k:a recorded: the reference's collector then holds k:b only, ours both
    const partial = (L: Lib, state: any) => ({ steps: new Map([...state.steps].filter(([k]) => k === "k:a")) })
    const refResumed = await runScript(reference, script, {}, { resumeState: partial(reference, ref.collector.getResumeState()) })
    const ourResumed = await runScript(ours, script, {}, { resumeState: partial(ours, mine.collector.getResumeState()) })
    expect([...refResumed.collector.getResumeState().steps.keys()]).toEqual(["k:b"])
    expect([...ourResumed.collector.getResumeState().steps.keys()]).toEqual(["k:a", "k:b"])
    expect(norm(ourResumed.collector.getResumeState().steps.get("k:b"))).toEqual(norm(refResumed.collector.getResumeState().steps.get("k:b")))
  })

  it("isStepComplete narrows to an event with stepKey, result and meta", async () => {
    const mine = await runScript(ours, scripts[1]!)
    const complete = mine.events.filter(Ours.isStepComplete as (e: any) => e is Ours.StepCompleteEvent)
    const narrowed: Array<{ stepKey: string; result: unknown; meta?: unknown }> = complete
    expect(narrowed.map((e) => [e.stepKey, e.result, e.meta])).toEqual([
      ["k:a", { ok: true, value: { a: 1 } }, undefined],
      ["k:b", { ok: false, error: "BAD" }, { origin: "result" }]
    ])
  })

  describe("snapshots", () => {
    const durableSnapshot = async () => {
      const saved = new Map<string, any>()
      const store = {
        save: async (id: string, s: any) => void saved.set(id, JSON.parse(JSON.stringify(s))),
        load: async (id: string) => saved.get(id) ?? null,
        delete: async (id: string) => void saved.delete(id),
        list: async () => [...saved.keys()].map((id) => ({ id, updatedAt: "" })),
        close: async () => {}
      }
      const script = scripts[3]! // stepA ok, stepB throws: the failed run's snapshot stays
      const { deps, fn } = script.make(reference)
      await (durable as any).run(deps, fn, { id: "wf-1", store, metadata: { tenant: "t1" } })
      return saved.get("wf-1")
    }

    it("the reference's durable snapshot validates here and resumes without re-running its steps", async () => {
      const snapshot = await durableSnapshot()
      expect(snapshot.steps["k:b"].meta).toEqual({ origin: "throw" })
      expect(OursPersistence.validateSnapshot(snapshot)).toMatchObject({ valid: true })
      const ref = await runScript(reference, scripts[3]!, {}, { snapshot })
      const mine = await runScript(ours, scripts[3]!, {}, { snapshot })
      expect(mine.calls).toEqual([])
      expect(ref.calls).toEqual([])
      expect(norm(mine.result)).toEqual(norm(ref.result))
      expectSameEvents(ref.events, mine.events)
    })

    it("each library's validateSnapshot accepts the other's snapshot, and rejects the same broken one alike", async () => {
      const snapshot = await durableSnapshot()
      const { resumeState } = await ours.createWorkflow("wf", scripts[3]!.make(ours).deps).runWithState(scripts[3]!.make(ours).fn)
      const mineSnapshot = {
        formatVersion: 1,
        steps: Object.fromEntries(ours.serializeResumeState(resumeState).steps),
        execution: { status: "failed", lastUpdated: "2026-11-29T00:00:00.000Z" }
      }
      expect(RefPersistence.validateSnapshot(mineSnapshot).valid).toBe(true)
      expect(OursPersistence.validateSnapshot(snapshot).valid).toBe(true)
      const broken = [
        null,
        [],
        { formatVersion: 3, steps: { a: { ok: 1 } }, execution: { status: "x" } },
        { formatVersion: 1, steps: { a: 5, b: { value: 1 }, c: { ok: false, error: "E" } }, execution: { status: "running", lastUpdated: 5 } },
        { formatVersion: 1, steps: {} }
      ]
      for (const u of broken) expect(OursPersistence.validateSnapshot(u)).toEqual(RefPersistence.validateSnapshot(u))
      // on purpose: a failed step without `error` (what both write for an undefined error) is valid here
      const noError = { formatVersion: 1, steps: { d: { ok: false, cause: snapshot.steps["k:b"].cause } }, execution: snapshot.execution }
      expect(RefPersistence.validateSnapshot(noError)).toEqual({ valid: false, errors: ["steps[\"d\"] is error result but missing error field"] })
      expect(OursPersistence.validateSnapshot(noError).valid).toBe(true)
      const error = (() => {
        try {
          OursPersistence.assertValidSnapshot(broken[2])
        } catch (e) {
          return e
        }
      })() as OursPersistence.SnapshotFormatError
      expect(error).toBeInstanceOf(OursPersistence.SnapshotFormatError)
      expect(error.message).toBe("Invalid snapshot format: Invalid formatVersion: expected 1, got 3")
      expect(error.errors).toEqual((RefPersistence.validateSnapshot(broken[2]) as any).errors)
    })

    it("on purpose, we also check what the reference does not (JSON values, cause shape), naming the path", () => {
      const snapshot = {
        formatVersion: 1,
        steps: { "user:1": { ok: false, error: "E", cause: { type: "weird" } } },
        execution: { status: "running", lastUpdated: "2026-11-29T00:00:00.000Z" }
      }
      expect(RefPersistence.validateSnapshot(snapshot).valid).toBe(true)
      const mine = OursPersistence.validateSnapshot(snapshot)
      expect(mine.valid).toBe(false)
      if (!mine.valid) expect(mine.errors.every((e) => e.startsWith("$.steps[\"user:1\"].cause"))).toBe(true)
    })
  })
})
