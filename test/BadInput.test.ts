import { describe, expect, it } from "@effect/vitest"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Cause, Effect, Either } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ResumeState, Snapshot, SnapshotStore, Workflow } from "../src/index.js"
import { maxDepth } from "../src/internal/json.js"
import * as SqliteStore from "../src/layers/SqliteStore.js"

// Issue #14 §4: stored rows and inputs that used to make validation throw, or set a prototype.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-resume-bad-input-"))
const filename = path.join(dir, "bad.db")
const store = SqliteStore.layer({ filename })

const nested = (levels: number): unknown => JSON.parse("[".repeat(levels) + "]".repeat(levels))
const bogus = () => ({ toString: 1 })
const execution = { status: "running", lastUpdated: "2026-01-01T00:00:00.000Z" }
const thrown = { type: "thrown", stringRepresentation: "x" }
const causeChain = (length: number): unknown => {
  let cause: unknown = thrown
  for (let i = 1; i < length; i++) cause = { type: "error", name: "E", message: "m", cause }
  return cause
}
const snapshotWith = (step: unknown, extra: object = {}) => ({ formatVersion: 1, steps: { a: step }, execution, ...extra })
const stateWith = (step: unknown) => ({ kind: "ResumeState", steps: [["a", step]] })

// Every place a value can sit in a snapshot, as a function of the value.
const positions: ReadonlyArray<readonly [string, (v: unknown) => unknown]> = [
  ["the snapshot", (v) => v],
  ["formatVersion", (v) => ({ formatVersion: v, steps: {}, execution })],
  ["steps", (v) => ({ formatVersion: 1, steps: v, execution })],
  ["a step", (v) => snapshotWith(v)],
  ["ok", (v) => snapshotWith({ ok: v, value: 1 })],
  ["value", (v) => snapshotWith({ ok: true, value: v })],
  ["stepId", (v) => snapshotWith({ ok: true, stepId: v })],
  ["error", (v) => snapshotWith({ ok: false, error: v, cause: thrown })],
  ["cause", (v) => snapshotWith({ ok: false, cause: v })],
  ["cause.type", (v) => snapshotWith({ ok: false, cause: { ...thrown, type: v } })],
  ["a chained cause's type", (v) => snapshotWith({ ok: false, cause: { type: "error", name: "E", message: "m", cause: { type: v } } })],
  ["cause.value", (v) => snapshotWith({ ok: false, cause: { ...thrown, value: v } })],
  ["meta.origin", (v) => snapshotWith({ ok: false, cause: thrown, meta: { origin: v } })],
  ["execution", (v) => ({ formatVersion: 1, steps: {}, execution: v })],
  ["execution.status", (v) => ({ formatVersion: 1, steps: {}, execution: { ...execution, status: v } })],
  ["metadata", (v) => ({ formatVersion: 1, steps: {}, execution, metadata: v })],
  ["metadata.workflowId", (v) => ({ formatVersion: 1, steps: {}, execution, metadata: { workflowId: v } })],
  ["metadata entry", (v) => ({ formatVersion: 1, steps: {}, execution, metadata: { other: v } })],
  ["warnings", (v) => ({ formatVersion: 1, steps: {}, execution, warnings: v })],
  ["a warning's reason", (v) => ({ formatVersion: 1, steps: {}, execution, warnings: [{ type: "lossy_value", stepId: "a", path: "$", reason: v }] })]
]

// the same places in a serialized ResumeState and in a step entry
const statePositions: ReadonlyArray<readonly [string, (v: unknown) => unknown]> = [
  ["the state", (v) => v],
  ["kind", (v) => ({ kind: v, steps: [] })],
  ["steps", (v) => ({ kind: "ResumeState", steps: v })],
  ["a pair", (v) => ({ kind: "ResumeState", steps: [v] })],
  ["a key", (v) => ({ kind: "ResumeState", steps: [[v, { ok: true }]] })],
  ...positions.filter(([name]) => !["the snapshot", "formatVersion", "steps", "execution", "execution.status"].includes(name) && !name.startsWith("metadata"))
    .map(([name, at]) => [name, (v: unknown) => stateWith((at(v) as { steps: { a: unknown } }).steps?.a ?? v)] as const)
]

const expectInvalid = (result: Snapshot.ValidationResult) => {
  expect(result.valid).toBe(false)
  if (!result.valid) for (const issue of result.errors) expect(issue.path.startsWith("$")).toBe(true)
}

