/** .ci/tarball-check: `effect-resume/testing` as an application uses it, under vitest. */
import { expect, it } from "@effect/vitest"
import { Snapshot } from "effect-resume"
import { MemoryStore } from "effect-resume/MemoryStore"
import { Arbitraries, StoreContract } from "effect-resume/testing"

// one data set for both layers the factory is asked for (with and without a prefix), as the contract requires
const shared = MemoryStore.makeData()
StoreContract.suite("MemoryStore", (options) => MemoryStore.layer({ ...options, data: shared }))

it.prop("Arbitraries.workflowSnapshot values validate", [Arbitraries.workflowSnapshot], ([snapshot]) => {
  expect(Snapshot.validate(snapshot).valid).toBe(true)
})
