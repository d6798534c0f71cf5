import { describe, expect, it } from "@effect/vitest"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Context, Effect, Layer, Option } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import * as SqliteStore from "../src/layers/SqliteStore.js"
import * as Workflow from "../src/Workflow.js"
import { SnapshotStore } from "../src/SnapshotStore.js"
import { StoreContract } from "effect-resume/testing"
import { layerFailure } from "./helpers/layerFailure.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-resume-sqlite-"))
const filename = path.join(dir, "contract.db")

StoreContract.suite("SqliteStore (temp file)", (options) => SqliteStore.layer({ filename, ...options }))

/**
 * Another process takes the file's write lock, holds it `millis` (running `sql` meanwhile, if given),
 * then commits. Succeeds once the lock is held; the child process is returned.
 */
const holdWriteLock = (file: string, millis: number, sql?: string) =>
  Effect.suspend(() => {
    const holder = spawn(process.execPath, [
      "-e",
      `const db = new (require("better-sqlite3"))(${JSON.stringify(file)})
      db.exec("BEGIN IMMEDIATE")
      process.stdout.write("locked\\n")
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ${millis})
      ${sql === undefined ? "" : `db.exec(${JSON.stringify(sql)})`}
      db.exec("COMMIT")`
    ], { cwd: path.resolve(import.meta.dirname, "..") })
    return Effect.async<typeof holder>((resume) => {
      holder.stdout.once("data", () => resume(Effect.succeed(holder)))
    })
  })

