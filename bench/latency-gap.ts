/**
 * How the client's pause between statements changes a Postgres round trip on this machine (not part of
 * `npm run bench`): a raw single-row INSERT, sent again and again through node-pg with a busy wait of
 * 0, 10, 20, 50 or 100 µs before each one; per cell, the INSERT's latency (call to callback) and the time
 * per INSERT, gap included. Three rounds over the cells.
 *
 *   node bench/build.mjs latency-gap.ts && node bench/latency-gap.built.mjs
 *
 * On a virtual machine whose idle vCPUs halt, a longer pause can cost far more than itself: see the notes
 * of bench/durable-results.md.
 */
import { connectPg } from "./durable-restart-child.js"

const url = process.env["EFFECT_RESUME_PG_URL"] ?? "postgresql://postgres@127.0.0.1:5432/test"
const table = `latency_gap_${process.pid}`
const client = await connectPg(url)
await client.query(`CREATE TABLE ${table} (id bigserial PRIMARY KEY, k text NOT NULL, v json NOT NULL)`)
const insert = () => client.query({ name: "latency_gap_insert", text: `INSERT INTO ${table} (k, v) VALUES ($1, $2::json)`, values: ["k", "{\"a\":1}"] })
const percentiles = (xs: Array<number>) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return [50, 90, 99].map((p) => sorted[Math.floor((sorted.length * p) / 100)]!.toFixed(0)).join(" / ")
}
try {
  for (let round = 1; round <= 3; round++) {
    for (const gapUs of [0, 10, 20, 50, 100]) {
      const latencies: Array<number> = []
      const start = performance.now()
      for (let i = 0; i < 2000; i++) {
        const waitFrom = performance.now()
        while ((performance.now() - waitFrom) * 1000 < gapUs) {
          // the client "working" between statements, as a durable step's engine and store do
        }
        const sent = performance.now()
        await insert()
        latencies.push((performance.now() - sent) * 1000)
      }
      const perInsert = ((performance.now() - start) * 1000) / 2000
      console.log(`round ${round}, gap ${String(gapUs).padStart(3)} µs: latency p50 / p90 / p99 ${percentiles(latencies)} µs; ${perInsert.toFixed(0)} µs per INSERT`)
    }
  }
} finally {
  await client.query(`DROP TABLE ${table}`)
  await client.end()
}
