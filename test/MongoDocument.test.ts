import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import * as Doc from "../src/layers/mongoDocument.js"
import { type Checkpoint, type Claim, LoadedWithSteps, StoreError } from "../src/SnapshotStore.js"

// ---------------------------------------------------------------------------------------------
// A small model of the MongoDB operators the store's filters and pipelines use, with the server's rules
// for missing fields and null (BSON comparison order, `$type` "missing", `$ifNull`), so the pipelines'
// effect on a document can be checked without a server. The operators it does not know throw.

type Row = Record<string, unknown>
const missing = Symbol("missing")

const typeName = (v: unknown): string =>
  v === missing
    ? "missing"
    : v === null
    ? "null"
    : typeof v === "string"
    ? "string"
    : typeof v === "number"
    ? (Number.isInteger(v) ? "int" : "double")
    : typeof v === "boolean"
    ? "bool"
    : v instanceof Date
    ? "date"
    : Array.isArray(v)
    ? "array"
    : "object"

// BSON comparison order: missing < null < numbers < strings < objects < arrays < booleans < dates
const rank: Record<string, number> = { missing: 0, null: 1, int: 2, double: 2, string: 3, object: 4, array: 5, bool: 8, date: 9 }
const compare = (a: unknown, b: unknown): number => {
  const ra = rank[typeName(a)]!
  const rb = rank[typeName(b)]!
  if (ra !== rb) return ra - rb
  const x = a instanceof Date ? a.getTime() : a
  const y = b instanceof Date ? b.getTime() : b
  if (typeof x === "number" || typeof x === "string" || typeof x === "boolean") return x < (y as typeof x) ? -1 : x > (y as typeof x) ? 1 : 0
  return JSON.stringify(x) === JSON.stringify(y) ? 0 : 1
}
const truthy = (v: unknown) => !(v === missing || v === null || v === false || v === 0 || v === undefined)
const nullish = (v: unknown) => v === missing || v === null || v === undefined

const evaluate = (expr: unknown, root: Row, now: Date): unknown => {
  if (typeof expr === "string") {
    if (expr === "$$NOW") return now
    if (expr === "$$ROOT") return root
    if (expr.startsWith("$$")) throw new Error(`unknown variable ${expr}`)
    if (expr.startsWith("$")) return expr.slice(1) in root ? root[expr.slice(1)] : missing
    return expr
  }
  if (Array.isArray(expr)) return expr.map((e) => evaluate(e, root, now))
  if (expr === null || typeof expr !== "object" || expr instanceof Date) return expr
  const keys = Object.keys(expr)
  const op = keys[0]
  if (keys.length === 1 && op !== undefined && op.startsWith("$")) {
    const arg = (expr as Row)[op]
    if (op === "$literal") return arg
    if (op === "$cond") {
      const c = arg as { if: unknown; then: unknown; else: unknown }
      return truthy(evaluate(c.if, root, now)) ? evaluate(c.then, root, now) : evaluate(c.else, root, now)
    }
    const args = (Array.isArray(arg) ? arg : [arg]).map((a) => evaluate(a, root, now))
    switch (op) {
      case "$and":
        return args.every(truthy)
      case "$or":
        return args.some(truthy)
      case "$not":
        return !truthy(args[0])
      case "$eq":
        return compare(args[0], args[1]) === 0
      case "$gt":
        return compare(args[0], args[1]) > 0
      case "$lte":
        return compare(args[0], args[1]) <= 0
      case "$in":
        return (args[1] as Array<unknown>).some((v) => compare(args[0], v) === 0)
      case "$type":
        return typeName(args[0])
      case "$ifNull":
        return nullish(args[0]) ? args[1] : args[0]
      case "$add":
      case "$subtract": {
        const ms = (v: unknown) => v instanceof Date ? v.getTime() : v as number
        const total = op === "$add" ? args.reduce<number>((sum, v) => sum + ms(v), 0) : ms(args[0]) - ms(args[1])
        return args[0] instanceof Date ? new Date(total) : total
      }
      case "$mergeObjects":
        return Object.assign({}, ...args.filter((a) => !nullish(a)))
      default:
        throw new Error(`operator ${op} is not modelled`)
    }
  }
  const out: Row = {}
  for (const [k, v] of Object.entries(expr)) {
    const value = evaluate(v, root, now)
    if (value !== missing) out[k] = value
  }
  return out
}

/** An update pipeline applied to a document (`$set` / `$addFields`, `$replaceWith`, `$project` exclusion). */
const applyPipeline = (doc: Row, pipeline: ReadonlyArray<Row>, now: Date): Row =>
  pipeline.reduce<Row>((current, stage) => {
    const [name, spec] = Object.entries(stage)[0]!
    if (name === "$set" || name === "$addFields") {
      const next = { ...current }
      for (const [k, v] of Object.entries(spec as Row)) next[k] = evaluate(v, current, now)
      return next
    }
    if (name === "$replaceWith") return evaluate(spec, current, now) as Row
    if (name === "$project") {
      const next = { ...current }
      for (const k of Object.keys(spec as Row)) delete next[k]
      return next
    }
    throw new Error(`stage ${name} is not modelled`)
  }, doc)

