import { afterAll, describe } from "@effect/vitest"
import { Redis } from "ioredis"
import * as net from "node:net"
import * as RedisStore from "../examples/redis-store.js"
import { StoreContract } from "effect-resume/testing"

const url = process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379"

/** Whether something accepts TCP connections at the url's host and port, within `timeoutMs`. */
const reachable = (target: string, timeoutMs: number): Promise<boolean> => {
  const parsed = new URL(target)
  return new Promise((resolve) => {
    const socket = net.connect({ host: parsed.hostname || "127.0.0.1", port: Number(parsed.port || 6379) })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
  })
}

const up = await reachable(url, 1_000)
// a key namespace per run, so concurrent runs (and leftovers) never meet; deleted afterwards
const namespace = `effect-resume-test:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`

describe.skipIf(!up)(up ? "Redis example store" : `Redis example store (skipped: no Redis reachable at ${url})`, () => {
  StoreContract.suite("Redis example", (options) => RedisStore.layer({ url, namespace, ...options }))

  afterAll(async () => {
    const redis = new Redis(url)
    try {
      await redis.del(...["data", "updated", "order", "seq"].map((key) => `${namespace}:${key}`))
    } finally {
      await redis.quit()
    }
  })
})
