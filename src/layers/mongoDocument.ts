/**
 * The MongoDB store's document shape and queries, kept free of the driver so they can be tested without
 * a server. One document per id:
 *
 *   { _id: <stored id>, body: <the JSON as a string>, updatedAt: <BSON Date, server clock>, seq: <counter> }
 *
 * `body` is a string, not a subdocument, because not every JSON object is storable as BSON: keys are C
 * strings (a "\u0000" in a key is rejected), keys starting with `$` or containing `.` are refused by servers
 * before 5.0 and are ambiguous in queries and updates, and the server rejects nesting deeper than 100 levels.
 * Step results are arbitrary user JSON, so any of these can happen; a string round-trips byte for byte.
 * Nothing queries inside a stored state, so nothing is given up.
 */

export interface SnapshotDocument {
  readonly _id: string
  readonly body: string
  readonly updatedAt: Date
  readonly seq: number
}

export interface CounterDocument {
  readonly _id: string
  readonly value: number
}

export const defaultDatabase = "effect_resume"
export const defaultCollection = "effect_resume_snapshots"
/** The one counter document, in `<collection>_counters`, whose `$inc` gives every save its `seq`. */
export const counterId = "seq"
export const counterCollection = (collection: string): string => `${collection}_counters`

// ---------------------------------------------------------------------------------------------
// Prefix matching

// Every character that means something in a JS or PCRE (MongoDB) pattern outside a class. All are
// "syntax characters", so the backslash-escaped form is also valid under JS's `u` flag.
const metacharacters = /[\\^$.*+?()[\]{}|/]/g
// Control characters (NUL included, which a BSON pattern string could not carry) as \xHH: same meaning in JS and PCRE.
const controls = /[\u0000-\u001f\u007f]/g

/** `text` as a pattern that matches exactly that text, in JavaScript and in MongoDB (PCRE) alike. */
export const escapeRegex = (text: string): string =>
  text
    .replace(metacharacters, "\\$&")
    .replace(controls, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)

/** The pattern for ids starting with `prefix`; anchored and case-sensitive, so MongoDB bounds it on the `_id` index. */
export const prefixPattern = (prefix: string): string => `^${escapeRegex(prefix)}`

export const idFilter = (id: string) => ({ _id: id })

export const prefixFilter = (prefix: string) => ({ _id: { $regex: prefixPattern(prefix) } })

// ---------------------------------------------------------------------------------------------
// Queries

/** Newest first by the server's clock; `seq` orders saves within one millisecond. Also the index key. */
export const listSort = { updatedAt: -1, seq: -1 } as const

export interface ListQuery {
  readonly filter: ReturnType<typeof prefixFilter>
  readonly sort: typeof listSort
  readonly projection: { readonly _id: 1; readonly updatedAt: 1 }
  readonly limit: number | undefined
}

/** The `find` for a list, or `undefined` when nothing can match: MongoDB reads `limit: 0` as "no limit". */
export const listQuery = (options: { readonly prefix: string; readonly limit: number | undefined }): ListQuery | undefined =>
  options.limit === 0 ? undefined : {
    filter: prefixFilter(options.prefix),
    sort: listSort,
    projection: { _id: 1, updatedAt: 1 },
    limit: options.limit
  }

/** The upsert for a save: `JSON.stringify(state)` as text, the counter's `seq`, and the server's clock for `updatedAt`. */
export const saveUpdate = (state: unknown, seq: number) => ({
  $set: { body: JSON.stringify(state), seq },
  $currentDate: { updatedAt: true as const }
})

// ---------------------------------------------------------------------------------------------
// Reading documents back

export const toIso = (value: unknown): string => {
  const date = value instanceof Date ? value : new Date(typeof value === "number" ? value : String(value))
  return date.toISOString()
}

export const toListEntry = (doc: { readonly _id: unknown; readonly updatedAt?: unknown }): { id: string; updatedAt: string } => ({
  id: String(doc._id),
  updatedAt: toIso(doc.updatedAt)
})

/** The stored JSON, or the reason it cannot be read. */
export const parseBody = (doc: { readonly body?: unknown }): { readonly ok: true; readonly json: unknown } | { readonly ok: false; readonly error: string } => {
  if (typeof doc.body !== "string") return { ok: false, error: "the document has no string body field" }
  try {
    return { ok: true, json: JSON.parse(doc.body) as unknown }
  } catch (cause) {
    return { ok: false, error: `the body is not valid JSON (${cause instanceof Error ? cause.message : String(cause)})` }
  }
}

// ---------------------------------------------------------------------------------------------
// Names

/**
 * The database named in a connection string's path (`mongodb://host/<db>?…`), if any. Parsed by hand:
 * several hosts (`h1:1,h2:2`) are not a valid WHATWG URL authority.
 */
export const databaseFromUrl = (url: string): string | undefined => {
  const rest = url.replace(/^mongodb(\+srv)?:\/\//i, "")
  if (rest === url) return undefined
  const beforeQuery = rest.split(/[?#]/, 1)[0] ?? ""
  const slash = beforeQuery.indexOf("/", beforeQuery.lastIndexOf("@") + 1)
  if (slash === -1) return undefined
  const path = beforeQuery.slice(slash + 1)
  if (path === "") return undefined
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}

/** Why MongoDB would refuse this database name, or undefined when it is fine. */
export const invalidDatabaseName = (name: string): string | undefined =>
  name.length === 0 || name.length > 63
    ? "use 1-63 characters"
    : /[/\\. "$*<>:|?\u0000]/.test(name)
    ? "it may not contain / \\ . space \" $ * < > : | ? or NUL"
    : undefined

/** Why MongoDB would refuse this collection name (or its `_counters` companion), or undefined when it is fine. */
export const invalidCollectionName = (name: string): string | undefined =>
  name.length === 0 || name.length > 200
    ? "use 1-200 characters"
    : /[$\u0000]/.test(name)
    ? "it may not contain $ or NUL"
    : name.startsWith("system.")
    ? "names starting with \"system.\" are reserved"
    : undefined

/**
 * `text` (a driver error message) with the connection string and its password taken out: the driver's
 * parse errors quote the whole url, credentials included.
 */
export const scrubSecrets = (text: string, url: string): string => {
  const secrets = [url]
  const userinfo = /^[a-z+]+:\/\/([^@/?#]*)@/i.exec(url)?.[1]
  const colon = userinfo?.indexOf(":") ?? -1
  if (userinfo !== undefined && colon !== -1) {
    const password = userinfo.slice(colon + 1)
    secrets.push(password)
    try {
      secrets.push(decodeURIComponent(password))
    } catch {
      // not percent-encoded: the raw form is already covered
    }
  }
  return secrets
    .filter((secret) => secret.length > 0)
    .sort((a, b) => b.length - a.length)
    .reduce((acc, secret) => acc.split(secret).join(secret === url ? "<connection string>" : "****"), text)
}