/** A query filter: equality, `$in`, `$gte`, `$regex`, `$expr` (the forms the store's filters use). */
const matches = (doc: Row, filter: Row, now: Date): boolean =>
  Object.entries(filter).every(([k, cond]) => {
    if (k === "$expr") return truthy(evaluate(cond, doc, now))
    const value = k in doc ? doc[k] : missing
    if (cond !== null && typeof cond === "object" && "$in" in cond) {
      return (cond.$in as Array<unknown>).some((v) => compare(value, v) === 0)
    }
    if (cond !== null && typeof cond === "object" && "$gte" in cond) {
      return typeName(value) === typeName(cond.$gte) && compare(value, cond.$gte) >= 0
    }
    if (cond !== null && typeof cond === "object" && "$regex" in cond) {
      return typeof value === "string" && new RegExp(cond.$regex as string, "u").test(value)
    }
    return cond === null ? nullish(value) : compare(value, cond) === 0
  })

/** An upsert on `{ _id }`: the document after it (a new one starts as `{ _id }`, as on the server). */
const upsert = (doc: Row | undefined, id: string, pipeline: ReadonlyArray<Row>, now: Date): Row =>
  applyPipeline(doc ?? { _id: id }, pipeline, now)

const t0 = new Date(Date.UTC(2026, 0, 1, 12, 0, 0))
const later = (ms: number) => new Date(t0.getTime() + ms)

const claim = (over: Partial<Claim> = {}): Claim => ({
  id: "run-1",
  workflow: "order",
  version: "v1",
  owner: "owner-a",
  leaseMs: 30_000,
  input: "{\"n\":1}",
  reopenFailed: false,
  ...over
})

/** A claim as the store runs it: did it win, and the document after. */
const runClaim = (doc: Row | undefined, c: Claim, seq: number, now: Date) => {
  const after = upsert(doc, c.id, Doc.claimPipeline(c, seq), now)
  return { claimed: Doc.wrote(after, seq), after }
}

const metacharacters = ["\\", "^", "$", ".", "*", "+", "?", "(", ")", "[", "]", "{", "}", "|", "/"]

// ids that trip naive prefix matching: regex and LIKE metacharacters, case, unicode, controls
const trickyIds = [
  "",
  "a",
  "a.b",
  "axb",
  "a*",
  "aaa",
  "a+b",
  "a?",
  "(x)",
  "[abc]",
  "a{2}",
  "x|y",
  "x",
  "y",
  "^start",
  "end$",
  "back\\slash",
  "back\\\\slash",
  "path/to/wf",
  "50%off",
  "a_b",
  "Case",
  "case",
  "ünïcødé/码/🙂",
  "🙂x",
  "it's \"quoted\"",
  "tab\tnew\nline",
  "nul\u0000byte",
  "del\u007f",
  "$where",
  "__proto__",
  "-dash",
  "#hash",
  " space"
]

