/**
 * For .ci/tarball-check on a machine without a PostgreSQL server: starts one with the test suite's
 * own helper, prints its admin url as the first line of stdout, and keeps it until SIGTERM/SIGINT,
 * then stops it and removes its data directory.
 * Run from the repository root: node --import tsx .ci/embedded-pg.ts
 */
import { startEmbedded } from "../test/setup/postgres.ts"

const server = await startEmbedded()
process.stdout.write(`${server.url}\n`)

let stopping = false
const stop = () => {
  if (stopping) return
  stopping = true
  server.destroy().then(() => process.exit(0), (error: unknown) => {
    console.error("embedded postgres: stop failed:", error)
    process.exit(1)
  })
}
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
// keeps the process alive until a signal arrives
setInterval(() => {}, 1 << 30)
