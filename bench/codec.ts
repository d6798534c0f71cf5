/**
 * `npx tsx bench/codec.ts` (part of `npm run bench`, which writes it to bench/codec-results.md): what a
 * step with a Schema costs with the library's codec cache, src/internal/codec.ts (a WeakMap of encoder /
 * decoder pairs per Schema), and with Effect's calls made directly each time (bench/codec/direct.ts), in
 * one process. A module hook (bench/codec/hooks.mjs) loads src/ twice, once per variant; rounds
 * alternate between the two so that drift hits both.
 *
 * The workflow: n = 1000 sequential steps, each with a `success` Schema (a struct with a Date), run
 * fresh (every step encodes) and resumed (every step decodes). µs per step, median over the rounds.
 * Then the codec calls alone, the same way: ns per call.
 * It runs under tsx (the module hook needs src/ as modules), unlike the other benches, which run bundled:
 * tsx's keepNames makes both variants slower alike, so compare its rows with each other only.
 */
import { Effect, Exit, Schema } from "effect"
import { register } from "node:module"

// before src/ is imported (dynamically, below): the hook only acts on imports made after this
register("./codec/hooks.mjs", import.meta.url)

const N = 1000
const ROUNDS = 15
const RUNS_PER_ROUND = 10
const variants = ["cached", "direct"] as const
type Variant = (typeof variants)[number]

const Item = Schema.Struct({ i: Schema.Number, at: Schema.Date })
const epoch = new Date(0)
const ids = Array.from({ length: N }, (_, i) => `step-${i}`)

const load = async (variant: Variant) => {
  const Workflow = (await import(`../src/Workflow.ts?codec=${variant}`)) as typeof import("../src/Workflow.js")
  let executed = 0
  const workflow = Workflow.make("codec-bench", Effect.gen(function*() {
    let last: unknown
    for (let i = 0; i < N; i++) {
      last = yield* Workflow.step(ids[i]!, Effect.sync(() => {
        executed++
        return { i, at: epoch }
      }), { success: Item })
    }
    return last
  }))
  const seeded = await Effect.runPromise(Workflow.runWithState(workflow))
  if (!Exit.isSuccess(seeded.result)) throw new Error("seed run failed")
  const resumeState = seeded.resumeState
  // a fresh Effect per run: runWithState builds its run's state when called
  const check = (expected: number, run: () => Effect.Effect<unknown, unknown>) => async () => {
    const before = executed
    const value = await Effect.runPromise(run())
    if (executed - before !== expected || !((value as { at?: unknown }).at instanceof Date)) throw new Error(`${variant}: wrong run`)
  }
  return {
    fresh: check(N, () => Effect.flatMap(Workflow.runWithState(workflow), ({ result }) => result)),
    resumed: check(0, () => Workflow.run(workflow, { resumeState }))
  }
}

/** The variant's codec module itself, for the calls-only rows: "cached" is the library's own. */
const codecOf = async (variant: Variant) =>
  (await import(variant === "cached" ? "../src/internal/codec.ts" : "./codec/direct.ts")) as typeof import("../src/internal/codec.js")

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!

/** µs per step over RUNS_PER_ROUND whole runs. */
const time = async (run: () => Promise<void>) => {
  const t = performance.now()
  for (let r = 0; r < RUNS_PER_ROUND; r++) await run()
  return ((performance.now() - t) * 1000) / (RUNS_PER_ROUND * N)
}

const runs = { cached: await load("cached"), direct: await load("direct") }
const samples = Object.fromEntries(variants.map((v) => [v, { fresh: [] as Array<number>, resumed: [] as Array<number> }]))
for (let round = -2; round < ROUNDS; round++) { // two warm-up rounds
  for (const variant of round % 2 === 0 ? variants : [...variants].reverse()) {
    const fresh = await time(runs[variant].fresh)
    const resumed = await time(runs[variant].resumed)
    if (round >= 0) {
      samples[variant]!.fresh.push(fresh)
      samples[variant]!.resumed.push(resumed)
    }
  }
}

const CALLS = 100_000
const value = { i: 1, at: epoch }
const json = { i: 1, at: epoch.toISOString() }
const codecs = { cached: await codecOf("cached"), direct: await codecOf("direct") }
const calls = Object.fromEntries(variants.map((v) => [v, { encode: [] as Array<number>, decode: [] as Array<number> }]))
/** ns per call over CALLS calls. */
const timeCalls = (f: () => unknown) => {
  const t = performance.now()
  for (let c = 0; c < CALLS; c++) f()
  return ((performance.now() - t) * 1e6) / CALLS
}
for (let round = -2; round < ROUNDS; round++) {
  for (const variant of round % 2 === 0 ? variants : [...variants].reverse()) {
    const { decode, encode } = codecs[variant]
    const encodeNs = timeCalls(() => encode(Item, value))
    const decodeNs = timeCalls(() => decode(Item, json))
    if (round >= 0) {
      calls[variant]!.encode.push(encodeNs)
      calls[variant]!.decode.push(decodeNs)
    }
  }
}

const lines = [
  `Schema step codec, n=${N}, µs per step (median of ${ROUNDS} rounds x ${RUNS_PER_ROUND} runs; min-max); node ${process.version}`,
  "",
  "| variant | fresh (encode) | resumed (decode) |",
  "|---|--:|--:|"
]
for (const variant of variants) {
  const { fresh, resumed } = samples[variant]!
  const cell = (xs: Array<number>) => `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})`
  lines.push(`| ${variant} | ${cell(fresh)} | ${cell(resumed)} |`)
}
lines.push(
  "",
  `The codec calls alone (the same Schema), ns per call (median of ${ROUNDS} rounds x ${CALLS} calls; min-max)`,
  "",
  "| variant | encode | decode |",
  "|---|--:|--:|"
)
for (const variant of variants) {
  const { decode, encode } = calls[variant]!
  const cell = (xs: Array<number>) => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)})`
  lines.push(`| ${variant} | ${cell(encode)} | ${cell(decode)} |`)
}
console.log(lines.join("\n"))
