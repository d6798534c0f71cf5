/**
 * Exporting effect-resume's spans to OpenTelemetry with @effect/opentelemetry 0.64, and reading its
 * metrics. Run: `npx tsx examples/opentelemetry.ts` (the spans are printed by the console exporter).
 */
import { NodeSdk } from "@effect/opentelemetry"
import { ConsoleSpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Console, Effect, Layer, Metric } from "effect"
import { MemoryStore } from "../src/exports/MemoryStore.js"
import { Telemetry, Workflow } from "../src/index.js"

const onboarding = Workflow.make("onboarding", (email: string) =>
  Effect.gen(function*() {
    const user = yield* Workflow.step("create-user", Effect.succeed({ id: "u-1", email }))
    yield* Workflow.step("send-welcome", Console.log(`welcome, ${user.email}`))
    return user.id
  }))

// Any SpanProcessor / exporter works here: OTLP (@opentelemetry/exporter-trace-otlp-http), Jaeger, ...
const Tracing = NodeSdk.layer(() => ({
  resource: { serviceName: "onboarding-service" },
  spanProcessor: new SimpleSpanProcessor(new ConsoleSpanExporter())
}))

const program = Effect.gen(function*() {
  // an `effect-resume.run` span with an `effect-resume.step` span per executed step
  yield* Workflow.runDurable(onboarding, { id: "onboarding/ada", input: "ada@example.com" })
  const executed = yield* Metric.value(Telemetry.stepsExecuted)
  const checkpoints = yield* Metric.value(Telemetry.checkpointLatency)
  const completed = yield* Metric.value(Telemetry.runsWithStatus("completed"))
  yield* Console.log(`steps executed: ${executed.count}, checkpoints: ${checkpoints.count}, runs completed: ${completed.count}`)
})

Effect.runPromise(program.pipe(Effect.provide(Layer.merge(Tracing, MemoryStore.layer()))))