// writes a row straight into the store's table, as a bug or a hand edit could leave it
const writeRaw = (id: string, body: string) =>
  Effect.gen(function*() {
    const sql = yield* SqliteClient.SqliteClient
    yield* sql`INSERT OR REPLACE INTO effect_resume_runs (id, status, created_at, updated_at, seq, body)
      VALUES (${id}, 'running', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 1, ${body})`
  }).pipe(Effect.provide(SqliteClient.layer({ filename })), Effect.scoped, Effect.orDie)

describe("bad input: deep nesting and objects with a bogus toString", () => {
  for (const [name, at] of positions) {
    it(`Snapshot.validate refuses, without throwing, bad data at ${name}`, () => {
      expectInvalid(Snapshot.validate(at(nested(1e5))))
      // where any JSON may sit, `{ toString: 1 }` is valid data: it must just not throw
      expect(typeof Snapshot.validate(at(bogus())).valid).toBe("boolean")
      expect(typeof Snapshot.validate(at([bogus()])).valid).toBe("boolean")
    })
  }

  for (const [name, at] of statePositions) {
    it(`ResumeState.deserializeEither refuses, without throwing, bad data at ${name}`, () => {
      expect(Either.isLeft(ResumeState.deserializeEither(at(nested(1e5))))).toBe(true)
      expect(Either.isEither(ResumeState.deserializeEither(at(bogus())))).toBe(true)
      expect(Either.isEither(ResumeState.deserializeEither(at([bogus()])))).toBe(true)
    })
  }

  it("the depth limit: a value nested maxDepth levels is valid, one level more is refused, naming where", () => {
    expect(maxDepth).toBe(1000)
    expect(Snapshot.validate(snapshotWith({ ok: true, value: nested(maxDepth) })).valid).toBe(true)
    const result = Snapshot.validate(snapshotWith({ ok: true, value: nested(maxDepth + 1) }))
    expect(result.valid ? [] : result.errors).toEqual([
      { path: "$.steps.a.value", message: "Expected a JSON value nested at most 1000 levels deep (or circular)" }
    ])
    expect(Either.isRight(ResumeState.deserializeEither(stateWith({ ok: true, value: nested(maxDepth) })))).toBe(true)
    expect(Either.isLeft(ResumeState.deserializeEither(stateWith({ ok: true, value: nested(maxDepth + 1) })))).toBe(true)
  })

  it("the depth limit bounds a cause chain too", () => {
    expect(Snapshot.validate(snapshotWith({ ok: false, cause: causeChain(maxDepth) })).valid).toBe(true)
    const result = Snapshot.validate(snapshotWith({ ok: false, cause: causeChain(maxDepth + 1) }))
    expect(result.valid ? [] : result.errors).toEqual([
      { path: "$.steps.a.cause", message: "Expected a cause chain at most 1000 causes long" }
    ])
    expect(Either.isLeft(ResumeState.deserializeEither(stateWith({ ok: false, cause: causeChain(1e5) })))).toBe(true)
  })

  it("a bogus toString in a union's tag is reported at its path", () => {
    const result = Snapshot.validate(snapshotWith({ ok: bogus() }))
    expect(result.valid ? [] : result.errors.map((e) => e.path)).toEqual(["$.steps.a.ok"])
    const state = ResumeState.deserializeEither(stateWith({ ok: false, cause: { type: bogus() } }))
    expect(Either.isLeft(state) ? state.left.errors.map((e) => e.path) : []).toEqual(["$.steps[0][1].cause.type"])
    const entry = ResumeState.decodeEntry({ result: { ok: bogus() } })
    expect(Either.isLeft(entry) ? entry.left.errors.map((e) => e.path) : []).toEqual(["$.result.ok"])
  })

  it("an input that throws when read is reported, not thrown", () => {
    const hostile = new Proxy({}, {
      ownKeys: () => {
        throw new Error("boom")
      },
      has: () => true,
      get: () => {
        throw new Error("boom")
      }
    })
    expectInvalid(Snapshot.validate(hostile))
    expect(Either.isLeft(ResumeState.deserializeEither(hostile))).toBe(true)
    expect(Either.isLeft(ResumeState.decodeEntry(hostile))).toBe(true)
  })

  const badRows: ReadonlyArray<readonly [string, string]> = [
    ["a document nested 100,000 levels", "[".repeat(1e5) + "]".repeat(1e5)],
    ["a deep step value", JSON.stringify(stateWith({ ok: true, value: 0 })).replace("0", "[".repeat(1e5) + "]".repeat(1e5))],
    ["a deep snapshot value", JSON.stringify(snapshotWith({ ok: true, value: 0 })).replace("0}", "[".repeat(1e5) + "]".repeat(1e5) + "}")],
    ["a bogus toString in a state", JSON.stringify(stateWith({ ok: { toString: 1 } }))],
    ["a bogus toString in a snapshot", JSON.stringify(snapshotWith({ ok: { toString: 1 } }))],
    ["a bogus toString in a cause", JSON.stringify(snapshotWith({ ok: false, cause: { type: { toString: 1 } } }))]
  ]
  for (const [name, body] of badRows) {
    it.effect(`a stored row holding ${name} fails load, loadResumeState and runDurable with Decode`, () =>
      Effect.gen(function*() {
        const id = `bad-${name}`
        yield* writeRaw(id, body)
        const load = yield* Effect.flip(SnapshotStore.load(id))
        expect(load.reason).toBe("Decode")
        expect(load.message.length).toBeLessThan(2000)
        expect((yield* Effect.flip(SnapshotStore.loadResumeState(id))).reason).toBe("Decode")
        const wf = Workflow.make("bad", Workflow.step("a", Effect.succeed(1)))
        const error = yield* Effect.flip(Workflow.runDurable(wf, { id }))
        expect(error).toMatchObject({ _tag: "StoreError", reason: "Decode" })
      }).pipe(Effect.provide(store)))
  }

  it.effect("a stored step row holding bad data fails load with Decode", () =>
    Effect.gen(function*() {
      yield* SnapshotStore.saveStep("bad-step-row", "a", { result: { ok: true, value: 1 } })
      yield* Effect.gen(function*() {
        const sql = yield* SqliteClient.SqliteClient
        yield* sql`UPDATE effect_resume_runs_steps SET entry = ${JSON.stringify({ result: { ok: { toString: 1 } } })}
          WHERE run_id = 'bad-step-row'`
      }).pipe(Effect.provide(SqliteClient.layer({ filename })), Effect.scoped, Effect.orDie)
      expect(yield* Effect.flip(SnapshotStore.load("bad-step-row"))).toMatchObject({ reason: "Decode" })
    }).pipe(Effect.provide(store)))
})

