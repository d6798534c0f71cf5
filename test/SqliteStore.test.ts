import { describe, expect, it } from "@effect/vitest"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Option } from "effect"
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

  it.effect("a database written by schema version 1 is migrated on start, and its rows still load", () =>
    Effect.gen(function*() {
      const old = path.join(dir, "v1.db")
      // the version-1 layout, as the first release created it
      yield* Effect.gen(function*() {
        const sql = yield* SqliteClient.SqliteClient
        yield* sql`CREATE TABLE effect_resume_snapshots (id TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL, updated_at TEXT NOT NULL, seq INTEGER NOT NULL)`
        yield* sql`CREATE INDEX effect_resume_snapshots_seq_idx ON effect_resume_snapshots (seq)`
        yield* sql`CREATE TABLE effect_resume_snapshots_migrations (migration_id integer PRIMARY KEY NOT NULL, created_at datetime NOT NULL DEFAULT current_timestamp, name VARCHAR(255) NOT NULL)`
        yield* sql`INSERT INTO effect_resume_snapshots_migrations (migration_id, name) VALUES (1, 'create_snapshots')`
        const body = JSON.stringify({ kind: "ResumeState", steps: [["a", { ok: true, value: 1, stepId: "a" }]] })
        yield* sql`INSERT INTO effect_resume_snapshots VALUES ('legacy', ${body}, '2026-01-01T00:00:00.000Z', 1)`
      }).pipe(Effect.provide(SqliteClient.layer({ filename: old })), Effect.scoped, Effect.orDie)

      const store = SqliteStore.layer({ filename: old })
      const loaded = yield* SnapshotStore.pipe(
        Effect.tap((s) => s.saveStep("legacy", "b", { result: { ok: true, value: 2 }, stepId: "b" })),
        Effect.flatMap((s) => s.loadResumeState("legacy")),
        Effect.provide(store)
      )
      expect([...Option.getOrThrow(loaded).steps.keys()]).toEqual(["a", "b"])
      const migrations = yield* Effect.flatMap(SqliteClient.SqliteClient, (sql) =>
        sql<{ migration_id: number }>`SELECT migration_id FROM effect_resume_snapshots_migrations ORDER BY 1`).pipe(
        Effect.provide(SqliteClient.layer({ filename: old })),
        Effect.orDie
      )
      expect(migrations.map((m) => m.migration_id)).toEqual([1, 2, 3])
    }))

  it.effect("an unopenable file is a StoreError with reason Connection", () =>
    Effect.gen(function*() {
      const { error } = yield* layerFailure(SqliteStore.layer({ filename: path.join(dir, "no/such/dir/x.db") }))
      expect(error.reason).toBe("Connection")
    }))
})
