// What the package exports: plumbing stays internal (issue #12), checked at runtime and in the types.
import * as Root from "effect-resume"
import * as Persistence from "effect-resume/persistence"
import * as PromiseWorkflow from "effect-resume/workflow"
import * as fs from "node:fs"
import { describe, expect, expectTypeOf, it } from "vitest"

const internalNames = ["runOrReject", "normalizeStored", "fromStoredJson", "withSteps", "checkEntries", "StoredJson"]

const entryPoints = Object.keys(
  (JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { exports: object }).exports
).map((entry) => entry === "." ? "effect-resume" : `effect-resume${entry.slice(1)}`)

describe("public API", () => {
  it.each([
    ["effect-resume", Root],
    ["effect-resume SnapshotStore namespace", Root.SnapshotStore],
    ["effect-resume/workflow", PromiseWorkflow],
    ["effect-resume/persistence", Persistence]
  ])("%s exports no plumbing", (_, module) => {
    for (const name of internalNames) expect(Object.keys(module)).not.toContain(name)
  })

  it.each(entryPoints)("%s exports no plumbing, nor a SnapshotStore namespace with it", async (entry) => {
    const module = (await import(entry)) as Record<string, unknown>
    const nested = typeof module["SnapshotStore"] === "object" ? Object.keys(module["SnapshotStore"] as object) : []
    for (const name of internalNames) {
      expect(Object.keys(module)).not.toContain(name)
      expect(nested).not.toContain(name)
    }
  })

  it("the types agree", () => {
    expectTypeOf(PromiseWorkflow).not.toHaveProperty("runOrReject")
    expectTypeOf(Root.SnapshotStore).not.toHaveProperty("normalizeStored")
    expectTypeOf(Root.SnapshotStore).not.toHaveProperty("fromStoredJson")
    expectTypeOf(Root.SnapshotStore).not.toHaveProperty("withSteps")
    // @ts-expect-error StoredJson is internal (the line is otherwise valid, so the directive checks just that)
    expectTypeOf<Root.SnapshotStore.StoredJson>().not.toBeNever()
    // what stays public
    expectTypeOf(Root.SnapshotStore).toHaveProperty("make")
    expectTypeOf(Root.SnapshotStore).toHaveProperty("LoadedWithSteps")
    expectTypeOf(Root.SnapshotStore).toHaveProperty("StoreError")
  })
})
