import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // a real PostgreSQL for the Postgres store: EFFECT_RESUME_PG_URL, or an embedded one
    globalSetup: ["test/setup/postgres.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
