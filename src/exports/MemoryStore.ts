export * as MemoryStore from "../layers/MemoryStore.js"
