import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Console, Effect, Either } from "effect"
import { FinalStatus, SnapshotStore } from "../../SnapshotStore.js"
import { usage } from "../failure.js"
import { orUndefined, store } from "../options.js"
import { parseDuration } from "../since.js"
import { withStore } from "../storeLayer.js"

const options = {
  store,
  olderThan: Options.text("older-than").pipe(Options.withDescription("Remove finished runs last changed at least this long ago (30m, 2h, 7d)")),
  status: Options.choice("status", FinalStatus.literals).pipe(Options.repeated, Options.withDescription("Only runs in this final status (repeatable)")),
  prefix: Options.text("prefix").pipe(Options.withDescription("Only ids starting with this text"), Options.optional),
  dryRun: Options.boolean("dry-run").pipe(Options.withDescription("Count what would be removed, removing nothing"))
}

const progress = (removed: number) => Effect.sync(() => process.stderr.write(`pruned ${removed} runs…\n`))

export const prune = Command.make("prune", options, (o) =>
  Effect.gen(function*() {
    const olderThan = yield* Either.match(parseDuration(o.olderThan), {
      onLeft: (e) => Effect.fail(usage(`--older-than ${e}`)),
      onRight: Effect.succeed
    })
    const count = yield* withStore(
      orUndefined(o.store),
      Effect.flatMap(SnapshotStore, (s) =>
        s.prune({
          olderThan,
          status: o.status.length === 0 ? undefined : o.status,
          prefix: orUndefined(o.prefix),
          dryRun: o.dryRun,
          onProgress: progress
        }))
    )
    yield* Console.log(o.dryRun ? `Would remove ${count} runs (dry run: nothing removed)` : `Removed ${count} runs`)
  })).pipe(Command.withDescription("Remove finished runs older than a duration"))
