export * as MongoStore from "../layers/MongoStore.js"
