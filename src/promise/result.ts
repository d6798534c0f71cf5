/**
 * The reference's Results and its UnexpectedError: plain objects, duck-typed by `ok`.
 */

export type Ok<T> = { readonly ok: true; readonly value: T }
export type Err<E, C = unknown> = { readonly ok: false; readonly error: E; readonly cause?: C }
export type Result<T, E = unknown, C = unknown> = Ok<T> | Err<E, C>

export const ok = <T>(value: T): Ok<T> => ({ ok: true, value })

/** The `cause` key is present only when a cause is given, as in the reference. */
export const err = <E, C = unknown>(error: E, options?: { readonly cause?: C }): Err<E, C> =>
  options !== undefined && "cause" in options ? { ok: false, error, cause: options.cause as C } : { ok: false, error }

export const isResult = (u: unknown): u is Result<unknown> =>
  typeof u === "object" && u !== null && typeof (u as { ok?: unknown }).ok === "boolean"

/** What a failed step recorded about its failure: a returned `{ ok: false }` or a throw. */
export type StepFailureMeta =
  | { readonly origin: "result"; readonly resultCause?: unknown }
  | { readonly origin: "throw"; readonly thrown: unknown }

const hint = "An unexpected exception escaped a step. Inspect cause; consider returning a typed Result instead of throwing."
const docsUrl = "https://jagreehal.github.io/awaitly/rules/#runtime-unexpected"

/**
 * What a step (or the workflow body) threw, as the run's error. Its fields are own and enumerable, in
 * the reference's order, so both libraries' errors look the same to JSON and to deep equality.
 */
export class UnexpectedError extends Error {
  declare readonly _tag: "UnexpectedError"
  declare readonly code: "runtime-unexpected"
  declare readonly hint: string
  declare readonly docsUrl: string
  declare readonly cause?: unknown

  constructor(...args: [] | [cause: unknown]) {
    super(`UnexpectedError: ${args.length === 0 ? "unknown" : args[0] instanceof Error ? args[0].message : String(args[0])}`)
    const self = this as { -readonly [K in "_tag" | "name" | "code" | "hint" | "docsUrl" | "cause"]: unknown }
    self._tag = "UnexpectedError"
    self.name = "UnexpectedError"
    self.code = "runtime-unexpected"
    self.hint = hint
    self.docsUrl = docsUrl
    if (args.length > 0) self.cause = args[0]
  }
}

/** Duck-typed, so it also recognizes the reference's (and a JSON copy of either). */
export const isUnexpectedError = (u: unknown): u is UnexpectedError =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "UnexpectedError"