describe("bad input: an own __proto__ key", () => {
  const parse = (text: string) => JSON.parse(text) as unknown
  const step = `{"ok":true,"value":1}`
  const exec = `{"status":"running","lastUpdated":"2026-01-01T00:00:00.000Z"}`

  const refused: ReadonlyArray<readonly [string, string, string]> = [
    ["at the top level", `{"formatVersion":1,"__proto__":{"metadata":{"x":1}},"steps":{},"execution":${exec}}`, "$.__proto__"],
    ["in execution", `{"formatVersion":1,"steps":{},"execution":{"status":"running","lastUpdated":"t","__proto__":{"completedAt":5}}}`, "$.execution.__proto__"],
    ["in a step result", `{"formatVersion":1,"steps":{"a":{"ok":true,"__proto__":{"stepId":7}}},"execution":${exec}}`, "$.steps.a.__proto__"],
    ["in a cause", `{"formatVersion":1,"steps":{"a":{"ok":false,"cause":{"type":"thrown","stringRepresentation":"x","__proto__":{"value":1n}}}},"execution":${exec}}`.replace("1n", "1"), "$.steps.a.cause.__proto__"],
    ["in meta", `{"formatVersion":1,"steps":{"a":{"ok":false,"cause":{"type":"thrown","stringRepresentation":"x"},"meta":{"origin":"throw","__proto__":{}}}},"execution":${exec}}`, "$.steps.a.meta.__proto__"],
    ["in a warning", `{"formatVersion":1,"steps":{},"execution":${exec},"warnings":[{"type":"lossy_value","stepId":"a","path":"$","reason":"non-json","__proto__":{"stepKey":3}}]}`, "$.warnings[0].__proto__"]
  ]
  for (const [name, text, issuePath] of refused) {
    it(`is refused ${name}, naming its path, and never becomes the prototype`, () => {
      const result = Snapshot.validate(parse(text))
      expect(result.valid ? [] : result.errors.map((e) => e.path)).toEqual([issuePath])
    })
  }

  it("is kept as an ordinary own key in metadata (not dropped), step keys and values", () => {
    const text = `{"formatVersion":1,"steps":{"__proto__":${step},"a":{"ok":true,"value":{"__proto__":{"x":1}}}},` +
      `"execution":${exec},"metadata":{"workflowId":"w","__proto__":{"workflowName":"evil"}}}`
    const result = Snapshot.validate(parse(text))
    expect(result.valid).toBe(true)
    if (!result.valid) return
    const { metadata, steps } = result.snapshot
    for (const o of [result.snapshot, steps, metadata!, result.snapshot.execution, steps.a!]) {
      expect(Object.getPrototypeOf(o)).toBe(Object.prototype)
    }
    expect(Object.keys(metadata!)).toEqual(["workflowId", "__proto__"])
    expect(Object.getOwnPropertyDescriptor(metadata, "__proto__")?.value).toEqual({ workflowName: "evil" })
    expect(Object.keys(steps)).toContain("__proto__")
    expect(JSON.parse(JSON.stringify(result.snapshot))).toEqual(parse(text))
    // a metadata entry that is not JSON is refused under that key too
    const notJson = {}
    Object.defineProperty(notJson, "__proto__", { value: new Date(0), enumerable: true })
    expect(Snapshot.validate({ ...result.snapshot, metadata: notJson }).valid).toBe(false)
  })

  it("is refused in a ResumeState's step result, and kept as a step key", () => {
    const bad = ResumeState.deserializeEither(parse(`{"kind":"ResumeState","steps":[["a",{"ok":true,"__proto__":{"stepId":"x"}}]]}`))
    expect(Either.isLeft(bad) ? bad.left.errors.map((e) => e.path) : []).toEqual(["$.steps[0][1].__proto__"])
    const good = ResumeState.deserializeEither(parse(`{"kind":"ResumeState","steps":[["__proto__",${step}]]}`))
    expect(Either.isRight(good) ? [...good.right.steps.keys()] : []).toEqual(["__proto__"])
  })

  it("toSnapshot keeps a metadata key named __proto__ as an own key", () => {
    const metadata = parse(`{"__proto__":{"a":1}}`) as Record<string, Snapshot.JsonValue>
    const snapshot = ResumeState.toSnapshot(ResumeState.empty, { metadata })
    expect(Object.getPrototypeOf(snapshot.metadata)).toBe(Object.prototype)
    expect(Object.keys(snapshot.metadata!)).toEqual(["__proto__"])
  })
})

