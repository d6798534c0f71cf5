export * as SqlStore from "../layers/SqlStore.js"
