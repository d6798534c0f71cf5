import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Metric, Option, Scope, Tracer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Telemetry, Worker, Workflow } from "../src/index.js"
import * as MemoryStore from "../src/layers/MemoryStore.js"
import * as SqliteStore from "../src/layers/SqliteStore.js"
import { SnapshotStore, StoreError } from "../src/SnapshotStore.js"

// A tracer that records the spans it makes (Effect's own spans, kept). @opentelemetry/api's ESM build
// does not load under vitest's "module" condition, so the OpenTelemetry path is exercised by
// bench/telemetry.ts and examples/opentelemetry.ts (run with tsx) instead.
const native = Effect.runSync(Effect.tracer)
const recorded: Array<Tracer.Span> = []
const recorder = Tracer.make({
  span: (...args) => {
    const span = native.span(...args)
    recorded.push(span)
    return span
  },
  context: (f) => f()
})
const traced = Layer.setTracer(recorder)
const resetSpans = () => void recorded.splice(0)

const spansNamed = (name: string) => recorded.filter((span) => span.name === name && span.status._tag === "Ended")
const attributesOf = (span: Tracer.Span) => Object.fromEntries(span.attributes)
const parentOf = (span: Tracer.Span) => Option.getOrUndefined(Option.map(span.parent, (parent) => parent.spanId))

const threeSteps = Workflow.make("three", (failAt: string | undefined) =>
  Effect.gen(function*() {
    const a = yield* Workflow.step("a", Effect.succeed(1))
    const b = yield* Workflow.step("b", Effect.succeed(a + 1))
    const c = yield* Workflow.step("c", failAt === "c" ? Effect.fail("no") : Effect.succeed(b + 1), { key: "c-key" })
    return c
  }))

interface Counts {
  readonly executed: number
  readonly replayed: number
  readonly checkpoints: number
  readonly completed: number
  readonly failed: number
}

const counts: Effect.Effect<Counts> = Effect.all({
  executed: Effect.map(Metric.value(Telemetry.stepsExecuted), (s) => s.count),
  replayed: Effect.map(Metric.value(Telemetry.stepsReplayed), (s) => s.count),
  checkpoints: Effect.map(Metric.value(Telemetry.checkpointLatency), (s) => s.count),
  completed: Effect.map(Metric.value(Telemetry.runsWithStatus("completed")), (s) => s.count),
  failed: Effect.map(Metric.value(Telemetry.runsWithStatus("failed")), (s) => s.count)
})

const grown = (before: Counts, after: Counts) => ({
  executed: after.executed - before.executed,
  replayed: after.replayed - before.replayed,
  checkpoints: after.checkpoints - before.checkpoints,
  completed: after.completed - before.completed,
  failed: after.failed - before.failed
})

