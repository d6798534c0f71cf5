/**
 * The CLI as users run it: scripts/build-cli.mjs bundles it once into a temp dir (next to a link to
 * node_modules, where its external peers resolve) and each test runs `node cli.js …` as a child.
 * Runs are seeded with the library itself, under a prefix of their own per test.
 */
import { Duration, Effect, Either, type Layer, Redacted } from "effect"
import { execFile, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { chooseStore, mask, maskIn, parse } from "../src/cli/storeUrl.js"
import { parseDuration, parseSince } from "../src/cli/since.js"
import { oneLine, table } from "../src/cli/table.js"
import * as PgStore from "../src/layers/PgStore.js"
import * as SqliteStore from "../src/layers/SqliteStore.js"
import { SnapshotStore, type StoreError } from "../src/SnapshotStore.js"
import * as Workflow from "../src/Workflow.js"
import { freshDatabase } from "./setup/pgDatabase.js"

const root = path.resolve(import.meta.dirname, "..")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-resume-cli-"))
const cli = path.join(dir, "cli.js")
const dbFile = path.join(dir, "runs.db")
const sqlite = `sqlite:${dbFile}`

interface Result {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const run = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<Result> =>
  new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: dir, env: { ...process.env, COLUMNS: "120", ...env }, timeout: 20_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr }))
  })

// ---------------------------------------------------------------------------------------------
// Seeding

class Boom extends Error {
  override readonly name = "Boom"
}

const order = Workflow.make(
  "cli-order",
  Effect.gen(function*() {
    const items = yield* Workflow.step("fetch", Effect.succeed([2, 3]))
    const total = yield* Workflow.step("charge", Effect.succeed(items[0]! + items[1]!))
    return yield* Workflow.step("ship", Effect.succeed(`box of ${total}`))
  })
)

const broken = Workflow.make(
  "cli-broken",
  Effect.gen(function*() {
    yield* Workflow.step("load", Effect.succeed({ ok: 1 }))
    return yield* Workflow.step("send", Effect.fail(new Boom("courier down", { cause: new TypeError("socket closed") })))
  })
)

type StoreLayer = Layer.Layer<SnapshotStore, StoreError>

const seed = (layer: StoreLayer, prefix: string) =>
  Effect.runPromise(
    Effect.all([
      Workflow.runDurable(order, { id: `${prefix}ok-1` }),
      Workflow.runDurable(order, { id: `${prefix}ok-2` }),
      Effect.exit(Workflow.runDurable(broken, { id: `${prefix}bad-1` })),
      Workflow.start(order, { id: `${prefix}queued-1` })
    ], { discard: true }).pipe(Effect.provide(layer))
  )

const sqliteLayer = SqliteStore.layer({ filename: dbFile })

const listJson = async (args: ReadonlyArray<string>): Promise<Array<{ id: string; status: string; steps: number; workflow: string }>> => {
  const result = await run(["list", "--json", ...args])
  expect(result.stderr).toBe("")
  expect(result.code).toBe(0)
  return JSON.parse(result.stdout)
}

beforeAll(async () => {
  fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"), "dir")
  await new Promise<void>((resolve, reject) =>
    execFile(process.execPath, [path.join(root, "scripts/build-cli.mjs"), cli], (error) => error ? reject(error) : resolve()))
  await seed(sqliteLayer, "s-")
})

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

// ---------------------------------------------------------------------------------------------

