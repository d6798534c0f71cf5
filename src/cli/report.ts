/** Every failure ends as one line on stderr, secrets masked, never a stack trace. */
import { Cause, Effect, Option } from "effect"
import { CliFailure } from "./failure.js"
import { messageOf } from "./storeLayer.js"
import { maskSecretParams } from "./storeUrl.js"
import { oneLine } from "./table.js"

// secrets in any url a message quotes: scheme://user:secret@host → scheme://user:***@host, ?token=… → ?token=***
const maskUrls = (text: string): string => maskSecretParams(text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*):[^@\s]*@/gi, "$1:***@"))

const lineOf = (error: unknown): { readonly message: string; readonly exitCode: number } =>
  error instanceof CliFailure
    ? { message: error.message, exitCode: error.exitCode }
    : { message: messageOf(error), exitCode: 1 }

export const report = (cause: Cause.Cause<unknown>): Effect.Effect<number> =>
  Effect.sync(() => {
    const failure = Cause.failureOption(cause)
    const { message, exitCode } = Option.isSome(failure)
      ? lineOf(failure.value)
      : { message: `Unexpected error: ${messageOf(Option.getOrUndefined(Cause.dieOption(cause)) ?? Cause.pretty(cause))}`, exitCode: 1 }
    process.stderr.write(`effect-resume: ${oneLine(maskUrls(message))}\n`)
    return exitCode
  })
