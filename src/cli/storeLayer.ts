/** Opens the store `--store` names. Each store's driver is imported only when its layer is built. */
import { Effect, Either, Layer } from "effect"
import * as fs from "node:fs"
import * as LibsqlStore from "../layers/LibsqlStore.js"
import * as MongoStore from "../layers/MongoStore.js"
import * as PgStore from "../layers/PgStore.js"
import * as SqliteStore from "../layers/SqliteStore.js"
import type { SnapshotStore } from "../SnapshotStore.js"
import { CliFailure } from "./failure.js"
import { chooseStore, mask, maskIn, parse, type StoreSpec } from "./storeUrl.js"

const layerOf = (spec: StoreSpec): Layer.Layer<SnapshotStore, unknown> => {
  switch (spec.kind) {
    case "sqlite":
      return SqliteStore.layer({ filename: spec.filename })
    case "postgres":
      return PgStore.layer({ url: spec.url, connectTimeout: "5 seconds" })
    case "libsql":
      return LibsqlStore.layer({ url: spec.url })
    case "mongo":
      return MongoStore.layer({ url: spec.url, serverSelectionTimeoutMS: 5000 })
  }
}

/**
 * The store for `--store` (or DATABASE_URL, or the default file). A SQLite file that does not exist is
 * an error unless `create`: a typo in the path must not leave an empty database behind.
 */
export const storeLayer = (
  store: string | undefined,
  options: { readonly create: boolean } = { create: false }
): Layer.Layer<SnapshotStore, CliFailure> => {
  const text = chooseStore(store, process.env)
  const spec = parse(text, process.cwd())
  if (Either.isLeft(spec)) return Layer.fail(new CliFailure({ message: spec.left, exitCode: 2 }))
  const file = localFile(spec.right)
  if (file !== undefined && !options.create && !fs.existsSync(file)) {
    return Layer.fail(new CliFailure({ message: `No SQLite database at ${file} (--store ${mask(text)})`, exitCode: 1 }))
  }
  return Layer.catchAll(layerOf(spec.right), (error) =>
    Layer.fail(new CliFailure({ message: `Cannot open the store ${mask(text)}: ${maskIn(messageOf(error), text)}`, exitCode: 1 })))
}

// the database file of a sqlite: or file: store (libSQL), which the store would create if missing
const localFile = (spec: StoreSpec): string | undefined => {
  if (spec.kind === "sqlite") return spec.filename === ":memory:" ? undefined : spec.filename
  if (spec.kind !== "libsql" || !spec.url.startsWith("file:")) return undefined
  const file = spec.url.slice("file:".length).replace(/[?#].*$/, "")
  return file === ":memory:" ? undefined : file
}

export const messageOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string" && error.message !== ""
    ? error.message.split("\n")[0]!
    : String(error)

/** Runs `effect` with the store; the store's own errors become one masked line. */
export const withStore = <A, E, R>(
  store: string | undefined,
  effect: Effect.Effect<A, E, R | SnapshotStore>,
  options?: { readonly create: boolean }
): Effect.Effect<A, CliFailure | E, Exclude<R, SnapshotStore>> =>
  Effect.provide(effect, storeLayer(store, options)) as Effect.Effect<A, CliFailure | E, Exclude<R, SnapshotStore>>
