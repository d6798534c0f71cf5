/**
 * A database of its own for one test file, on the server from the global setup, so files run in
 * parallel without seeing each other's tables. Dropped again after the file (afterAll).
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { afterAll, inject } from "vitest"

const onAdmin = (adminUrl: string, statement: (sql: PgClient.PgClient) => Effect.Effect<unknown, unknown>) =>
  Effect.runPromise(
    Effect.flatMap(PgClient.PgClient, statement).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(adminUrl), maxConnections: 1 })),
      Effect.scoped
    )
  )

/** Creates `effect_resume_<label>_<random>` and returns its url; call at the top level of a test file. */
export const freshDatabase = async (label: string): Promise<string> => {
  const adminUrl = inject("pgUrl")
  const name = `effect_resume_${label.toLowerCase().replace(/[^a-z0-9]+/g, "_").slice(0, 30)}_${randomBytes(4).toString("hex")}`
  await onAdmin(adminUrl, (sql) => sql`CREATE DATABASE ${sql(name)}`)
  // FORCE: pools of layers the tests built may still be closing
  afterAll(() => onAdmin(adminUrl, (sql) => sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`))
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}
