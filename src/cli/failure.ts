import { Data } from "effect"

/** What the CLI prints (one line, on stderr) before exiting with `exitCode`: 1 failure / not found, 2 usage. */
export class CliFailure extends Data.TaggedError("CliFailure")<{
  readonly message: string
  readonly exitCode: 1 | 2
}> {}

export const notFound = (id: string) => new CliFailure({ message: `No run with id ${JSON.stringify(id)}`, exitCode: 1 })

export const usage = (message: string) => new CliFailure({ message, exitCode: 2 })