describe("storeUrl", () => {
  it("parses each kind of store", () => {
    expect(parse("sqlite:./a.db", "/app")).toEqual(Either.right({ kind: "sqlite", filename: "/app/a.db" }))
    expect(parse("sqlite:/tmp/a.db", "/app")).toEqual(Either.right({ kind: "sqlite", filename: "/tmp/a.db" }))
    expect(parse("file:data/x.db", "/app")).toEqual(Either.right({ kind: "libsql", url: "file:/app/data/x.db" }))
    expect(parse("libsql://db.example.com", "/app")).toEqual(Either.right({ kind: "libsql", url: "libsql://db.example.com" }))
    const pg = parse("postgresql://u:pw@h:5432/db", "/app")
    expect(Either.isRight(pg) && pg.right.kind === "postgres" && Redacted.value(pg.right.url)).toBe("postgresql://u:pw@h:5432/db")
    expect(Either.getOrThrow(parse("postgres://h/db", "/")).kind).toBe("postgres")
    expect(Either.getOrThrow(parse("mongodb://h:27017/x", "/")).kind).toBe("mongo")
  })

  it("refuses unknown schemes and bad urls without showing the password", () => {
    expect(Either.getLeft(parse("redis://u:secret@h", "/"))._tag).toBe("Some")
    const bad = parse("nope://u:secret@h", "/")
    expect(Either.isLeft(bad) && bad.left).toContain("unknown store")
    expect(Either.isLeft(bad) && bad.left).not.toContain("secret")
    expect(Either.isLeft(parse("sqlite:", "/"))).toBe(true)
    expect(Either.isLeft(parse("postgres://u:secret@", "/"))).toBe(true)
  })

  it("masks credentials", () => {
    expect(mask("postgres://u:p@ss@h/db")).toBe("postgres://u:***@h/db")
    expect(mask("postgres://h/db")).toBe("postgres://h/db")
    expect(maskIn("auth failed for p%40ss and p@ss", "postgres://u:p%40ss@h/db")).toBe("auth failed for *** and ***")
    // tokens in the query: libSQL's only way to give one, and Postgres reads ?password=
    expect(mask("libsql://h:8080?authToken=tok-123&tls=0")).toBe("libsql://h:8080?authToken=***&tls=0")
    expect(mask("postgres://h/db?sslmode=require&password=pw-9")).toBe("postgres://h/db?sslmode=require&password=***")
    expect(maskIn("cannot reach libsql://h?authToken=tok-123 (tok-123)", "libsql://h?authToken=tok-123")).toBe("cannot reach libsql://h?authToken=*** (***)")
  })

  it("accepts database urls that WHATWG's URL refuses", () => {
    expect(Either.getOrThrow(parse("mongodb://u:pw@h1:27017,h2:27017/db?replicaSet=rs", "/")).kind).toBe("mongo")
    expect(Either.getOrThrow(parse("postgres:///db?host=/var/run/postgresql", "/")).kind).toBe("postgres")
  })

  it("shows stored control characters as escapes, never as terminal sequences", () => {
    expect(oneLine("a\u001b]0;PWNED\u0007b\u009bc\nd")).toBe("a\\x1b]0;PWNED\\x07b\\x9bc d")
    // the id column is cut last: it is what `show` needs
    const cut = table(["ID", "VALUE"], [["3f2b8c1e-9a4d-4e1f-8c7b-1234567890ab", "x".repeat(80)]], 60).split("\n")[1]!
    expect(cut.startsWith("3f2b8c1e-9a4d-4e1f-8c7b-1234567890ab  ")).toBe(true)
    expect(cut.length).toBeLessThanOrEqual(60)
  })

  it("defaults to DATABASE_URL, then the SQLite file", () => {
    expect(chooseStore(undefined, {})).toBe("sqlite:./workflow.db")
    expect(chooseStore(undefined, { DATABASE_URL: "postgres://h/d" })).toBe("postgres://h/d")
    expect(chooseStore("sqlite:x", { DATABASE_URL: "postgres://h/d" })).toBe("sqlite:x")
  })

  it("reads --since as a duration or a date", () => {
    const now = new Date("2026-01-02T00:00:00Z")
    expect(Either.getOrThrow(parseSince("1d", now)).toISOString()).toBe("2026-01-01T00:00:00.000Z")
    expect(Either.getOrThrow(parseSince("2025-12-31", now)).toISOString()).toBe("2025-12-31T00:00:00.000Z")
    expect(Either.isLeft(parseSince("yesterday", now))).toBe(true)
    expect(Either.isLeft(parseSince("99999999999d", now))).toBe(true)
    // a capital M is not minutes: prune --older-than 6M must not mean 6 minutes
    expect(Either.isLeft(parseDuration("6M"))).toBe(true)
    expect(Duration.toMillis(Either.getOrThrow(parseDuration("6m")))).toBe(360_000)
  })
})

