// Docs section "Creating Custom Adapters": the Redis example, used directly and as a full store.
import { Redis } from "ioredis"
import * as net from "node:net"
import { fromAdapter, type SnapshotStore } from "effect-resume/persistence"
import { createWorkflow, toResumeState } from "effect-resume/workflow"
import { afterAll, describe, expect, it } from "vitest"
import { makeDeps, myWorkflowFn } from "./deps.js"

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
const reachable = await new Promise<boolean>((resolve) => {
  const { hostname, port } = new URL(redisUrl)
  const socket = net.connect({ host: hostname, port: Number(port || 6379), timeout: 1000 })
  socket.once("connect", () => (socket.destroy(), resolve(true)))
  socket.once("error", () => resolve(false))
  socket.once("timeout", () => (socket.destroy(), resolve(false)))
})
const skip = reachable ? undefined : `Redis is not reachable at ${redisUrl}`
const namespace = `effect-resume-docs:${process.pid}:${Date.now()}:`

describe("Creating Custom Adapters (Redis)", () => {
  const redis = reachable ? new Redis(redisUrl) : undefined
  afterAll(async () => {
    if (redis) {
      const keys = await redis.keys(`${namespace}*`)
      if (keys.length > 0) await redis.del(...keys)
      await redis.quit()
    }
  })

  // The docs' example, with keys namespaced so test runs do not collide.
  function myStore(): SnapshotStore {
    const r = redis!
    return {
      async save(id, snapshot) {
        await r.set(namespace + id, JSON.stringify(snapshot))
        await r.zadd(`${namespace}__index`, Date.now(), id)
      },
      async load(id) {
        const data = await r.get(namespace + id)
        return data ? JSON.parse(data) : null
      },
      async delete(id) {
        await r.del(namespace + id)
        await r.zrem(`${namespace}__index`, id)
      },
      async list(options) {
        const ids = await r.zrevrange(`${namespace}__index`, 0, -1, "WITHSCORES")
        const out: Array<{ id: string; updatedAt: string }> = []
        for (let i = 0; i < ids.length; i += 2) {
          if (options?.prefix === undefined || ids[i]!.startsWith(options.prefix)) {
            out.push({ id: ids[i]!, updatedAt: new Date(Number(ids[i + 1])).toISOString() })
          }
        }
        return out.slice(0, options?.limit)
      },
      async close() {
        // the shared client is closed after the file
      }
    }
  }

  it.skipIf(skip !== undefined)(`used directly: JSON.stringify keeps the state, toResumeState restores it${skip ? ` (skipped: ${skip})` : ""}`, async () => {
    const store = myStore()
    const { calls, deps } = makeDeps()
    const workflow = createWorkflow("workflow", deps)
    const { resumeState } = await workflow.runWithState(myWorkflowFn)
    await store.save("wf-123", resumeState)
    const loaded = toResumeState(await store.load("wf-123"))
    expect(loaded).toEqual(resumeState)
    await workflow.run(myWorkflowFn, { resumeState: loaded })
    expect(calls).toEqual({ fetchUser: 1, fetchPosts: 1 })
    expect((await store.list({ prefix: "wf-" })).map((e) => e.id)).toEqual(["wf-123"])
  })

  it.skipIf(skip !== undefined)(`wrapped with fromAdapter: gains loadResumeState and typed errors${skip ? ` (skipped: ${skip})` : ""}`, async () => {
    const store = fromAdapter(myStore())
    const { calls, deps } = makeDeps()
    const workflow = createWorkflow("workflow", deps)
    await store.save("wf-456", (await workflow.runWithState(myWorkflowFn)).resumeState)
    const loaded = await store.loadResumeState("wf-456")
    await workflow.run(myWorkflowFn, { resumeState: loaded! })
    expect(calls).toEqual({ fetchUser: 1, fetchPosts: 1 })
    await store.close()

    const failing = fromAdapter({ ...myStore(), load: async () => { throw new Error("redis down") } })
    const error = await failing.load("x").then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(Error)
    expect(error).toMatchObject({ _tag: "StoreError", reason: "Adapter" })
    expect((error as Error).message).toContain("redis down")
    await failing.close()
  })
})
