/**
 * SqliteStore's statements of every step (a step's checkpoint, the claim, the lease, the end) on a
 * better-sqlite3 connection of their own, straight to the driver: @effect/sql's path to the same
 * driver (a statement cache behind Effect's `Cache`, the connection's semaphore, a span) costs more
 * CPU than SQLite's own work for a checkpoint.
 *
 * This connection never waits for SQLite's write lock (busy timeout 0), and runs one statement at a
 * time, synchronously, in autocommit: when another connection holds the lock (the store's own in a
 * transaction, or another process), the statement goes through the `SqlClient` instead, which waits
 * there as every other statement does. A write refused with SQLITE_BUSY has changed nothing.
 */
import { SqlError } from "@effect/sql/SqlError"
import { Effect, type Scope } from "effect"
import { createRequire } from "node:module"
import { isBusy } from "../internal/sqliteBusy.js"
import type { PreparedExecutor } from "./SqlStore.js"

interface Statement {
  readonly reader: boolean
  all(...params: ReadonlyArray<unknown>): Array<unknown>
  /** `changes`: the rows the statement itself wrote (a trigger's are not counted) */
  run(...params: ReadonlyArray<unknown>): { readonly changes: number }
}

interface Database {
  prepare(text: string): Statement
  pragma(text: string): unknown
  close(): void
}

type DatabaseConstructor = new(filename: string, options: { readonly timeout: number }) => Database

// better-sqlite3 as @effect/sql-sqlite-node resolves it (it is that package's dependency, not ours)
const driver = (): DatabaseConstructor => {
  const here = createRequire(import.meta.url)
  return createRequire(here.resolve("@effect/sql-sqlite-node"))("better-sqlite3") as DatabaseConstructor
}

/**
 * An executor over its own connection to `filename`, opened once the store's client has made the file
 * and its tables (so that a run's first statement finds it open), closed with the scope.
 */
export const make = (
  filename: string,
  synchronous: "FULL" | "NORMAL"
): Effect.Effect<PreparedExecutor, never, Scope.Scope> =>
  Effect.gen(function*() {
    let db: Database | undefined
    let closed = false
    const statements = new Map<string, Statement>()
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
        db?.close()
        db = undefined
      })
    )
    const open = (): Database => {
      if (db !== undefined) return db
      const Sqlite = driver()
      const opened = new Sqlite(filename, { timeout: 0 })
      // synchronous is a connection's setting, not the file's: the same level as the store's client
      opened.pragma(`synchronous = ${synchronous}`)
      return db = opened
    }
    const statementOf = (text: string): Statement => {
      let statement = statements.get(text)
      if (statement === undefined) {
        statement = open().prepare(text)
        statements.set(text, statement)
      }
      return statement
    }
    // a write refused for SQLite's lock goes through the client, which waits for it
    const execute = <A>(
      text: string,
      viaClient: () => Effect.Effect<A, SqlError>,
      pick: (statement: Statement) => A
    ): Effect.Effect<A, SqlError> =>
      Effect.suspend(() => {
        if (closed) return viaClient()
        try {
          return Effect.succeed(pick(statementOf(text)))
        } catch (cause) {
          if (isBusy(cause)) return viaClient()
          return Effect.fail(new SqlError({ cause, message: "Failed to execute statement" }))
        }
      })
    const rows = (
      _name: string,
      text: string,
      values: ReadonlyArray<unknown>,
      _lane: "checkpoint" | undefined,
      viaClient: () => Effect.Effect<ReadonlyArray<any>, SqlError>
    ): Effect.Effect<ReadonlyArray<any>, SqlError> =>
      execute(text, viaClient, (statement) => {
        if (statement.reader) return statement.all(...values)
        statement.run(...values)
        return []
      })
    const changed: PreparedExecutor["changed"] = (_name, text, values, _lane, viaClient) =>
      execute(text, viaClient, (statement) => statement.run(...values).changes > 0)
    // a connection that cannot open now opens at the first statement instead, which reports why
    return Object.assign(rows, { changed, ready: Effect.sync(() => void open()).pipe(Effect.catchAllDefect(() => Effect.void)) })
  })