describe("CLI on SQLite", () => {
  it("lists runs as a table and as JSON, with filters", async () => {
    const table = await run(["list", "--store", sqlite, "--prefix", "s-"])
    expect(table.code).toBe(0)
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+WORKFLOW\s+STATUS\s+STEPS\s+ATTEMPTS\s+OWNER\s+UPDATED$/)
    expect(table.stdout).toMatch(/s-bad-1\s+cli-broken\s+failed\s+2/)
    expect(table.stdout).toMatch(/s-ok-1\s+cli-order\s+completed\s+3/)
    const p = ["--store", sqlite, "--prefix", "s-"]
    const [all, failed, broken, one, recent, future] = await Promise.all([
      listJson(p),
      listJson([...p, "--status", "failed"]),
      listJson([...p, "--workflow", "cli-broken"]),
      listJson([...p, "--limit", "1"]),
      listJson([...p, "--since", "1h"]),
      listJson([...p, "--since", "2999-01-01"])
    ])
    expect(all.map((r) => r.id).sort()).toEqual(["s-bad-1", "s-ok-1", "s-ok-2", "s-queued-1"])
    expect(failed.map((r) => r.id)).toEqual(["s-bad-1"])
    expect(broken.map((r) => r.id)).toEqual(["s-bad-1"])
    expect(one).toHaveLength(1)
    expect(recent).toHaveLength(4)
    expect(future).toHaveLength(0)
  })

  it("fits the table to the terminal width", async () => {
    const [narrow, shown] = await Promise.all([
      run(["list", "--store", sqlite, "--prefix", "s-"], { COLUMNS: "50" }),
      run(["show", "s-bad-1", "--store", sqlite], { COLUMNS: "50" })
    ])
    expect(narrow.code).toBe(0)
    for (const line of [...narrow.stdout.split("\n"), ...shown.stdout.split("\n")]) expect(line.length).toBeLessThanOrEqual(50)
    expect(narrow.stdout).toContain("…")
  })

  it("shows a run's timeline, with the error and its cause", async () => {
    const [ok, bad, json, missing] = await Promise.all([
      run(["show", "s-ok-1", "--store", sqlite]),
      run(["show", "s-bad-1", "--store", sqlite]),
      run(["show", "s-bad-1", "--store", sqlite, "--json"]),
      run(["show", "s-none", "--store", sqlite])
    ])
    expect(ok.code).toBe(0)
    for (const key of ["fetch", "charge", "ship"]) expect(ok.stdout).toContain(key)
    expect(ok.stdout).toContain('"box of 5"')
    expect(bad.code).toBe(0)
    expect(bad.stdout).toMatch(/send\s+error/)
    expect(bad.stdout).toContain("Boom: courier down ← caused by TypeError: socket closed")
    const asJson = JSON.parse(json.stdout)
    expect(asJson.steps.map((s: { key: string }) => s.key)).toEqual(["load", "send"])
    expect(missing.code).toBe(1)
    expect(missing.stderr.trim()).toBe('effect-resume: No run with id "s-none"')
  })

  it("cancels, retries and deletes runs", async () => {
    await seed(sqliteLayer, "c-")
    const cancelled = await run(["cancel", "c-queued-1", "--store", sqlite])
    expect([cancelled.code, cancelled.stdout.trim()]).toEqual([0, "Cancelled c-queued-1"])
    const refused = await run(["cancel", "c-ok-1", "--store", sqlite])
    expect([refused.code, refused.stderr.trim()]).toEqual([
      1,
      'effect-resume: Run "c-ok-1" is completed: only a pending or running run can be cancelled'
    ])
    const notRetried = await run(["retry", "c-ok-1", "--store", sqlite])
    expect([notRetried.code, notRetried.stderr.trim()]).toEqual([
      1,
      'effect-resume: Run "c-ok-1" is completed: only a failed or dead run can be retried'
    ])
    const retried = await run(["retry", "c-bad-1", "--store", sqlite])
    expect(retried.code).toBe(0)
    expect(retried.stdout.trim()).toMatch(/^Queued c-bad-1 again: a worker serving \S+ will run it$/)
    expect((await run(["delete", "c-ok-2", "--store", sqlite])).code).toBe(0)
    expect((await run(["delete", "c-ok-2", "--store", sqlite])).code).toBe(1)
    const status = Object.fromEntries((await listJson(["--store", sqlite, "--prefix", "c-"])).map((r) => [r.id, r.status]))
    expect(status).toEqual({ "c-queued-1": "cancelled", "c-bad-1": "pending", "c-ok-1": "completed" })
  })

  it("refuses to delete a run whose owner holds the lease", async () => {
    const claim = { id: "l-held", workflow: "cli-order", version: undefined, owner: "elsewhere", leaseMs: 60_000, input: undefined, reopenFailed: false }
    await Effect.runPromise(Effect.flatMap(SnapshotStore, (s) => s.claim(claim)).pipe(Effect.provide(sqliteLayer)))
    const result = await run(["delete", "l-held", "--store", sqlite])
    expect(result.code).toBe(1)
    expect(result.stderr.trim()).toMatch(/^effect-resume: Run "l-held" is running/)
  })

  it("prunes: --dry-run counts, the real one removes", async () => {
    await seed(sqliteLayer, "p-")
    const dry = await run(["prune", "--older-than", "0s", "--status", "completed", "--prefix", "p-", "--dry-run", "--store", sqlite])
    expect(dry.stdout).toContain("Would remove 2 runs")
    expect(await listJson(["--store", sqlite, "--prefix", "p-"])).toHaveLength(4)
    const real = await run(["prune", "--older-than", "0s", "--status", "completed", "--prefix", "p-", "--store", sqlite])
    expect(real.code).toBe(0)
    expect(real.stdout).toContain("Removed 2 runs")
    expect((await listJson(["--store", sqlite, "--prefix", "p-"])).map((r) => r.id).sort()).toEqual(["p-bad-1", "p-queued-1"])
  })

  it("exports a run and imports it into another store", async () => {
    const exported = await run(["export", "s-ok-1", "--store", sqlite])
    expect(exported.code).toBe(0)
    const snapshot = JSON.parse(exported.stdout)
    expect(Object.keys(snapshot.steps)).toEqual(["fetch", "charge", "ship"])
    const file = path.join(dir, "s-ok-1.json")
    fs.writeFileSync(file, exported.stdout)
    const other = `sqlite:${path.join(dir, "other.db")}`
    const imported = await run(["import", file, "--store", other])
    expect(imported.stderr).toBe("")
    expect(imported.code).toBe(0)
    expect(JSON.parse((await run(["export", "s-ok-1", "--store", other])).stdout).steps).toEqual(snapshot.steps)
    // the run keeps its workflow, so a worker serving it can retry it there
    expect((await listJson(["--store", other])).map((r) => [r.id, r.workflow])).toEqual([["s-ok-1", "cli-order"]])
    // an id the store already has is not replaced, unless asked
    const again = await run(["import", file, "--store", other])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain("already in the store")
    expect((await run(["import", file, "--replace", "--store", other])).code).toBe(0)
  })

  it("refuses an invalid snapshot, naming the path", async () => {
    const file = path.join(dir, "bad.json")
    fs.writeFileSync(file, JSON.stringify({ formatVersion: 1, steps: { a: { ok: "yes" } }, execution: { status: "running", lastUpdated: "x" } }))
    const result = await run(["import", file, "--id", "x", "--store", sqlite])
    expect(result.code).toBe(1)
    expect(result.stderr.trim().split("\n")).toHaveLength(1)
    expect(result.stderr).toContain("bad.json")
    expect(result.stderr).toContain("$.steps.a.ok")
  })

  it("gives one line for a bad --store or a missing file, and 2 for bad usage", async () => {
    const [bad, missing, unknownOption, badSince] = await Promise.all([
      run(["list", "--store", "redis://u:hunter2@h"]),
      run(["list", "--store", "sqlite:./nothing-here.db"]),
      run(["list", "--no-such-option"]),
      run(["list", "--store", sqlite, "--since", "soon"])
    ])
    expect(bad.code).toBe(2)
    expect(bad.stderr.trim().split("\n")).toHaveLength(1)
    expect(bad.stderr).not.toContain("hunter2")
    expect(missing.code).toBe(1)
    expect(missing.stderr.trim().split("\n")).toHaveLength(1)
    expect(fs.existsSync(path.join(dir, "nothing-here.db"))).toBe(false)
    expect(unknownOption.code).toBe(2)
    expect(badSince.code).toBe(2)
  })

  it("refuses a missing file: store too, and a port out of range", async () => {
    const [missing, port] = await Promise.all([
      run(["list", "--store", "file:./typo.db"]),
      run(["web", "--port", "99999", "--store", sqlite])
    ])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain("No SQLite database")
    expect(fs.existsSync(path.join(dir, "typo.db"))).toBe(false)
    expect(port.code).toBe(2)
    expect(port.stderr.trim().split("\n")).toHaveLength(1)
  })

  it("escapes control characters of stored data in show and list", async () => {
    const hostile = Workflow.make(
      "cli-hostile",
      Workflow.step("send", Effect.fail(new Boom("down \u001b]0;PWNED\u0007\u001b[31mRED")))
    )
    await Effect.runPromise(Effect.exit(Workflow.runDurable(hostile, { id: "h-\u001b[2J-1" })).pipe(Effect.provide(sqliteLayer)))
    const [shown, listed] = await Promise.all([
      run(["show", "h-\u001b[2J-1", "--store", sqlite]),
      run(["list", "--prefix", "h-", "--store", sqlite])
    ])
    expect(shown.code).toBe(0)
    for (const out of [shown.stdout, listed.stdout]) expect(out).not.toContain("\u001b")
    expect(shown.stdout).toContain("Boom: down \\x1b]0;PWNED\\x07\\x1b[31mRED")
    expect(listed.stdout).toContain("h-\\x1b[2J-1")
  })

  it("exits 130 when a command is interrupted", async () => {
    // A store that never answers within the test: the command is still connecting when SIGINT comes. A
    // SIGINT before the CLI has started (on a loaded machine, 1.5 s may not be enough) kills it outright
    // (no exit code): then it is tried again, waiting longer. Any exit code but 130 fails at once.
    const attempt = async (waitMs: number) => {
      const child = spawn(process.execPath, [cli, "list", "--store", "mongodb://10.255.255.1:27017/db"], { cwd: dir })
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
      await new Promise((resolve) => setTimeout(resolve, waitMs))
      child.kill("SIGINT")
      return await exited
    }
    let code: number | null = null
    for (const waitMs of [1_500, 5_000, 12_000]) {
      code = await attempt(waitMs)
      if (code !== null) break
    }
    expect(code).toBe(130)
  }, 40_000)
})