describe("spans", () => {
  it.effect("a resumed run: one run span, a span per executed step inside it, none for replayed steps", () =>
    Effect.gen(function*() {
      const first = yield* Workflow.runWithState(threeSteps, { input: "c" })
      expect(Exit.isFailure(first.result)).toBe(true)
      resetSpans()
      const result = yield* Workflow.run(threeSteps, { input: undefined, resumeState: first.resumeState, retryFailed: true })
      expect(result).toBe(3)
    }).pipe(Effect.provide(traced), Effect.tap(() => {
      const [run, ...others] = spansNamed(Telemetry.runSpanName)
      expect(others).toEqual([])
      expect(attributesOf(run!)).toMatchObject({
        [Telemetry.attributes.workflow]: "three",
        [Telemetry.attributes.resumedSteps]: 3,
        [Telemetry.attributes.replayedSteps]: 2,
        [Telemetry.attributes.executedSteps]: 1,
        [Telemetry.attributes.status]: "completed"
      })
      expect(attributesOf(run!)[Telemetry.attributes.runId]).toBeUndefined()
      expect(attributesOf(run!)[Telemetry.attributes.attempt]).toBeUndefined()
      const steps = spansNamed(Telemetry.stepSpanName)
      expect(steps.map(attributesOf)).toEqual([{
        [Telemetry.attributes.stepId]: "c",
        [Telemetry.attributes.stepKey]: "c-key",
        [Telemetry.attributes.cached]: false
      }])
      expect(parentOf(steps[0]!)).toBe(run!.spanId)
      expect(steps[0]!.traceId).toBe(run!.traceId)
    })))

  it.effect("a durable run's spans carry its id and the claim's attempt; the run span nests in the caller's", () =>
    Effect.gen(function*() {
      resetSpans()
      yield* Workflow.runDurable(threeSteps, { id: "traced-1", input: undefined }).pipe(Effect.withSpan("caller"))
      const [caller] = spansNamed("caller")
      const [run] = spansNamed(Telemetry.runSpanName)
      expect(parentOf(run!)).toBe(caller!.spanId)
      expect(attributesOf(run!)).toMatchObject({
        [Telemetry.attributes.workflow]: "three",
        [Telemetry.attributes.runId]: "traced-1",
        [Telemetry.attributes.attempt]: 1,
        [Telemetry.attributes.resumedSteps]: 0,
        [Telemetry.attributes.executedSteps]: 3,
        [Telemetry.attributes.status]: "completed"
      })
      const steps = spansNamed(Telemetry.stepSpanName)
      expect(steps.map((span) => span.attributes.get(Telemetry.attributes.stepKey))).toEqual(["a", "b", "c-key"])
      for (const step of steps) {
        expect(parentOf(step)).toBe(run!.spanId)
        expect(step.attributes.get(Telemetry.attributes.attempt)).toBe(1)
      }
      // the store's operations have spans of their own under a tracer: the claim (before the run starts)
      // in the caller's, the end in the run's
      expect(spansNamed("MemoryStore.claim").map((span) => [parentOf(span), attributesOf(span)["id"]])).toEqual([[caller!.spanId, "traced-1"]])
      expect(spansNamed("MemoryStore.finish").map(parentOf)).toEqual([run!.spanId])
    }).pipe(Effect.provide(Layer.merge(traced, MemoryStore.layer()))))

  it.effect("a failed run's span says so; the failing step has its span", () =>
    Effect.gen(function*() {
      resetSpans()
      const exit = yield* Effect.exit(Workflow.run(threeSteps, { input: "c" }))
      expect(Exit.isFailure(exit)).toBe(true)
      const [run] = spansNamed(Telemetry.runSpanName)
      expect(attributesOf(run!)).toMatchObject({ [Telemetry.attributes.status]: "failed", [Telemetry.attributes.executedSteps]: 3 })
      const failing = spansNamed(Telemetry.stepSpanName).find((span) => span.attributes.get(Telemetry.attributes.stepId) === "c")
      expect(failing!.status._tag === "Ended" && Exit.isFailure(failing!.status.exit)).toBe(true)
    }).pipe(Effect.provide(traced)))

  it.live("a worker's run is traced with the claim's attempt", () =>
    Effect.gen(function*() {
      resetSpans()
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(Worker.layer({ workflows: [threeSteps], pollInterval: "20 millis" }), scope)
      const id = yield* Workflow.start(threeSteps, { id: "worked-1", input: undefined })
      expect(yield* Workflow.result(threeSteps, id, { pollInterval: "20 millis" })).toBe(3)
      yield* Scope.close(scope, Exit.void)
      const [run] = spansNamed(Telemetry.runSpanName)
      expect(attributesOf(run!)).toMatchObject({
        [Telemetry.attributes.runId]: "worked-1",
        [Telemetry.attributes.attempt]: 1,
        [Telemetry.attributes.executedSteps]: 3,
        [Telemetry.attributes.status]: "completed"
      })
      expect(spansNamed(Telemetry.stepSpanName)).toHaveLength(3)
    }).pipe(Effect.provide(Layer.merge(traced, MemoryStore.layer()))))

  it.effect("without a tracer, or with tracing off, no span is made", () =>
    Effect.gen(function*() {
      resetSpans()
      yield* Workflow.run(threeSteps, { input: undefined })
      yield* Workflow.run(threeSteps, { input: undefined }).pipe(Effect.withTracerEnabled(false), Effect.provide(traced))
      expect(recorded).toEqual([])
    }))
})

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-resume-telemetry-"))

