import { Cause, Effect, Exit, Layer } from "effect"
import * as util from "node:util"
import { expect } from "vitest"
import type { SnapshotStore, StoreError } from "../../src/SnapshotStore.js"

/** Builds a store layer that must fail, and hands back its error, how long it took, and all of it as text. */
export const layerFailure = (layer: Layer.Layer<SnapshotStore, StoreError>) =>
  Effect.gen(function*() {
    const started = Date.now()
    const exit = yield* Effect.exit(Effect.scoped(Layer.build(layer)))
    if (Exit.isSuccess(exit)) throw new Error("expected the layer to fail")
    const error = Cause.squash(exit.cause) as StoreError
    expect(error._tag).toBe("StoreError")
    return { error, ms: Date.now() - started, text: `${Cause.pretty(exit.cause)}\n${util.inspect(error, { depth: 10 })}` }
  })
