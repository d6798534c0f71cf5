import { describe, expect, it } from "@effect/vitest"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Context, Effect, Layer, Option } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as SqliteStore from "../src/layers/SqliteStore.js"
import { SnapshotStore } from "../src/SnapshotStore.js"
import { StoreContract } from "effect-resume/testing"
import { layerFailure } from "./helpers/layerFailure.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-resume-sqlite-"))
const filename = path.join(dir, "contract.db")

StoreContract.suite("SqliteStore (temp file)", (options) => SqliteStore.layer({ filename, ...options }))

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
})
