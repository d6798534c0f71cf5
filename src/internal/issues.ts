import { ParseResult } from "effect"

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
