/**
 * A custom store over Redis (ioredis): the reference's five-method adapter, turned into a Layer with
 * `SnapshotStore.layer`. Run it with `tsx examples/redis-store.ts` (REDIS_URL, default redis://127.0.0.1:6379).
 *
 * Keys, all under one `namespace` (so several apps, or test runs, share a Redis without meeting):
 *   <ns>:data     hash     id -> JSON.stringify(state)
 *   <ns>:updated  hash     id -> updatedAt (ISO-8601)
 *   <ns>:order    zset     id scored by <ns>:seq, so newest first is ZREVRANGE
 *   <ns>:seq      counter  INCR'd on every save
 * Hash fields and zset members are binary-safe, so ids are stored literally (unicode, quotes, `%`, `_`, `\`).
 * The store-wide `prefix` is not the adapter's business: `SnapshotStore.make` adds it to every id.
 */
import { Effect, type Layer } from "effect"
import { Redis } from "ioredis"
import { pathToFileURL } from "node:url"
import * as ResumeState from "../src/ResumeState.js"
import * as SnapshotStore from "../src/SnapshotStore.js"

export interface RedisStoreOptions {
  /** Default `redis://127.0.0.1:6379`. */
  readonly url?: string | undefined
  /** Key namespace. Default `effect-resume`. */
  readonly namespace?: string | undefined
  /** Store-wide id prefix, applied by `SnapshotStore.make`: ids are saved as `prefix + id`. */
  readonly prefix?: string | undefined
}

// list walks the newest-first order in pages, filtering by prefix, until it has `limit` ids
const page = 500

/** ioredis' MULTI reports each command's error in its result instead of rejecting. */
const checked = async (results: Promise<Array<[error: Error | null, result: unknown]> | null>): Promise<void> => {
  const replies = await results
  if (replies === null) throw new Error("Redis transaction was aborted")
  const failed = replies.find(([error]) => error !== null)
  if (failed !== undefined) throw failed[0]
}

export const makeAdapter = (options: RedisStoreOptions = {}): SnapshotStore.Adapter => {
  // fail commands instead of queueing them forever while Redis is down
  const redis = new Redis(options.url ?? "redis://127.0.0.1:6379", { maxRetriesPerRequest: 1 })
  // connection errors reach the caller through the failing commands; this only stops ioredis' "unhandled error" log
  redis.on("error", () => {})
  const ns = options.namespace ?? "effect-resume"
  const data = `${ns}:data`
  const updated = `${ns}:updated`
  const order = `${ns}:order`
  const seq = `${ns}:seq`

  return {
    save: async (id, state) => {
      const n = await redis.incr(seq)
      await checked(
        redis.multi()
          .hset(data, id, JSON.stringify(state)) // a ResumeState serializes itself: nothing is lost
          .hset(updated, id, new Date().toISOString())
          .zadd(order, n, id)
          .exec()
      )
    },
    load: async (id) => {
      const json = await redis.hget(data, id)
      return json === null ? null : JSON.parse(json)
    },
    delete: async (id) => {
      await checked(redis.multi().hdel(data, id).hdel(updated, id).zrem(order, id).exec())
    },
    list: async ({ limit, prefix = "" }) => {
      const ids: Array<string> = []
      const wanted = limit ?? Infinity
      for (let start = 0; ids.length < wanted; start += page) {
        const batch = await redis.zrevrange(order, start, start + page - 1)
        // startsWith, not a glob or pattern: the prefix is literal
        for (const id of batch) if (id.startsWith(prefix) && ids.length < wanted) ids.push(id)
        if (batch.length < page) break
      }
      if (ids.length === 0) return []
      const dates = await redis.hmget(updated, ...ids)
      // an id deleted between the two reads has no date any more: skip it
      return ids.flatMap((id, i) => {
        const updatedAt = dates[i]
        return updatedAt == null ? [] : [{ id, updatedAt }]
      })
    },
    close: async () => {
      try {
        await redis.quit()
      } catch {
        redis.disconnect() // never connected, or already gone
      }
    }
  }
}

/** The store as a Layer: a fresh connection when the layer is built, `quit` when its scope closes. */
export const layer = (options: RedisStoreOptions = {}): Layer.Layer<SnapshotStore.SnapshotStore> =>
  SnapshotStore.layer(() => makeAdapter(options), options.prefix === undefined ? {} : { prefix: options.prefix })

// `tsx examples/redis-store.ts`: save, list, load back, clean up
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const program = Effect.gen(function*() {
    const state = ResumeState.make([["user:1", { result: { ok: true, value: { name: "Ada" } }, stepId: "user:1" }]])
    yield* SnapshotStore.save("onboarding-42", state)
    console.log("listed:", yield* SnapshotStore.list())
    console.log("loaded:", yield* SnapshotStore.loadResumeState("onboarding-42"))
    yield* SnapshotStore.delete("onboarding-42")
  })
  const options = { url: process.env["REDIS_URL"], namespace: `effect-resume-example-${process.pid}`, prefix: "tenant-a:" }
  Effect.runPromise(Effect.provide(program, layer(options))).catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
}
