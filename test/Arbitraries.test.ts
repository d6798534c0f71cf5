import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Effect, FastCheck as fc, Schema } from "effect"
import { ResumeState, Snapshot } from "../src/index.js"
import { Arbitraries } from "../src/exports/testing.js"

const viaJson = (u: unknown): unknown => JSON.parse(JSON.stringify(u))

const hasNegativeZero = (u: unknown): boolean =>
  Object.is(u, -0) || (typeof u === "object" && u !== null && Object.values(u).some(hasNegativeZero))

const hasProtoKey = (u: unknown): boolean =>
  typeof u === "object" && u !== null &&
  ((!Array.isArray(u) && Object.hasOwn(u, "__proto__")) || Object.values(u).some(hasProtoKey))

// fixed seeds: these checks never flake
const sample = <A>(arbitrary: fc.Arbitrary<A>) => fc.sample(arbitrary, { numRuns: 2_000, seed: 1 })

describe("Arbitraries: round trips", () => {
  it.prop("jsonValue: JSON gives it back exactly; the JsonValue Schema accepts it", [Arbitraries.jsonValue], ([v]) => {
    expect(viaJson(v)).toStrictEqual(v)
    expect(Schema.is(Snapshot.JsonValue)(v)).toBe(true)
  })

  it.prop("stepResult: JSON gives it back exactly; the StepResult Schema accepts it", [Arbitraries.stepResult], ([r]) => {
    expect(viaJson(r)).toStrictEqual(r)
    expect(Schema.decodeUnknownSync(Snapshot.StepResult)(viaJson(r))).toStrictEqual(r)
  })

  it.prop("serializedCause: JSON gives it back exactly; the SerializedCause Schema accepts it", [Arbitraries.serializedCause], ([c]) => {
    expect(viaJson(c)).toStrictEqual(c)
    expect(Schema.decodeUnknownSync(Snapshot.SerializedCause)(viaJson(c))).toStrictEqual(c)
  })

  it.prop("workflowSnapshot: validate(JSON(s)) is valid and equals s", [Arbitraries.workflowSnapshot], ([s]) => {
    expect(viaJson(s)).toStrictEqual(s)
    expect(Snapshot.validate(viaJson(s))).toStrictEqual({ valid: true, snapshot: s })
  })

  it.effect.prop("resumeState: deserialize(JSON(serialize(s))) equals s", [Arbitraries.resumeState], ([state]) =>
    Effect.gen(function*() {
      expect(ResumeState.isResumeState(state)).toBe(true)
      expect(yield* ResumeState.deserialize(viaJson(ResumeState.serialize(state)))).toStrictEqual(state)
      // a live state serializes itself
      expect(viaJson(state)).toStrictEqual(ResumeState.serialize(state))
    }))

  it.effect.prop("resumeStateJson: JSON gives it back exactly; deserialize then serialize is the identity", [Arbitraries.resumeStateJson], ([json]) =>
    Effect.gen(function*() {
      expect(viaJson(json)).toStrictEqual(json)
      expect(ResumeState.serialize(yield* ResumeState.deserialize(viaJson(json)))).toStrictEqual(json)
    }))
})

describe("Arbitraries: regressions", () => {
  // What a user saw: a JSON round-trip property, 100 runs, failing for some seeds only.
  const seeds = Array.from({ length: 100 }, (_, i) => i)
  const failingSeeds = (arbitrary: fc.Arbitrary<unknown>) =>
    seeds.filter((seed) =>
      fc.check(fc.property(arbitrary, (v) => {
        expect(viaJson(v)).toStrictEqual(v)
      }), { seed, numRuns: 100, endOnFailure: true }).failed
    )

  it("the previous arbitrary, fc.jsonValue, fails the round trip for some seeds: it yields -0, which JSON turns into 0", () => {
    expect(failingSeeds(fc.jsonValue({ maxDepth: 3 })).length).toBeGreaterThan(0)
    const culprit = sample(fc.jsonValue({ maxDepth: 3 })).find(hasNegativeZero)
    expect(viaJson(culprit)).not.toStrictEqual(culprit)
  })

  it("jsonValue and the JsonValue Schema's own arbitrary pass it for every seed", () => {
    expect(failingSeeds(Arbitraries.jsonValue)).toEqual([])
    // `it.prop` with a Schema, and Arbitrary.make, use the Schema's annotation
    expect(failingSeeds(Arbitrary.make(Snapshot.JsonValue))).toEqual([])
  })

  it("no -0 anywhere in the other arbitraries", () => {
    expect(sample(Arbitraries.workflowSnapshot).filter(hasNegativeZero)).toEqual([])
    expect(sample(Arbitraries.resumeStateJson).filter(hasNegativeZero)).toEqual([])
  })

  it("keys named __proto__ are generated, as ordinary keys", () => {
    expect(sample(Arbitraries.jsonValue).some(hasProtoKey)).toBe(true)
    expect(sample(Arbitraries.workflowSnapshot).some((s) => Object.hasOwn(s.steps, "__proto__"))).toBe(true)
  })
})
