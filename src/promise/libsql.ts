/** `effect-resume/libsql`: the reference's `libsql('file:…' | { url, authToken })` store, over `LibsqlStore`. */
import * as LibsqlStore from "../layers/LibsqlStore.js"
import { fromLayer, type ResumableStore } from "./store.js"

export type { LoadedSnapshot, LoadedState, ResumableStore, SnapshotStore, StepLookup } from "./store.js"
export { StoreError } from "../SnapshotStore.js"

export type LibsqlOptions = LibsqlStore.LibsqlStoreOptions

/** No connection is opened before the first call; `close()` closes the client. */
export const libsql = (options: string | LibsqlOptions): ResumableStore =>
  fromLayer(LibsqlStore.layer(typeof options === "string" ? { url: options } : options))

export default libsql
