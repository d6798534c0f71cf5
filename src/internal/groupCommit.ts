/**
 * Group commit: writes that arrive while one is in flight are gathered and written together, in one
 * statement, one round trip and one commit. Each caller still waits for its own write to be durable, so
 * nothing is weaker than writing one at a time; under load there are just fewer commits.
 *
 * An idle store writes a lone item at once, in the caller's own fiber (no queue, no fiber of its own:
 * a sequential run pays nothing for this). Items that queued up meanwhile are then written by a daemon
 * fiber, batch after batch, until none are left.
 *
 * A write once sent is not interrupted: its caller waits for its outcome (one statement), and the next
 * writes wait for it to end, not for an interruption that may come before the database has answered.
 */
import { Deferred, Effect, Exit, FiberId } from "effect"

export const groupCommit = <I, O, E>(options: {
  /** Writes one item. */
  readonly one: (item: I) => Effect.Effect<O, E>
  /** Writes several items in one statement; returns one output per item, in order. */
  readonly many: (items: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, E>
  /** The most items in one statement (bound parameters are limited). */
  readonly maxBatch: number
}): (item: I) => Effect.Effect<O, E> => {
  let busy = false
  let queue: Array<{ readonly item: I; readonly done: Deferred.Deferred<O, E> }> = []

  const drain: Effect.Effect<void> = Effect.suspend(() => {
    if (queue.length === 0) {
      busy = false
      return Effect.void
    }
    const batch = queue.length <= options.maxBatch ? queue : queue.slice(0, options.maxBatch)
    queue = queue.length <= options.maxBatch ? [] : queue.slice(options.maxBatch)
    // A batch that fails (one bad item fails its whole statement) is written again one item at a time,
    // so that each caller gets its own outcome
    const oneByOne = Effect.forEach(batch, (b) => Effect.flatMap(Effect.exit(options.one(b.item)), (exit) => Deferred.done(b.done, exit)), {
      discard: true
    })
    if (batch.length === 1) return Effect.zipRight(oneByOne, drain)
    return Effect.exit(options.many(batch.map((b) => b.item))).pipe(
      Effect.flatMap((exit) =>
        Exit.isSuccess(exit)
          ? Effect.forEach(batch, (b, i) => Deferred.succeed(b.done, exit.value[i]!), { discard: true })
          : oneByOne
      ),
      Effect.zipRight(drain)
    )
  })

  // After the caller's own write: anything that queued meanwhile goes to a daemon, else the store is idle.
  // (In the caller's fiber, on every write: the outcome is passed on as it is, with no step of its own.)
  const handOff = <A>(outcome: Effect.Effect<A, E>): Effect.Effect<A, E> => {
    if (queue.length === 0) {
      busy = false
      return outcome
    }
    return Effect.zipRight(Effect.forkDaemon(drain), outcome)
  }
  const alone = (item: I): Effect.Effect<O, E> =>
    Effect.uninterruptible(Effect.matchCauseEffect(options.one(item), {
      onFailure: (cause) => handOff(Effect.failCause(cause)),
      onSuccess: (value) => handOff(Effect.succeed(value))
    }))

  return (item) =>
    Effect.suspend(() => {
      if (!busy) {
        busy = true
        return alone(item)
      }
      const done = Deferred.unsafeMake<O, E>(FiberId.none)
      queue.push({ item, done })
      return Deferred.await(done)
    })
}
