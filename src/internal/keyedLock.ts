import { Effect } from "effect"

export interface Lock {
  readonly semaphore: Effect.Semaphore
  users: number
}

/**
 * Runs effects one at a time per key, concurrently across keys; a key's lock is dropped when idle.
 * A Map with a use count rather than Effect's RcMap: RcMap forks a fiber and opens a scope per
 * acquisition, 3-10x slower here (bench/keyedLock.ts). `locks` is passed in by tests, to watch it.
 */
export const keyedLock = (locks: Map<string, Lock> = new Map()) =>
(key: string) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      let lock = locks.get(key)
      if (lock === undefined) {
        lock = { semaphore: Effect.unsafeMakeSemaphore(1), users: 0 }
        locks.set(key, lock)
      }
      lock.users++
      return lock
    }),
    (lock) => lock.semaphore.withPermits(1)(effect),
    (lock) =>
      Effect.sync(() => {
        if (--lock.users === 0) locks.delete(key)
      })
  )
