/**
 * `npx tsx bench/keyedLock.ts`: the keyed lock of src/internal/keyedLock.ts (a Map of semaphores with
 * a use count) against the same lock built on Effect's RcMap. Each row is the median of several runs of
 * `OPS` acquisitions of a lock around `Effect.void`, in ns per acquisition.
 */
import { Effect, Exit, RcMap, Scope } from "effect"
import { keyedLock } from "../src/internal/keyedLock.js"

type KeyedLock = (key: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

/** An RcMap of semaphores; idleTimeToLive 0 (the default): a key's entry goes when its last user leaves. */
const rcMapLock = (): KeyedLock => {
  // the map outlives every call: its scope is never closed (an idle key holds nothing anyway)
  const locks = Effect.runSync(
    Effect.flatMap(Scope.make(), (scope) => Scope.extend(RcMap.make({ lookup: (_: string) => Effect.makeSemaphore(1) }), scope))
  )
  return (key) => (effect) =>
    Effect.acquireUseRelease(
      Scope.make(),
      (scope) => Effect.flatMap(Scope.extend(RcMap.get(locks, key), scope), (semaphore) => semaphore.withPermits(1)(effect)),
      (scope, exit) => Scope.close(scope, exit)
    )
}

const OPS = 20_000
const RUNS = 9

const workloads: ReadonlyArray<{ readonly name: string; readonly run: (lock: KeyedLock) => Effect.Effect<unknown> }> = [
  {
    name: "sequential, 1 key",
    run: (lock) => Effect.forEach(Array.from({ length: OPS }), () => lock("k")(Effect.void), { discard: true })
  },
  {
    name: "sequential, 20000 keys",
    run: (lock) => Effect.forEach(Array.from({ length: OPS }, (_, i) => `k${i}`), (k) => lock(k)(Effect.void), { discard: true })
  },
  {
    name: "concurrent, 4 keys",
    run: (lock) =>
      Effect.forEach(Array.from({ length: OPS }, (_, i) => `k${i % 4}`), (k) => lock(k)(Effect.void), {
        concurrency: "unbounded",
        discard: true
      })
  },
  {
    name: "concurrent, 20000 keys",
    run: (lock) =>
      Effect.forEach(Array.from({ length: OPS }, (_, i) => `k${i}`), (k) => lock(k)(Effect.void), {
        concurrency: "unbounded",
        discard: true
      })
  }
]

const median = (xs: Array<number>) => xs.sort((a, b) => a - b)[xs.length >> 1]!

const time = (make: () => KeyedLock, run: (lock: KeyedLock) => Effect.Effect<unknown>): number => {
  const samples: Array<number> = []
  for (let i = 0; i < RUNS + 2; i++) {
    const lock = make()
    const t = performance.now()
    const exit = Effect.runSyncExit(run(lock))
    const ns = ((performance.now() - t) * 1e6) / OPS
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    if (i >= 2) samples.push(ns) // the first two warm up
  }
  return median(samples)
}

// the workload's own cost, for scale
const noLock = (): KeyedLock => () => (effect) => effect

const variants = [["no lock (baseline)", noLock], ["Map + use count (src)", keyedLock], ["RcMap of semaphores", rcMapLock]] as const

console.log(`ns per acquisition, median of ${RUNS} runs of ${OPS}; node ${process.version}\n`)
console.log(`| workload | ${variants.map(([name]) => name).join(" | ")} |`)
console.log(`|---|${variants.map(() => "--:").join("|")}|`)
for (const { name, run } of workloads) {
  console.log(`| ${name} | ${variants.map(([, make]) => time(make, run).toFixed(0)).join(" | ")} |`)
}