describe("mongoDocument", () => {
  describe("escapeRegex", () => {
    it("escapes every regex metacharacter", () => {
      for (const c of metacharacters) {
        expect(Doc.escapeRegex(c)).toBe(`\\${c}`)
        expect(new RegExp(`^${Doc.escapeRegex(c)}$`).test(c)).toBe(true)
        expect(new RegExp(`^${Doc.escapeRegex(c)}$`, "u").test(c)).toBe(true)
      }
      expect(Doc.escapeRegex(metacharacters.join(""))).toBe(metacharacters.map((c) => `\\${c}`).join(""))
    })

    it("writes control characters, NUL included, as \\xHH", () => {
      expect(Doc.escapeRegex("a\u0000b\nc\u007f")).toBe("a\\x00b\\x0ac\\x7f")
      expect(Doc.escapeRegex("a\u0000b\nc\u007f")).not.toContain("\u0000")
    })

    it("leaves ordinary text, unicode and LIKE wildcards alone", () => {
      expect(Doc.escapeRegex("abc-_%#é码🙂 ")).toBe("abc-_%#é码🙂 ")
    })
  })

  describe("prefix matching", () => {
    it("anchors the pattern at the start", () => {
      expect(Doc.prefixPattern("wf")).toBe("^wf")
      expect(Doc.prefixPattern("")).toBe("^")
      expect(Doc.prefixPattern("a.b")).toBe("^a\\.b")
      const re = new RegExp(Doc.prefixPattern("wf"))
      expect(re.test("wf-1")).toBe(true)
      expect(re.test("old-wf-1")).toBe(false)
      expect(re.test("WF-1")).toBe(false)
    })

    it("matches exactly what String.startsWith does, on tricky ids and every prefix of them", () => {
      // prefixes cut between code points: MongoDB stores UTF-8, where half a surrogate pair cannot exist
      const prefixes = new Set(trickyIds.flatMap((id) => {
        const chars = Array.from(id)
        return Array.from({ length: chars.length + 1 }, (_, n) => chars.slice(0, n).join(""))
      }))
      for (const prefix of prefixes) {
        for (const flags of ["", "u"]) {
          const re = new RegExp(Doc.prefixPattern(prefix), flags)
          const byRegex = trickyIds.filter((id) => re.test(id))
          const byStartsWith = trickyIds.filter((id) => id.startsWith(prefix))
          expect({ prefix, flags, ids: byRegex }).toEqual({ prefix, flags, ids: byStartsWith })
        }
      }
    })

    it("builds the _id filter from the escaped, anchored pattern", () => {
      expect(Doc.prefixFilter("t1/50%")).toEqual({ _id: { $regex: "^t1\\/50%" } })
      expect(Doc.idFilter("a.b")).toEqual({ _id: "a.b" })
    })
  })

  describe("claim", () => {
    it("creates a new run: running, owned, leased on the server's clock, attempt 1", () => {
      const { after, claimed } = runClaim(undefined, claim(), 1, t0)
      expect(claimed).toBe(true)
      expect(after).toEqual({
        _id: "run-1",
        workflow: "order",
        version: "v1",
        status: "running",
        owner: "owner-a",
        leaseMs: 30_000,
        leaseUntil: later(30_000),
        attempts: 1,
        createdAt: t0,
        updatedAt: t0,
        completedAt: null,
        seq: 1,
        input: "{\"n\":1}",
        output: null
      })
    })

    it("the lease condition is on $$NOW, inside the pipeline, not in the upsert's filter", () => {
      const pipeline = Doc.claimPipeline(claim(), 1)
      const text = JSON.stringify(pipeline)
      expect(text).toContain(JSON.stringify({ $gt: ["$leaseUntil", "$$NOW"] }))
      expect(text).toContain(JSON.stringify({ $add: ["$$NOW", { $literal: 30_000 }] }))
      // MongoDB refuses $expr in an upsert's predicate (error 224): the filter is the id alone
      expect(Doc.idFilter("run-1")).toEqual({ _id: "run-1" })
      expect(Doc.claimableExpr(false)).toEqual({
        $or: [
          { $eq: [{ $type: "$status" }, "missing"] },
          {
            $and: [
              {
                $or: [
                  { $in: ["$status", { $literal: ["running", "pending"] }] },
                  { $and: [{ $in: ["$status", { $literal: ["completed", "failed"] }] }, { $eq: [{ $ifNull: ["$output", null] }, null] }] }
                ]
              },
              Doc.freeExpr
            ]
          }
        ]
      })
      expect(Doc.freeExpr).toEqual({ $not: [{ $and: [{ $eq: [{ $type: "$owner" }, "string"] }, { $gt: ["$leaseUntil", "$$NOW"] }] }] })
    })

    it("is refused while another owner's lease is live, and leaves the run as it was", () => {
      const first = runClaim(undefined, claim(), 1, t0).after
      const second = runClaim(first, claim({ owner: "owner-b" }), 2, later(29_999))
      expect(second.claimed).toBe(false)
      expect(second.after).toEqual(first)
    })

    it("takes over a run whose lease expired, or that was released: attempts + 1, input kept", () => {
      const first = runClaim(undefined, claim(), 1, t0).after
      const taken = runClaim(first, claim({ owner: "owner-b", input: "{\"n\":2}", version: "v2" }), 2, later(30_000))
      expect(taken.claimed).toBe(true)
      expect(taken.after).toMatchObject({
        owner: "owner-b",
        attempts: 2,
        version: "v2",
        input: "{\"n\":1}",
        createdAt: t0,
        updatedAt: later(30_000),
        leaseUntil: later(60_000),
        seq: 2
      })
      const released = applyPipeline(first, [Doc.releaseUpdate], t0)
      expect(released).toMatchObject({ owner: null, leaseUntil: null })
      expect(runClaim(released, claim({ owner: "owner-b" }), 3, later(1)).claimed).toBe(true)
      expect(matches(first, Doc.releaseFilter("run-1", "owner-a"), t0)).toBe(true)
      expect(matches(first, Doc.releaseFilter("run-1", "owner-b"), t0)).toBe(false)
    })

    it("mirrors the SQL claim's WHERE: running / pending, failed only with reopenFailed, never completed / cancelled / dead", () => {
      const free = (status: string): Row => ({
        _id: "run-1",
        status,
        owner: null,
        leaseUntil: null,
        attempts: 1,
        createdAt: t0,
        updatedAt: t0,
        seq: 1,
        input: null,
        output: status === "pending" ? null : "{\"ok\":true,\"value\":1}"
      })
      const claimedWith = (status: string, reopenFailed: boolean) =>
        runClaim(free(status), claim({ reopenFailed }), 9, later(5)).claimed
      expect(claimedWith("running", false)).toBe(true)
      expect(claimedWith("pending", false)).toBe(true)
      expect(claimedWith("failed", false)).toBe(false)
      expect(claimedWith("failed", true)).toBe(true)
      for (const status of ["completed", "cancelled", "dead"]) {
        expect(claimedWith(status, false)).toBe(false)
        expect(claimedWith(status, true)).toBe(false)
      }
      // a reopened run starts over: no output, no completion time
      expect(runClaim({ ...free("failed"), completedAt: t0 }, claim({ reopenFailed: true }), 9, later(5)).after)
        .toMatchObject({ status: "running", output: null, completedAt: null, attempts: 2 })
    })

    it("keeps our values literal: a workflow, version, owner or input starting with $ is not a field path", () => {
      const after = runClaim(undefined, claim({ workflow: "$status", version: "$$NOW", owner: "$owner", input: "\"$x\"" }), 1, t0).after
      expect(after).toMatchObject({ workflow: "$status", version: "$$NOW", owner: "$owner", input: "\"$x\"" })
      const noVersion = runClaim(undefined, claim({ version: undefined, input: undefined }), 1, t0).after
      expect(noVersion).toMatchObject({ version: null, input: null })
    })

    it("a claim that lost (another claim's seq is there) is not claimed", () => {
      expect(Doc.wrote({ seq: 3, attempts: 1 }, 3)).toBe(true)
      expect(Doc.wrote({ seq: 2, attempts: 1 }, 3)).toBe(false)
      expect(Doc.wrote(null, 3)).toBe(false)
      expect(Doc.isDuplicateKey({ code: 11000, message: "E11000 duplicate key error" })).toBe(true)
      expect(Doc.isDuplicateKey({ code: 224 })).toBe(false)
      expect(Doc.isDuplicateKey(null)).toBe(false)
    })
  })

  describe("fenced writes", () => {
    const owned = runClaim(undefined, claim(), 1, t0).after

    it("match only while the owner owns the running run", () => {
      expect(Doc.ownedFilter("run-1", "owner-a")).toEqual({ _id: "run-1", owner: "owner-a", status: "running" })
      expect(matches(owned, Doc.ownedFilter("run-1", "owner-a"), t0)).toBe(true)
      expect(matches(owned, Doc.ownedFilter("run-1", "owner-b"), t0)).toBe(false)
      expect(matches({ ...owned, status: "cancelled" }, Doc.ownedFilter("run-1", "owner-a"), t0)).toBe(false)
    })

    it("a checkpoint's fence renews the lease and updatedAt; renew renews the lease alone", () => {
      expect(applyPipeline(owned, Doc.checkpointFencePipeline(10_000), later(500)))
        .toEqual({ ...owned, leaseUntil: later(10_500), updatedAt: later(500) })
      expect(applyPipeline(owned, Doc.renewPipeline(10_000), later(500))).toEqual({ ...owned, leaseUntil: later(10_500) })
    })

    it("a step records its entry, times on the server's clock, attempt and owner; a key written again keeps its place", () => {
      const checkpoint: Checkpoint = {
        id: "run-1",
        owner: "owner-a",
        attempt: 2,
        key: "charge",
        position: 3,
        entry: "{\"result\":{\"ok\":true,\"value\":1}}",
        durationMs: 250,
        leaseMs: 30_000
      }
      expect(Doc.stepFilter("run-1", "charge")).toEqual({ runId: "run-1", stepKey: "charge" })
      const step = applyPipeline({ ...Doc.stepFilter("run-1", "charge") }, Doc.stepPipeline(checkpoint), later(1_000))
      expect(step).toEqual({
        runId: "run-1",
        stepKey: "charge",
        position: 3,
        entry: checkpoint.entry,
        startedAt: later(750),
        completedAt: later(1_000),
        attempt: 2,
        owner: "owner-a"
      })
      const again = applyPipeline(step, Doc.stepPipeline({ ...checkpoint, position: 0, entry: "{}", attempt: 3 }), later(2_000))
      expect(again).toMatchObject({ position: 3, entry: "{}", attempt: 3, completedAt: later(2_000) })
      // a new document gets its key from the pipeline even without the filter's fields
      expect(applyPipeline({}, Doc.stepPipeline(checkpoint), t0)).toMatchObject({ runId: "run-1", stepKey: "charge" })
    })

    it("finish sets status, output and one completion time, clears the owner and moves the run up the list", () => {
      const done = applyPipeline(owned, Doc.finishPipeline("completed", "{\"ok\":true,\"value\":2}", 7), later(100))
      expect(done).toMatchObject({
        status: "completed",
        output: "{\"ok\":true,\"value\":2}",
        owner: null,
        leaseUntil: null,
        completedAt: later(100),
        updatedAt: later(100),
        seq: 7
      })
    })

    it("cancel matches only a pending or running run, whoever owns it", () => {
      for (const status of ["running", "pending"]) expect(matches({ ...owned, status }, Doc.cancelFilter("run-1"), t0)).toBe(true)
      for (const status of ["completed", "failed", "cancelled", "dead"]) {
        expect(matches({ ...owned, status }, Doc.cancelFilter("run-1"), t0)).toBe(false)
      }
      expect(applyPipeline(owned, Doc.cancelPipeline(8), later(5))).toMatchObject({
        status: "cancelled",
        owner: null,
        leaseUntil: null,
        completedAt: later(5),
        updatedAt: later(5),
        seq: 8
      })
    })
  })

  describe("whole-document writes", () => {
    const owned = runClaim(undefined, claim(), 1, t0).after
    const state = { formatVersion: 1, steps: { "$set": { "a.b": 1 }, "nul\u0000key": [1.5, null], "__proto__": "x" } }

    it("a save replaces the run with the saved JSON as text, keeping only createdAt", () => {
      const saved = upsert(owned, "run-1", Doc.savePipeline(state, "completed", 5), later(30_000))
      expect(Doc.wrote(saved, 5)).toBe(true)
      expect(saved).toEqual({
        _id: "run-1",
        workflow: null,
        version: null,
        status: "completed",
        owner: null,
        leaseMs: 0,
        leaseUntil: null,
        attempts: 0,
        createdAt: t0,
        updatedAt: later(30_000),
        completedAt: null,
        seq: 5,
        input: null,
        output: null,
        body: JSON.stringify(state)
      })
      expect(Doc.parseJsonField("body", saved["body"])).toEqual(Either.right(JSON.parse(JSON.stringify(state))))
      expect(upsert(undefined, "new", Doc.savePipeline(state, "running", 6), t0)).toMatchObject({ _id: "new", createdAt: t0, seq: 6 })
      // a snapshot's workflow name goes on the run, as the SQL stores' workflow column
      expect(upsert(undefined, "named", Doc.savePipeline(state, "failed", 7, "orders"), t0)).toMatchObject({ workflow: "orders", status: "failed" })
    })

    it("a save, an append and a delete are refused while a live owner holds the run", () => {
      const refused = upsert(owned, "run-1", Doc.savePipeline(state, "running", 5), later(29_999))
      expect(Doc.wrote(refused, 5)).toBe(false)
      expect(refused).toEqual(owned)
      const touched = upsert(owned, "run-1", Doc.touchPipeline(6), later(29_999))
      expect(Doc.wrote(touched, 6)).toBe(false)
      expect(matches(owned, Doc.deleteFilter("run-1"), later(29_999))).toBe(false)
      expect(matches(owned, Doc.deleteFilter("run-1"), later(30_000))).toBe(true)
      expect(Doc.deleteFilter("run-1")).toEqual({ _id: "run-1", $expr: Doc.freeExpr })
    })

    it("an append creates a running run with nothing saved, or moves an existing one up the list", () => {
      expect(upsert(undefined, "fresh", Doc.touchPipeline(3), t0)).toEqual({
        _id: "fresh",
        status: "running",
        attempts: 0,
        leaseMs: 0,
        createdAt: t0,
        updatedAt: t0,
        seq: 3
      })
      const done = { ...owned, status: "completed", owner: null, leaseUntil: null }
      expect(upsert(done, "run-1", Doc.touchPipeline(4), later(5))).toEqual({ ...done, updatedAt: later(5), seq: 4 })
      const step = applyPipeline({}, Doc.appendStepPipeline("fresh", "k", "{\"result\":{\"ok\":true}}", 4), t0)
      expect(step).toEqual({
        runId: "fresh",
        stepKey: "k",
        position: 4,
        entry: "{\"result\":{\"ok\":true}}",
        startedAt: t0,
        completedAt: t0,
        attempt: 0,
        owner: null
      })
      expect(applyPipeline(step, Doc.appendStepPipeline("fresh", "k", "{}", 9), later(1))).toMatchObject({ position: 4, entry: "{}" })
    })
  })

  describe("reads", () => {
    const owned = runClaim(undefined, claim(), 1, t0).after

    it("a run is read with `leased` computed on the server's clock", () => {
      const pipeline = Doc.runPipeline("run-1", false)
      expect(pipeline.slice(0, 2)).toEqual([{ $match: { _id: "run-1" } }, { $limit: 1 }])
      const read = (now: Date) => applyPipeline({ ...owned, body: "{}" }, pipeline.slice(2), now)
      expect(read(later(29_999))).toMatchObject({ leased: true })
      expect(read(later(30_000))).toMatchObject({ leased: false })
      expect(read(t0)).not.toHaveProperty("body")
      expect(applyPipeline({ ...owned, body: "{}" }, Doc.runPipeline("run-1", true).slice(2), t0)).toHaveProperty("body", "{}")
      expect(applyPipeline({ _id: "x", status: "running", owner: null, leaseUntil: later(9) }, pipeline.slice(2), t0))
        .toMatchObject({ leased: false })
    })

    it("lists newest first by seq, filtered by prefix, status and workflow", () => {
      expect(Doc.listQuery({ prefix: "p:", limit: 2, status: ["running", "failed"], workflow: "order" })).toEqual({
        filter: { _id: { $regex: "^p:" }, status: { $in: ["running", "failed"] }, workflow: "order" },
        sort: { seq: -1 },
        projection: { _id: 1, updatedAt: 1, status: 1, workflow: 1 },
        limit: 2
      })
      expect(Doc.listQuery({ prefix: "", limit: undefined })).toEqual({
        filter: { _id: { $regex: "^" } },
        sort: { seq: -1 },
        projection: { _id: 1, updatedAt: 1, status: 1, workflow: 1 },
        limit: undefined
      })
      expect(Doc.runIndexes.map((index) => index.key)).toContainEqual(Doc.listSort)
      expect(Doc.runIndexes.map((index) => index.key)).toContainEqual({ status: 1, workflow: 1 })
      expect(Doc.stepIndexes).toContainEqual({ key: { runId: 1, stepKey: 1 }, name: "runId_stepKey", unique: true })
      expect(Doc.stepsCollection("runs")).toBe("runs_steps")
    })

    it("a limit of 0 or an empty status list runs no query (MongoDB reads limit 0 as unlimited)", () => {
      expect(Doc.listQuery({ prefix: "", limit: 0 })).toBeUndefined()
      expect(Doc.listQuery({ prefix: "", limit: 5, status: [] })).toBeUndefined()
    })
  })

  describe("documents", () => {
    const doc = {
      _id: "t:run-1",
      workflow: "order",
      version: null,
      status: "completed",
      owner: null,
      leaseMs: 30_000,
      leaseUntil: null,
      attempts: 2,
      createdAt: t0,
      updatedAt: later(1_000),
      completedAt: later(1_000),
      seq: 4,
      input: "{\"n\":1}",
      output: "{\"ok\":true,\"value\":[1,2]}",
      body: null,
      leased: false
    }

    it("toRunRecord converts dates to ISO-8601 and parses input and output", () => {
      expect(Doc.toRunRecord(doc)).toEqual(Either.right({
        id: "t:run-1",
        workflow: "order",
        version: undefined,
        status: "completed",
        owner: undefined,
        leased: false,
        attempts: 2,
        createdAt: "2026-01-01T12:00:00.000Z",
        updatedAt: "2026-01-01T12:00:01.000Z",
        completedAt: "2026-01-01T12:00:01.000Z",
        input: { n: 1 },
        output: { ok: true, value: [1, 2] }
      }))
      const running = Doc.toRunRecord({ ...doc, status: "running", owner: "o", leased: true, completedAt: null, output: null })
      expect(running).toMatchObject({ right: { owner: "o", leased: true, completedAt: undefined, output: undefined } })
    })

    it("a corrupt output, input or date, or an unknown status, is a Decode error", () => {
      const decodeError = (result: Either.Either<unknown, StoreError>) => {
        expect(Either.isLeft(result)).toBe(true)
        const error = Either.getLeft(result)
        expect(error._tag).toBe("Some")
        return (error as { value: StoreError }).value
      }
      const output = decodeError(Doc.toRunRecord({ ...doc, output: "{\"ok\":tru" }))
      expect(output).toBeInstanceOf(StoreError)
      expect(output.reason).toBe("Decode")
      expect(output.message).toContain("output of run \"t:run-1\"")
      expect(decodeError(Doc.toRunRecord({ ...doc, input: { n: 1 } })).reason).toBe("Decode")
      expect(decodeError(Doc.toRunRecord({ ...doc, updatedAt: "yesterday" })).message).toContain("updatedAt")
      expect(decodeError(Doc.toRunRecord({ ...doc, status: "paused" })).message).toContain("\"paused\"")
    })

    it("a document saved before run records (no status, no times but updatedAt) reads as a running run", () => {
      expect(Doc.toRunRecord({ _id: "old", body: "{}", updatedAt: t0, seq: 1 })).toEqual(Either.right({
        id: "old",
        workflow: undefined,
        version: undefined,
        status: "running",
        owner: undefined,
        leased: false,
        attempts: 0,
        createdAt: "2026-01-01T12:00:00.000Z",
        updatedAt: "2026-01-01T12:00:00.000Z",
        completedAt: undefined,
        input: undefined,
        output: undefined
      }))
    })

    it("toLoaded hands the service the saved head, the steps in order and the run", () => {
      const steps = [{ stepKey: "b", entry: "{\"result\":{\"ok\":true,\"value\":2}}" }, { stepKey: "a", entry: "{\"result\":{\"ok\":true,\"value\":1}}" }]
      const loaded = Doc.toLoaded({ ...doc, body: "{\"formatVersion\":1}" }, steps)
      expect(Either.isRight(loaded)).toBe(true)
      const value = Either.getOrThrow(loaded)
      expect(value).toBeInstanceOf(LoadedWithSteps)
      expect(value.head).toEqual({ formatVersion: 1 })
      expect(value.steps).toEqual([["b", { result: { ok: true, value: 2 } }], ["a", { result: { ok: true, value: 1 } }]])
      expect(value.run).toMatchObject({ id: "t:run-1", status: "completed" })
      expect(Either.getOrThrow(Doc.toLoaded(doc, [])).head).toBeUndefined()
      const corrupt = Doc.toLoaded(doc, [{ stepKey: "x", entry: "{" }])
      expect(Either.isLeft(corrupt) && corrupt.left.message).toContain("Stored step \"x\" of \"t:run-1\"")
      const badBody = Doc.toLoaded({ ...doc, body: "{oops" }, [])
      expect(Either.isLeft(badBody) && badBody.left.reason).toBe("Decode")
    })

    it("maps a document to a list entry", () => {
      const date = new Date(Date.UTC(2026, 5, 1))
      expect(Doc.toListEntry({ _id: "t:wf-1", updatedAt: date, status: "failed", workflow: "order" }))
        .toEqual(Either.right({ id: "t:wf-1", updatedAt: "2026-06-01T00:00:00.000Z", status: "failed", workflow: "order" }))
      expect(Doc.toListEntry({ _id: "old", updatedAt: date }))
        .toEqual(Either.right({ id: "old", updatedAt: "2026-06-01T00:00:00.000Z", status: "running" }))
      expect(Either.isLeft(Doc.toListEntry({ _id: "bad" }))).toBe(true)
    })

    it("parses a JSON string field, and says why when it cannot", () => {
      expect(Doc.parseJsonField("body", "{\"a\":[1,2]}")).toEqual(Either.right({ a: [1, 2] }))
      expect(Doc.parseJsonField("body", null)).toEqual(Either.right(undefined))
      expect(Doc.parseJsonField("body", undefined)).toEqual(Either.right(undefined))
      const notJson = Doc.parseJsonField("Stored state \"x\"", "{oops")
      expect(Either.isLeft(notJson) && notJson.left).toMatchObject({ reason: "Decode" })
      expect(Either.isLeft(notJson) && notJson.left.message).toContain("Stored state \"x\" is not valid JSON")
      const notString = Doc.parseJsonField("body", { a: 1 })
      expect(Either.isLeft(notString) && notString.left.message).toContain("not a JSON string")
    })
  })

  describe("inspecting and retention", () => {
    const finished = (id: string, status: string, updatedAt: Date): Row => ({
      _id: id,
      workflow: "order",
      status,
      owner: null,
      leaseUntil: null,
      attempts: 1,
      createdAt: t0,
      updatedAt,
      completedAt: status === "running" || status === "pending" ? null : updatedAt,
      seq: 1
    })

    it("listRuns and countRuns filter by prefix, status, workflow and since (an updatedAt Date)", () => {
      const since = "2026-01-01T12:00:01.000Z"
      const filter = Doc.runsFilter({ prefix: "p:", status: ["completed"], workflow: "order", since })
      expect(filter).toEqual({
        _id: { $regex: "^p:" },
        status: { $in: ["completed"] },
        workflow: "order",
        updatedAt: { $gte: new Date(since) }
      })
      expect(matches(finished("p:a", "completed", later(1_000)), filter, later(5_000))).toBe(true)
      expect(matches(finished("p:a", "completed", later(999)), filter, later(5_000))).toBe(false)
      expect(matches(finished("q:a", "completed", later(1_000)), filter, later(5_000))).toBe(false)
      expect(matches(finished("p:a", "failed", later(1_000)), filter, later(5_000))).toBe(false)
      expect(matches({ ...finished("p:a", "completed", later(1_000)), workflow: "other" }, filter, later(5_000))).toBe(false)
      expect(Doc.runsFilter({ prefix: "", status: undefined, workflow: undefined, since: undefined })).toEqual({ _id: { $regex: "^" } })

      expect(Doc.statusCountPipeline({ prefix: "p:", workflow: undefined, since: undefined })).toEqual([
        { $match: { _id: { $regex: "^p:" } } },
        { $group: { _id: "$status", n: { $sum: 1 } } }
      ])
      expect(Doc.stepCountPipeline(["a", "b"])).toEqual([
        { $match: { runId: { $in: ["a", "b"] } } },
        { $group: { _id: "$runId", n: { $sum: 1 } } }
      ])
      // a summary carries neither input nor output
      expect(Doc.summaryProjection).toEqual({ input: 0, output: 0 })
    })

    it("prune matches finished runs in the given statuses last changed at least olderThan ago, on the server's clock", () => {
      const now = later(60_000)
      const filter = (olderThanMs: number, status: ReadonlyArray<"completed" | "failed" | "cancelled" | "dead"> = ["completed", "failed"]) =>
        Doc.pruneFilter({ prefix: "p:", status, olderThanMs, limit: 10 })
      const done = finished("p:done", "completed", later(1_000))
      expect(matches(done, filter(0), now)).toBe(true)
      expect(matches(done, filter(59_000), now)).toBe(true)
      expect(matches(done, filter(59_001), now)).toBe(false)
      expect(matches(done, filter(3_600_000), now)).toBe(false)
      expect(matches(done, filter(0, ["failed"]), now)).toBe(false)
      expect(matches(finished("p:f", "failed", later(1_000)), filter(0), now)).toBe(true)
      expect(matches(finished("q:done", "completed", later(1_000)), filter(0), now)).toBe(false)
      // running and pending runs are never matched: the status list holds final statuses only
      expect(matches(finished("p:r", "running", later(1_000)), filter(0), now)).toBe(false)
      expect(matches(finished("p:p", "pending", later(1_000)), filter(0), now)).toBe(false)
      expect(JSON.stringify(filter(0))).toContain("$$NOW")
    })

    it("a step document becomes a StepRow: times as ISO-8601; attempt and owner only when a claim wrote it", () => {
      const checkpointed = {
        runId: "r",
        stepKey: "a",
        position: 1,
        entry: "{\"result\":{\"ok\":true,\"value\":1}}",
        startedAt: t0,
        completedAt: later(5),
        attempt: 2,
        owner: "owner-a"
      }
      expect(Doc.toStepRow(checkpointed)).toEqual({
        key: "a",
        position: 1,
        entry: { result: { ok: true, value: 1 } },
        startedAt: "2026-01-01T12:00:00.000Z",
        completedAt: "2026-01-01T12:00:00.005Z",
        attempt: 2,
        owner: "owner-a"
      })
      expect(Doc.toStepRow({ ...checkpointed, attempt: 0, owner: null })).toMatchObject({ attempt: undefined, owner: undefined })
      // a corrupt entry reaches the service as its text, which the service reports as a Decode error
      expect(Doc.toStepRow({ ...checkpointed, entry: "{oops" }).entry).toBe("{oops")
    })

    it("a summary counts the step documents and the steps of a saved document", () => {
      const doc = { ...finished("t:s", "completed", later(1)), _id: "t:s", version: null, body: "{\"steps\":{\"a\":{},\"b\":{}}}", leased: false }
      const summary = Either.getOrThrow(Doc.toSummary(doc, 3))
      expect(summary).toMatchObject({ id: "t:s", status: "completed", workflow: "order", steps: 5, attempts: 1, leased: false })
      expect(summary).not.toHaveProperty("input")
      expect(summary).not.toHaveProperty("output")
      expect(Doc.savedStepCount("{\"steps\":[[\"a\",{}]]}")).toBe(1)
      expect(Doc.savedStepCount(null)).toBe(0)
      expect(Doc.savedStepCount("{oops")).toBe(0)
      // a saved key that a step document rewrote counts once
      expect(Either.getOrThrow(Doc.toSummary(doc, 3, 1)).steps).toBe(4)
      expect(Doc.savedStepKeys("{\"steps\":[[\"a\",{}],[\"b\",{}]]}")).toEqual(["a", "b"])
      expect(Doc.savedStepKeys("{\"steps\":{\"x\":{}}}")).toEqual(["x"])
    })

    it("the ttl indexes expire runs on completedAt, which only a run's end sets, and steps on runEndedAt", () => {
      expect(Doc.ttlIndexes(3600)).toEqual({
        runs: { key: { completedAt: 1 }, name: "ttl_completedAt", expireAfterSeconds: 3600 },
        steps: { key: { runEndedAt: 1 }, name: "ttl_runEndedAt", expireAfterSeconds: 3600 }
      })
      const claimed = runClaim(undefined, claim(), 1, t0).after
      // a TTL index ignores a document whose field is null or missing: a running or saved run never expires
      expect(claimed["completedAt"]).toBeNull()
      expect(upsert(undefined, "s", Doc.savePipeline({ formatVersion: 1 }, "completed", 2), t0)["completedAt"]).toBeNull()
      const ended = applyPipeline(claimed, Doc.finishPipeline("completed", "{}", 2), later(10))
      expect(ended["completedAt"]).toEqual(later(10))
      const cancelled = applyPipeline(claimed, Doc.cancelPipeline(2), later(20))
      expect(cancelled["completedAt"]).toEqual(later(20))
      // reopened by a claim: no longer expires
      const reopened = runClaim({ ...applyPipeline(claimed, Doc.finishPipeline("failed", "{}", 2), later(10)) }, claim({ reopenFailed: true }), 3, later(30))
      expect(reopened.claimed).toBe(true)
      expect(reopened.after["completedAt"]).toBeNull()
    })
  })

  describe("names", () => {
    it("reads the database from the connection string's path", () => {
      expect(Doc.databaseFromUrl("mongodb://localhost:27017/app")).toBe("app")
      expect(Doc.databaseFromUrl("mongodb://u:p@h1:1,h2:2/app?replicaSet=rs0")).toBe("app")
      expect(Doc.databaseFromUrl("mongodb+srv://u:p%2F@cluster.example.net/my%20db?retryWrites=true")).toBe("my db")
      expect(Doc.databaseFromUrl("mongodb://localhost:27017")).toBeUndefined()
      expect(Doc.databaseFromUrl("mongodb://localhost:27017/")).toBeUndefined()
      expect(Doc.databaseFromUrl("mongodb://localhost:27017/?authSource=admin")).toBeUndefined()
      expect(Doc.databaseFromUrl("postgres://localhost/app")).toBeUndefined()
    })

    it("rejects database and collection names MongoDB would refuse", () => {
      expect(Doc.invalidDatabaseName("effect_resume")).toBeUndefined()
      for (const bad of ["", "a.b", "a/b", "a b", "a$b", "x".repeat(64)]) expect(Doc.invalidDatabaseName(bad)).toBeTypeOf("string")
      expect(Doc.invalidCollectionName("effect_resume_snapshots")).toBeUndefined()
      expect(Doc.invalidCollectionName("snapshots.v2")).toBeUndefined()
      for (const bad of ["", "a$b", "nul\u0000", "system.users"]) expect(Doc.invalidCollectionName(bad)).toBeTypeOf("string")
      expect(Doc.counterCollection("snaps")).toBe("snaps_counters")
    })

    it("scrubs the connection string and its password out of driver messages", () => {
      const url = "mongodb://admin:p%40ss@/x"
      expect(Doc.scrubSecrets(`Protocol and host list are required in "${url}"`, url))
        .toBe("Protocol and host list are required in \"<connection string>\"")
      expect(Doc.scrubSecrets("auth failed for p%40ss / p@ss", url)).toBe("auth failed for **** / ****")
      expect(Doc.scrubSecrets("connect ECONNREFUSED 127.0.0.1:1", "mongodb://127.0.0.1:1")).toBe("connect ECONNREFUSED 127.0.0.1:1")
    })
  })
})
