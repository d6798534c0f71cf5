/**
 * Database drivers are optional peer dependencies: a Postgres-only application does not install
 * better-sqlite3. A static import of a missing package fails in Node's loader before any of our code
 * runs, so every store loads its driver here, when its layer is built, and a missing one is one line
 * that names the package to install.
 */
import { Effect } from "effect"
import { StoreError } from "../SnapshotStore.js"

/** The driver packages and the ranges this version supports (package.json's peerDependencies). */
export const drivers = {
  "@effect/sql-sqlite-node": "^0.53.0",
  "@effect/sql-pg": "^0.53.0",
  "@effect/sql-libsql": "^0.42.0",
  "mongodb": "^6.22.0"
} as const

export type DriverName = keyof typeof drivers

const isMissing = (cause: unknown, name: string): boolean => {
  const error = cause as { readonly code?: unknown; readonly message?: unknown } | null
  return (error?.code === "ERR_MODULE_NOT_FOUND" || error?.code === "MODULE_NOT_FOUND") &&
    typeof error.message === "string" && error.message.includes(`'${name}'`)
}

export const missingDriver = (store: string, name: DriverName) =>
  new StoreError({
    reason: "MissingDriver",
    message: `${store} needs the package ${name}, which is not installed: npm i ${name}@"${drivers[name]}"`
  })

/**
 * `load` is the literal `() => import("…")`, so the module keeps its static type. A driver that is
 * installed but fails to load (a native build for another Node version) is a MissingDriver too, with
 * the loader's error as the cause.
 */
export const importDriver = <M>(store: string, name: DriverName, load: () => Promise<M>): Effect.Effect<M, StoreError> =>
  Effect.tryPromise({
    try: load,
    catch: (cause) =>
      isMissing(cause, name)
        ? missingDriver(store, name)
        : new StoreError({
          reason: "MissingDriver",
          message: `${store} could not load ${name}: ${cause instanceof Error ? cause.message : String(cause)}`,
          cause
        })
  })
