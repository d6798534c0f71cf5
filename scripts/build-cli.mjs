// Bundles the CLI (src/cli/main.ts) into one file, dist/cli.js by default (`node scripts/build-cli.mjs [outfile]`).
// @effect/cli, @effect/printer* and @effect/platform-node are inlined, so installing the library brings no
// CLI framework; the library's peers stay external and load from the application, drivers only when used.
import * as esbuild from "esbuild"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const outfile = path.resolve(process.argv[2] ?? path.join(root, "dist/cli.js"))
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"))

const external = [
  ...Object.keys(pkg.peerDependencies ?? {}),
  "@effect/sql-*",
  "@libsql/*",
  "better-sqlite3",
  "pg",
  "mongodb"
]

const result = await esbuild.build({
  entryPoints: [path.join(root, "src/cli/main.ts")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // the library's own imports resolve to src/, as in its tests
  conditions: ["effect-resume-source"],
  external,
  treeShaking: true,
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
  // bundled CommonJS modules call require(): give the ES module one
  banner: { js: "import { createRequire as __createRequire } from \"node:module\"\nconst require = __createRequire(import.meta.url)" }
})
fs.chmodSync(outfile, 0o755)
const bytes = fs.statSync(outfile).size
const inputs = Object.keys(result.metafile.inputs)
const leaked = inputs.filter((input) => /node_modules\/(effect|@effect\/(platform|sql|cluster|rpc|experimental))\//.test(input))
if (leaked.length > 0) {
  console.error(`build-cli: the bundle inlines modules it must not:\n  ${leaked.slice(0, 10).join("\n  ")}`)
  process.exit(1)
}
console.log(`build-cli: ${path.relative(process.cwd(), outfile)} ${(bytes / 1024).toFixed(0)} kB`)
