import { ParseResult } from "effect"
// json.ts imports formatPath from here: a cycle, safe because maxDepth is only read inside functions
import { deeperThan, maxDepth } from "./json.js"

/** One validation problem: where it is (`$.steps["user:1"].ok`) and what is wrong. */
export interface ValidationIssue {
  readonly path: string
  readonly message: string
}

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/

export const formatPath = (path: ReadonlyArray<PropertyKey>): string => {
  let out = "$"
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`
    else if (typeof segment === "string" && identifier.test(segment)) out += `.${segment}`
    else out += `[${JSON.stringify(String(segment))}]`
  }
  return out
}

export const issuesOf = (error: ParseResult.ParseError): Array<ValidationIssue> =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    path: formatPath(issue.path),
    message: issue.message
  }))

export const describeIssues = (issues: ReadonlyArray<ValidationIssue>): string =>
  issues.slice(0, 5).map((issue) => `${issue.path}: ${issue.message}`).join("; ") +
  (issues.length > 5 ? `; and ${issues.length - 5} more` : "")

// ---------------------------------------------------------------------------------------------
// Checks run on raw input before Schema decodes it: what Schema would throw on, or misread

type Path = Array<PropertyKey>

const isObject = (u: unknown): u is object => typeof u === "object" && u !== null
const own = (o: object, key: string): unknown => Object.hasOwn(o, key) ? (o as Record<string, unknown>)[key] : undefined

// Schema copies a struct's extra keys with `output[key] = value`: an own "__proto__" would set the
// prototype of the validated output, making whatever it holds readable as unvalidated fields.
const protoIssue = (o: unknown, path: Path): ValidationIssue | undefined =>
  isObject(o) && Object.hasOwn(o, "__proto__")
    ? { path: formatPath([...path, "__proto__"]), message: "is not allowed (it would set the prototype)" }
    : undefined

// Schema picks a union member by `String(tag)`, which runs the methods of an object held there
const tagIssue = (o: object, key: string, path: Path): ValidationIssue | undefined => {
  const tag = own(o, key)
  return isObject(tag) || typeof tag === "function"
    ? { path: formatPath([...path, key]), message: "Expected a literal, not an object" }
    : undefined
}

/** A step result's struct fields and its cause chain (at most `maxDepth` causes long), walked without recursion. */
export const stepIssue = (step: unknown, path: Path): ValidationIssue | undefined => {
  if (!isObject(step)) return undefined
  const issue = protoIssue(step, path) ?? tagIssue(step, "ok", path) ?? protoIssue(own(step, "meta"), [...path, "meta"])
  if (issue !== undefined) return issue
  const causePath = [...path, "cause"]
  let cause = own(step, "cause")
  for (let depth = 1; isObject(cause); depth++) {
    if (depth > maxDepth) {
      return { path: formatPath([...path, "cause"]), message: `Expected a cause chain at most ${maxDepth} causes long` }
    }
    const inner = protoIssue(cause, causePath) ?? tagIssue(cause, "type", causePath)
    if (inner !== undefined) return inner
    cause = own(cause, "cause")
    causePath.push("cause")
  }
  return undefined
}

/** `stepIssue` for every step of a snapshot, and no "__proto__" field in its structs. */
export const snapshotIssue = (u: unknown): ValidationIssue | undefined => {
  if (!isObject(u)) return undefined
  const issue = protoIssue(u, []) ?? protoIssue(own(u, "execution"), ["execution"]) ?? warningsIssue(own(u, "warnings"), [])
  if (issue !== undefined) return issue
  const steps = own(u, "steps")
  if (!isObject(steps) || Array.isArray(steps)) return undefined
  for (const key of Object.keys(steps)) {
    const inner = stepIssue((steps as Record<string, unknown>)[key], ["steps", key])
    if (inner !== undefined) return inner
  }
  return undefined
}

export const warningsIssue = (warnings: unknown, path: Path): ValidationIssue | undefined => {
  if (!Array.isArray(warnings)) return undefined
  for (let i = 0; i < warnings.length; i++) {
    const issue = protoIssue(warnings[i], [...path, "warnings", i])
    if (issue !== undefined) return issue
  }
  return undefined
}

/**
 * An input Schema threw on: nested so deep that decoding it, or printing it in an error, overflowed the
 * stack (the nesting of values is checked, but not that of the document around them), or one that
 * throws when read (a getter, a proxy). Validation reports it instead of throwing.
 */
export const unreadable = (u: unknown): ValidationIssue => {
  let deep = false
  try {
    deep = deeperThan(u, maxDepth)
  } catch {
    // unreadable indeed
  }
  return {
    path: "$",
    message: deep
      ? `Expected a document nested at most ${maxDepth} levels deep`
      : "Could not be read: reading it threw (a getter or a proxy?)"
  }
}