describe("CLI web", () => {
  it("serves the inspector and prints its url", async () => {
    const child = spawn(process.execPath, [cli, "web", "--port", "0", "--store", sqlite], { cwd: dir })
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = ""
        child.stdout.on("data", (chunk) => {
          out += String(chunk)
          const match = /http:\/\/127\.0\.0\.1:\d+\//.exec(out)
          if (match) resolve(match[0])
        })
        child.once("exit", (code) => reject(new Error(`web exited with ${code}: ${out}`)))
      })
      expect((await fetch(url)).status).toBe(200)
    } finally {
      const exited = new Promise((resolve) => child.once("exit", resolve))
      child.kill("SIGINT")
      expect(await exited).toBe(0)
    }
  })
})

describe("CLI on Postgres", () => {
  let url = ""
  beforeAll(async () => {
    url = await freshDatabase("Cli")
    await seed(PgStore.layer({ url }), "pg-")
  })

  it("lists and shows runs", async () => {
    const runs = await listJson(["--store", url, "--prefix", "pg-"])
    expect(runs.map((r) => r.id).sort()).toEqual(["pg-bad-1", "pg-ok-1", "pg-ok-2", "pg-queued-1"])
    const shown = await run(["show", "pg-bad-1", "--store", url])
    expect(shown.stdout).toContain("Boom: courier down ← caused by TypeError: socket closed")
    const viaEnv = await run(["list", "--json", "--prefix", "pg-"], { DATABASE_URL: url })
    expect(JSON.parse(viaEnv.stdout)).toHaveLength(4)
  })

  it("never prints the password of an unreachable server", async () => {
    const result = await run(["list", "--store", "postgresql://admin:s3cr3t-pw@127.0.0.1:1/db"])
    expect(result.code).toBe(1)
    expect(result.stderr.trim().split("\n")).toHaveLength(1)
    expect(result.stderr).not.toContain("s3cr3t-pw")
    expect(result.stderr).toContain("postgresql://admin:***@127.0.0.1:1/db")
  })
})

