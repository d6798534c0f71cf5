/**
 * The stores every docs example runs against: SQLite and libSQL (temp files), Postgres (a database of
 * this file's own on the test server), and MongoDB when MONGODB_URL is set (reported skipped otherwise).
 */
import { libsql } from "effect-resume/libsql"
import { mongo } from "effect-resume/mongo"
import { postgres } from "effect-resume/postgres"
import { sqlite } from "effect-resume/sqlite"
import type { ResumableStore as SnapshotStore } from "effect-resume/sqlite"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { freshDatabase } from "../setup/pgDatabase.js"

export interface StoreCase {
  readonly name: string
  /** Set when the store cannot be reached here: the tests are reported skipped with this reason. */
  readonly skip: string | undefined
  readonly make: () => SnapshotStore
}

/** One call per test file (top-level await). Every store made is closed after the file. */
export const storeCases = async (label: string): Promise<ReadonlyArray<StoreCase>> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `effect-resume-docs-${label}-`))
  const pgUrl = await freshDatabase(`docs_${label}`)
  const mongoUrl = process.env.MONGODB_URL
  const made: Array<SnapshotStore> = []
  const track = (store: SnapshotStore) => {
    made.push(store)
    return store
  }
  afterAll(async () => {
    await Promise.all(made.map((store) => store.close()))
  })
  let n = 0
  return [
    { name: "SQLite", skip: undefined, make: () => track(sqlite(path.join(dir, `sqlite-${n++}.db`))) },
    { name: "libSQL", skip: undefined, make: () => track(libsql(`file:${path.join(dir, `libsql-${n++}.db`)}`)) },
    { name: "Postgres", skip: undefined, make: () => track(postgres({ url: pgUrl, table: `docs_${n++}` })) },
    {
      name: "MongoDB",
      skip: mongoUrl === undefined ? "MONGODB_URL is not set" : undefined,
      make: () => track(mongo({ url: mongoUrl ?? "", database: `effect_resume_docs_${label}_${process.pid}`, collection: `docs_${n++}` }))
    }
  ]
}
