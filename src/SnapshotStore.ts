/**
 * The store service: where resume states and snapshots are saved between runs. Every backend is a Layer
 * of this one Tag; `make` turns a plain five-method adapter (the reference's custom store) into one.
 */
import { Context, Effect, Either, Layer, Option, Schema, type Scope } from "effect"
import { keyedLock } from "./internal/keyedLock.js"
import { checkEntries, fromStoredJson, loneSurrogate, normalizeStored, withSteps } from "./internal/stored.js"
import { registerUncheckedAppend } from "./internal/trusted.js"
import * as ResumeState from "./ResumeState.js"
import * as Snapshot from "./Snapshot.js"

export type Stored = ResumeState.ResumeState | Snapshot.WorkflowSnapshot

export interface ListOptions {
  /** Only ids that start with this text, matched literally (`%`, `_`, `\` are ordinary characters). */
  readonly prefix?: string | undefined
  readonly limit?: number | undefined
}

export interface ListEntry {
  readonly id: string
  /** ISO-8601. */
  readonly updatedAt: string
}

export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  reason: Schema.Literal("Connection", "Query", "Migration", "Decode", "InvalidOption", "Adapter", "MissingDriver"),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * Every method taking an `id` refuses, with a StoreError "InvalidOption", an id that is longer than
 * `maxIdLength` (2048) UTF-16 code units, holds a NUL character or a lone surrogate (is not well-formed
 * UTF-16); so does `list` for such a `prefix`. Every store checks this alike.
 */
export interface SnapshotStoreService {
  /**
   * @param id At most 2048 UTF-16 code units (`maxIdLength`), well-formed (no lone surrogate), no NUL;
   * the same for every method and every store.
   */
  readonly save: (id: string, state: Stored) => Effect.Effect<void, StoreError>
  /** What was saved under `id`, as it was saved: a ResumeState or a WorkflowSnapshot. */
  readonly load: (id: string) => Effect.Effect<Option.Option<Stored>, StoreError>
  /** What was saved under `id` as a ResumeState; a stored snapshot is converted, never dropped. */
  readonly loadResumeState: (id: string) => Effect.Effect<Option.Option<ResumeState.ResumeState>, StoreError>
  readonly delete: (id: string) => Effect.Effect<void, StoreError>
  /** Newest first. */
  readonly list: (options?: ListOptions) => Effect.Effect<ReadonlyArray<ListEntry>, StoreError>
  /**
   * Adds step outcomes to what is saved under `id` (later entries win) without rewriting the rest:
   * an incremental checkpoint. The SQL and memory stores write one row per step, so the cost does not
   * grow with the run; other stores read, merge and save. With nothing saved yet, starts a ResumeState.
   */
  readonly appendSteps: (
    id: string,
    entries: ReadonlyArray<readonly [key: string, entry: ResumeState.ResumeStateEntry]>
  ) => Effect.Effect<void, StoreError>
  /** `appendSteps` with one entry: what `Workflow.runDurable` calls after every completed step. */
  readonly saveStep: (id: string, key: string, entry: ResumeState.ResumeStateEntry) => Effect.Effect<void, StoreError>
}

export class SnapshotStore extends Context.Tag("effect-resume/SnapshotStore")<SnapshotStore, SnapshotStoreService>() {}

// ---------------------------------------------------------------------------------------------
// Accessors: `yield* SnapshotStore.save(id, state)`

export const save = (id: string, state: Stored) => Effect.flatMap(SnapshotStore, (store) => store.save(id, state))
export const load = (id: string) => Effect.flatMap(SnapshotStore, (store) => store.load(id))
export const loadResumeState = (id: string) => Effect.flatMap(SnapshotStore, (store) => store.loadResumeState(id))
const delete_ = (id: string) => Effect.flatMap(SnapshotStore, (store) => store.delete(id))
export { delete_ as delete }
export const list = (options?: ListOptions) => Effect.flatMap(SnapshotStore, (store) => store.list(options))
export const appendSteps = (id: string, entries: ReadonlyArray<readonly [string, ResumeState.ResumeStateEntry]>) =>
  Effect.flatMap(SnapshotStore, (store) => store.appendSteps(id, entries))
export const saveStep = (id: string, key: string, entry: ResumeState.ResumeStateEntry) =>
  Effect.flatMap(SnapshotStore, (store) => store.saveStep(id, key, entry))

// ---------------------------------------------------------------------------------------------
// Stored documents

export const toResumeState = (stored: Stored): ResumeState.ResumeState =>
  ResumeState.isResumeState(stored) ? stored : ResumeState.fromSnapshot(stored)

/**
 * What a backend with per-step rows loads: the saved document and the steps appended since, in order.
 * The entries are still JSON; `fromBackend` decodes and merges them.
 */
