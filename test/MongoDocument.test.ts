import { describe, expect, it } from "@effect/vitest"
import * as Doc from "../src/layers/mongoDocument.js"

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

  describe("queries", () => {
    it("lists newest first, projecting only id and date", () => {
      expect(Doc.listQuery({ prefix: "p:", limit: 2 })).toEqual({
        filter: { _id: { $regex: "^p:" } },
        sort: { updatedAt: -1, seq: -1 },
        projection: { _id: 1, updatedAt: 1 },
        limit: 2
      })
      expect(Doc.listQuery({ prefix: "", limit: undefined })?.limit).toBeUndefined()
      expect(Object.keys(Doc.listSort)).toEqual(["updatedAt", "seq"])
    })

    it("a limit of 0 runs no query (MongoDB reads limit 0 as unlimited)", () => {
      expect(Doc.listQuery({ prefix: "", limit: 0 })).toBeUndefined()
    })

    it("a save stores the JSON as text, the seq, and the server's clock", () => {
      const json = { "$set": { "a.b": 1 }, "nul\u0000key": [1.5, null], "__proto__": "x" }
      const update = Doc.saveUpdate(json, 7)
      expect(update).toEqual({ $set: { body: JSON.stringify(json), seq: 7 }, $currentDate: { updatedAt: true } })
      expect(Doc.parseBody(update.$set)).toEqual({ ok: true, json: JSON.parse(JSON.stringify(json)) })
    })
  })

  describe("documents", () => {
    it("turns dates into ISO-8601", () => {
      const date = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6))
      expect(Doc.toIso(date)).toBe("2026-01-02T03:04:05.006Z")
      expect(Doc.toIso(date.getTime())).toBe("2026-01-02T03:04:05.006Z")
      expect(Doc.toIso("2026-01-02T03:04:05.006Z")).toBe("2026-01-02T03:04:05.006Z")
    })

    it("maps a document to a list entry", () => {
      const date = new Date(Date.UTC(2026, 5, 1))
      expect(Doc.toListEntry({ _id: "t:wf-1", updatedAt: date })).toEqual({ id: "t:wf-1", updatedAt: "2026-06-01T00:00:00.000Z" })
    })

    it("parses the body, and says why when it cannot", () => {
      expect(Doc.parseBody({ body: "{\"a\":[1,2]}" })).toEqual({ ok: true, json: { a: [1, 2] } })
      expect(Doc.parseBody({ body: "{oops" }).ok).toBe(false)
      expect(Doc.parseBody({ body: { a: 1 } }).ok).toBe(false)
      expect(Doc.parseBody({}).ok).toBe(false)
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
