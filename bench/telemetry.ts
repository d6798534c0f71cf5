/**
 * Per-step cost of spans and metrics: a plain `Workflow.run` of n trivial steps in three
 * configurations, measured side by side in this one process (round-robin, so drift hits all alike):
 *
 * - telemetry off: the engine's internal switch off, no counting and no tracer check (the code path
 *   before telemetry existed, give or take one branch per step)
 * - no tracer: the default, Effect's native tracer installed and nothing exporting
 * - OpenTelemetry: @effect/opentelemetry's NodeSdk with an in-memory exporter, a span per step
 *
 * Every number is the median µs per step over the samples; a sample times a batch of whole runs (at
 * least ~20 ms). Writes bench/telemetry-results.md and prints the same table.
 * Run: `node bench/build.mjs telemetry.ts && node bench/telemetry.built.mjs` (or `npx tsx bench/telemetry.ts`).
 */
import { NodeSdk } from "@effect/opentelemetry"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer, ManagedRuntime } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { telemetrySwitch } from "../src/internal/stepCache.js"
import * as Workflow from "../src/Workflow.js"

const SIZES = [1, 10, 100, 1000] as const
const ROUNDS = 61
const MIN_SAMPLE_MS = 20

const ids = Array.from({ length: Math.max(...SIZES) }, (_, i) => `step-${i}`)

const workflowOf = (n: number) =>
  Workflow.make(`bench-${n}`, Effect.gen(function*() {
    let sum = 0
    for (let i = 0; i < n; i++) sum += yield* Workflow.step(ids[i]!, Effect.succeed(i))
    return sum
  }))

const exporter = new InMemorySpanExporter()
const otel = NodeSdk.layer(() => ({ spanProcessor: new SimpleSpanProcessor(exporter) }))

interface Config {
  readonly name: string
  readonly runtime: ManagedRuntime.ManagedRuntime<never, never>
  readonly telemetry: boolean
}

const configs: ReadonlyArray<Config> = [
  { name: "telemetry off", runtime: ManagedRuntime.make(Layer.empty), telemetry: false },
  { name: "no tracer", runtime: ManagedRuntime.make(Layer.empty), telemetry: true },
  { name: "OpenTelemetry tracer", runtime: ManagedRuntime.make(otel), telemetry: true }
]

const expected = (n: number) => (n * (n - 1)) / 2

/** One sample: µs per step over a batch of runs lasting at least MIN_SAMPLE_MS. */
const sample = async (config: Config, n: number, program: Effect.Effect<number, unknown>): Promise<number> => {
  telemetrySwitch.enabled = config.telemetry
  let runs = 0
  const started = performance.now()
  let elapsed = 0
  do {
    const sum = await config.runtime.runPromise(program)
    if (sum !== expected(n)) throw new Error(`${config.name}: wrong result ${sum}`)
    runs++
    elapsed = performance.now() - started
  } while (elapsed < MIN_SAMPLE_MS)
  exporter.reset()
  return (elapsed * 1000) / (runs * n)
}

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const results = new Map<string, { readonly median: number; readonly min: number }>()
for (const n of SIZES) {
  const program = Workflow.run(workflowOf(n))
  // warm-up, then round-robin samples
  for (const config of configs) for (let i = 0; i < 5; i++) await sample(config, n, program)
  const samples = new Map(configs.map((config) => [config.name, [] as Array<number>]))
  for (let round = 0; round < ROUNDS; round++) {
    // the order turns each round, so that no configuration always follows the same one
    for (let i = 0; i < configs.length; i++) {
      const config = configs[(round + i) % configs.length]!
      samples.get(config.name)!.push(await sample(config, n, program))
    }
  }
  for (const config of configs) {
    const xs = samples.get(config.name)!
    results.set(`${config.name}/${n}`, { median: median(xs), min: Math.min(...xs) })
  }
}
telemetrySwitch.enabled = true

// a check that the traced configuration traced: one run span and a span per step
await configs[2]!.runtime.runPromise(Workflow.run(workflowOf(3)))
const names = exporter.getFinishedSpans().map((span) => span.name)
if (names.filter((name) => name === "effect-resume.step").length !== 3 || !names.includes("effect-resume.run")) {
  throw new Error(`the OpenTelemetry configuration did not trace: ${names.join(", ")}`)
}
for (const config of configs) await config.runtime.dispose()

const fmt = (us: number) => us.toFixed(3)
const lines = [
  "# Telemetry overhead",
  "",
  `Per-step cost (µs, median of ${ROUNDS} samples, min in parentheses) of a plain \`Workflow.run\` of n trivial steps;`,
  "`bench/telemetry.ts`, " + `${os.cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}.`,
  "",
  "| n | telemetry off | no tracer | overhead (no tracer) | OpenTelemetry tracer | overhead (tracer) |",
  "|---|---|---|---|---|---|",
  ...SIZES.map((n) => {
    const off = results.get(`telemetry off/${n}`)!
    const none = results.get(`no tracer/${n}`)!
    const traced = results.get(`OpenTelemetry tracer/${n}`)!
    const cell = (x: { readonly median: number; readonly min: number }) => `${fmt(x.median)} (${fmt(x.min)})`
    const overhead = (x: { readonly median: number; readonly min: number }) =>
      `${fmt(x.median - off.median)} (${fmt(x.min - off.min)})`
    return `| ${n} | ${cell(off)} | ${cell(none)} | ${overhead(none)} | ${cell(traced)} | ${overhead(traced)} |`
  }),
  ""
]
const text = lines.join("\n")
const here = path.dirname(fileURLToPath(import.meta.url))
fs.writeFileSync(path.join(here, "telemetry-results.md"), text)
console.log(text)
