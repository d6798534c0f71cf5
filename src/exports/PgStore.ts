export * as PgStore from "../layers/PgStore.js"