describe("SqliteStore", () => {
  it.effect("rejects a table name holding SQL before touching the file", () =>
    Effect.gen(function*() {
      const target = path.join(dir, "never-created.db")
      const { error } = yield* layerFailure(SqliteStore.layer({ filename: target, table: "x; DROP TABLE y" }))
      expect(error.reason).toBe("InvalidOption")
      expect(error.message).toContain("Invalid table name")
      expect(fs.existsSync(target)).toBe(false)
    }))

  it.effect("a custom table keeps its rows apart, and data survives reopening the file", () =>
    Effect.gen(function*() {
      const state = { steps: new Map([["k", { result: { ok: true as const, value: 1 }, stepId: "k" }]]) }
      const open = SqliteStore.layer({ filename, table: "custom_table" })
      yield* SnapshotStore.pipe(Effect.flatMap((s) => s.save("reopen", state)), Effect.provide(open))
      const again = yield* SnapshotStore.pipe(Effect.flatMap((s) => s.load("reopen")), Effect.provide(open))
      expect(again._tag).toBe("Some")
      const other = yield* SnapshotStore.pipe(Effect.flatMap((s) => s.load("reopen")), Effect.provide(SqliteStore.layer({ filename })))
      expect(other._tag).toBe("None")
    }))

  it.effect("an unopenable file is a StoreError with reason Connection", () =>
    Effect.gen(function*() {
      const { error } = yield* layerFailure(SqliteStore.layer({ filename: path.join(dir, "no/such/dir/x.db") }))
      expect(error.reason).toBe("Connection")
    }))

  it.scoped("inspect reports a corrupt step row as a Decode error; listRuns and prune still work", () =>
    Effect.gen(function*() {
      const store = Context.get(yield* Layer.build(SqliteStore.layer({ filename, table: "corrupt_steps" })), SnapshotStore)
      yield* store.appendSteps("bad", [["k", { result: { ok: true, value: 1 }, stepId: "k" }]])
      expect(Option.getOrThrow(yield* store.inspect("bad")).steps.map((s) => s.key)).toEqual(["k"])
      const sql = Context.get(yield* Layer.build(SqliteClient.layer({ filename })), SqliteClient.SqliteClient)
      yield* sql`UPDATE corrupt_steps_steps SET entry = '{"result":' WHERE run_id = 'bad'`
      const error = yield* Effect.flip(store.inspect("bad"))
      expect(error).toMatchObject({ _tag: "StoreError", reason: "Decode" })
      expect(error.message).toContain("\"k\" of \"bad\"")
      expect((yield* store.listRuns({ prefix: "bad" })).map((r) => [r.id, r.steps])).toEqual([["bad", 1]])
    }))

  // The statements of every step go to the driver on a connection of their own that never waits for
  // SQLite's lock: while another connection writes, they go through the store's client instead
  it.scoped("steps checkpoint while another process holds the write lock, and next to the store's own transactions", () =>
    Effect.gen(function*() {
      const file = path.join(dir, "direct.db")
      const store = Context.get(yield* Layer.build(SqliteStore.layer({ filename: file })), SnapshotStore)
      const ten = Workflow.make("ten", Effect.gen(function*() {
        let total = 0
        for (let i = 0; i < 10; i++) total += yield* Workflow.step(`s${i}`, Effect.succeed(i))
        return total
      }))
      const durable = (id: string) => Workflow.runDurable(ten, { id }).pipe(Effect.provideService(SnapshotStore, store))
      expect(yield* durable("warm")).toBe(45)
      yield* holdWriteLock(file, 300)
      expect(yield* durable("while-locked")).toBe(45)
      // the store's own transactions (save) interleaved with runs' checkpoints
      const state = { steps: new Map([["k", { result: { ok: true as const, value: 1 }, stepId: "k" }]]) }
      yield* Effect.all([
        Effect.forEach(Array.from({ length: 5 }, (_, i) => `run-${i}`), durable, { concurrency: "unbounded" }),
        Effect.forEach(Array.from({ length: 30 }, (_, i) => `saved-${i}`), (id) => store.save(id, state), { concurrency: 4 })
      ], { concurrency: "unbounded" })
      const runs = yield* store.listRuns({ prefix: "run-" })
      expect(runs.map((r) => [r.status, r.steps])).toEqual(Array.from({ length: 5 }, () => ["completed", 10]))
      expect(yield* store.countRuns({ prefix: "saved-" })).toMatchObject({ running: 30 })
    }), 20_000)

  it.scopedLive("a step's checkpoint leaves the run row alone until half the lease has passed, then renews the lease", () =>
    Effect.gen(function*() {
      const file = path.join(dir, "lease-when-due.db")
      const store = Context.get(yield* Layer.build(SqliteStore.layer({ filename: file })), SnapshotStore)
      const sql = Context.get(yield* Layer.build(SqliteClient.layer({ filename: file })), SqliteClient.SqliteClient)
      const leaseOf = Effect.map(
        sql<{ lease_until: string }>`SELECT lease_until FROM effect_resume_runs WHERE id = 'due'`,
        ([row]) => row!.lease_until
      )
      const checkpoint = (key: string, position: number) =>
        store.checkpoint({ id: "due", owner: "A", attempt: 1, key, position, fresh: true, entry: "{\"result\":{\"ok\":true,\"value\":1}}", durationMs: 1, leaseMs: 400 })
      yield* store.claim({ id: "due", workflow: "w", version: undefined, owner: "A", leaseMs: 400, input: undefined, reopenFailed: false })
      const claimed = yield* leaseOf
      expect(yield* checkpoint("a", 1)).toBe(true)
      expect(yield* leaseOf).toBe(claimed)
      yield* Effect.sleep("250 millis")
      expect(yield* checkpoint("b", 2)).toBe(true)
      const renewed = yield* leaseOf
      expect(renewed > claimed).toBe(true)
      expect(Date.parse(renewed) - Date.parse(claimed)).toBeGreaterThanOrEqual(200)
    }))

  it.scoped("a completed run returns its result from one statement, however fresh the store (its connections open as it is built)", () =>
    Effect.gen(function*() {
      const file = path.join(dir, "one-read.db")
      const once = Workflow.make("once", Workflow.step("a", Effect.succeed(41)))
      yield* Effect.scoped(Effect.gen(function*() {
        const first = Context.get(yield* Layer.build(SqliteStore.layer({ filename: file })), SnapshotStore)
        expect(yield* Workflow.runDurable(once, { id: "done" }).pipe(Effect.provideService(SnapshotStore, first))).toBe(41)
      }))
      const store = Context.get(yield* Layer.build(SqliteStore.layer({ filename: file })), SnapshotStore)
      // every statement better-sqlite3 runs (pragmas included) passes through these
      const Sqlite = createRequire(createRequire(import.meta.url).resolve("@effect/sql-sqlite-node"))("better-sqlite3")
      const probe = new Sqlite(":memory:")
      const proto = Object.getPrototypeOf(probe.prepare("SELECT 1")) as Record<string, (...args: Array<unknown>) => unknown>
      probe.close()
      const sent: Array<string> = []
      for (const method of ["run", "all", "get", "iterate"]) {
        const original = proto[method]!
        yield* Effect.acquireRelease(
          Effect.sync(() => {
            proto[method] = function(this: { readonly source: string }, ...args: Array<unknown>) {
              sent.push(this.source)
              return original.apply(this, args)
            }
          }),
          () => Effect.sync(() => void (proto[method] = original))
        )
      }
      expect(yield* Workflow.runDurable(once, { id: "done" }).pipe(Effect.provideService(SnapshotStore, store))).toBe(41)
      expect(sent).toHaveLength(1)
      expect(sent[0]).toMatch(/^SELECT .* FROM "effect_resume_runs" WHERE id = \?$/s)
    }))

  // A CLI prune next to a live application: another process holds the write lock, then commits. A
  // batch that read before it wrote could not take the lock then (SQLITE_BUSY at once, no busy wait).
  it.scoped("prune waits for another process's write and then removes the runs", () =>
    Effect.gen(function*() {
      const file = path.join(dir, "busy.db")
      const store = Context.get(yield* Layer.build(SqliteStore.layer({ filename: file })), SnapshotStore)
      const done = Workflow.make("done", Workflow.step("a", Effect.succeed(1)))
      for (let i = 0; i < 20; i++) yield* Workflow.runDurable(done, { id: `old-${i}` }).pipe(Effect.provideService(SnapshotStore, store))
      const holder = yield* holdWriteLock(
        file,
        400,
        "INSERT INTO effect_resume_runs_steps (run_id, step_key, position, entry) VALUES ('other', 'k', 1, '{}')"
      )
      const removed = yield* store.prune({ olderThan: 0, prefix: "old-", batchSize: 3 })
      expect(removed).toBe(20)
      expect(yield* store.listRuns({ prefix: "old-" })).toEqual([])
      yield* Effect.async<void>((resume) => {
        if (holder.exitCode !== null) return resume(Effect.void)
        holder.once("exit", () => resume(Effect.void))
      })
      expect(holder.exitCode).toBe(0)
    }), 20_000)
})
