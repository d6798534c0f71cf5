// Docs section "Quick Start" (and its collector paragraph), run on every store.
import { createResumeStateCollector, createWorkflow, deserializeResumeState, serializeResumeState, toResumeState } from "effect-resume/workflow"
import { describe, expect, it } from "vitest"
import { expectedResult, makeDeps, myWorkflowFn } from "./deps.js"
import { storeCases } from "./stores.js"

const cases = await storeCases("quick_start")

describe.each(cases)("Quick Start on $name", ({ make, name, skip }) => {
  it.skipIf(skip !== undefined)(`run, persist, restore and resume${skip ? ` (skipped: ${skip})` : ""}`, async () => {
    const store = make()
    const { calls, deps: { fetchUser, fetchPosts } } = makeDeps()
    const workflow = createWorkflow("workflow", { fetchUser, fetchPosts })

    // Run and persist
    const { result, resumeState } = await workflow.runWithState(async ({ step, deps }) => {
      const user = await step("fetchUser", () => deps.fetchUser("1"), { key: "user:1" })
      const posts = await step("fetchPosts", () => deps.fetchPosts(user.id), { key: `posts:${user.id}` })
      return { user, posts }
    })
    await store.save("wf-123", resumeState)
    expect(result).toEqual({ ok: true, value: expectedResult })
    expect(calls).toEqual({ fetchUser: 1, fetchPosts: 1 })

    // Later: restore and resume
    const loaded = await store.loadResumeState("wf-123")
    expect(loaded).not.toBeNull()
    let resumed: unknown
    if (loaded) {
      resumed = await workflow.run(async ({ step, deps }) => {
        const user = await step("fetchUser", () => deps.fetchUser("1"), { key: "user:1" })
        const posts = await step("fetchPosts", () => deps.fetchPosts(user.id), { key: `posts:${user.id}` })
        return { user, posts }
      }, { resumeState: loaded })
    }
    expect(resumed).toEqual({ ok: true, value: expectedResult })
    expect(calls).toEqual({ fetchUser: 1, fetchPosts: 1 }) // completed deps were not called again

    // Or: const loaded = await store.load('wf-123'); const resumeState = toResumeState(loaded);
    const viaLoad = toResumeState(await store.load("wf-123"))
    expect(viaLoad).toEqual(resumeState)
    expect(toResumeState(await store.load("never-saved"))).toBeUndefined()
  })

  it.skipIf(skip !== undefined)(`collector pattern: the collector's state equals runWithState's${skip ? ` (skipped: ${skip})` : ""}`, async () => {
    const store = make()
    const { calls, deps } = makeDeps()
    const seen: Array<string> = []
    const collector = createResumeStateCollector()
    const workflow = createWorkflow("workflow", deps, {
      onEvent: (event) => {
        seen.push(event.type)
        collector.handleEvent(event)
      }
    })
    const fn = myWorkflowFn
    const { resumeState } = await workflow.runWithState(fn)
    expect(collector.getResumeState()).toEqual(resumeState)
    expect(seen).toEqual([
      "workflow_start",
      "step_start",
      "step_success",
      "step_complete",
      "step_start",
      "step_success",
      "step_complete",
      "workflow_success"
    ])

    // Serialize with serializeResumeState(state) before persisting; deserializeResumeState(parsed) when loading JSON
    const json = JSON.stringify(serializeResumeState(collector.getResumeState()))
    await store.save("wf-collector", deserializeResumeState(JSON.parse(json)))
    const loaded = await store.loadResumeState("wf-collector")
    expect(loaded).toEqual(resumeState)
    await workflow.run(fn, { resumeState: loaded! })
    expect(calls).toEqual({ fetchUser: 1, fetchPosts: 1 })
  })
})
