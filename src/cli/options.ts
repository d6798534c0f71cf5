import * as Options from "@effect/cli/Options"
import { Option } from "effect"

/** Every command takes `--store`: options after the subcommand are where people type them. */
export const store = Options.text("store").pipe(
  Options.withDescription("sqlite:<file> (default sqlite:./workflow.db), postgres://…, libsql:…, file:<file> or mongodb://…; DATABASE_URL when absent"),
  Options.optional
)

export const json = Options.boolean("json").pipe(Options.withDescription("Print JSON instead of a table"))

export const orUndefined = <A>(option: Option.Option<A>): A | undefined => Option.getOrUndefined(option)