export class LoadedWithSteps {
  constructor(readonly head: unknown, readonly steps: ReadonlyArray<readonly [key: string, entry: unknown]>) {}
}

const decodeSteps = (id: string, steps: LoadedWithSteps["steps"]) => {
  const entries: Array<readonly [string, ResumeState.ResumeStateEntry]> = []
  for (const [key, json] of steps) {
    const entry = ResumeState.decodeEntry(json)
    if (entry._tag === "Left") {
      return Either.left(new StoreError({ reason: "Decode", message: `Stored step "${key}" of "${id}" is corrupt: ${entry.left.message}` }))
    }
    entries.push([key, entry.right])
  }
  return Either.right(entries)
}

const fromLoaded = (id: string, loaded: unknown): Either.Either<Stored, StoreError> =>
  loaded instanceof LoadedWithSteps
    ? Either.flatMap(fromStoredJson(id, loaded.head), (head) =>
      Either.map(decodeSteps(id, loaded.steps), (entries) => withSteps(head, entries)))
    : fromStoredJson(id, loaded)

// ---------------------------------------------------------------------------------------------
// Building a service from a backend

/** What a backend implements: ids as given, literal prefix matching. */
export interface Backend {
  /** `JSON.stringify(state)` is the JSON to store. It replaces steps appended before. */
  readonly save: (id: string, state: Stored) => Effect.Effect<void, StoreError>
  /** The stored JSON parsed, or a `LoadedWithSteps` from a backend that implements `appendSteps`. */
  readonly load: (id: string) => Effect.Effect<Option.Option<unknown>, StoreError>
  /**
   * Optional: one write per entry (`JSON.stringify(entry)`), creating an empty ResumeState document
   * when none exists. Without it, the service reads, merges and saves.
   */
  readonly appendSteps?: (
    id: string,
    entries: ReadonlyArray<readonly [string, ResumeState.ResumeStateEntry]>
  ) => Effect.Effect<void, StoreError>
  readonly delete: (id: string) => Effect.Effect<void, StoreError>
  readonly list: (options: { readonly prefix: string; readonly limit: number | undefined }) => Effect.Effect<
    ReadonlyArray<ListEntry>,
    StoreError
  >
}

const checkLimit = (limit: number | undefined): Effect.Effect<void, StoreError> =>
  limit === undefined || (Number.isInteger(limit) && limit >= 0)
    ? Effect.void
    : Effect.fail(new StoreError({ reason: "InvalidOption", message: `list limit must be a non-negative integer, got ${limit}` }))

/** The longest id (and list prefix) a store accepts, in UTF-16 code units, not counting a store-wide prefix. */
export const maxIdLength = 2048

/**
 * Why `text` cannot be an id, or undefined. Every store checks ids alike: Postgres would store two ids
 * that differ only in lone surrogates as one (node-pg writes each as U+FFFD), and cannot store NUL.
 */
const idProblem = (text: unknown, maxLength: number): string | undefined =>
  typeof text !== "string"
    ? `must be a string, got ${typeof text}`
    : text.length > maxLength
    ? `is ${text.length} UTF-16 code units long, more than the ${maxLength} allowed`
    : text.includes("\u0000")
    ? `holds a NUL character (\\u0000) at index ${text.indexOf("\u0000")}`
    : loneSurrogate.test(text)
    ? `holds a lone surrogate at index ${text.search(loneSurrogate)}: it is not well-formed UTF-16`
    : undefined

const checkText = (what: string, text: unknown, maxLength: number): Effect.Effect<void, StoreError> => {
  const problem = idProblem(text, maxLength)
  return problem === undefined
    ? Effect.void
    : Effect.fail(new StoreError({ reason: "InvalidOption", message: `Invalid ${what}: it ${problem}` }))
}

/**
 * Wraps a backend into the service: JSON conversion and validation, the store-wide `prefix`
 * (saved as `prefix + id`, stripped again by `list`), and a span on every operation.
 *
 * Ids, list prefixes and the store-wide prefix are checked alike for every store: well-formed UTF-16
 * (no lone surrogate), no NUL, at most `maxIdLength` code units each (a StoreError "InvalidOption" otherwise).
 */
