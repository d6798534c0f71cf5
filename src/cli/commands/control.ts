/** cancel, retry, delete: one run each, a one-line answer. */
import * as Command from "@effect/cli/Command"
import { Console, Effect, Option } from "effect"
import { SnapshotStore } from "../../SnapshotStore.js"
import * as Workflow from "../../Workflow.js"
import { CliFailure, notFound } from "../failure.js"
import { orUndefined, store } from "../options.js"
import { withStore } from "../storeLayer.js"
import { runId } from "./show.js"

const runOf = (id: string) =>
  Effect.flatMap(SnapshotStore, (s) => s.getRun(id)).pipe(
    Effect.flatMap(Option.match({ onNone: () => Effect.fail(notFound(id)), onSome: Effect.succeed }))
  )

/** Looks the run up, acts on it, and explains a refusal by the run's status; the run as it was, when done. */
const actOn = <E, R>(id: string, act: (id: string) => Effect.Effect<boolean, E, R>, allowed: string) =>
  Effect.flatMap(runOf(id), (run) =>
    Effect.flatMap(act(id), (done) =>
      done
        ? Effect.succeed(run)
        : Effect.fail(new CliFailure({ message: `Run ${JSON.stringify(id)} is ${run.status}: ${allowed}`, exitCode: 1 }))))

export const cancel = Command.make("cancel", { id: runId, store }, (o) =>
  withStore(
    orUndefined(o.store),
    Effect.zipRight(
      actOn(o.id, Workflow.cancel, "only a pending or running run can be cancelled"),
      Console.log(`Cancelled ${o.id}`)
    )
  )).pipe(Command.withDescription("Cancel a pending or running run"))

export const retry = Command.make("retry", { id: runId, store }, (o) =>
  withStore(
    orUndefined(o.store),
    Effect.flatMap(actOn(o.id, Workflow.retry, "only a failed or dead run can be retried"), (run) =>
      Console.log(
        run.workflow === undefined
          ? `Queued ${o.id} again; it names no workflow, so no worker takes it: resume it with runDurable`
          : `Queued ${o.id} again: a worker serving ${run.workflow} will run it`
      ))
  )).pipe(Command.withDescription("Queue a failed or dead run again for a worker"))

export const remove = Command.make("delete", { id: runId, store }, (o) =>
  withStore(
    orUndefined(o.store),
    Effect.gen(function*() {
      const store = yield* SnapshotStore
      if (Option.isNone(yield* store.load(o.id))) return yield* Effect.fail(notFound(o.id))
      yield* store.delete(o.id).pipe(
        Effect.catchTag("RunLocked", () =>
          Effect.fail(new CliFailure({ message: `Run ${JSON.stringify(o.id)} is running (its owner holds the lease): cancel it first, or wait`, exitCode: 1 })))
      )
      yield* Console.log(`Deleted ${o.id}`)
    })
  )).pipe(Command.withDescription("Delete a run and its steps"))
