export * as Arbitraries from "../testing/Arbitraries.js"
export * as StoreContract from "../testing/StoreContract.js"
