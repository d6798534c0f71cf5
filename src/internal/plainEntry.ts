/**
 * The common step entry, a recorded value (`{ result: { ok: true, value?, stepId? }, stepId? }` and
 * nothing else), recognised without the entry decoder, which costs about as much per entry as replaying
 * the step. It accepts only what the decoder accepts; anything else (or anything that throws when read)
 * is left to it. A resumed run of 10,000 steps decodes its entries through here.
 */
import { Schema } from "effect"
import * as Snapshot from "../Snapshot.js"
import { maxDepth } from "./json.js"

// For what JSON.parse made (no cycles, plain arrays and objects): recursion bounded by `limit` itself
const parsedDeeperThan = (u: unknown, limit: number): boolean => {
  if (typeof u !== "object" || u === null) return false
  if (limit <= 0) return true
  if (Array.isArray(u)) {
    for (let i = 0; i < u.length; i++) if (parsedDeeperThan(u[i], limit - 1)) return true
    return false
  }
  for (const key in u) if (parsedDeeperThan((u as Record<string, unknown>)[key], limit - 1)) return true
  return false
}

const isJsonValue = Schema.is(Snapshot.JsonValue)

// Own keys beyond these (a "__proto__", `meta`, `warnings`, ...) leave the entry to the decoder
const entryKeys = new Set(["result", "stepId"])
const okKeys = new Set(["ok", "value", "stepId"])
const onlyKeys = (o: object, allowed: ReadonlySet<string>) => Object.getOwnPropertyNames(o).every((key) => allowed.has(key))

/**
 * `parsed`: the entry came out of `JSON.parse` (a store's row), so its value is JSON by construction and
 * only its depth needs checking, which is much cheaper than the Schema check a hand-built value needs.
 */
export const isPlainOkEntry = (entry: unknown, parsed = false): boolean => {
  try {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry) || !onlyKeys(entry, entryKeys)) return false
    const { result, stepId } = entry as { readonly result?: unknown; readonly stepId?: unknown }
    if (!Object.hasOwn(entry, "result") || (Object.hasOwn(entry, "stepId") && typeof stepId !== "string")) return false
    if (typeof result !== "object" || result === null || Array.isArray(result) || !onlyKeys(result, okKeys)) return false
    const ok = result as { readonly ok?: unknown; readonly value?: unknown; readonly stepId?: unknown }
    if (!Object.hasOwn(ok, "ok") || ok.ok !== true || (Object.hasOwn(ok, "stepId") && typeof ok.stepId !== "string")) return false
    if (!Object.hasOwn(ok, "value")) return true
    const value = ok.value
    if (!parsed) return isJsonValue(value)
    return typeof value !== "object" || value === null || !parsedDeeperThan(value, maxDepth - 2)
  } catch {
    return false
  }
}
