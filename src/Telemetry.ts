/**
 * Spans and metrics of workflow runs. Every run is traced as an `effect-resume.run` span and every
 * executed step as an `effect-resume.step` span inside it, when a tracer is installed (e.g. with
 * `@effect/opentelemetry`); replayed steps get no span, they are counted on the run span. The metrics
 * below are Effect `Metric`s: read them with `Metric.value`, or export them with a metrics layer.
 */
import { Metric, MetricBoundaries } from "effect"

/** Span names. */
export const runSpanName = "effect-resume.run"
export const stepSpanName = "effect-resume.step"

/** Span attribute names. */
export const attributes = {
  /** Run span: the durable run's id (plain runs have none). */
  runId: "effect-resume.run.id",
  /** Run span: the workflow's name. */
  workflow: "effect-resume.workflow",
  /** Run and step spans: the claim's attempt of a durable run (plain runs have none). */
  attempt: "effect-resume.attempt",
  /** Run span: how many recorded steps the run started with. */
  resumedSteps: "effect-resume.resumed_steps",
  /** Run span, set at its end: how many steps replayed / executed in this run. */
  replayedSteps: "effect-resume.replayed_steps",
  executedSteps: "effect-resume.executed_steps",
  /** Run span, set at its end: the run's final status (see `RunStatus`). */
  status: "effect-resume.status",
  /** Step span: the step's id and cache key. */
  stepId: "effect-resume.step.id",
  stepKey: "effect-resume.step.key",
  /** Step span: whether the outcome was replayed; always false, as only executed steps get a span. */
  cached: "effect-resume.step.cached"
} as const

/**
 * How a run's execution ended, as the `status` tag of `runs` and the run span's status attribute.
 * `store_error`: the store failed under it; the run itself is not failed (it resumes).
 */
export type RunStatus = "completed" | "failed" | "interrupted" | "cancelled" | "lease_lost" | "store_error"

/** Steps whose effect ran (each attempt of a retried step counts). */
export const stepsExecuted = Metric.counter("effect_resume_steps_executed", {
  description: "Workflow steps executed",
  incremental: true
})

/** Steps whose recorded outcome was replayed instead of running their effect. */
export const stepsReplayed = Metric.counter("effect_resume_steps_replayed", {
  description: "Workflow steps replayed from a recorded outcome",
  incremental: true
})

/** Time of each durable checkpoint (one fenced write of a step's outcome), in milliseconds. */
export const checkpointLatency = Metric.histogram(
  "effect_resume_checkpoint_latency_ms",
  MetricBoundaries.exponential({ start: 0.125, factor: 2, count: 18 }),
  "Durable checkpoint latency in milliseconds"
)

/** Runs that ended, tagged `status` (a `RunStatus`). Read one status with `runsWithStatus`. */
export const runs = Metric.counter("effect_resume_runs", {
  description: "Workflow runs by final status",
  incremental: true
})

const byStatus: Record<RunStatus, Metric.Metric.Counter<number>> = {
  completed: Metric.tagged(runs, "status", "completed"),
  failed: Metric.tagged(runs, "status", "failed"),
  interrupted: Metric.tagged(runs, "status", "interrupted"),
  cancelled: Metric.tagged(runs, "status", "cancelled"),
  lease_lost: Metric.tagged(runs, "status", "lease_lost"),
  // the store failed (a checkpoint, the end): the run is not failed, it stays running and resumes
  store_error: Metric.tagged(runs, "status", "store_error")
}

/** The `runs` counter of one status. */
export const runsWithStatus = (status: RunStatus): Metric.Metric.Counter<number> => byStatus[status]
