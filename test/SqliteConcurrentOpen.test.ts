import { describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as readline from "node:readline"

// Issue #14 §4: several processes starting on one new SQLite file must all succeed (they used to
// fail with "no such table" or "database is locked" when they raced to create and migrate it).

const fixture = path.join(import.meta.dirname, "fixtures", "sqlite-open.ts")

interface Worker {
  readonly child: ChildProcess
  readonly next: () => Promise<string>
}

const worker = (id: string): Worker => {
  const child = spawn(process.execPath, ["--conditions=effect-resume-source", "--import", "tsx", fixture, id], {
    stdio: ["pipe", "pipe", "inherit"]
  })
  const lines: Array<string> = []
  const waiting: Array<(line: string) => void> = []
  readline.createInterface({ input: child.stdout! }).on("line", (line) => {
    const resolve = waiting.shift()
    if (resolve) resolve(line)
    else lines.push(line)
  })
  child.on("close", (code) => {
    for (const resolve of waiting.splice(0)) resolve(`fail: worker exited with ${code}`)
  })
  return {
    child,
    next: () => lines.length > 0 ? Promise.resolve(lines.shift()!) : new Promise((resolve) => waiting.push(resolve))
  }
}

describe("SqliteStore: concurrent first opens", () => {
  it("4 processes opening one new file at once all succeed, 10 times over", { timeout: 60_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-resume-sqlite-race-"))
    const workers = Array.from({ length: 4 }, (_, i) => worker(`p${i}`))
    try {
      const failures: Array<string> = []
      for (let round = 0; round < 10; round++) {
        const filename = path.join(dir, `race-${round}.db`)
        // every worker gets the file at once, then each reports
        for (const w of workers) w.child.stdin!.write(`${filename}\n`)
        const answers = await Promise.all(workers.map((w) => w.next()))
        for (const answer of answers) if (answer !== "ok") failures.push(`round ${round}: ${answer}`)
      }
      expect(failures).toEqual([])
    } finally {
      for (const w of workers) w.child.kill()
    }
  })
})
