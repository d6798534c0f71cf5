/**
 * The step cache: a step with a recorded outcome replays it, otherwise it executes and its outcome is
 * recorded. This is the per-step hot path: no Schema is built here, and nothing is copied but the value.
 */
import { Cause, Effect, Either, Option, type Schema, type Tracer } from "effect"
import type * as ResumeState from "../ResumeState.js"
import type * as Snapshot from "../Snapshot.js"
import { WorkflowEvent } from "../WorkflowEvent.js"
import { StepCodecError, type StepFailure, StepKeyConflictError } from "../WorkflowError.js"
import { deserializeCause, ReplayedDefect, serializeCause } from "./cause.js"
import { decode, encode } from "./codec.js"
import { type JsonCopy, maxDepth, toJson } from "./json.js"
import { isTraced } from "./tracing.js"
import * as Telemetry from "../Telemetry.js"

/**
 * A key's visit in this run. `executed` ends as `succeeded` or `failed` (a failure, an interruption, an
 * outcome its Schema rejected); `replayed` means the outcome came from the loaded state.
 */
export interface Visit {
  readonly id: string
  state: "running" | "succeeded" | "failed" | "replayed"
}

/** What `step` needs from its run. */
export interface RunContext {
  readonly workflowName: string
  /** Recorded outcomes, loaded ones first; a run adds to it in place. */
  readonly steps: Map<string, ResumeState.ResumeStateEntry>
  /** key -> id of the step that used it in this run. */
  readonly visits: Map<string, Visit>
  readonly retryFailed: boolean
  readonly emit: ((event: WorkflowEvent) => Effect.Effect<void>) | undefined
  /**
   * Called after each newly recorded outcome; runDurable saves here. `fresh`: the key had no outcome
   * in `steps` before (neither loaded nor recorded earlier in this run). It succeeds with `value` (the
   * step's own, passed through: no further step of the fiber to put it back).
   */
  readonly onRecorded:
    | (<V>(key: string, entry: ResumeState.ResumeStateEntry, fresh: boolean, durationMs: number, value: V) => Effect.Effect<V>)
    | undefined
  /** The run's spans and counts; absent when telemetry is switched off (and in the Promise API's runs). */
  readonly telemetry?: RunTelemetry | undefined
}

/** Counted in place by every step, and turned into metrics once, at the run's end. */
export interface RunTelemetry {
  /** Steps get spans: a real tracer was installed when the run started. */
  readonly traced: boolean
  /** The claim's attempt of a durable run. */
  readonly attempt: number | undefined
  resumed: number
  executed: number
  replayed: number
}

/** The benchmark's switch: off, runs count nothing and make no spans. */
export const telemetrySwitch = { enabled: true }

/** A run's telemetry, decided at its start (read off the fiber in one step); undefined when switched off. */
export const runTelemetry = (attempt: number | undefined): Effect.Effect<RunTelemetry | undefined> =>
  telemetrySwitch.enabled
    ? Effect.withFiberRuntime((fiber) =>
      Effect.succeed({
        traced: isTraced(fiber),
        attempt,
        resumed: 0,
        executed: 0,
        replayed: 0
      })
    )
    : Effect.succeed(undefined)

const noTags: ReadonlyArray<never> = []

/** The run's counts, added once at its end with the metrics' synchronous update (no fiber step each). */
export const recordRunEnd = (telemetry: RunTelemetry, status: Telemetry.RunStatus): void => {
  if (telemetry.executed > 0) Telemetry.stepsExecuted.unsafeUpdate(telemetry.executed, noTags)
  if (telemetry.replayed > 0) Telemetry.stepsReplayed.unsafeUpdate(telemetry.replayed, noTags)
  Telemetry.runsWithStatus(status).unsafeUpdate(1, noTags)
}

export const recordCheckpoint = (ms: number): void => Telemetry.checkpointLatency.unsafeUpdate(ms, noTags)

const stepSpan = (id: string, key: string, telemetry: RunTelemetry): Tracer.SpanOptions => ({
  attributes: telemetry.attempt === undefined
    ? { [Telemetry.attributes.stepId]: id, [Telemetry.attributes.stepKey]: key, [Telemetry.attributes.cached]: false }
    : {
      [Telemetry.attributes.stepId]: id,
      [Telemetry.attributes.stepKey]: key,
      [Telemetry.attributes.cached]: false,
      [Telemetry.attributes.attempt]: telemetry.attempt
    },
  captureStackTrace: false
})

