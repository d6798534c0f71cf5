/**
 * The web run inspector: an HTTP server (node) over the store service. Read-only unless `allowWrites`:
 * the cancel and retry endpoints exist only then. Every response carries a restrictive CSP; the
 * pages hold no data, the client script builds the DOM from the JSON endpoints with textContent.
 */
import { createServer } from "node:http"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import type { ServeError } from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Context, Effect, Layer, Option, type Scope } from "effect"
import type { SnapshotStore, StoreError } from "../SnapshotStore.js"
import * as Api from "./api.js"
import * as Page from "./page.js"

export interface InspectorOptions {
  /** Interface to bind; use 127.0.0.1 (the CLI default) unless others must reach it. */
  readonly host: string
  /** 0 picks a free port: `serve` returns the one bound. */
  readonly port: number
  /** Serves the cancel and retry endpoints and shows their buttons. */
  readonly allowWrites: boolean
}

const securityHeaders = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cache-control": "no-store"
}

const json = (body: unknown, status = 200) => HttpServerResponse.unsafeJson(body, { status })
const problem = (status: number, message: string) => json({ error: message }, status)

const queryOf = Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
  HttpServerRequest.searchParamsFromURL(new URL(request.url, "http://inspector")))

const idOf = Effect.map(queryOf, (query) => {
  const id = query["id"]
  return typeof id === "string" ? Option.some(id) : Option.fromNullable(id?.[0])
})

const statusOfReason: Partial<Record<StoreError["reason"], number>> = { InvalidOption: 400, Unsupported: 501 }

const storeFailure = (error: StoreError) => problem(statusOfReason[error.reason] ?? 500, error.message)

const runsRoute = Effect.flatMap(queryOf, Api.runs).pipe(
  Effect.map((body) => json(body)),
  Effect.catchTags({ BadQuery: (e) => Effect.succeed(problem(400, e.message)), StoreError: (e) => Effect.succeed(storeFailure(e)) })
)

const runRoute = Effect.flatMap(idOf, Option.match({
  onNone: () => Effect.succeed(problem(400, "id is required")),
  onSome: (id) =>
    Effect.map(Api.run(id), Option.match({ onNone: () => problem(404, `No run "${id}"`), onSome: (details) => json(details) }))
})).pipe(Effect.catchTag("StoreError", (e) => Effect.succeed(storeFailure(e))))

// A custom header cannot be sent cross-origin without a CORS preflight, which this server never grants
const fromPage = Effect.map(HttpServerRequest.HttpServerRequest, (request) => request.headers["x-inspector"] === "1")

const actionRoute = (action: "cancel" | "retry") =>
  Effect.all([fromPage, idOf]).pipe(
    Effect.flatMap(([trusted, id]) =>
      !trusted
        ? Effect.succeed(problem(403, "missing x-inspector header"))
        : Option.isNone(id)
        ? Effect.succeed(problem(400, "id is required"))
        : Effect.map(Api.act(action, id.value), (changed) => json({ id: id.value, action, changed }, changed ? 200 : 409))
    ),
    Effect.catchTag("StoreError", (e) => Effect.succeed(storeFailure(e)))
  )

const asset = (body: string, contentType: string) => Effect.succeed(HttpServerResponse.text(body, { contentType }))

const router = (options: InspectorOptions) => {
  const html = asset(Page.shell, "text/html; charset=utf-8")
  const base = HttpRouter.empty.pipe(
    HttpRouter.get("/", html),
    HttpRouter.get("/run", html),
    HttpRouter.get("/app.js", asset(Page.script(options.allowWrites), "text/javascript; charset=utf-8")),
    HttpRouter.get("/app.css", asset(Page.style, "text/css; charset=utf-8")),
    HttpRouter.get("/api/runs", runsRoute),
    HttpRouter.get("/api/run", runRoute)
  )
  return options.allowWrites
    ? base.pipe(HttpRouter.post("/api/cancel", actionRoute("cancel")), HttpRouter.post("/api/retry", actionRoute("retry")))
    : base
}

/** A host name or address only this machine reaches: localhost, 127.0.0.0/8, ::1. */
export const isLoopback = (host: string): boolean =>
  host === "localhost" || host === "::1" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host)

// On a loopback bind, a foreign Host header is a DNS-rebinding page: refuse it
const hostAllowed = (options: InspectorOptions, host: string | undefined) => {
  if (!isLoopback(options.host)) return true
  const name = host === undefined ? "" : host.replace(/:\d+$/, "")
  return isLoopback(name)
}

const app = (options: InspectorOptions) => {
  const routes = router(options)
  return Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    hostAllowed(options, request.headers["host"])
      ? routes.pipe(Effect.catchTag("RouteNotFound", () => Effect.succeed(problem(404, "Not found"))))
      : Effect.succeed(problem(421, "unexpected Host header"))).pipe(
        Effect.catchAllCause(() => Effect.succeed(problem(500, "Internal error"))),
        Effect.map(HttpServerResponse.setHeaders(securityHeaders))
      )
}

const serverLayer = (options: InspectorOptions) =>
  HttpServer.serve(app(options)).pipe(
    Layer.provideMerge(NodeHttpServer.layer(() => createServer(), { host: options.host, port: options.port }))
  )

/** Starts the inspector in the scope and returns the address it listens on (the port bound when 0 was asked). */
export const serve = (options: InspectorOptions): Effect.Effect<HttpServer.Address, ServeError, SnapshotStore | Scope.Scope> =>
  Effect.map(Layer.build(serverLayer(options)), (context) => Context.get(context, HttpServer.HttpServer).address)

/** The inspector as a layer: serves until the layer's scope closes. */
export const layer = (options: InspectorOptions): Layer.Layer<never, ServeError, SnapshotStore> =>
  Layer.scopedDiscard(serve(options))

/** The address as a URL to open (a TCP address), or the socket path. */
export const urlOf = (address: HttpServer.Address): string =>
  address._tag === "UnixAddress"
    ? address.path
    : `http://${address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname}:${address.port}/`

