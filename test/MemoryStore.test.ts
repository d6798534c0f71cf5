import * as MemoryStore from "../src/layers/MemoryStore.js"
import { StoreContract } from "effect-resume/testing"

const data = MemoryStore.makeData()
StoreContract.suite("MemoryStore", (options) => MemoryStore.layer({ ...options, data }))
