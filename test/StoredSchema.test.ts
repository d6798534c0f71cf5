import { describe, expect, it } from "@effect/vitest"
import { Either, Option, Schema } from "effect"
import { ResumeState, SnapshotStore } from "../src/index.js"
import * as MemoryStore from "../src/layers/MemoryStore.js"
import type * as Snapshot from "../src/Snapshot.js"
import { Effect } from "effect"

const state = ResumeState.make([["a", { result: { ok: true, value: { n: 1 } }, stepId: "a" }]])
const snapshot: Snapshot.WorkflowSnapshot = {
  formatVersion: 1,
  steps: { a: { ok: true, value: 1 } },
  execution: { status: "completed", lastUpdated: "2026-01-01T00:00:00.000Z" }
}
const decode = Schema.decodeUnknownEither(SnapshotStore.Stored)

describe("SnapshotStore.Stored: what a store may hold, as one Schema", () => {
  it("decodes a live ResumeState, its JSON form and a WorkflowSnapshot", () => {
    expect(Either.getOrThrow(decode(state))).toBe(state)
    const fromJson = Either.getOrThrow(decode(JSON.parse(JSON.stringify(state))))
    expect(ResumeState.isResumeState(fromJson)).toBe(true)
    expect(fromJson).toEqual(state)
    expect(Either.getOrThrow(decode(snapshot))).toEqual(snapshot)
  })

  it("encodes a ResumeState to its serialized form and a snapshot as it is", () => {
    const encode = Schema.encodeSync(SnapshotStore.Stored)
    expect(encode(state)).toEqual({ kind: "ResumeState", steps: [["a", { ok: true, value: { n: 1 } }]].map(([k, r]) => [k, { ...(r as object), stepId: "a" }]) })
    expect(encode(snapshot)).toBe(snapshot)
  })

  it("refuses anything else with a message naming the problem, and never throws", () => {
    const bad = decode({ formatVersion: 1, steps: {}, execution: { status: "paused", lastUpdated: "x" } })
    expect(Either.isLeft(bad)).toBe(true)
    if (Either.isLeft(bad)) expect(bad.left.message).toContain("$.execution.status")
    expect(Either.isLeft(decode({ kind: "ResumeState", steps: [["a", { ok: "yes" }]] }))).toBe(true)
    expect(Either.isLeft(decode(42))).toBe(true)
    expect(Either.isLeft(decode({ steps: new Map([["a", { result: { ok: 1 } }]]) }))).toBe(true)
  })

  it.effect("save takes the serialized form too, decoded at the boundary", () =>
    Effect.gen(function*() {
      yield* SnapshotStore.save("json-form", JSON.parse(JSON.stringify(state)))
      const loaded = Option.getOrThrow(yield* SnapshotStore.load("json-form"))
      expect(ResumeState.isResumeState(loaded)).toBe(true)
      expect(loaded).toEqual(state)
    }).pipe(Effect.provide(MemoryStore.layer())))
})
