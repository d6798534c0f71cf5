import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Console, Effect, Either, Option } from "effect"
import { type RunSummary, RunStatus, SnapshotStore } from "../../SnapshotStore.js"
import { usage } from "../failure.js"
import { json, orUndefined, store } from "../options.js"
import { parseSince } from "../since.js"
import { withStore } from "../storeLayer.js"
import { table } from "../table.js"

const options = {
  store,
  json,
  status: Options.choice("status", RunStatus.literals).pipe(Options.repeated, Options.withDescription("Only runs in this status (repeatable)")),
  workflow: Options.text("workflow").pipe(Options.withDescription("Only runs of this workflow"), Options.optional),
  prefix: Options.text("prefix").pipe(Options.withDescription("Only ids starting with this text"), Options.optional),
  since: Options.text("since").pipe(Options.withDescription("Only runs updated since an ISO date or a duration ago (30m, 2h, 7d)"), Options.optional),
  limit: Options.integer("limit").pipe(Options.withDescription("At most this many runs"), Options.withDefault(50))
}

const sinceDate = (since: Option.Option<string>) =>
  Option.match(since, {
    onNone: () => Effect.succeed(undefined),
    onSome: (text) => Either.match(parseSince(text, new Date()), { onLeft: (e) => Effect.fail(usage(e)), onRight: Effect.succeed })
  })

const row = (run: RunSummary): Array<string> => [
  run.id,
  run.workflow ?? "",
  run.status,
  String(run.steps),
  String(run.attempts),
  run.owner === undefined ? "" : `${run.owner}${run.leased ? "" : " (expired)"}`,
  run.updatedAt
]

export const list = Command.make("list", options, (o) =>
  Effect.gen(function*() {
    if (o.limit < 0) return yield* Effect.fail(usage("--limit must not be negative"))
    const since = yield* sinceDate(o.since)
    const runs = yield* withStore(
      orUndefined(o.store),
      Effect.flatMap(SnapshotStore, (s) =>
        s.listRuns({
          limit: o.limit,
          status: o.status.length === 0 ? undefined : o.status,
          workflow: orUndefined(o.workflow),
          prefix: orUndefined(o.prefix),
          since
        }))
    )
    if (o.json) return yield* Console.log(JSON.stringify(runs, null, 2))
    if (runs.length === 0) return yield* Console.log("No runs.")
    yield* Console.log(table(["ID", "WORKFLOW", "STATUS", "STEPS", "ATTEMPTS", "OWNER", "UPDATED"], runs.map(row)))
  })).pipe(Command.withDescription("List runs, most recently changed first"))
