import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Console, Effect, type Option } from "effect"
import * as Inspector from "../../web/Inspector.js"
import { CliFailure, usage } from "../failure.js"
import { orUndefined, store } from "../options.js"
import { messageOf, withStore } from "../storeLayer.js"

const options = {
  store,
  port: Options.integer("port").pipe(Options.withDescription("Port to listen on (0: any free port)"), Options.withDefault(4173)),
  host: Options.text("host").pipe(Options.withDescription("Interface to listen on"), Options.withDefault("127.0.0.1")),
  allowWrites: Options.boolean("allow-writes").pipe(Options.withDescription("Serve cancel and retry from the page"))
}

/** Set once the inspector serves: Ctrl-C is then its normal end (exit 0), not an interrupted command. */
export const serving = { started: false }

// serves until interrupted (Ctrl-C): the server and the store close with the scope
export const web = Command.make("web", options, (o) =>
  Effect.gen(function*() {
    if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) return yield* Effect.fail(usage(`--port ${o.port}: expected 0 to 65535`))
    return yield* webOn(o)
  })).pipe(Command.withDescription("Serve the web inspector"))

const webOn = (o: { readonly store: Option.Option<string>; readonly port: number; readonly host: string; readonly allowWrites: boolean }) =>
  withStore(
    orUndefined(o.store),
    Effect.gen(function*() {
      const address = yield* Inspector.serve({ host: o.host, port: o.port, allowWrites: o.allowWrites }).pipe(
        Effect.mapError((error) => new CliFailure({ message: `Cannot listen on ${o.host}:${o.port}: ${messageOf(error.cause ?? error)}`, exitCode: 1 }))
      )
      serving.started = true
      yield* Console.log(`effect-resume inspector on ${Inspector.urlOf(address)}${o.allowWrites ? " (writes allowed)" : ""} — Ctrl-C to stop`)
      if (!Inspector.isLoopback(o.host)) {
        yield* Console.error(
          `effect-resume: warning: the inspector has no authentication; whoever reaches ${Inspector.urlOf(address)} sees every run's data` +
            (o.allowWrites ? " and can cancel and retry runs" : "")
        )
      }
      return yield* Effect.never
    }).pipe(Effect.scoped)
  )
