import * as MemoryStore from "../src/layers/MemoryStore.js"
import * as StoreContract from "./StoreContract.js"

const data = MemoryStore.makeData()
StoreContract.suite("MemoryStore", (options) => MemoryStore.layer({ ...options, data }))
