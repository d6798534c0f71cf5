export * as StoreContract from "../testing/StoreContract.js"
