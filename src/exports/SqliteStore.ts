export * as SqliteStore from "../layers/SqliteStore.js"
