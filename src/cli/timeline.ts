/** `show`: a run's record and its step timeline as text. */
import type { RunDetails, StepRecord } from "../SnapshotStore.js"
import type { SerializedCause, StepResult } from "../Snapshot.js"
import { oneLine, table, terminalWidth, truncate } from "./table.js"

export const outcome = (result: StepResult): "ok" | "error" | "defect" =>
  result.ok ? "ok" : result.meta?.origin === "throw" ? "defect" : "error"

/** "Error: boom ← caused by TypeError: bad" */
export const describeCause = (cause: SerializedCause | undefined): string => {
  const parts: Array<string> = []
  for (let c = cause, depth = 0; c !== undefined && depth < 20; depth++) {
    parts.push(c.type === "error" ? `${c.name}: ${c.message}` : c.stringRepresentation)
    c = c.type === "error" ? c.cause : undefined
  }
  return parts.join(" ← caused by ")
}

const json = (value: unknown): string => value === undefined ? "" : JSON.stringify(value) ?? String(value)

/** How long a step ran, from its row's store-clock times; undefined for a step with none. */
export const durationMs = (step: StepRecord): number | undefined => {
  if (step.startedAt === undefined || step.completedAt === undefined) return undefined
  const ms = Date.parse(step.completedAt) - Date.parse(step.startedAt)
  return Number.isNaN(ms) ? undefined : ms
}

export const duration = (step: StepRecord): string => {
  const ms = durationMs(step)
  return ms === undefined ? "" : ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`
}

// a step written by an earlier attempt was replayed from the store by the later ones
const replayed = (step: StepRecord, attempts: number): string =>
  step.attempt !== undefined && step.attempt < attempts ? ` (cached, attempt ${step.attempt})` : ""

const valueOf = (result: StepResult): string => result.ok ? json(result.value) : json(result.error)

export const render = (details: RunDetails, width = terminalWidth()): string => {
  const { run, steps } = details
  const head = [
    `Run       ${run.id}`,
    `Workflow  ${run.workflow ?? "-"}${run.version === undefined ? "" : ` (version ${run.version})`}`,
    `Status    ${run.status}, attempt ${run.attempts}${run.owner === undefined ? "" : `, owner ${run.owner}${run.leased ? "" : " (lease expired)"}`}`,
    `Created   ${run.createdAt}`,
    `Updated   ${run.updatedAt}${run.completedAt === undefined ? "" : `, completed ${run.completedAt}`}`,
    ...(run.input === undefined ? [] : [`Input     ${json(run.input)}`]),
    ...(run.output === undefined ? [] : [`Output    ${run.output.ok ? json(run.output.value) : `${outcome(run.output)}: ${describeCause(run.output.cause)}`}`])
  ].map((line) => truncate(oneLine(line), width))
  if (steps.length === 0) return [...head, "", "No steps recorded."].join("\n")
  const rows = steps.map((step) => [
    String(step.position + 1),
    step.key,
    outcome(step.entry.result) + replayed(step, run.attempts),
    duration(step),
    valueOf(step.entry.result)
  ])
  const details_ = steps.flatMap((step) => [
    ...(step.entry.result.ok ? [] : [`${step.key}: ${outcome(step.entry.result)} ${describeCause(step.entry.result.cause)}`]),
    ...(step.entry.warnings ?? []).map((w) => `${step.key}: warning: ${w.reason} value at ${w.path}`)
  ]).map((line) => truncate(oneLine(line), width))
  return [
    ...head,
    "",
    table(["#", "STEP", "OUTCOME", "DURATION", "VALUE"], rows, width),
    ...(details_.length === 0 ? [] : ["", ...details_])
  ].join("\n")
}