describe("bad input: a step value nested deeper than a store keeps", () => {
  const nested = (levels: number): unknown => {
    let value: unknown = []
    for (let i = 1; i < levels; i++) value = [value]
    return value
  }

  it.effect("is refused with StepCodecError before the step counts as done, and runs again on resume", () =>
    Effect.gen(function*() {
      let executed = 0
      const workflow = Workflow.make("deep", Workflow.step("deep", Effect.sync(() => {
        executed++
        return nested(2_500)
      })))
      const first = yield* Workflow.runWithState(workflow)
      expect(first.result._tag).toBe("Failure")
      const error = first.result._tag === "Failure" ? Cause.squash(first.result.cause) : undefined
      expect(error).toMatchObject({ _tag: "StepCodecError", reason: "Encode", stepKey: "deep" })
      expect((error as { message: string }).message).toContain(`deeper than ${maxDepth} levels`)
      // nothing recorded: a resume executes the step again instead of replaying a value it could not keep
      expect(first.resumeState.steps.size).toBe(0)
      yield* Workflow.runWithState(workflow, { resumeState: first.resumeState })
      expect(executed).toBe(2)
    }))

  it.effect("one level inside the limit is recorded and replays", () =>
    Effect.gen(function*() {
      const workflow = Workflow.make("deep-ok", Workflow.step("ok", Effect.sync(() => nested(maxDepth))))
      const first = yield* Workflow.runWithState(workflow)
      expect(first.result._tag).toBe("Success")
      const json = JSON.parse(JSON.stringify(first.resumeState))
      const back = yield* ResumeState.deserialize(json)
      expect(back.steps.size).toBe(1)
    }))
})

describe("bad input: a defect nested deeper than a store keeps", () => {
  it.effect("is recorded without its too-deep JSON value, and the record loads back", () =>
    Effect.gen(function*() {
      let value: unknown = []
      for (let i = 1; i < 2_500; i++) value = [value]
      const workflow = Workflow.make("deep-defect", Workflow.step("boom", Effect.die(value)))
      const { resumeState } = yield* Workflow.runWithState(workflow)
      const entry = resumeState.steps.get("boom")
      expect(entry?.result).toMatchObject({ ok: false, meta: { origin: "throw" }, cause: { type: "thrown", originalType: "Array" } })
      expect(entry?.result.ok === false && entry.result.cause.type === "thrown" && "value" in entry.result.cause).toBe(false)
      const back = yield* ResumeState.deserialize(JSON.parse(JSON.stringify(resumeState)))
      expect(back.steps.has("boom")).toBe(true)
    }))
})
