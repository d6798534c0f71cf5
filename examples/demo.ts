/**
 * `npm run demo`: runs the onboarding workflow in a child process that crashes part-way, then runs it
 * again in a fresh process, which resumes from the SQLite file: completed steps are replayed, not re-run.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const filename = process.env.DEMO_DB ?? path.resolve("workflow.db")
for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(filename + suffix, { force: true })

const runChild = (crashAt: string | undefined) => {
  const child = spawnSync(process.execPath, ["--import", "tsx", path.join(here, "onboarding.ts")], {
    env: { ...process.env, DEMO_DB: filename, ...(crashAt === undefined ? {} : { CRASH_AT: crashAt }) },
    stdio: "inherit"
  })
  return child.status
}

console.log(`Run 1 (pid will die in sendWelcomeEmail), store: ${filename}`)
const first = runChild("sendWelcomeEmail")
console.log(`Run 1 exited with code ${first}\n`)

console.log("Run 2, a new process resuming from the same file")
const second = runChild(undefined)
console.log(`Run 2 exited with code ${second}`)
process.exit(first === 3 && second === 0 ? 0 : 1)
