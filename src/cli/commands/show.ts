import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import { Console, Effect, Option } from "effect"
import { SnapshotStore } from "../../SnapshotStore.js"
import { notFound } from "../failure.js"
import { json, orUndefined, store } from "../options.js"
import { withStore } from "../storeLayer.js"
import { render } from "../timeline.js"

export const runId = Args.text({ name: "id" }).pipe(Args.withDescription("The run's id"))

export const show = Command.make("show", { id: runId, store, json }, (o) =>
  Effect.gen(function*() {
    const details = yield* withStore(orUndefined(o.store), Effect.flatMap(SnapshotStore, (s) => s.inspect(o.id)))
    if (Option.isNone(details)) return yield* Effect.fail(notFound(o.id))
    yield* Console.log(o.json ? JSON.stringify(details.value, null, 2) : render(details.value))
  })).pipe(Command.withDescription("Show a run and its step timeline"))
