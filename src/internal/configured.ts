import { Config, Effect, Layer } from "effect"
import { type SnapshotStore, StoreError } from "../SnapshotStore.js"

/** `layerConfig` for any store: options read through Config; a missing or bad setting is InvalidOption. */
export const configured = <O>(name: string, layer: (options: O) => Layer.Layer<SnapshotStore, StoreError>) =>
(config: Config.Config.Wrap<O>): Layer.Layer<SnapshotStore, StoreError> =>
  Layer.unwrapEffect(
    Config.unwrap(config).pipe(
      Effect.map(layer),
      // String(), not .message: a redacted setting's message is just "<redacted>", without the key's path
      Effect.mapError((cause) => new StoreError({ reason: "InvalidOption", message: `${name} config: ${String(cause)}`, cause }))
    )
  )
