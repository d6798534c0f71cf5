/**
 * The demo's workflow, run as its own process: `CRASH_AT=<step id>` makes the process exit part-way
 * through that step, as a crash would. Every completed step is already checkpointed in the SQLite file.
 */
import { Effect, Schema } from "effect"
import { Workflow } from "../src/index.js"
import { SqliteStore } from "../src/exports/SqliteStore.js"

const filename = process.env.DEMO_DB ?? "./workflow.db"
const crashAt = process.env.CRASH_AT

const User = Schema.Struct({ id: Schema.String, name: Schema.String, signedUpAt: Schema.Date })

const work = <A>(stepId: string, value: () => A) =>
  Effect.sync(() => {
    if (stepId === crashAt) {
      console.log(`  ${stepId}: crashing the process now (exit code 3)`)
      process.exit(3)
    }
    return value()
  })

const onboarding = Workflow.make("onboarding", Effect.gen(function*() {
  const user = yield* Workflow.step(
    "fetchUser",
    work("fetchUser", () => ({ id: "1", name: "Ada", signedUpAt: new Date("2026-11-25T09:00:00Z") })),
    { key: "user:1", success: User }
  )
  const account = yield* Workflow.step("createAccount", work("createAccount", () => ({ accountId: `acct-${user.id}` })))
  yield* Workflow.step("sendWelcomeEmail", work("sendWelcomeEmail", () => ({ sentTo: `${user.name.toLowerCase()}@example.com` })))
  yield* Workflow.step("scheduleFollowUp", work("scheduleFollowUp", () => ({ inDays: 7 })))
  return { user: user.name, signedUpAt: user.signedUpAt.toISOString(), account: account.accountId }
}))

const program = Workflow.runDurable(onboarding, {
  id: "onboarding:user-1",
  // A crashed owner's claim on the run lasts until its lease runs out (on the database clock): a short
  // lease here, and the resuming process waits for it instead of failing with RunLocked.
  lease: "1 second",
  onLocked: "wait",
  onEvent: (event) => {
    if (event._tag === "StepComplete") {
      console.log(`  ${event.stepId}: ${event.cached ? "replayed from the checkpoint (not executed)" : "executed and checkpointed"}`)
    }
  }
}).pipe(Effect.provide(SqliteStore.layer({ filename })))

Effect.runPromise(program).then(
  (result) => console.log(`  result: ${JSON.stringify(result)}`),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
