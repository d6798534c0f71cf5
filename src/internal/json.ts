import type { JsonValue, LossyReason } from "../Snapshot.js"
import { formatPath } from "./issues.js"

export interface LossyIssue {
  readonly path: string
  readonly reason: LossyReason
}

export interface JsonCopy {
  readonly json: JsonValue
  /** Empty (and shared) when the value was plain JSON: the common case allocates nothing more. */
  readonly issues: ReadonlyArray<LossyIssue>
  /** Set when the value nests deeper than `maxDepth`: the deeper part is cut to `null`. */
  readonly tooDeep?: true
}

/** `obj[key] = value`, except that a "__proto__" key becomes an ordinary property instead of the prototype. */
export const setOwn = <V>(obj: Record<string, V>, key: string, value: V): void => {
  if (key === "__proto__") Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
  else obj[key] = value
}

/**
 * How deep arrays and objects may nest in one stored JSON value (a step's value or error, a metadata
 * entry), and how long a failure's cause chain may be: 1000 levels. `[]` is one level, `[[]]` two.
 * Deeper data is refused when validated (a stored row that deep loads as a `Decode` error): walking it
 * would overflow the stack.
 */
export const maxDepth = 1000

// Without recursion: whether arrays and objects nest more than `limit` levels anywhere in `u`
export const deeperThan = (u: unknown, limit: number): boolean => {
  const stack: Array<readonly [unknown, number]> = [[u, 0]]
  const seen = new Set<object>()
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (typeof v !== "object" || v === null || seen.has(v)) continue
    if (depth >= limit) return true
    seen.add(v)
    for (const key of Object.keys(v)) stack.push([(v as Record<string, unknown>)[key], depth + 1])
  }
  return false
}

const noIssues: ReadonlyArray<LossyIssue> = []

const isPlainScalar = (v: unknown): boolean =>
  typeof v === "string" || typeof v === "boolean" || v === null || (typeof v === "number" && Number.isFinite(v))

/**
 * The copy of a scalar, or of a plain object or array holding scalars only (most step values), made
 * without the general walk's bookkeeping (a path, a cycle set, closures); undefined for anything else,
 * which the general walk copies. (So a getter on a plain object that turns out not to be flat is read
 * twice, once here and once by the walk: the copy is still what the walk saw.)
 */
const flatCopy = (value: unknown): JsonValue | undefined => {
  if (typeof value !== "object" || value === null) return isPlainScalar(value) ? value as JsonValue : undefined
  try {
    if (typeof (value as { toJSON?: unknown }).toJSON === "function") return undefined
    if (Array.isArray(value)) {
      const out = new Array<JsonValue>(value.length)
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i]
        if (!isPlainScalar(item)) return undefined
        out[i] = item as JsonValue
      }
      return out
    }
    if (Object.getPrototypeOf(value) !== Object.prototype) return undefined
    const out: Record<string, JsonValue> = {}
    for (const key of Object.keys(value)) {
      const item: unknown = (value as Record<string, unknown>)[key]
      if (!isPlainScalar(item)) return undefined
      setOwn(out, key, item as JsonValue)
    }
    return out
  } catch {
    // a getter (or a proxy's trap) that threw: the general walk reports it
    return undefined
  }
}

/**
 * Copies a value into plain JSON in one pass, the way `JSON.stringify` would see it, and records every
 * place where that copy is not faithful: `non-json` (Date, Map, class instances, BigInt, undefined, NaN,
 * functions), `circular` (a cycle, cut to `null`) or `encode-failed` (a `toJSON` or getter that threw).
 * The copy detaches the recorded value from the caller's object, so later mutation cannot change history.
 */
export const toJson = (value: unknown): JsonCopy => {
  const flat = flatCopy(value)
  return flat === undefined ? walkJson(value) : { json: flat, issues: noIssues }
}

/** `toJson`'s general walk, for any value (exported for the test that `toJson`'s shortcut copies alike). */
export const walkJson = (value: unknown): JsonCopy => {
  let issues: Array<LossyIssue> | undefined
  let depth = 0
  let tooDeep = false
  const path: Array<PropertyKey> = []
  const ancestors = new Set<object>()
  const report = (reason: LossyReason) => {
    ;(issues ??= []).push({ path: formatPath(path), reason })
  }

  const copy = (v: unknown, inArray: boolean): JsonValue | undefined => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return v
      case "number":
        if (Number.isFinite(v)) return v
        report("non-json")
        return null
      case "bigint":
        report("non-json")
        return v.toString()
      case "undefined":
      case "function":
      case "symbol":
        report("non-json")
        return inArray || path.length === 0 ? null : undefined
      case "object":
        break
    }
    if (v === null) return null
    const obj = v as object
    if (ancestors.has(obj)) {
      report("circular")
      return null
    }
    if (typeof (obj as { toJSON?: unknown }).toJSON === "function") {
      let replaced: unknown
      try {
        replaced = (obj as { toJSON: () => unknown }).toJSON()
      } catch {
        report("encode-failed")
        return null
      }
      report("non-json")
      ancestors.add(obj)
      const out = copy(replaced, inArray)
      ancestors.delete(obj)
      return out
    }
    // the same bound validation applies: deeper data could not be loaded back (nor walked without
    // overflowing the stack, here or in JSON.stringify)
    if (depth >= maxDepth) {
      tooDeep = true
      report("encode-failed")
      return null
    }
    ancestors.add(obj)
    depth++
    try {
      if (Array.isArray(obj)) {
        const out = new Array<JsonValue>(obj.length)
        for (let i = 0; i < obj.length; i++) {
          path.push(i)
          out[i] = copy(obj[i], true) ?? null
          path.pop()
        }
        return out
      }
      const proto = Object.getPrototypeOf(obj)
      if (proto !== Object.prototype && proto !== null) report("non-json")
      const out: Record<string, JsonValue> = {}
      if (obj instanceof Error) {
        // name and message are not enumerable, yet they are what a reader of the snapshot needs
        out.name = obj.name
        out.message = obj.message
      }
      for (const key of Object.keys(obj)) {
        path.push(key)
        let item: unknown
        try {
          item = (obj as Record<string, unknown>)[key]
        } catch {
          report("encode-failed")
          path.pop()
          continue
        }
        const json = copy(item, false)
        if (json === undefined) {
          // dropped, as JSON.stringify drops it
        } else {
          setOwn(out, key, json)
        }
        path.pop()
      }
      return out
    } finally {
      depth--
      ancestors.delete(obj)
    }
  }

  const json = copy(value, false) ?? null
  return tooDeep ? { json, issues: issues ?? noIssues, tooDeep } : { json, issues: issues ?? noIssues }
}
