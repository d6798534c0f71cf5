import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { groupCommit } from "../src/internal/groupCommit.js"

// A store's writes, recorded: `one` waits for the test to open its gate, `many` writes at once
const recorder = () => {
  const writes: Array<ReadonlyArray<number>> = []
  const gates: Array<Deferred.Deferred<void>> = []
  const write = groupCommit<number, number, never>({
    one: (item) =>
      Effect.flatMap(Deferred.make<void>(), (gate) => {
        gates.push(gate)
        return Effect.as(Effect.zipRight(Deferred.await(gate), Effect.sync(() => writes.push([item]))), item * 10)
      }),
    many: (items) => Effect.sync(() => (writes.push(items), items.map((item) => item * 10))),
    maxBatch: 3
  })
  const open = (i: number) => Effect.suspend(() => Deferred.succeed(gates[i]!, undefined))
  const gateCount = Effect.sync(() => gates.length)
  // (a write once sent cannot be interrupted: a test that fails opens every gate, or its fibers would wait)
  const openAll = Effect.suspend(() => Effect.forEach(gates, (gate) => Deferred.succeed(gate, undefined), { discard: true }))
  return { write, writes, open, gateCount, openAll }
}

// polls until the condition holds (a fiber's write has started)
const until = (condition: Effect.Effect<boolean>) =>
  Effect.repeat(Effect.zipRight(Effect.sleep("1 millis"), condition), { until: (done) => done }).pipe(
    Effect.asVoid,
    Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => new Error("the write never started") })
  )

// A recorder whose first write (of 1) is in flight, waiting at its gate
const firstWriteInFlight = Effect.gen(function*() {
  const store = recorder()
  yield* Effect.addFinalizer(() => store.openAll)
  const first = yield* Effect.fork(store.write(1))
  yield* until(Effect.map(store.gateCount, (n) => n === 1))
  return { ...store, first }
})

describe("groupCommit", () => {
  it.scopedLive("writes arriving while one is in flight go together, in batches of at most maxBatch, each caller getting its own result", () =>
    Effect.gen(function*() {
      const { write, writes, open, gateCount, first } = yield* firstWriteInFlight
      const rest = yield* Effect.fork(Effect.all([2, 3, 4, 5].map(write), { concurrency: "unbounded" }))
      // (time for the four to find the store busy and queue)
      yield* Effect.sleep("20 millis")
      yield* open(0)
      expect(yield* Fiber.join(first)).toBe(10)
      // the first three in one statement; the one left over is written alone (through `one` again)
      yield* until(Effect.map(gateCount, (n) => n === 2))
      expect(writes).toEqual([[1], [2, 3, 4]])
      yield* open(1)
      expect(yield* Fiber.join(rest)).toEqual([20, 30, 40, 50])
      expect(writes).toEqual([[1], [2, 3, 4], [5]])
    }))

  it.scopedLive("a caller interrupted while its write is in flight waits for the write, and the next write goes alone", () =>
    Effect.gen(function*() {
      const { write, writes, open, gateCount, first } = yield* firstWriteInFlight
      // the interruption returns only once the write it waits on has ended
      const interrupting = yield* Effect.fork(Fiber.interrupt(first))
      yield* Effect.sleep("20 millis")
      expect(interrupting.unsafePoll()).toBeNull()
      yield* open(0)
      yield* Fiber.join(interrupting)
      expect(writes).toEqual([[1]])
      // the store is idle again: a lone write goes at once, in its caller's own fiber, not to a queue
      const second = yield* Effect.fork(write(2))
      yield* until(Effect.map(gateCount, (n) => n === 2))
      yield* open(1)
      expect(yield* Fiber.join(second)).toBe(20)
      expect(writes).toEqual([[1], [2]])
    }))
})
