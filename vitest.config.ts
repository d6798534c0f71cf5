import { availableParallelism } from "node:os"
import { defaultClientConditions, defaultServerConditions } from "vite"
import { defineConfig } from "vitest/config"

export default defineConfig({
  // "effect-resume-source": this package's own imports (effect-resume/...) resolve to src/, not the built dist/
  resolve: { conditions: ["effect-resume-source", ...defaultClientConditions] },
  ssr: { resolve: { conditions: ["effect-resume-source", ...defaultServerConditions] } },
  test: {
    include: ["test/**/*.test.ts"],
    // a real PostgreSQL for the Postgres store: EFFECT_RESUME_PG_URL, or an embedded one
    globalSetup: ["test/setup/postgres.ts"],
    // Two files at a time even on 2 CPUs (vitest's default there is one): most files wait on databases
    // and child processes, and the suite takes about 3 minutes instead of 4.5 (CI's main cost). The
    // timeouts leave room for the slower tests under that load (the CLI's spawn several processes).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 60_000,
    hookTimeout: 90_000
  }
})
