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
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
