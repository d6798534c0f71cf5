import { FastCheck, ParseResult, Schema } from "effect"
import type { JsonValue } from "../Snapshot.js"
import { maxDepth } from "./json.js"

const tooDeep = Symbol("tooDeep")

/**
 * The path to the first part of `u` that is not plain JSON, or undefined when all of it is.
 * Plain JSON: strings, finite numbers, booleans, null, arrays, and objects whose prototype is
 * Object.prototype or null. Nesting is bounded by `maxDepth` (`tooDeep` past it), so neither a cycle
 * nor a pathologically deep value can overflow the stack.
 */
const firstNonJson = (u: unknown, depth: number): Array<PropertyKey> | typeof tooDeep | undefined => {
  switch (typeof u) {
    case "string":
    case "boolean":
      return undefined
    case "number":
      return Number.isFinite(u) ? undefined : []
    case "object": {
      if (u === null) return undefined
      if (depth >= maxDepth) return tooDeep
      if (Array.isArray(u)) {
        for (let i = 0; i < u.length; i++) {
          const inner = firstNonJson(u[i], depth + 1)
          if (inner === tooDeep) return tooDeep
          if (inner !== undefined) return [i, ...inner]
        }
        return undefined
      }
      const proto = Object.getPrototypeOf(u)
      if (proto !== Object.prototype && proto !== null) return []
      for (const key of Object.keys(u)) {
        const inner = firstNonJson((u as Record<string, unknown>)[key], depth + 1)
        if (inner === tooDeep) return tooDeep
        if (inner !== undefined) return [key, ...inner]
      }
      return undefined
    }
    default:
      return []
  }
}

const valueAt = (u: unknown, path: ReadonlyArray<PropertyKey>): unknown =>
  path.reduce((v: unknown, key) => (v as Record<PropertyKey, unknown>)[key], u)

/**
 * JSON values that `JSON.parse(JSON.stringify(x))` gives back exactly: `fc.jsonValue` with its numbers
 * minus -0, which comes back as 0 (and which `toEqual` tells apart from 0).
 */
export const jsonValueArbitrary = (fc: typeof FastCheck, maxDepth = 3): FastCheck.Arbitrary<JsonValue> => {
  const key = fc.string()
  const number = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0))
  return fc.anything({ key, values: [fc.boolean(), number, key, fc.constant(null)], maxDepth }) as FastCheck.Arbitrary<JsonValue>
}

/**
 * A JSON value, checked in place rather than rebuilt: no copy of a 10 MB value, and every key survives,
 * "__proto__" included (Schema's Record drops that key when it rebuilds an object).
 */
export const JsonValueSchema: Schema.Schema<JsonValue> = Schema.declare(
  [],
  {
    decode: () => (input, _options, ast) => {
      const path = firstNonJson(input, 0)
      if (path === undefined) return ParseResult.succeed(input as JsonValue)
      // reported at the value itself: a path a thousand levels long would help nobody
      if (path === tooDeep) {
        return ParseResult.fail(
          new ParseResult.Type(ast, input, `Expected a JSON value nested at most ${maxDepth} levels deep (or circular)`)
        )
      }
      const issue = new ParseResult.Type(ast, valueAt(input, path), "Expected a JSON value (string, finite number, boolean, null, array or plain object)")
      return ParseResult.fail(path.length === 0 ? issue : new ParseResult.Pointer(path as [PropertyKey, ...Array<PropertyKey>], input, issue))
    },
    encode: () => (input, _options, ast) =>
      firstNonJson(input, 0) === undefined
        ? ParseResult.succeed(input as JsonValue)
        : ParseResult.fail(new ParseResult.Type(ast, input, "Expected a JSON value"))
  },
  {
    identifier: "JsonValue",
    arbitrary: () => (fc: typeof FastCheck) => jsonValueArbitrary(fc)
  }
)
