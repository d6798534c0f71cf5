import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { MongoClient } from "mongodb"
import * as MongoStore from "../src/layers/MongoStore.js"
import { StoreContract } from "effect-resume/testing"
import { layerFailure } from "./helpers/layerFailure.js"

// The contract needs a real server: set MONGODB_URL (say mongodb://127.0.0.1:27017) to run it.
const url = process.env["MONGODB_URL"]
// a database of its own per run, so concurrent runs and earlier leftovers never meet; dropped afterwards
const database = `effect_resume_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`

describe.skipIf(url === undefined)(
  url === undefined ? "MongoStore contract (skipped: MONGODB_URL is not set)" : "MongoStore contract",
  () => {
    StoreContract.suite("MongoStore", (options) => MongoStore.layer({ url: url ?? "", database, ...options }))
    // the ttl option stamps step documents as runs end and unstamps them on a reopening claim: the
    // contract holds alike (a day's TTL expires nothing the tests write)
    StoreContract.suite("MongoStore with ttl", (options) =>
      MongoStore.layer({ url: url ?? "", database, collection: "runs_ttl", ttl: "1 day", ...options }))

    afterAll(async () => {
      const client = new MongoClient(url ?? "", { serverSelectionTimeoutMS: 5_000 })
      try {
        await client.db(database).dropDatabase()
      } finally {
        await client.close()
      }
    })
  }
)

const failure = (layer: Parameters<typeof layerFailure>[0]) => Effect.map(layerFailure(layer), (f) => f.error)

// Nothing listens on port 1, so these need no server.
describe("MongoStore (no server needed)", () => {
  it.effect("an unreachable server is a Connection error within serverSelectionTimeoutMS", () =>
    Effect.gen(function*() {
      const started = Date.now()
      const error = yield* failure(MongoStore.layer({ url: "mongodb://127.0.0.1:1/x", serverSelectionTimeoutMS: 300 }))
      expect(error._tag).toBe("StoreError")
      expect(error.reason).toBe("Connection")
      expect(Date.now() - started).toBeLessThan(5_000)
    }))

  it.effect("a malformed connection string is a Connection error that does not echo its password", () =>
    Effect.gen(function*() {
      for (const url of ["http://user:hunter2@example.com", "mongodb://user:hunter2@/x"]) {
        const error = yield* failure(MongoStore.layer({ url: Redacted.make(url) }))
        expect(error.reason).toBe("Connection")
        expect(error.message).not.toContain("hunter2")
        expect(JSON.stringify(error)).not.toContain("hunter2")
      }
    }))

  it.effect("bad database or collection names are rejected before connecting", () =>
    Effect.gen(function*() {
      const started = Date.now()
      const collection = yield* failure(MongoStore.layer({ url: "mongodb://127.0.0.1:1", collection: "a$b" }))
      expect(collection.reason).toBe("InvalidOption")
      const db = yield* failure(MongoStore.layer({ url: "mongodb://127.0.0.1:1/bad.name" }))
      expect(db.reason).toBe("InvalidOption")
      expect(db.message).toContain("bad.name")
      // no server selection was attempted (that would take the 5 s default)
      expect(Date.now() - started).toBeLessThan(2_000)
    }))

  it.effect("a ttl that is not a finite duration of at least a second is rejected before connecting", () =>
    Effect.gen(function*() {
      const started = Date.now()
      for (const ttl of ["forever", Infinity, "10 millis"] as const) {
        const error = yield* failure(MongoStore.layer({ url: "mongodb://127.0.0.1:1/x", ttl: ttl as never }))
        expect(error.reason).toBe("InvalidOption")
        expect(error.message).toContain("ttl")
      }
      expect(Date.now() - started).toBeLessThan(2_000)
    }))
})
