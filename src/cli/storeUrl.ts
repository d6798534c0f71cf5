/**
 * `--store` as text → which store to open. Pure, so it is unit-tested without a database:
 * `sqlite:./workflow.db` (default, relative to cwd), `postgres://…` / `postgresql://…`,
 * `libsql:…` / `file:…`, `mongodb://…` / `mongodb+srv://…`.
 */
import { Either, Redacted } from "effect"
import * as path from "node:path"

export type StoreSpec =
  | { readonly kind: "sqlite"; readonly filename: string }
  | { readonly kind: "postgres"; readonly url: Redacted.Redacted<string> }
  | { readonly kind: "libsql"; readonly url: string }
  | { readonly kind: "mongo"; readonly url: Redacted.Redacted<string> }

export const defaultStore = "sqlite:./workflow.db"

const accepted = "sqlite:<file>, postgres://…, postgresql://…, libsql:…, file:<file> or mongodb://…"

/** A url's query parameters whose values are secrets (password, sslpassword, authToken, apiKey, …). */
const secretParam = /([?&][^=&#\s]*(?:pass|token|secret|key|auth|credential)[^=&#\s]*=)([^&#\s]*)/gi

/** Secret query parameters' values as "***", anywhere in a text. */
export const maskSecretParams = (text: string): string => text.replace(secretParam, "$1***")

/** A url with its secrets as "***": the password of `user:password@`, and secret query parameters. */
export const mask = (text: string): string => {
  const { start, end } = credentials(text)
  const auth = end === -1 ? "" : text.slice(start, end)
  const colon = auth.indexOf(":")
  const masked = end === -1 || colon === -1 ? text : text.slice(0, start) + `${auth.slice(0, colon)}:***` + text.slice(end)
  return maskSecretParams(masked)
}

/** Hides the store's secrets anywhere in a message, raw and percent-decoded (a driver may quote them). */
export const maskIn = (message: string, store: string): string => {
  const { start, end } = credentials(store)
  const auth = end === -1 ? "" : store.slice(start, end)
  const password = auth.includes(":") ? auth.slice(auth.indexOf(":") + 1) : ""
  const values = [password, ...Array.from(store.matchAll(secretParam), (match) => match[2]!)]
  const secrets = values.filter((value) => value.length >= 2).flatMap((value) => [value, decoded(value)])
  return secrets.reduce((text, secret) => text.replaceAll(secret, "***"), message.replaceAll(store, mask(store)))
}

// the credentials: between "://" and the last "@" (a password may hold an unencoded "@", "/" or "?")
const credentials = (text: string): { readonly start: number; readonly end: number } => {
  const start = text.indexOf("://") + 3
  const end = start < 3 ? -1 : text.lastIndexOf("@")
  return { start, end: end >= start ? end : -1 }
}

const decoded = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** `--store`, else `DATABASE_URL` (a Postgres url), else the default SQLite file. */
export const chooseStore = (store: string | undefined, env: Record<string, string | undefined>): string =>
  store ?? (env["DATABASE_URL"] !== undefined && env["DATABASE_URL"] !== "" ? env["DATABASE_URL"] : defaultStore)

export const parse = (text: string, cwd: string): Either.Either<StoreSpec, string> => {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase()
  switch (scheme) {
    case "sqlite": {
      const file = text.slice("sqlite:".length).replace(/^\/\/(?=\/)/, "")
      return file === ""
        ? Either.left(`--store ${text}: no file after "sqlite:" (e.g. sqlite:./workflow.db)`)
        : Either.right({ kind: "sqlite", filename: file === ":memory:" ? file : path.resolve(cwd, file) })
    }
    case "postgres":
    case "postgresql":
      return validUrl(text)
        ? Either.right({ kind: "postgres", url: Redacted.make(text) })
        : Either.left(`--store ${mask(text)}: not a valid PostgreSQL url`)
    case "libsql":
    case "http":
    case "https":
    case "ws":
    case "wss":
      return Either.right({ kind: "libsql", url: text })
    case "file":
      return text.length > "file:".length
        ? Either.right({ kind: "libsql", url: `file:${path.resolve(cwd, text.slice("file:".length))}` })
        : Either.left(`--store ${text}: no file after "file:"`)
    case "mongodb":
    case "mongodb+srv":
      return validUrl(text)
        ? Either.right({ kind: "mongo", url: Redacted.make(text) })
        : Either.left(`--store ${mask(text)}: not a valid MongoDB url`)
    default:
      return Either.left(`--store ${mask(text)}: unknown store; expected ${accepted}`)
  }
}

/**
 * A host after "://", or a `host=` query parameter (a Postgres unix socket). Not WHATWG's URL: it refuses
 * valid database urls such as MongoDB's replica sets (`mongodb://h1:27017,h2:27017/db`).
 */
const validUrl = (text: string): boolean => {
  const { start, end } = credentials(text)
  const rest = text.slice(end === -1 ? start : end + 1)
  const host = rest.slice(0, rest.search(/[/?#]|$/))
  return host !== "" || /[?&]host=[^&#]/.test(text)
}
