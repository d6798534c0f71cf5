import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { ResumeState, Snapshot } from "effect-resume"
import { Arbitraries } from "effect-resume/testing"

it.prop("a snapshot survives JSON and validation", [Arbitraries.workflowSnapshot], ([snapshot]) => {
  const back = Snapshot.validate(JSON.parse(JSON.stringify(snapshot)))
  expect(back).toStrictEqual({ valid: true, snapshot })
})

it.effect.prop("a ResumeState survives serialize and deserialize", [Arbitraries.resumeState], ([state]) =>
  Effect.gen(function*() {
    const back = yield* ResumeState.deserialize(JSON.parse(JSON.stringify(state)))
    expect(back).toStrictEqual(state)
  }))
