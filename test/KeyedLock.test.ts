// The per-id lock behind the read-merge-save checkpoints of stores without native appends.
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { keyedLock, type Lock } from "../src/internal/keyedLock.js"

describe("keyedLock", () => {
  it.effect("runs effects on one key one at a time", () =>
    Effect.gen(function*() {
      const withLock = keyedLock()
      let active = 0
      let most = 0
      const task = withLock("a")(Effect.gen(function*() {
        most = Math.max(most, ++active)
        yield* Effect.yieldNow()
        active--
      }))
      yield* Effect.all(Array.from({ length: 50 }, () => task), { concurrency: "unbounded" })
      expect(most).toBe(1)
    }))

  it.effect("runs effects on different keys concurrently", () =>
    Effect.gen(function*() {
      const withLock = keyedLock()
      const released = yield* Deferred.make<void>()
      // "a" waits for "b": serializing across keys would deadlock (and time out)
      yield* Effect.all([withLock("a")(Deferred.await(released)), withLock("b")(Deferred.succeed(released, undefined))], {
        concurrency: "unbounded"
      }).pipe(Effect.timeout("1 second"))
    }))

  it.effect("keeps no lock for an idle key: 10,000 keys leave the map empty", () =>
    Effect.gen(function*() {
      const locks = new Map<string, Lock>()
      const withLock = keyedLock(locks)
      const gate = yield* Deferred.make<void>()
      const keys = Array.from({ length: 10_000 }, (_, i) => `id-${i}`)
      const all = yield* Effect.fork(
        Effect.forEach(keys, (key) => withLock(key)(Deferred.await(gate)), { concurrency: "unbounded", discard: true })
      )
      // every task holds its key's lock until the gate opens
      for (let i = 0; i < 1_000 && locks.size < 10_000; i++) yield* Effect.yieldNow()
      expect(locks.size).toBe(10_000)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(all)
      expect(locks.size).toBe(0)
      yield* Effect.forEach(keys, (key) => withLock(key)(Effect.void), { discard: true })
      expect(locks.size).toBe(0)
    }))

  it.effect("releases a key on failure and on interruption, also of a waiter", () =>
    Effect.gen(function*() {
      const locks = new Map<string, Lock>()
      const withLock = keyedLock(locks)
      const failed = yield* Effect.exit(withLock("a")(Effect.fail("boom")))
      expect(Exit.isFailure(failed)).toBe(true)
      expect(locks.size).toBe(0)
      const holder = yield* Effect.fork(withLock("a")(Effect.never))
      const waiter = yield* Effect.fork(withLock("a")(Effect.void))
      yield* Effect.yieldNow()
      expect(locks.get("a")?.users).toBe(2)
      yield* Fiber.interrupt(waiter)
      expect(locks.get("a")?.users).toBe(1)
      yield* Fiber.interrupt(holder)
      expect(locks.size).toBe(0)
    }))
})
