/**
 * Shared by the consumer programs of .ci/tarball-check: a 3-step durable workflow run three times
 * on one store (each run with a fresh connection) and checked, plus small helpers.
 */
import { Effect, Exit, type Layer, Option } from "effect"
import { SnapshotStore, Workflow } from "effect-resume"
import { createRequire } from "node:module"

export const check = (ok: boolean, what: string): void => {
  if (!ok) throw new Error(`check failed: ${what}`)
}

/** A name no other run uses: a plain identifier, so it also serves as a SQL table name. */
export const unique = (prefix: string): string =>
  `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`

export type StoreLayer = Layer.Layer<SnapshotStore.SnapshotStore, unknown>

/**
 * Run 1 fails in its last step; run 2 (retryFailed) replays the first two steps and re-runs the last;
 * run 3 replays everything. Executions are counted, so a step that runs again is caught.
 */
export const checkDurable = async (name: string, layer: StoreLayer): Promise<void> => {
  const executed = { fetch: 0, charge: 0, ship: 0 }
  const order = Workflow.make(
    "ci-order",
    Effect.gen(function*() {
      const items = yield* Workflow.step("fetch", Effect.sync(() => (executed.fetch++, [2, 3])))
      const total = yield* Workflow.step("charge", Effect.sync(() => (executed.charge++, items[0]! + items[1]!)))
      const label = yield* Workflow.step(
        "ship",
        Effect.suspend(() => ++executed.ship === 1 ? Effect.fail("courier down" as const) : Effect.succeed(`box of ${total}`))
      )
      return { items, total, label }
    })
  )
  const id = unique(`ci-${name}`)
  const run = (retryFailed: boolean) =>
    Effect.runPromiseExit(Effect.provide(Workflow.runDurable(order, { id, retryFailed }), layer))
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b)

  const first = await run(false)
  check(Exit.isFailure(first) && JSON.stringify(first.cause).includes("courier down"), `${name}: run 1 fails in ship`)
  check(same(executed, { fetch: 1, charge: 1, ship: 1 }), `${name}: run 1 executed each step once (${JSON.stringify(executed)})`)

  const expected = { items: [2, 3], total: 5, label: "box of 5" }
  const second = await run(true)
  check(Exit.isSuccess(second) && same(second.value, expected), `${name}: run 2 succeeds (${JSON.stringify(second)})`)
  check(same(executed, { fetch: 1, charge: 1, ship: 2 }), `${name}: run 2 re-ran only ship (${JSON.stringify(executed)})`)

  const third = await run(false)
  check(Exit.isSuccess(third) && same(third.value, expected), `${name}: run 3 succeeds`)
  check(same(executed, { fetch: 1, charge: 1, ship: 2 }), `${name}: run 3 re-ran nothing (${JSON.stringify(executed)})`)

  const [state, stored, listed] = await Effect.runPromise(
    Effect.provide(Effect.all([SnapshotStore.loadResumeState(id), SnapshotStore.load(id), SnapshotStore.list()]), layer)
  )
  check(Option.isSome(state) && state.value.steps.size === 3, `${name}: three steps stored`)
  check(
    Option.isSome(stored) && "execution" in stored.value && stored.value.execution.status === "completed",
    `${name}: stored status is completed`
  )
  check(listed.some((entry) => entry.id === id), `${name}: list shows the run`)
  console.log(`ok ${name}: failed run resumed, completed run replayed, executions ${JSON.stringify(executed)}`)
}

// node-pg, straight from @effect/sql-pg (the README's PostgreSQL line installs it). It has no types of
// its own, and these applications have no @types/pg: effect-resume's types must not need them.
interface PgConnection {
  connect(): Promise<void>
  query(text: string): Promise<unknown>
  end(): Promise<void>
}
const pg = (): { readonly Client: new(config: { readonly connectionString: string }) => PgConnection } =>
  createRequire(createRequire(import.meta.url).resolve("@effect/sql-pg"))("pg")

/** Drops what a SQL store made in Postgres under `table`, so runs leave the database as they found it. */
export const dropPgTables = async (url: string, table: string): Promise<void> => {
  const client = new (pg().Client)({ connectionString: url })
  await client.connect()
  try {
    await client.query(`DROP TABLE IF EXISTS "${table}_steps", "${table}", "${table}_migrations" CASCADE`)
    await client.query(`DROP FUNCTION IF EXISTS "${table}_touch"()`)
  } finally {
    await client.end()
  }
}

/** The rejection of `promise`, which must reject. */
export const rejection = async (promise: Promise<unknown>, what: string): Promise<unknown> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error(`check failed: ${what} should have failed`)
}
