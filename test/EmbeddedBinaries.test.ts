// The helpers that let the embedded PostgreSQL run when, as root, its `postgres` user cannot reach
// node_modules (issue #12: a checkout under a 0700 directory).
import { execFileSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import {
  cachedCopy,
  cannotRun,
  copyTree,
  explainBlocked,
  type Ids,
  pathChain,
  type PathEntry,
  searchBlocker
} from "./setup/embeddedBinaries.js"

const scratch: Array<string> = []
const tempDir = async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "effect-resume-binaries-test-"))
  scratch.push(dir)
  return dir
}
afterAll(() => Promise.all(scratch.map((dir) => fs.rm(dir, { recursive: true, force: true }))))

const entry = (p: string, mode: number, uid = 0, gid = 0): PathEntry => ({ path: p, mode, uid, gid })

describe("searchBlocker", () => {
  const pg: Ids = { uid: 101, gid: 104 }

  it("names the first directory without search permission for the user", () => {
    const chain = [entry("/", 0o755), entry("/tmp", 0o1777), entry("/tmp/locked", 0o700), entry("/tmp/locked/repo", 0o700)]
    expect(searchBlocker(chain, pg)?.path).toBe("/tmp/locked")
    expect(searchBlocker([entry("/", 0o755), entry("/tmp", 0o1777), entry("/tmp/bin", 0o755)], pg)).toBeUndefined()
  })

  it("checks only the class of bits that applies: owner, else group, else others", () => {
    // the owner is held to the owner's bits even when others may pass
    expect(searchBlocker([entry("/d", 0o071, 101, 0)], pg)?.path).toBe("/d")
    expect(searchBlocker([entry("/d", 0o100, 101, 0)], pg)).toBeUndefined()
    expect(searchBlocker([entry("/d", 0o701, 0, 104)], pg)?.path).toBe("/d")
    expect(searchBlocker([entry("/d", 0o710, 0, 104)], pg)).toBeUndefined()
    expect(searchBlocker([entry("/d", 0o770, 0, 0)], pg)?.path).toBe("/d")
  })

  it("lets root pass everywhere", () => {
    expect(searchBlocker([entry("/d", 0o000, 5, 5)], { uid: 0, gid: 0 })).toBeUndefined()
  })
})

describe("pathChain", () => {
  it("lists every directory from / down to the target, symlinks resolved", async () => {
    const dir = await tempDir()
    await fs.mkdir(path.join(dir, "a"))
    await fs.writeFile(path.join(dir, "a", "f"), "")
    await fs.symlink(path.join(dir, "a"), path.join(dir, "link"))
    const chain = await pathChain(path.join(dir, "link", "f"))
    const real = await fs.realpath(path.join(dir, "a", "f"))
    expect(chain[0]?.path).toBe("/")
    expect(chain.at(-1)?.path).toBe(real)
    expect(chain.at(-2)?.path).toBe(path.dirname(real))
    expect(chain.at(-3)).toMatchObject({ path: path.dirname(path.dirname(real)), mode: 0o700 }) // mkdtemp's
    expect(chain.map((e) => e.path)).toContain(os.tmpdir())
  })
})

describe("copyTree and cachedCopy", () => {
  const source = async () => {
    const dir = await tempDir()
    const src = path.join(dir, "native")
    await fs.mkdir(path.join(src, "bin"), { recursive: true })
    await fs.mkdir(path.join(src, "lib"))
    await fs.writeFile(path.join(src, "bin", "tool"), "#!/bin/sh\necho ok\n", { mode: 0o700 })
    await fs.writeFile(path.join(src, "lib", "libx.so.1.2"), "lib", { mode: 0o600 })
    await fs.symlink("libx.so.1.2", path.join(src, "lib", "libx.so.1"))
    await fs.chmod(path.join(src, "lib"), 0o700)
    return { dir, src }
  }
  const modeOf = async (p: string) => (await fs.stat(p)).mode & 0o777

  it("copies readable by everyone, executables runnable by everyone, relative symlinks kept", async () => {
    const { dir, src } = await source()
    const to = path.join(dir, "copy")
    await copyTree(src, to)
    expect(await modeOf(path.join(to, "lib"))).toBe(0o755)
    expect(await modeOf(path.join(to, "bin", "tool"))).toBe(0o755)
    expect(await modeOf(path.join(to, "lib", "libx.so.1.2"))).toBe(0o644)
    expect(await fs.readlink(path.join(to, "lib", "libx.so.1"))).toBe("libx.so.1.2")
    expect(await fs.readFile(path.join(to, "lib", "libx.so.1"), "utf8")).toBe("lib")
  })

  it("copies once, leaves no partial copy behind, and reuses it later", async () => {
    const { dir, src } = await source()
    const target = path.join(dir, "cache")
    expect(await cachedCopy(src, target)).toBe(true)
    const made = (await fs.stat(path.join(target, "bin", "tool"))).mtimeMs
    expect(await cachedCopy(src, target)).toBe(false)
    expect((await fs.stat(path.join(target, "bin", "tool"))).mtimeMs).toBe(made)
    expect((await fs.readdir(dir)).filter((name) => name.includes(".partial-"))).toEqual([])
  })

  it("refuses a target it did not make (here a symlink: the copy's binaries are run)", async () => {
    const { dir, src } = await source()
    const target = path.join(dir, "cache")
    await fs.symlink(src, target)
    await expect(cachedCopy(src, target)).rejects.toThrow(/is not a directory of this user's.*remove it/)
    expect((await fs.readdir(dir)).filter((name) => name.includes(".partial-"))).toEqual([])
  })
})

const postgresIds = ((): Ids | undefined => {
  if (process.getuid?.() !== 0) return undefined
  try {
    const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim())
    return { uid: id("-u"), gid: id("-g") }
  } catch {
    return undefined
  }
})()

// the real thing, small: as root, a program under a mkdtemp (0700) dir cannot run as `postgres`; its copy can
describe.skipIf(postgresIds === undefined)("as root, with a postgres user", () => {
  it("a blocked program is reported with the blocking directory, and its cached copy runs", async () => {
    const ids = postgresIds!
    const locked = await tempDir()
    const tool = path.join(locked, "bin", "tool")
    await fs.mkdir(path.dirname(tool), { mode: 0o755 })
    await fs.writeFile(tool, "#!/bin/sh\necho ok\n", { mode: 0o755 })

    expect(await cannotRun(tool, undefined)).toBeUndefined()
    expect(await cannotRun(tool, ids)).toMatch(/EACCES/)
    const real = await fs.realpath(locked)
    expect(await explainBlocked(tool, ids)).toBe(
      `${real} (mode 0700, owner uid 0) does not let it pass (\`chmod o+x ${real}\` would)`
    )

    const open = await fs.mkdtemp(path.join(os.tmpdir(), "effect-resume-binaries-test-"))
    scratch.push(open)
    await fs.chmod(open, 0o755)
    const cache = path.join(open, "cache")
    expect(await cachedCopy(locked, cache)).toBe(true)
    expect(await cannotRun(path.join(cache, "bin", "tool"), ids)).toBeUndefined()
    expect(await explainBlocked(path.join(cache, "bin", "tool"), ids)).toBe("")
  })
})
