/**
 * .ci/tarball-check's program for an application that installed only the README's PostgreSQL line:
 * the root entry point loads, a durable workflow runs on PgStore, and a store whose driver is not
 * installed fails when its layer is built, with a MissingDriver StoreError naming the package.
 */
import { Effect, Exit, Cause } from "effect"
import * as Root from "effect-resume"
import { PgStore } from "effect-resume/PgStore"
import { LibsqlStore } from "effect-resume/LibsqlStore"
import { SqliteStore } from "effect-resume/SqliteStore"
import { sqlite, StoreError } from "effect-resume/sqlite"
import { check, dropPgTables, rejection, checkDurable, unique, type StoreLayer } from "./durable.js"

check(Object.keys(Root).length > 0, "effect-resume (root) has exports")
const { SnapshotStore } = Root
console.log(`ok loaded effect-resume: ${Object.keys(Root).join(", ")}`)

const pgUrl = process.env["EFFECT_RESUME_PG_URL"]
check(pgUrl !== undefined && pgUrl !== "", "EFFECT_RESUME_PG_URL is set")
const table = unique("ci_tarball_pgonly")
try {
  await checkDurable("PgStore", PgStore.layer({ url: pgUrl!, table }))
} finally {
  await dropPgTables(pgUrl!, table)
}

const missing = async (name: string, layer: StoreLayer, driver: string) => {
  const exit = await Effect.runPromiseExit(Effect.provide(SnapshotStore.list(), layer))
  const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
  check(
    error instanceof StoreError && error.reason === "MissingDriver" && error.message.includes(driver),
    `${name}: MissingDriver naming ${driver} (got ${Exit.isFailure(exit) ? String(error) : "success"})`
  )
  console.log(`ok ${name}: ${(error as StoreError).message}`)
}
await missing("SqliteStore.layer", SqliteStore.layer({ filename: "never-created.db" }), "@effect/sql-sqlite-node")
await missing("LibsqlStore.layer", LibsqlStore.layer({ url: "file:never-created.db" }), "@effect/sql-libsql")

const store = sqlite("never-created.db")
const error = await rejection(store.load("x"), "sqlite() without its driver")
check(error instanceof StoreError && error.reason === "MissingDriver", `sqlite(): MissingDriver (got ${String(error)})`)
await store.close()
console.log("ok sqlite(): rejects with MissingDriver")
console.log("postgres-only program passed")
