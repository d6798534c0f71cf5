/**
 * The inspector's JSON endpoints: runs with counts (the CLI `list` filters), one run's details, and
 * cancel / retry. Query parsing is kept apart from the store calls so that bad input is a 400.
 */
import { Effect, Either, Option, Schema } from "effect"
import { parseSince } from "../cli/since.js"
import { durationMs } from "../cli/timeline.js"
import { RunStatus, SnapshotStore, type ListRunsOptions, type RunDetails, type StepRecord, StoreError } from "../SnapshotStore.js"
import * as Workflow from "../Workflow.js"

type Query = Readonly<Record<string, string | ReadonlyArray<string>>>

const defaultLimit = 100

/** A bad query parameter: answered with 400 and the message. */
export class BadQuery extends Schema.TaggedError<BadQuery>()("BadQuery", { message: Schema.String }) {}

const single = (query: Query, name: string): string | undefined => {
  const value = query[name]
  const text = typeof value === "string" ? value : value?.[0]
  return text === undefined || text.trim() === "" ? undefined : text.trim()
}

const statuses = (text: string | undefined): Either.Either<ReadonlyArray<RunStatus> | undefined, BadQuery> => {
  if (text === undefined) return Either.right(undefined)
  const list = text.split(",").map((s) => s.trim()).filter((s) => s !== "")
  const bad = list.find((s) => !Schema.is(RunStatus)(s))
  return bad === undefined
    ? Either.right(list as Array<RunStatus>)
    : Either.left(new BadQuery({ message: `status must be one of ${RunStatus.literals.join(", ")}; got ${JSON.stringify(bad)}` }))
}

// a page shows at most this many runs (and a database's LIMIT takes no more than 2^63 - 1)
const maxLimit = 10_000

const limitOf = (text: string | undefined): Either.Either<number, BadQuery> => {
  if (text === undefined) return Either.right(defaultLimit)
  const limit = Number(text)
  return Number.isInteger(limit) && limit >= 0 && limit <= maxLimit
    ? Either.right(limit)
    : Either.left(new BadQuery({ message: `limit must be an integer from 0 to ${maxLimit}, got ${JSON.stringify(text)}` }))
}

const sinceOf = (text: string | undefined): Either.Either<Date | undefined, BadQuery> =>
  text === undefined
    ? Either.right(undefined)
    : Either.mapLeft(parseSince(text, new Date()), (message) => new BadQuery({ message: message.replace("--since", "since") }))

/** The `listRuns` options a page's query asks for: status (comma-separated), workflow, prefix, since, limit. */
export const listOptions = (query: Query): Either.Either<ListRunsOptions, BadQuery> =>
  Either.gen(function*() {
    return {
      status: yield* statuses(single(query, "status")),
      workflow: single(query, "workflow"),
      prefix: single(query, "prefix"),
      since: yield* sinceOf(single(query, "since")),
      limit: yield* limitOf(single(query, "limit"))
    }
  })

/** The runs and the counts by status (counts ignore the status filter and the limit, as the tabs do). */
export const runs = (query: Query) =>
  Effect.gen(function*() {
    const options = yield* listOptions(query)
    const store = yield* SnapshotStore
    const { limit: _limit, status: _status, ...countOptions } = options
    const [list, counts] = yield* Effect.all([store.listRuns(options), store.countRuns(countOptions)], { concurrency: 2 })
    return { runs: list, counts, limit: options.limit ?? defaultLimit }
  })

/** A step as the timeline shows it: the record plus its duration, when the row has times. */
const timelineStep = (step: StepRecord) => ({ ...step, durationMs: durationMs(step) })

const withDurations = (details: RunDetails) => ({ run: details.run, steps: details.steps.map(timelineStep) })

/** One run's record and timeline, or None. */
export const run = (id: string) =>
  Effect.flatMap(SnapshotStore, (store) => store.inspect(id)).pipe(Effect.map(Option.map(withDurations)))

/** Cancel or retry: whether the store changed the run. */
export const act = (action: "cancel" | "retry", id: string): Effect.Effect<boolean, StoreError, SnapshotStore> =>
  action === "cancel" ? Workflow.cancel(id) : Workflow.retry(id)
