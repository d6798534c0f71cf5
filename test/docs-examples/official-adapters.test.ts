// Docs sections "Store Interface" and "Official Persistence Adapters": the adapters with their options.
import { libsql } from "effect-resume/libsql"
import { mongo } from "effect-resume/mongo"
import { postgres } from "effect-resume/postgres"
import { createWorkflow } from "effect-resume/workflow"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { freshDatabase } from "../setup/pgDatabase.js"
import { makeDeps, myWorkflowFn } from "./deps.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-resume-adapters-"))
const pgUrl = await freshDatabase("docs_adapters")
const mongoUrl = process.env.MONGODB_URL

const withOptions = [
  {
    name: "PostgreSQL",
    skip: undefined,
    make: () => postgres({ url: pgUrl, table: "my_workflow_snapshots", prefix: "orders:" }),
    plain: () => postgres({ url: pgUrl, table: "my_workflow_snapshots" })
  },
  {
    name: "MongoDB",
    skip: mongoUrl ? undefined : "MONGODB_URL is not set",
    make: () => mongo({ url: mongoUrl ?? "", database: "myapp", collection: "my_workflow_snapshots", prefix: "orders:" }),
    plain: () => mongo({ url: mongoUrl ?? "", database: "myapp", collection: "my_workflow_snapshots" })
  },
  {
    name: "libSQL (local file, with an authToken that a file ignores)",
    skip: undefined,
    make: () => libsql({ url: `file:${path.join(dir, "adapters.db")}`, authToken: "unused-for-files", prefix: "orders:" }),
    plain: () => libsql({ url: `file:${path.join(dir, "adapters.db")}` })
  }
]

describe.each(withOptions)("$name with options", ({ make, plain, skip }) => {
  it.skipIf(skip !== undefined)(`save / load / loadResumeState / list / delete / close${skip ? ` (skipped: ${skip})` : ""}`, async () => {
    const store = make()
    const raw = plain()
    afterAll(async () => {
      await store.close()
      await raw.close()
    })
    const { deps } = makeDeps()
    const { resumeState } = await createWorkflow("workflow", deps).runWithState(myWorkflowFn)
    const id = `order-${Date.now()}`
    await store.save(id, resumeState)
    expect(await store.load(id)).toEqual(resumeState)
    expect(await store.loadResumeState(id)).toEqual(resumeState)
    // the prefix scopes ids: stored as "orders:" + id, listed without it
    expect((await store.list({ prefix: "order-" })).map((e) => e.id)).toContain(id)
    expect(await raw.load(`orders:${id}`)).toEqual(resumeState)
    expect(await store.list({ limit: 1 })).toHaveLength(1)
    await store.delete(id)
    expect(await store.load(id)).toBeNull()
  })
})
