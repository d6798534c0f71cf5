/** `effect-resume/sqlite`: a SQLite-file store with the reference's Promise interface (the embedded default). */
import * as SqliteStore from "../layers/SqliteStore.js"
import { fromLayer, type ResumableStore } from "./store.js"

export type { LoadedSnapshot, LoadedState, ResumableStore, SnapshotStore, StepLookup } from "./store.js"
export { StoreError } from "../SnapshotStore.js"

export type SqliteOptions = SqliteStore.SqliteStoreOptions

/** The file is opened on the first call; `close()` closes it. */
export const sqlite = (options: string | SqliteOptions): ResumableStore =>
  fromLayer(SqliteStore.layer(typeof options === "string" ? { filename: options } : options))

export default sqlite
