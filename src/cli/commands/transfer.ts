/** export / import: a run as a WorkflowSnapshot JSON document, the reference's portable form. */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Console, Effect, Option } from "effect"
import * as fs from "node:fs"
import * as ResumeState from "../../ResumeState.js"
import * as Snapshot from "../../Snapshot.js"
import { SnapshotStore, type Stored } from "../../SnapshotStore.js"
import { CliFailure, notFound, usage } from "../failure.js"
import { orUndefined, store } from "../options.js"
import { withStore } from "../storeLayer.js"
import { oneLine } from "../table.js"
import { runId } from "./show.js"

/** A stored ResumeState becomes a snapshot; either way the snapshot names its run, so `import` finds the id. */
export const toSnapshot = (id: string, stored: Stored): Snapshot.WorkflowSnapshot => {
  const snapshot = ResumeState.isResumeState(stored) ? ResumeState.toSnapshot(stored, { metadata: { workflowId: id } }) : stored
  return snapshot.metadata?.workflowId === undefined ? { ...snapshot, metadata: { ...snapshot.metadata, workflowId: id } } : snapshot
}

export const exportRun = Command.make("export", { id: runId, store }, (o) =>
  withStore(
    orUndefined(o.store),
    Effect.gen(function*() {
      const stored = yield* Effect.flatMap(SnapshotStore, (s) => s.load(o.id))
      if (Option.isNone(stored)) return yield* Effect.fail(notFound(o.id))
      yield* Console.log(JSON.stringify(toSnapshot(o.id, stored.value), null, 2))
    })
  )).pipe(Command.withDescription("Print a run as WorkflowSnapshot JSON"))

const invalid = (file: string, message: string) => new CliFailure({ message: `${file}: ${message}`, exitCode: 1 })

/** The file's snapshot, validated; errors name the file and the path inside it. */
export const readSnapshot = (file: string): Effect.Effect<Snapshot.WorkflowSnapshot, CliFailure> =>
  Effect.gen(function*() {
    const text = yield* Effect.try({
      try: () => fs.readFileSync(file, "utf8"),
      catch: (e) => invalid(file, `cannot read it: ${(e as Error).message}`)
    })
    const json = yield* Effect.try({ try: (): unknown => JSON.parse(text), catch: (e) => invalid(file, `not JSON: ${(e as Error).message}`) })
    const result = Snapshot.validate(json)
    if (result.valid) return result.snapshot
    const shown = result.errors.slice(0, 3).map((e) => `${e.path}: ${e.message}`).join("; ")
    const more = result.errors.length > 3 ? ` (and ${result.errors.length - 3} more)` : ""
    return yield* Effect.fail(invalid(file, `not a valid WorkflowSnapshot: ${shown}${more}`))
  })

const importOptions = {
  files: Args.text({ name: "file" }).pipe(Args.atLeast(1), Args.withDescription("WorkflowSnapshot JSON files (from export)")),
  id: Options.text("id").pipe(Options.withDescription("The id to save under (one file only); default: the snapshot's metadata.workflowId"), Options.optional),
  replace: Options.boolean("replace").pipe(Options.withDescription("Replace runs the store already has (default: refuse)")),
  store
}

const exists = (id: string) =>
  new CliFailure({ message: `Run ${JSON.stringify(id)} is already in the store: not replaced (--replace to overwrite it)`, exitCode: 1 })

export const importRuns = Command.make("import", importOptions, (o) =>
  Effect.gen(function*() {
    if (Option.isSome(o.id) && o.files.length > 1) return yield* Effect.fail(usage("--id names one run: give one file with it"))
    // every file is checked before anything is written
    const snapshots = yield* Effect.forEach(o.files, (file) =>
      Effect.flatMap(readSnapshot(file), (snapshot) => {
        const id = Option.getOrUndefined(o.id) ?? snapshot.metadata?.workflowId
        return id === undefined || id === ""
          ? Effect.fail(invalid(file, "the snapshot has no metadata.workflowId: give the id with --id"))
          : Effect.succeed({ file, id, snapshot })
      }))
    const ids = new Set(snapshots.map((s) => s.id))
    if (ids.size < snapshots.length) return yield* Effect.fail(usage("two files name the same run id"))
    // nothing is replaced by accident: every id is checked before anything is written
    const checkFree = o.replace ? Effect.void : Effect.forEach(snapshots, ({ id }) =>
      Effect.flatMap(SnapshotStore, (s) => s.load(id)).pipe(
        Effect.flatMap((stored) => Option.isSome(stored) ? Effect.fail(exists(id)) : Effect.void)
      ), { discard: true })
    yield* withStore(
      orUndefined(o.store),
      Effect.zipRight(checkFree, Effect.forEach(snapshots, ({ id, snapshot }, i) =>
        Effect.flatMap(SnapshotStore, (s) => s.save(id, snapshot)).pipe(
          Effect.catchTag("RunLocked", () =>
            Effect.fail(new CliFailure({ message: `Run ${JSON.stringify(id)} is running (its owner holds the lease): not replaced`, exitCode: 1 }))),
          Effect.zipRight(snapshots.length > 1 ? Effect.sync(() => process.stderr.write(`imported ${i + 1}/${snapshots.length}: ${oneLine(id)}\n`)) : Effect.void)
        ))),
      { create: true }
    )
    yield* Console.log(snapshots.length === 1 ? `Imported ${snapshots[0]!.id}` : `Imported ${snapshots.length} runs`)
  })).pipe(Command.withDescription("Save WorkflowSnapshot JSON files into the store"))
