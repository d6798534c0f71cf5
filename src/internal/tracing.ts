/**
 * Spans only when someone reads them. Effect installs its native tracer by default, and a span costs
 * microseconds even there (about 10 µs an `Effect.withSpan` on 3.22, measured here), though nothing
 * exports it. So the default tracer is read once, here, from a runtime with the default services, and
 * the library makes spans only when a fiber's tracer is another one (a layer such as
 * @effect/opentelemetry's replaced it) and tracing is not off (`Effect.withTracerEnabled(false)`).
 * (With two copies of `effect` loaded, the other copy's native tracer counts as real: spans, not errors.)
 */
import { Effect, type Fiber, FiberRef, type Tracer } from "effect"

const defaultTracer: Tracer.Tracer = Effect.runSync(Effect.tracer)

export const isTraced = (fiber: Fiber.RuntimeFiber<unknown, unknown>): boolean =>
  fiber.getFiberRef(FiberRef.currentTracerEnabled) && fiber.currentTracer !== defaultTracer

/** `Effect.withSpan`, when the fiber is traced; the effect alone otherwise. */
export const withSpanWhenTraced = (name: string, options: Tracer.SpanOptions) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime((fiber) => isTraced(fiber) ? Effect.withSpan(effect, name, options) : effect)
