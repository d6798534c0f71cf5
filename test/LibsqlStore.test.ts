import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as LibsqlStore from "../src/layers/LibsqlStore.js"
import { SnapshotStore } from "../src/SnapshotStore.js"
import { StoreContract } from "effect-resume/testing"
import { layerFailure } from "./helpers/layerFailure.js"

// a temp file, not `:memory:`: @libsql/client 0.12 gives each transaction a fresh connection,
// which an in-memory database does not survive
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-resume-libsql-"))
const url = `file:${path.join(dir, "contract.db")}`

StoreContract.suite("LibsqlStore (temp file)", (options) => LibsqlStore.layer({ url, ...options }))

const failure = (layer: Parameters<typeof layerFailure>[0]) => Effect.map(layerFailure(layer), (f) => f.error)

describe("LibsqlStore", () => {
  it.effect("rejects a table name holding SQL before touching the file", () =>
    Effect.gen(function*() {
      const target = path.join(dir, "never-created.db")
      const error = yield* failure(LibsqlStore.layer({ url: `file:${target}`, table: "x; DROP TABLE y" }))
      expect(error._tag).toBe("StoreError")
      expect(error.reason).toBe("InvalidOption")
      expect(error.message).toContain("Invalid table name")
      expect(fs.existsSync(target)).toBe(false)
    }))

  it.effect("a custom table keeps its rows apart, and data survives reopening the file", () =>
    Effect.gen(function*() {
      const state = { steps: new Map([["k", { result: { ok: true as const, value: 1 }, stepId: "k" }]]) }
      const open = LibsqlStore.layer({ url, table: "custom_table" })
      yield* SnapshotStore.pipe(Effect.flatMap((s) => s.save("reopen", state)), Effect.provide(open))
      const again = yield* SnapshotStore.pipe(Effect.flatMap((s) => s.load("reopen")), Effect.provide(open))
      expect(again._tag).toBe("Some")
      const other = yield* SnapshotStore.pipe(Effect.flatMap((s) => s.load("reopen")), Effect.provide(LibsqlStore.layer({ url })))
      expect(other._tag).toBe("None")
    }))

  it.effect("a malformed url is a StoreError with reason Connection", () =>
    Effect.gen(function*() {
      const error = yield* failure(LibsqlStore.layer({ url: "not a url?authToken=hunter2" }))
      expect(error._tag).toBe("StoreError")
      expect(error.reason).toBe("Connection")
      expect(JSON.stringify(error)).not.toContain("hunter2")
    }))

  it.effect("an unsupported scheme and an unopenable file are Connection errors", () =>
    Effect.gen(function*() {
      expect((yield* failure(LibsqlStore.layer({ url: "ftp://example.com/db" }))).reason).toBe("Connection")
      expect((yield* failure(LibsqlStore.layer({ url: `file:${path.join(dir, "no/such/dir/x.db")}` }))).reason).toBe("Connection")
    }))

  it.effect("an unreachable server is a Connection error, and the auth token never appears in it", () =>
    Effect.gen(function*() {
      const secret = "super-secret-token-value"
      const error = yield* failure(LibsqlStore.layer({ url: "http://127.0.0.1:1", authToken: secret }))
      expect(error.reason).toBe("Connection")
      expect(error.message).not.toContain(secret)
      const redacted = yield* failure(LibsqlStore.layer({ url: "http://127.0.0.1:1", authToken: Redacted.make(secret) }))
      expect(redacted.reason).toBe("Connection")
    }))
})
