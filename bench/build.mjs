/**
 * `npm run bench` runs the benchmarks as compiled JavaScript, as an application runs the published
 * package, not under tsx: tsx compiles every TypeScript file with esbuild's `keepNames`, which wraps
 * each function and class the library creates in a `__name(...)` call (an Object.defineProperty per
 * closure). Measured on this machine, that made the Effect API's steps about twice as slow as the
 * same code compiled by tsc (`dist/`), and it would bill that to the library.
 *
 * Each bench entry is bundled next to its source as `<name>.built.mjs` (git-ignored), with the
 * library's own code compiled in and every package (effect, awaitly, the drivers) left to
 * node_modules, as an application gets them. Usage: `node bench/build.mjs [entry.ts ...]`.
 */
import { build } from "esbuild"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const entries = process.argv.length > 2
  ? process.argv.slice(2)
  // (codec.ts is not bundled: it loads src/ twice through a module hook, under tsx)
  : ["run.ts", "durable.ts", "durable-restart-child.ts", "floors.ts", "throughput.ts", "workers.ts", "telemetry.ts"]
    .filter((entry) => fs.existsSync(path.join(here, entry)))

await Promise.all(entries.map((entry) =>
  build({
    entryPoints: [path.join(here, entry)],
    outfile: path.join(here, entry.replace(/\.ts$/, ".built.mjs")),
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    keepNames: false,
    logLevel: "error"
  })
))
console.error(`bench/build.mjs: built ${entries.length} entries`)