describe.each([
  ["MemoryStore", () => MemoryStore.layer()],
  ["SqliteStore", () => SqliteStore.layer({ filename: path.join(dir, "telemetry.db") })]
])("metrics of durable runs (%s)", (_, store) => {
  it.effect("a checkpoint per executed step; executed, replayed and run counts; a failed run counted", () =>
    Effect.gen(function*() {
      const start = yield* counts
      const failed = yield* Effect.exit(Workflow.runDurable(threeSteps, { id: "m-1", input: "c" }))
      expect(Exit.isFailure(failed)).toBe(true)
      const afterFailed = yield* counts
      expect(grown(start, afterFailed)).toEqual({ executed: 3, replayed: 0, checkpoints: 3, completed: 0, failed: 1 })

      // resumed: a and b replay, the failed c executes again and its checkpoint overwrites
      expect(yield* Workflow.runDurable(threeSteps, { id: "m-1", input: undefined, retryFailed: true })).toBe(3)
      const afterResumed = yield* counts
      expect(grown(afterFailed, afterResumed)).toEqual({ executed: 1, replayed: 2, checkpoints: 1, completed: 1, failed: 0 })

      // a completed run answers from its record: no run is executed, nothing is counted
      expect(yield* Workflow.runDurable(threeSteps, { id: "m-1", input: undefined })).toBe(3)
      expect(grown(afterResumed, yield* counts)).toEqual({ executed: 0, replayed: 0, checkpoints: 0, completed: 0, failed: 0 })
    }).pipe(Effect.provide(store())))
})

describe("metrics of plain runs", () => {
  it.effect("count steps and runs, with no checkpoint", () =>
    Effect.gen(function*() {
      const start = yield* counts
      const first = yield* Workflow.runWithState(threeSteps, { input: "c" })
      yield* Workflow.run(threeSteps, { input: undefined, resumeState: first.resumeState })
        .pipe(Effect.exit)
      expect(grown(start, yield* counts)).toEqual({ executed: 3, replayed: 3, checkpoints: 0, completed: 0, failed: 2 })
    }))
})

describe("metrics when the store fails", () => {
  it.effect("a run stopped by a failed checkpoint counts as store_error, not failed: the run is still running", () =>
    Effect.gen(function*() {
      const base = MemoryStore.make()
      const away = Layer.succeed(SnapshotStore, {
        ...base,
        checkpoint: () => Effect.fail(new StoreError({ reason: "Connection", message: "db away" }))
      })
      const failedBefore = (yield* Metric.value(Telemetry.runsWithStatus("failed"))).count
      const storeErrorsBefore = (yield* Metric.value(Telemetry.runsWithStatus("store_error"))).count
      const exit = yield* Effect.exit(Workflow.runDurable(threeSteps, { id: "away-1", input: "c" }).pipe(Effect.provide(away)))
      expect(Exit.isFailure(exit) && Option.getOrThrow(Cause.failureOption(exit.cause))).toMatchObject({ _tag: "StoreError" })
      expect((yield* Metric.value(Telemetry.runsWithStatus("store_error"))).count - storeErrorsBefore).toBe(1)
      expect((yield* Metric.value(Telemetry.runsWithStatus("failed"))).count - failedBefore).toBe(0)
      expect(Option.getOrThrow(yield* base.getRun("away-1")).status).toBe("running")
    }))
})
