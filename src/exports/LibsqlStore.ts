export * as LibsqlStore from "../layers/LibsqlStore.js"
