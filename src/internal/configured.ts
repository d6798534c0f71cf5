import { Config, ConfigError, Effect, Layer } from "effect"
import { type SnapshotStore, StoreError } from "../SnapshotStore.js"

// Effect's own text for a missing redacted setting is `Missing data at DATABASE_URL: "<redacted>"`;
// say what is wrong in the user's words instead. Never the value: a setting may be a secret.
const describeConfigError = (error: ConfigError.ConfigError): string =>
  ConfigError.reduceWithContext(error, undefined, {
    andCase: (_, left, right) => `${left}; ${right}`,
    orCase: (_, left, right) => `${left}; ${right}`,
    missingDataCase: (_, path) => `${path.join(".")} is not set`,
    invalidDataCase: (_, path, message) => `${path.join(".")} is invalid: ${message}`,
    sourceUnavailableCase: (_, path, message) => `${path.join(".")} could not be read: ${message}`,
    unsupportedCase: (_, path, message) => `${path.join(".")}: ${message}`
  })

/** `layerConfig` for any store: options read through Config; a missing or bad setting is InvalidOption. */
export const configured = <O>(name: string, layer: (options: O) => Layer.Layer<SnapshotStore, StoreError>) =>
(config: Config.Config.Wrap<O>): Layer.Layer<SnapshotStore, StoreError> =>
  Layer.unwrapEffect(
    Config.unwrap(config).pipe(
      Effect.map(layer),
      Effect.mapError((cause) =>
        new StoreError({ reason: "InvalidOption", message: `${name} config: ${describeConfigError(cause)}`, cause })
      )
    )
  )