/**
 * States whose entries the caller built itself, valid by construction (the Promise API's per-run
 * conversion of its entries): the run skips checking each one, and takes the state's Map (a `Map`) as
 * its own instead of copying it. Such a state is made for one call and handed straight to it, so no
 * user code can change it in between.
 */
const prechecked = new WeakSet<ResumeState.ResumeState>()

export const markPrechecked = <S extends ResumeState.ResumeState>(state: S): S => {
  prechecked.add(state)
  return state
}

export const isPrechecked = (state: ResumeState.ResumeState): boolean => prechecked.has(state)

export interface StepOptions<A, E> {
  /** Cache key; defaults to the step id. */
  readonly key?: string
  /** Encodes the value to JSON when recorded and decodes it on replay (Date, BigInt, Map, Option, ...). */
  readonly success?: Schema.Schema<A, any>
  /** Same for the typed error, so a `Schema.TaggedError` replays as an instance of its class. */
  readonly error?: Schema.Schema<E, any>
}

/**
 * A step's first move, decided synchronously: a key clash, a replay of `entry`, or an execution under
 * `visit`. The Promise API calls it directly, so that a step needs no fiber of its own.
 */
export type Start =
  | { readonly _tag: "Conflict"; readonly error: StepKeyConflictError }
  | { readonly _tag: "Replay"; readonly entry: ResumeState.ResumeStateEntry }
  | { readonly _tag: "Execute"; readonly visit: Visit }

export const start = (run: RunContext, id: string, key: string): Start => {
  const visit = run.visits.get(key)
  const recorded = run.steps.get(key)
  if (visit !== undefined) {
    // A key is visited once per run. Visiting it again is a retry (Effect.retry around the step) only
    // after an attempt of this same step that did not succeed: an executed attempt runs again, a
    // replayed failure replays again (retryFailed decides that, not the retry). Anything else would
    // hand one call's value to another.
    if (visit.id === id && visit.state === "failed") return { _tag: "Execute", visit }
    if (visit.id === id && visit.state === "replayed" && recorded !== undefined && !recorded.result.ok) {
      return { _tag: "Replay", entry: recorded }
    }
    return {
      _tag: "Conflict",
      error: new StepKeyConflictError({
        reason: "DuplicateKey",
        stepId: id,
        stepKey: key,
        otherStepId: visit.id,
        message: visit.id === id
          ? `Step "${id}" ran twice with the cache key "${key}" in workflow "${run.workflowName}". ` +
            `Give each call its own key, e.g. { key: \`${id}:\${i}\` }.`
          : `Steps "${visit.id}" and "${id}" both use the cache key "${key}" in workflow "${run.workflowName}". ` +
            `Give each step its own key.`
      })
    }
  }
  const current: Visit = { id, state: "running" }
  run.visits.set(key, current)
  if (recorded !== undefined && (recorded.result.ok || !run.retryFailed)) {
    if (recorded.stepId !== undefined && recorded.stepId !== id) {
      return {
        _tag: "Conflict",
        error: new StepKeyConflictError({
          reason: "Divergence",
          stepId: id,
          stepKey: key,
          otherStepId: recorded.stepId,
          message: `The outcome recorded under key "${key}" belongs to step "${recorded.stepId}", ` +
            `but step "${id}" asked for it: the workflow changed since the state was saved.`
        })
      }
    }
    current.state = "replayed"
    return { _tag: "Replay", entry: recorded }
  }
  return { _tag: "Execute", visit: current }
}

export const runStep = <A, E, R>(
  run: RunContext,
  id: string,
  effect: Effect.Effect<A, E, R>,
  options: StepOptions<A, E> | undefined
): Effect.Effect<A, E | StepFailure, R> => {
  const key = options?.key ?? id
  const started = start(run, id, key)
  switch (started._tag) {
    case "Conflict":
      return Effect.fail(started.error)
    case "Replay":
      if (run.telemetry !== undefined) run.telemetry.replayed++
      return replay(run, id, key, started.entry, options)
    case "Execute": {
      const telemetry = run.telemetry
      if (telemetry === undefined) return execute(run, started.visit, key, effect, options)
      telemetry.executed++
      return telemetry.traced
        ? Effect.withSpan(execute(run, started.visit, key, effect, options), Telemetry.stepSpanName, stepSpan(id, key, telemetry))
        : execute(run, started.visit, key, effect, options)
    }
  }
}

const codecError = (reason: "Encode" | "Decode", id: string, key: string, detail: string, outcome?: unknown) =>
  new StepCodecError({
    reason,
    stepId: id,
    stepKey: key,
    outcome,
    message: `Step "${id}" (key "${key}"): ${reason === "Encode" ? "cannot encode the outcome" : "cannot decode the recorded outcome"}: ${detail}`
  })