export const fromBackend = (backend: Backend, options: { readonly prefix?: string | undefined; readonly name: string }): SnapshotStoreService => {
  const prefix = options.prefix ?? ""
  const checkPrefix = checkText("store prefix", prefix, Infinity)
  // the id as the backend stores it: `prefix + id`, once both are checked
  const storedId = (id: string): Effect.Effect<string, StoreError> =>
    Effect.as(Effect.zipRight(checkPrefix, checkText("id", id, maxIdLength)), prefix + id)
  // no stack capture: spans sit on every checkpoint, and a stack trace per span is most of their cost
  const span = (op: string, id?: string) =>
    Effect.withSpan(`${options.name}.${op}`, { captureStackTrace: false, ...(id === undefined ? {} : { attributes: { id } }) })
  // Stores without native appends read, merge and save: one at a time per id, or parallel steps
  // would overwrite each other's checkpoints.
  const withLock = keyedLock()
  const load: SnapshotStoreService["load"] = (id) =>
    Effect.flatMap(storedId(id), (stored) => backend.load(stored)).pipe(
      Effect.flatMap(Option.match({
        onNone: () => Effect.succeedNone,
        onSome: (loaded) => Effect.map(fromLoaded(id, loaded), Option.some)
      })),
      span("load", id)
    )
  const appendUnchecked: SnapshotStoreService["appendSteps"] = (id, entries) =>
    Effect.flatMap(storedId(id), (stored) =>
      backend.appendSteps !== undefined
        ? backend.appendSteps(stored, entries)
        : withLock(id)(
          Effect.flatMap(load(id), (loaded) =>
            backend.save(stored, withSteps(Option.getOrElse(loaded, () => ResumeState.empty), entries)))
        )).pipe(span("appendSteps", id))
  const appendSteps: SnapshotStoreService["appendSteps"] = (id, entries) =>
    Effect.zipRight(checkEntries(entries), appendUnchecked(id, entries))
  return registerUncheckedAppend(SnapshotStore.of({
    appendSteps,
    saveStep: (id, key, entry) => appendSteps(id, [[key, entry]]),
    save: (id, state) =>
      Effect.flatMap(storedId(id), (stored) => Effect.flatMap(normalizeStored(state), (state) => backend.save(stored, state)))
        .pipe(span("save", id)),
    load,
    loadResumeState: (id) => Effect.map(load(id), Option.map(toResumeState)),
    delete: (id) => Effect.flatMap(storedId(id), (stored) => backend.delete(stored)).pipe(span("delete", id)),
    list: (listOptions) =>
      Effect.zipRight(
        Effect.all([checkLimit(listOptions?.limit), checkPrefix, checkText("list prefix", listOptions?.prefix ?? "", maxIdLength)]),
        Effect.map(
          backend.list({ prefix: prefix + (listOptions?.prefix ?? ""), limit: listOptions?.limit }),
          (entries) => prefix === "" ? entries : entries.map((e) => ({ id: e.id.slice(prefix.length), updatedAt: e.updatedAt }))
        )
      ).pipe(span("list"))
  }), appendUnchecked)
}

// ---------------------------------------------------------------------------------------------
// Custom adapters: the reference's five Promise methods

type Awaitable<A> = A | PromiseLike<A>

/**
 * A custom store in the reference's shape. `save` receives a ResumeState or a snapshot; `JSON.stringify`
 * of either loses nothing (a ResumeState serializes itself). `load` returns what was saved, its JSON, or null.
 */
export interface Adapter {
  readonly save: (id: string, state: Stored) => Awaitable<void>
  readonly load: (id: string) => Awaitable<unknown>
  readonly delete: (id: string) => Awaitable<void>
  readonly list: (options: { prefix?: string; limit?: number }) => Awaitable<ReadonlyArray<ListEntry>>
  readonly close?: () => Awaitable<void>
}

const call = <A>(op: string, f: () => Awaitable<A>): Effect.Effect<A, StoreError> =>
  Effect.tryPromise({
    try: async () => await f(),
    catch: (cause) =>
      new StoreError({
        reason: "Adapter",
        message: `Custom store ${op} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
        cause
      })
  })

/** Turns an adapter into the service; `close` runs when the scope closes. Ids and prefixes pass through as given. */
export const make = (adapter: Adapter, options?: { readonly prefix?: string }): Effect.Effect<SnapshotStoreService, never, Scope.Scope> =>
  Effect.as(
    Effect.addFinalizer(() => adapter.close === undefined ? Effect.void : Effect.ignoreLogged(call("close", adapter.close))),
    fromBackend({
      save: (id, state) => call("save", () => adapter.save(id, state)),
      load: (id) => Effect.map(call("load", () => adapter.load(id)), Option.fromNullable),
      delete: (id) => call("delete", () => adapter.delete(id)),
      list: ({ limit, prefix }) =>
        Effect.map(
          call("list", () => adapter.list({ prefix, ...(limit === undefined ? {} : { limit }) })),
          // an adapter may ignore options; enforce the contract here
          (entries) => entries.filter((e) => e.id.startsWith(prefix)).slice(0, limit)
        )
    }, { prefix: options?.prefix, name: "SnapshotStore.custom" })
  )

export const layer = (adapter: Adapter | (() => Adapter), options?: { readonly prefix?: string }) =>
  Layer.scoped(SnapshotStore, Effect.suspend(() => make(typeof adapter === "function" ? adapter() : adapter, options)))
