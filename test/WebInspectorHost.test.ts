/**
 * The inspector's Host check, over plain HTTP (no browser): on a loopback bind it answers only requests
 * addressed to a loopback name, so that a page on another site cannot reach it by DNS rebinding.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as http from "node:http"
import * as MemoryStore from "../src/layers/MemoryStore.js"
import * as Inspector from "../src/web/Inspector.js"

const get = (port: number, bind: string, host: string) =>
  Effect.async<number, Error>((resume) => {
    const request = http.get({ host: bind, port, path: "/api/runs", headers: { host } }, (response) => {
      response.resume()
      resume(Effect.succeed(response.statusCode ?? 0))
    })
    request.on("error", (error) => resume(Effect.fail(error)))
  })

describe("web inspector: Host check", () => {
  it("loopback is localhost, ::1 and all of 127.0.0.0/8, and nothing that merely starts like it", () => {
    for (const host of ["localhost", "::1", "[::1]", "127.0.0.1", "127.0.0.2", "127.255.0.9"]) expect(Inspector.isLoopback(host)).toBe(true)
    for (const host of ["0.0.0.0", "10.0.0.1", "127.evil.example", "127.0.0.1.evil.example", "localhost.evil.example", ""]) {
      expect(Inspector.isLoopback(host)).toBe(false)
    }
  })

  for (const bind of ["127.0.0.1", "127.0.0.2"]) {
    it.scopedLive(`bound to ${bind}: a foreign Host is refused with 421, a loopback one is served`, () =>
      Effect.gen(function*() {
        const address = yield* Inspector.serve({ host: bind, port: 0, allowWrites: false }).pipe(
          Effect.provide(Layer.fresh(MemoryStore.layer()))
        )
        if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
        const port = address.port
        expect(yield* get(port, bind, `evil.example:${port}`)).toBe(421)
        expect(yield* get(port, bind, `${bind}.evil.example:${port}`)).toBe(421)
        expect(yield* get(port, bind, `localhost:${port}`)).toBe(200)
        expect(yield* get(port, bind, `${bind}:${port}`)).toBe(200)
      }))
  }
})
