/** `effect-resume/mongo`: the reference's `mongo(url | { url, database, collection, prefix })` store, over `MongoStore`. */
import * as MongoStore from "../layers/MongoStore.js"
import { fromLayer, type ResumableStore } from "./store.js"

export type { LoadedSnapshot, LoadedState, ResumableStore, SnapshotStore, StepLookup } from "./store.js"
export { StoreError } from "../SnapshotStore.js"

export type MongoOptions = MongoStore.MongoStoreOptions

/** No connection is opened before the first call; `close()` closes the client. */
export const mongo = (options: string | MongoOptions): ResumableStore =>
  fromLayer(MongoStore.layer(typeof options === "string" ? { url: options } : options))

export default mongo
