/** `effect-resume/postgres`: the reference's `postgres(url | options)` store, over `PgStore`. */
import * as PgStore from "../layers/PgStore.js"
import { fromLayer, type ResumableStore } from "./store.js"

export type { LoadedSnapshot, LoadedState, ResumableStore, SnapshotStore, StepLookup } from "./store.js"
export { StoreError } from "../SnapshotStore.js"

export type PostgresOptions = PgStore.PgStoreOptions

/** No connection is opened before the first call; `close()` ends the pool. */
export const postgres = (options: string | PostgresOptions): ResumableStore =>
  fromLayer(PgStore.layer(typeof options === "string" ? { url: options } : options))

export default postgres