/** A recorded value or error as the step's type: decoded with the step's Schema, or as is without one. */
const decodeRecorded = (
  schema: Schema.Schema<any, any> | undefined,
  json: Snapshot.JsonValue | undefined,
  id: string,
  key: string
): Either.Either<unknown, StepCodecError> => {
  if (schema === undefined) return Either.right(json)
  const decoded = decode(schema, json)
  return decoded._tag === "Left" ? Either.left(codecError("Decode", id, key, decoded.left.message, json)) : Either.right(decoded.right)
}

export const replay = <A, E>(
  run: RunContext,
  id: string,
  key: string,
  entry: ResumeState.ResumeStateEntry,
  options: StepOptions<A, E> | undefined
): Effect.Effect<A, E | StepFailure> => {
  const result = entry.result
  let outcome: Effect.Effect<A, E | StepFailure>
  let event: WorkflowEvent
  if (result.ok) {
    const schema = options?.success
    if (schema === undefined) {
      outcome = Effect.succeed(result.value as A)
    } else {
      const value = decodeRecorded(schema, result.value, id, key)
      if (value._tag === "Left") return Effect.fail(value.left)
      outcome = Effect.succeed(value.right as A)
    }
    // the hot path of a resumed run: no event is built when nobody listens
    if (run.emit === undefined) return outcome
    event = WorkflowEvent.StepComplete({ workflowName: run.workflowName, stepId: id, stepKey: key, cached: true, durationMs: 0, entry })
  } else if (result.meta?.origin === "throw") {
    // an Error replays as a ReplayedDefect, any other thrown value as itself (its JSON form)
    const defect = result.cause.type === "error"
      ? new ReplayedDefect(result.error ?? null, result.cause)
      : deserializeCause(result.cause)
    outcome = Effect.die(defect)
    event = stepError(run, id, key, true, 0, defect, entry)
  } else {
    const error = decodeRecorded(options?.error, result.error, id, key)
    if (error._tag === "Left") return Effect.fail(error.left)
    outcome = Effect.fail(error.right as E)
    event = stepError(run, id, key, true, 0, error.right, entry)
  }
  return run.emit === undefined ? outcome : Effect.zipRight(run.emit(event), outcome)
}

const stepError = (
  run: RunContext,
  id: string,
  key: string,
  cached: boolean,
  durationMs: number,
  error: unknown,
  entry: ResumeState.ResumeStateEntry | undefined
) => WorkflowEvent.StepError({ workflowName: run.workflowName, stepId: id, stepKey: key, cached, durationMs, error, entry })

const withWarnings = (
  id: string,
  key: string,
  result: Snapshot.StepResult,
  copy: JsonCopy
): ResumeState.ResumeStateEntry =>
  copy.issues.length === 0
    ? { result, stepId: id }
    : {
      result,
      stepId: id,
      warnings: copy.issues.map((issue) => ({ type: "lossy_value", stepId: id, stepKey: key, path: issue.path, reason: issue.reason }))
    }

/** The entries an executed step records: a value, a typed error (each as its JSON copy), a defect. */
export const succeededEntry = (id: string, key: string, copy: JsonCopy): ResumeState.ResumeStateEntry =>
  withWarnings(id, key, { ok: true, value: copy.json }, copy)

export const failedEntry = (id: string, key: string, error: unknown, copy: JsonCopy): ResumeState.ResumeStateEntry =>
  withWarnings(id, key, { ok: false, error: copy.json, cause: serializeCause(error), meta: { origin: "result" } }, copy)

// Defects replay from their cause (an Error as a ReplayedDefect), so no lossy warning is kept for them.
export const defectEntry = (id: string, defect: unknown): ResumeState.ResumeStateEntry => ({
  result: { ok: false, error: toJson(defect).json, cause: serializeCause(defect), meta: { origin: "throw" } },
  stepId: id
})

export const encodeWith = (
  schema: Schema.Schema<any, any> | undefined,
  value: unknown
): { readonly copy: JsonCopy } | { readonly failure: string } => {
  const checked = (copy: JsonCopy) =>
    copy.tooDeep === true ? { failure: `the value nests deeper than ${maxDepth} levels, more than a store keeps` } : { copy }
  if (schema === undefined) return checked(toJson(value))
  const encoded = encode(schema, value)
  return encoded._tag === "Left" ? { failure: encoded.left.message } : checked(toJson(encoded.right))
}

