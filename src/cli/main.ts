#!/usr/bin/env node
/**
 * `npx effect-resume …`: bundled into dist/cli.js by scripts/build-cli.mjs, with the library's peers
 * (effect, @effect/platform, the drivers) left external so they come from the application.
 */
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit } from "effect"
import { cancel, remove, retry } from "./commands/control.js"
import { list } from "./commands/list.js"
import { prune } from "./commands/prune.js"
import { show } from "./commands/show.js"
import { exportRun, importRuns } from "./commands/transfer.js"
import { serving, web } from "./commands/web.js"
import { report } from "./report.js"

const root = Command.make("effect-resume").pipe(
  Command.withDescription("Inspect and manage effect-resume workflow runs"),
  Command.withSubcommands([list, show, cancel, retry, remove, prune, exportRun, importRuns, web])
)

const cli = Command.run(root, { name: "effect-resume", version: "0.1.0" })

const program = cli(process.argv).pipe(
  Effect.as(0),
  // @effect/cli has already printed what was wrong with the arguments, or the help
  Effect.catchIf(ValidationError.isValidationError, (e) => Effect.succeed(ValidationError.isHelpRequested(e) ? 0 : 2)),
  Effect.catchAllCause((cause) => Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : report(cause)),
  Effect.provide(NodeContext.layer)
)

// Ctrl-C (or SIGTERM) interrupts the program: the normal end of `web` (exit 0), else 130 as a shell's
const exitCode = (exit: Exit.Exit<number, unknown>): number =>
  Exit.isSuccess(exit) ? exit.value : Cause.isInterruptedOnly(exit.cause) ? (serving.started ? 0 : 130) : 1

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  teardown: (exit, onExit) => onExit(exitCode(exit as Exit.Exit<number, unknown>))
})
