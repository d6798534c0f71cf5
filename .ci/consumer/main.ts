/**
 * .ci/tarball-check's program for an application with every driver installed: imports each public
 * entry point of the installed tarball, runs a durable workflow on SQLite, libSQL, memory and (when
 * EFFECT_RESUME_PG_URL is set) PostgreSQL, and the Promise API; exits non-zero on any mismatch.
 * `effect-resume/testing` loads vitest, which only works inside a vitest run: its types are checked
 * here, and store.test.ts runs it.
 */
import { LibsqlClient } from "@effect/sql-libsql"
import { Layer } from "effect"
import * as Root from "effect-resume"
import * as LibsqlStoreEntry from "effect-resume/LibsqlStore"
import * as MemoryStoreEntry from "effect-resume/MemoryStore"
import * as MongoStoreEntry from "effect-resume/MongoStore"
import * as PgStoreEntry from "effect-resume/PgStore"
import * as SqliteStoreEntry from "effect-resume/SqliteStore"
import * as SqlStoreEntry from "effect-resume/SqlStore"
import * as LibsqlPromise from "effect-resume/libsql"
import * as MongoPromise from "effect-resume/mongo"
import * as Persistence from "effect-resume/persistence"
import * as PostgresPromise from "effect-resume/postgres"
import * as SqlitePromise from "effect-resume/sqlite"
import type * as Testing from "effect-resume/testing"
import * as PromiseWorkflow from "effect-resume/workflow"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { check, dropPgTables, rejection, checkDurable, unique } from "./durable.js"

export type ContractSuite = typeof Testing.StoreContract.suite

// Every entry point in the installed package.json must be imported above (./testing: by store.test.ts).
const entryPoints: Record<string, object> = {
  ".": Root,
  "./LibsqlStore": LibsqlStoreEntry,
  "./MemoryStore": MemoryStoreEntry,
  "./MongoStore": MongoStoreEntry,
  "./PgStore": PgStoreEntry,
  "./SqliteStore": SqliteStoreEntry,
  "./SqlStore": SqlStoreEntry,
  "./libsql": LibsqlPromise,
  "./mongo": MongoPromise,
  "./persistence": Persistence,
  "./postgres": PostgresPromise,
  "./sqlite": SqlitePromise,
  "./workflow": PromiseWorkflow
}
const manifest = JSON.parse(fs.readFileSync("node_modules/effect-resume/package.json", "utf8")) as {
  readonly exports: Record<string, unknown>
}
const untested = Object.keys(manifest.exports).filter((entry) => entry !== "./testing" && !(entry in entryPoints))
check(untested.length === 0, `main.ts imports every entry point; missing: ${untested.join(", ")}`)
for (const [entry, module] of Object.entries(entryPoints)) check(Object.keys(module).length > 0, `${entry} has exports`)
console.log(`ok loaded ${Object.keys(entryPoints).length} entry points (./testing runs under vitest)`)

const { LibsqlStore } = LibsqlStoreEntry
const { MemoryStore } = MemoryStoreEntry
const { SqliteStore } = SqliteStoreEntry
const { PgStore } = PgStoreEntry
const { SqlStore } = SqlStoreEntry
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-resume-consumer-"))
const pgUrl = process.env["EFFECT_RESUME_PG_URL"]
try {
  await checkDurable("SqliteStore", SqliteStore.layer({ filename: path.join(dir, "workflow.db") }))
  await checkDurable("LibsqlStore", LibsqlStore.layer({ url: `file:${path.join(dir, "libsql.db")}` }))
  await checkDurable("MemoryStore", MemoryStore.layer({ data: MemoryStore.makeData() }))
  // SqlStore over a client the application already has
  const client = LibsqlClient.layer({ url: `file:${path.join(dir, "own-client.db")}` })
  await checkDurable("SqlStore over LibsqlClient", SqlStore.layer().pipe(Layer.provide(client)))

  if (pgUrl === undefined || pgUrl === "") {
    console.log("skip PostgreSQL: EFFECT_RESUME_PG_URL is not set")
  } else {
    const tables = [unique("ci_tarball_pg"), unique("ci_tarball_promise")] as const
    try {
      await checkDurable("PgStore", PgStore.layer({ url: pgUrl, table: tables[0] }))
      const store = PostgresPromise.postgres({ url: pgUrl, table: tables[1] })
      await store.save("p-1", PromiseWorkflow.createResumeStateCollector().getResumeState())
      check((await store.loadResumeState("p-1"))?.steps.size === 0, "postgres(): save / loadResumeState")
      await store.close()
      console.log("ok postgres(): save, loadResumeState, close")
    } finally {
      for (const table of tables) await dropPgTables(pgUrl, table)
    }
  }

  // The Promise API: a run, its state saved to SQLite, loaded, and resumed without calling the dep again.
  let calls = 0
  const workflow = PromiseWorkflow.createWorkflow("ci-promise", {
    double: async (n: number) => (calls++, PromiseWorkflow.ok(n * 2))
  })
  const fn: PromiseWorkflow.WorkflowFn<number, { double: (n: number) => Promise<PromiseWorkflow.Result<number>> }> =
    async ({ step, deps }) => await step("double", () => deps.double(21), { key: "double:21" })
  const { result, resumeState } = await workflow.runWithState(fn)
  check(result.ok && result.value === 42, "createWorkflow: first run is ok(42)")
  const store = SqlitePromise.sqlite(path.join(dir, "promise.db"))
  await store.save("wf-1", resumeState)
  const loaded = await store.loadResumeState("wf-1")
  check(loaded !== null && loaded.steps.size === 1, "sqlite(): loadResumeState gives the one step back")
  const again = await workflow.run(fn, { resumeState: loaded ?? undefined })
  check(again.ok && again.value === 42 && calls === 1, `createWorkflow: resumed run replays (dep calls: ${calls})`)
  const snapshot = await store.load("wf-1")
  check(!Persistence.isWorkflowSnapshot(snapshot), "persistence: a saved ResumeState is not a snapshot")
  await store.close()
  const libsqlStore = LibsqlPromise.libsql(`file:${path.join(dir, "promise-libsql.db")}`)
  await libsqlStore.save("wf-1", resumeState)
  check((await libsqlStore.loadResumeState("wf-1"))?.steps.size === 1, "libsql(): save / loadResumeState")
  await libsqlStore.close()
  console.log("ok Promise API: createWorkflow, sqlite() and libsql() save / loadResumeState / close")

  // No MongoDB server here: the driver must load, and the store must fail as a Connection error.
  const mongo = MongoPromise.mongo({ url: "mongodb://127.0.0.1:9/ci", serverSelectionTimeoutMS: 300 })
  const error = await rejection(mongo.load("x"), "mongo() without a server")
  check(error instanceof MongoPromise.StoreError && error.reason === "Connection", `mongo(): Connection error (${String(error)})`)
  await mongo.close()
  console.log("ok mongo(): driver loads, unreachable server is a Connection StoreError")
} finally {
  fs.rmSync(dir, { recursive: true, force: true })
}
console.log("consumer program passed")
