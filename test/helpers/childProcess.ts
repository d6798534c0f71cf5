/**
 * Child processes for the tests that run the library across real processes (DurableProcesses,
 * WorkerChaos).
 *
 * A child under `--import tsx` costs about 2.4 s of CPU to start (tsx's loader hooks on every module
 * of effect), which on a 2-CPU machine makes tests that start dozens of children last minutes; so a
 * fixture is bundled once (esbuild, which tsx runs per file) with its dependencies, and a child starts
 * in about 0.25 s of CPU. EFFECT_RESUME_CHILD_TSX=1 runs the fixture through tsx instead.
 */
import { build } from "esbuild"
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..", "..")

/**
 * The arguments of `node` that run `fixture` (a .ts file): a bundle of it written into `dir`, or
 * (EFFECT_RESUME_CHILD_TSX=1) the file itself under tsx.
 */
export const fixtureArgs = async (fixture: string, dir: string): Promise<ReadonlyArray<string>> => {
  if (process.env.EFFECT_RESUME_CHILD_TSX === "1") return ["--import", "tsx", fixture]
  // The bundle sits next to a link to this package's node_modules: the drivers it leaves out
  // (native better-sqlite3; node-pg, which PgStore requires at run time) resolve from there.
  const modules = path.join(dir, "node_modules")
  if (!fs.existsSync(modules)) fs.symlinkSync(path.join(root, "node_modules"), modules, "dir")
  const outfile = path.join(dir, `${path.basename(fixture, path.extname(fixture))}.mjs`)
  await build({
    entryPoints: [fixture],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["better-sqlite3", "pg-native"],
    // bundled CommonJS modules require Node's builtins
    banner: { js: "import { createRequire as __createRequire } from \"node:module\"; const require = __createRequire(import.meta.url);" },
    logLevel: "error"
  })
  return [outfile]
}