const execute = <A, E, R>(
  run: RunContext,
  visit: Visit,
  key: string,
  effect: Effect.Effect<A, E, R>,
  options: StepOptions<A, E> | undefined
): Effect.Effect<A, E | StepFailure, R> => {
  const id = visit.id
  visit.state = "running"
  // Records the entry (and checkpoints it, in a durable run), then succeeds with `value`
  const save = <V>(entry: ResumeState.ResumeStateEntry, durationMs: number, value: V): Effect.Effect<V> => {
    const fresh = !run.steps.has(key)
    run.steps.set(key, entry)
    return run.onRecorded === undefined ? Effect.succeed(value) : run.onRecorded(key, entry, fresh, durationMs, value)
  }
  // As `save`, then the event, built only when there is a handler to emit it to
  const record = <V>(entry: ResumeState.ResumeStateEntry, event: () => WorkflowEvent, durationMs: number, value: V): Effect.Effect<V> => {
    const emit = run.emit
    return emit === undefined
      ? save(entry, durationMs, value)
      : Effect.as(Effect.zipRight(save(entry, durationMs, undefined), emit(event())), value)
  }
  const unrecorded = (error: StepCodecError, durationMs: number): Effect.Effect<never, StepCodecError> =>
    run.emit === undefined
      ? Effect.fail(error)
      : Effect.zipRight(run.emit(stepError(run, id, key, false, durationMs, error, undefined)), Effect.fail(error))
  const started = performance.now()
  // every end but a recorded success lets a retry of this same step run it again
  const succeeded = (value: A): Effect.Effect<A, E | StepFailure> => {
    const durationMs = performance.now() - started
    visit.state = "failed"
    const encoded = encodeWith(options?.success, value)
    if ("failure" in encoded) return unrecorded(codecError("Encode", id, key, encoded.failure, value), durationMs)
    visit.state = "succeeded"
    const entry = succeededEntry(id, key, encoded.copy)
    // every step of a run without a handler: no event (nor a closure to build one), the value passed on as it is
    if (run.emit === undefined) return save(entry, durationMs, value)
    const event = () =>
      WorkflowEvent.StepComplete({ workflowName: run.workflowName, stepId: id, stepKey: key, cached: false, durationMs, entry })
    return record(entry, event, durationMs, value)
  }
  const failed = (cause: Cause.Cause<E>): Effect.Effect<A, E | StepFailure> => {
    const durationMs = performance.now() - started
    visit.state = "failed"
    // An interrupted step did not finish: it must run again on resume, so nothing is recorded.
    if (Cause.isInterruptedOnly(cause)) {
      return run.emit === undefined
        ? Effect.failCause(cause)
        : Effect.zipRight(run.emit(stepError(run, id, key, false, durationMs, cause, undefined)), Effect.failCause(cause))
    }
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure)) {
      const error = failure.value
      const encoded = encodeWith(options?.error, error)
      if ("failure" in encoded) {
        // Not recorded: the step runs again on resume rather than replay an error its Schema rejects.
        return unrecorded(codecError("Encode", id, key, encoded.failure, error), durationMs)
      }
      const entry = failedEntry(id, key, error, encoded.copy)
      return Effect.zipRight(
        record(entry, () => stepError(run, id, key, false, durationMs, error, entry), durationMs, undefined),
        Effect.failCause(cause)
      )
    }
    const defect = Cause.squash(cause)
    const entry = defectEntry(id, defect)
    return Effect.zipRight(
      record(entry, () => stepError(run, id, key, false, durationMs, defect, entry), durationMs, undefined),
      Effect.failCause(cause)
    )
  }
  // as Effect.flatMap(Effect.exit(effect), ...), in one step of the fiber instead of three
  const match = (effect: Effect.Effect<A, E, R>) => Effect.matchCauseEffect(effect, { onFailure: failed, onSuccess: succeeded })
  // A durable run records what a step did even when interrupted just after it: the step's effect stays
  // interruptible, the recording of its outcome does not (else the next owner runs it again). There
  // `succeeded` / `failed` see every end of the attempt. In a plain run an interruption skips them: a
  // finalizer marks the visit failed then.
  const attempt = run.onRecorded === undefined
    ? Effect.ensuring(match(effect), Effect.sync(() => {
      if (visit.state === "running") visit.state = "failed"
    }))
    : Effect.uninterruptibleMask((restore) => match(restore(effect)))
  return run.emit === undefined
    ? attempt
    : Effect.zipRight(run.emit(WorkflowEvent.StepStart({ workflowName: run.workflowName, stepId: id, stepKey: key })), attempt)
}
