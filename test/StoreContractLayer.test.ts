// The contract's public form, `StoreContract.suite(name, layer)`: a plain Layer runs every case but
// the store-prefix one, which needs two views of one store and is reported skipped.
import { StoreContract } from "effect-resume/testing"
import * as MemoryStore from "../src/layers/MemoryStore.js"

StoreContract.suite("MemoryStore as a plain Layer", MemoryStore.layer())
