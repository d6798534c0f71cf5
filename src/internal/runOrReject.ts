import { Cause, type Effect, Exit, type ManagedRuntime } from "effect"

/** Rejects with the error itself (an Error subclass with a `reason`), never a FiberFailure wrapper. */
export const runOrReject = async <A, E, R>(
  runtime: ManagedRuntime.ManagedRuntime<R, unknown>,
  effect: Effect.Effect<A, E, R>
): Promise<A> => {
  const exit = await runtime.runPromiseExit(effect)
  if (Exit.isSuccess(exit)) return exit.value
  throw Cause.squash(exit.cause)
}
