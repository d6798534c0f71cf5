import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, Ref, Schema, TestClock } from "effect"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ResumeState, SnapshotStore, Workflow } from "../src/index.js"
import * as SqliteStore from "../src/layers/SqliteStore.js"
import type * as Snapshot from "../src/Snapshot.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-resume-durable-"))
const store = SqliteStore.layer({ filename: path.join(dir, "durable.db") })

class Declined extends Schema.TaggedError<Declined>()("Declined", { reason: Schema.String }) {}

const loadSnapshot = (id: string) =>
  Effect.map(SnapshotStore.load(id), (o) => Option.getOrThrow(o) as Snapshot.WorkflowSnapshot)

describe("Workflow.runDurable", () => {
  it.effect("Effect.retry around a durable step runs it again after a failure or a timeout, and records the final outcome", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const flaky = Workflow.make("flaky", Workflow.step("flaky", Effect.flatMap(Ref.updateAndGet(attempts, (n) => n + 1), (n): Effect.Effect<number, string> =>
        n < 3 ? Effect.fail(`attempt ${n}`) : Effect.succeed(n))).pipe(Effect.retry({ times: 5 })))
      expect(yield* Workflow.runDurable(flaky, { id: "retry-after-failure" })).toBe(3)
      expect(yield* Ref.get(attempts)).toBe(3)

      const calls = yield* Ref.make(0)
      const slowThenFast = Effect.flatMap(Ref.updateAndGet(calls, (n) => n + 1), (n) =>
        n === 1 ? Effect.as(Effect.sleep("1 hour"), "slow") : Effect.succeed("fast"))
      const timedOut = Workflow.make("timed-out", Workflow.step("call", slowThenFast).pipe(Effect.timeout("1 second"), Effect.retry({ times: 2 })))
      const fiber = yield* Effect.fork(Workflow.runDurable(timedOut, { id: "retry-after-timeout" }))
      yield* TestClock.adjust("2 seconds")
      expect(yield* Fiber.join(fiber)).toBe("fast")
      expect(yield* Ref.get(calls)).toBe(2)
      const steps = (yield* loadSnapshot("retry-after-timeout")).steps
      expect(Object.keys(steps)).toEqual(["call"])
    }).pipe(Effect.provide(store)))

  it.live("a checkpoint is marked renew once half the lease has passed since the claim or the last one so marked", () =>
    Effect.gen(function*() {
      const real = yield* SnapshotStore.SnapshotStore
      const marked: Array<[string, boolean]> = []
      const observed = SnapshotStore.SnapshotStore.of({
        ...real,
        checkpoint: (c) => Effect.tap(real.checkpoint(c), () => Effect.sync(() => marked.push([c.key, c.renew === true])))
      })
      const pause = Effect.sleep("600 millis")
      const wf = Workflow.make("renewing", Effect.gen(function*() {
        yield* Workflow.step("a", Effect.succeed(1))
        yield* Workflow.step("b", Effect.zipRight(pause, Effect.succeed(2)))
        yield* Workflow.step("c", Effect.succeed(3))
        return yield* Workflow.step("d", Effect.zipRight(pause, Effect.succeed(4)))
      }))
      const id = `renew-marks-${Date.now()}`
      expect(yield* Workflow.runDurable(wf, { id, lease: "1 second" }).pipe(Effect.provideService(SnapshotStore.SnapshotStore, observed)))
        .toBe(4)
      // 600 ms of a 1 s lease had passed at b (since the claim) and at d (since b), not at a or c
      expect(marked).toEqual([["a", false], ["b", true], ["c", false], ["d", true]])
      expect(Option.getOrThrow(yield* real.getRun(id))).toMatchObject({ status: "completed", attempts: 1 })
    }).pipe(Effect.provide(store)))

  it.effect("under a TestClock the heartbeat beats as the clock moves: every third of the lease while a step sleeps", () =>
    Effect.gen(function*() {
      const real = yield* SnapshotStore.SnapshotStore
      let renewals = 0
      const observed = SnapshotStore.SnapshotStore.of({
        ...real,
        renew: (id, owner, leaseMs) => Effect.tap(real.renew(id, owner, leaseMs), () => Effect.sync(() => renewals++))
      })
      const wf = Workflow.make("sleepy", Workflow.step("nap", Effect.as(Effect.sleep("1 minute"), "rested")))
      const run = yield* Effect.fork(Workflow.runDurable(wf, { id: "test-clock-heartbeat", lease: "30 seconds" }).pipe(
        Effect.provideService(SnapshotStore.SnapshotStore, observed)
      ))
      for (let i = 0; i < 6; i++) {
        yield* TestClock.adjust("10 seconds")
        // a beat's renewal is a statement: let it land before the clock moves on
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))
      }
      expect(yield* Fiber.join(run)).toBe("rested")
      expect(renewals).toBeGreaterThanOrEqual(5)
      const afterwards = renewals
      yield* TestClock.adjust("1 minute")
      expect(renewals).toBe(afterwards)
    }).pipe(Effect.provide(store)))

  it.effect("saves after every completed step and records running / completed", () =>
    Effect.gen(function*() {
      const seen: Array<readonly [string, number, string]> = []
      const wf = Workflow.make("durable", Effect.gen(function*() {
        const a = yield* Workflow.step("a", Effect.succeed(1))
        const b = yield* Workflow.step("b", Effect.succeed(a + 1))
        return b
      }), { version: "v1" })
      const result = yield* Workflow.runDurable(wf, {
        id: "run-1",
        // events fire after the checkpoint is written, so the store already holds the step
        onEvent: (event) =>
          event._tag === "StepComplete"
            ? Effect.map(loadSnapshot("run-1"), (s) => void seen.push([event.stepId, Object.keys(s.steps).length, s.execution.status]))
              .pipe(Effect.provide(store), Effect.orDie)
            : Effect.void
      })
      expect(result).toBe(2)
      expect(seen).toEqual([["a", 1, "running"], ["b", 2, "running"]])
      const final = yield* loadSnapshot("run-1")
      expect(final.execution.status).toBe("completed")
      expect(final.execution.completedAt).toBeDefined()
      expect(final.metadata).toMatchObject({ workflowId: "run-1", workflowName: "durable", definitionHash: "v1" })
    }).pipe(Effect.provide(store)))

  it.effect("a failed run is recorded as failed and resumes without re-running completed steps", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make<Array<string>>([])
      const approve = yield* Ref.make(false)
      const track = (id: string) => Ref.update(calls, (c) => [...c, id])
      const wf = Workflow.make("order", Effect.gen(function*() {
        yield* Workflow.step("reserve", Effect.as(track("reserve"), "reserved"))
        yield* Workflow.step("charge", Effect.flatMap(track("charge"), () =>
          Effect.flatMap(Ref.get(approve), (ok): Effect.Effect<string, Declined> => ok ? Effect.succeed("charged") : Effect.fail(new Declined({ reason: "card" })))), { error: Declined })
        return "done"
      }), { error: Declined })
      const error = yield* Effect.flip(Workflow.runDurable(wf, { id: "order-1" }))
      expect(error).toEqual(new Declined({ reason: "card" }))
      expect((yield* loadSnapshot("order-1")).execution.status).toBe("failed")

      yield* Ref.set(approve, true)
      // the recorded failure replays unless retryFailed asks to run it again
      expect(yield* Effect.flip(Workflow.runDurable(wf, { id: "order-1" }))).toBeInstanceOf(Declined)
      expect(yield* Workflow.runDurable(wf, { id: "order-1", retryFailed: true })).toBe("done")
      expect(yield* Ref.get(calls)).toEqual(["reserve", "charge", "charge"])
      expect((yield* loadSnapshot("order-1")).execution.status).toBe("completed")
      const state = Option.getOrThrow(yield* SnapshotStore.loadResumeState("order-1"))
      expect(ResumeState.isStepComplete(state, "charge")).toBe(true)
    }).pipe(Effect.provide(store)))

  it.effect("lossy warnings stay with their own entry across resumed runs (one step id, many keys)", () =>
    Effect.gen(function*() {
      const wf = Workflow.make("loop", Effect.forEach([1, 2, 3], (i) =>
        Workflow.step("item", Effect.succeed(i === 1 ? { at: new Date(0) } : { n: i }), { key: `item:${i}` })))
      for (let run = 0; run < 5; run++) yield* Workflow.runDurable(wf, { id: "lossy-loop" })
      const snapshot = yield* loadSnapshot("lossy-loop")
      expect(snapshot.warnings).toEqual([{ type: "lossy_value", stepId: "item", stepKey: "item:1", path: "$.at", reason: "non-json" }])
      const state = Option.getOrThrow(yield* SnapshotStore.loadResumeState("lossy-loop"))
      expect(state.steps.get("item:2")?.warnings).toBeUndefined()
    }).pipe(Effect.provide(store)))

  it.effect("a checkpoint that cannot be written fails the run with the StoreError, and nothing more runs", () =>
    Effect.gen(function*() {
      const filename = path.join(dir, "broken.db")
      const calls = yield* Ref.make(0)
      // the step table disappears under the run: its first checkpoint fails
      const dropSteps = Effect.flatMap(SqliteClient.SqliteClient, (sql) => sql`DROP TABLE effect_resume_runs_steps`).pipe(
        Effect.provide(SqliteClient.layer({ filename })),
        Effect.orDie
      )
      const wf = Workflow.make("w", Effect.gen(function*() {
        yield* Workflow.step("a", Effect.zipRight(dropSteps, Ref.update(calls, (n) => n + 1)))
        yield* Workflow.step("b", Ref.update(calls, (n) => n + 1))
      }))
      const error = yield* Effect.flip(Workflow.runDurable(wf, { id: "x" }).pipe(Effect.provide(SqliteStore.layer({ filename }))))
      expect(error).toMatchObject({ _tag: "StoreError", reason: "Query" })
      expect(error.message).toContain("no such table")
      expect(yield* Ref.get(calls)).toBe(1) // the run stopped at the first checkpoint it could not write
    }))

  it.effect("a store made from the reference's five-method adapter cannot fence: runDurable refuses it by name", () =>
    Effect.gen(function*() {
      const adapter = SnapshotStore.layer({ save: () => undefined, load: () => null, delete: () => undefined, list: () => [] })
      const wf = Workflow.make("w", Workflow.step("a", Effect.succeed(1)))
      const error = yield* Effect.flip(Workflow.runDurable(wf, { id: "x" }).pipe(Effect.provide(adapter)))
      expect(error).toMatchObject({ _tag: "StoreError", reason: "Unsupported" })
      expect(error.message).toContain("SqliteStore, PgStore")
      // the seed's API still works on it
      expect(yield* Workflow.run(wf).pipe(Effect.provide(adapter))).toBe(1)
    }))
})

describe("the demo", () => {
  it("crashes a real child process part-way and resumes from the SQLite file", () => {
    const output = execFileSync(process.execPath, ["--import", "tsx", "examples/demo.ts"], {
      env: { ...process.env, DEMO_DB: path.join(dir, "demo.db") },
      encoding: "utf8"
    })
    expect(output).toContain("sendWelcomeEmail: crashing the process now")
    expect(output).toContain("Run 1 exited with code 3")
    const run2 = output.slice(output.indexOf("Run 2"))
    expect(run2).toContain("fetchUser: replayed from the checkpoint (not executed)")
    expect(run2).toContain("createAccount: replayed from the checkpoint (not executed)")
    expect(run2).toContain("sendWelcomeEmail: executed and checkpointed")
    expect(run2).toContain("scheduleFollowUp: executed and checkpointed")
    expect(run2).toContain("\"signedUpAt\":\"2026-11-25T09:00:00.000Z\"")
    expect(run2).toContain("Run 2 exited with code 0")
  }, 60_000)
})
