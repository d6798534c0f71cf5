import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Console, Effect } from "effect"
import * as Inspector from "../../web/Inspector.js"
import { CliFailure } from "../failure.js"
import { orUndefined, store } from "../options.js"
import { messageOf, withStore } from "../storeLayer.js"

const options = {
  store,
  port: Options.integer("port").pipe(Options.withDescription("Port to listen on (0: any free port)"), Options.withDefault(4173)),
  host: Options.text("host").pipe(Options.withDescription("Interface to listen on"), Options.withDefault("127.0.0.1")),
  allowWrites: Options.boolean("allow-writes").pipe(Options.withDescription("Serve cancel and retry from the page"))
}

// serves until interrupted (Ctrl-C): the server and the store close with the scope
export const web = Command.make("web", options, (o) =>
  withStore(
    orUndefined(o.store),
    Effect.gen(function*() {
      const address = yield* Inspector.serve({ host: o.host, port: o.port, allowWrites: o.allowWrites }).pipe(
        Effect.mapError((error) => new CliFailure({ message: `Cannot listen on ${o.host}:${o.port}: ${messageOf(error.cause ?? error)}`, exitCode: 1 }))
      )
      yield* Console.log(`effect-resume inspector on ${Inspector.urlOf(address)}${o.allowWrites ? " (writes allowed)" : ""} — Ctrl-C to stop`)
      return yield* Effect.never
    }).pipe(Effect.scoped)
  )).pipe(Command.withDescription("Serve the web inspector"))
