// Docs section "One-liner Store Setup": each official adapter from one line, then runWithState + store.
import { libsql } from "effect-resume/libsql"
import { mongo } from "effect-resume/mongo"
import { postgres } from "effect-resume/postgres"
import { createWorkflow } from "effect-resume/workflow"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { freshDatabase } from "../setup/pgDatabase.js"
import { makeDeps, myWorkflowFn } from "./deps.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-resume-oneliner-"))
const pgUrl = await freshDatabase("docs_oneliner")
const mongoUrl = process.env.MONGODB_URL

const oneLiners = [
  { name: "PostgreSQL", skip: undefined, store: () => postgres(pgUrl) },
  { name: "libSQL / SQLite", skip: undefined, store: () => libsql(`file:${path.join(dir, "workflow.db")}`) },
  { name: "MongoDB", skip: mongoUrl ? undefined : "MONGODB_URL is not set", store: () => mongo(mongoUrl ?? "") }
]

describe.each(oneLiners)("one-liner $name", ({ skip, store: makeStore }) => {
  it.skipIf(skip !== undefined)(`runWithState + store, then resume${skip ? ` (skipped: ${skip})` : ""}`, async () => {
    const store = makeStore()
    afterAll(() => store.close())
    const { calls, deps } = makeDeps()
    const workflow = createWorkflow("workflow", deps)

    // One-line style: runWithState + store
    const { result, resumeState } = await workflow.runWithState(myWorkflowFn)
    await store.save("wf-123", resumeState)

    const loaded = await store.loadResumeState("wf-123")
    let again
    if (loaded) again = await workflow.run(myWorkflowFn, { resumeState: loaded })
    expect(again).toEqual(result)
    expect(calls).toEqual({ fetchUser: 1, fetchPosts: 1 })
  })
})

describe("store lifecycle", () => {
  it("no connection is opened before first use: an unreachable store can be made and closed", async () => {
    const store = postgres("postgresql://nobody@127.0.0.1:1/nothing")
    await store.close()
  })

  it("errors reject with Error subclasses carrying the reason, not FiberFailure wrappers", async () => {
    const store = postgres({ url: "postgresql://nobody@127.0.0.1:1/nothing", connectTimeout: "2 seconds" })
    const error = await store.save("x", { steps: new Map() } as never).then(() => undefined, (e: unknown) => e)
    await store.close()
    expect(error).toBeInstanceOf(Error)
    expect(error).toMatchObject({ _tag: "StoreError", reason: "Connection" })
    expect((error as Error).constructor.name).not.toBe("FiberFailure")
    expect(Object.getOwnPropertySymbols(error).map(String).join()).not.toContain("FiberFailure")
    expect(String((error as Error).message)).not.toContain("nobody@") // no credentials in messages
  })

  it.each([
    ["postgres", () => pgUrl],
    ["libsql", () => `file:${path.join(dir, "exit.db")}`],
    ["sqlite", () => path.join(dir, "exit-sqlite.db")]
  ])("a script that uses the %s store and calls close() exits promptly", (kind, url) => {
    const started = Date.now()
    const child = spawnSync(process.execPath, ["--conditions=effect-resume-source", "--import", "tsx", path.join(import.meta.dirname, "fixtures", "close-exits.ts"), kind, url()], {
      encoding: "utf8",
      timeout: 20_000
    })
    expect(child.stderr).toBe("")
    expect(child.stdout.trim()).toBe("saved, loaded, listed, closed")
    expect(child.status).toBe(0)
    expect(Date.now() - started).toBeLessThan(20_000)
  }, 30_000)

  // node-pg keeps idle connections for 10 s; the store's pool lets Node exit while they idle
  it.each([
    ["postgres", () => pgUrl],
    ["libsql", () => `file:${path.join(dir, "exit-no-close.db")}`],
    ["sqlite", () => path.join(dir, "exit-no-close-sqlite.db")]
  ])("a script that uses the %s store and forgets close() still exits before the pool's idle timeout", (kind, url) => {
    const child = spawnSync(process.execPath, ["--conditions=effect-resume-source", "--import", "tsx", path.join(import.meta.dirname, "fixtures", "close-exits.ts"), kind, url(), "no-close"], {
      encoding: "utf8",
      timeout: 30_000
    })
    expect(child.stderr).toBe("")
    const [said, exited] = child.stdout.trim().split("\n")
    expect(said).toBe("saved, loaded, listed, not closed")
    expect(child.status).toBe(0)
    // what keeps the process alive after its work, measured inside it (not its start-up): an idle
    // connection held it for node-pg's whole idle timeout, 10 s
    const lingered = Number(/^exited (\d+) ms after its last call$/.exec(exited ?? "")?.[1])
    expect(lingered).toBeLessThan(5_000)
  }, 30_000)
})
