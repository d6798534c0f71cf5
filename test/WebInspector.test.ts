/**
 * The web inspector in a real headless browser (Debian chromium through playwright-core), over a
 * SQLite file store seeded with real runs. Also writes docs/inspector.png.
 */
import { Effect, Exit, ManagedRuntime, Option, Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type Browser, chromium, type Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as SqliteStore from "../src/layers/SqliteStore.js"
import { SnapshotStore } from "../src/SnapshotStore.js"
import * as Inspector from "../src/web/Inspector.js"
import * as Workflow from "../src/Workflow.js"

const executablePath = "/usr/bin/chromium"
const haveChromium = fs.existsSync(executablePath)
const xss = "<script>alert(1)</script><img src=x onerror=alert(2)>"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-resume-web-"))
const runtime = ManagedRuntime.make(SqliteStore.layer({ filename: path.join(dir, "runs.db") }))
const run = <A, E>(effect: Effect.Effect<A, E, SnapshotStore>) => runtime.runPromise(effect)

const work = <A>(key: string, millis: number, value: A) => Workflow.step(key, Effect.as(Effect.sleep(millis), value))

// order-1002 is declined once, then retried (its first step replays); order-1003 stays failed
const declined = new Set(["order-1002", "order-1003"])
const checkout = Workflow.make("checkout", (input: { readonly order: string; readonly total: number }) =>
  Effect.gen(function*() {
    const reservation = yield* work("reserve-stock", 40, { order: input.order, sku: "BOOK-42", qty: 2, warehouse: "ams-1" })
    yield* Workflow.step(
      "charge-card",
      Effect.zipRight(Effect.sleep("90 millis"), declined.has(input.order) ? Effect.fail({ code: "card_declined", retryable: true }) : Effect.succeed({ charged: input.total, currency: "EUR" }))
    )
    yield* work("send-receipt", 25, { to: "ada@example.com", template: "receipt-v2" })
    return { order: reservation.order, status: "shipped" }
  }), { version: "v2" })

const notes = Workflow.make("render-note", Effect.gen(function*() {
  const html = yield* work("render", 10, { title: "user note", body: xss })
  // a Date without a Schema is stored as its JSON, with a lossy-value warning
  yield* work("stamp", 5, { at: new Date(0) })
  return html.title
}))

const runs = <A>(f: (store: typeof SnapshotStore.Service) => Effect.Effect<A, unknown>) => run(Effect.flatMap(SnapshotStore, f))

const statusOf = (id: string) => runs((store) => Effect.map(store.getRun(id), (r) => Option.getOrThrow(r).status))

const seed = async () => {
  for (const order of ["order-1001", "order-1002", "order-1003"]) {
    await run(Effect.either(Workflow.runDurable(checkout, { id: order, input: { order, total: 59.9 } })))
  }
  declined.delete("order-1002")
  await run(Workflow.runDurable(checkout, { id: "order-1002", input: { order: "order-1002", total: 59.9 }, retryFailed: true }))
  await run(Workflow.runDurable(notes, { id: "note-7" }))
  await run(Workflow.start(checkout, { id: "order-1004", input: { order: "order-1004", total: 12 } }))
  await run(Workflow.cancel("order-1004"))
  await run(Workflow.start(checkout, { id: "order-1005", input: { order: "order-1005", total: 30 } }))
}

const scope = Effect.runSync(Scope.make())
const start = (allowWrites: boolean) =>
  run(Effect.map(Scope.extend(Inspector.serve({ host: "127.0.0.1", port: 0, allowWrites }), scope), Inspector.urlOf))

let browser: Browser
let readOnly: string
let writable: string

const open = async (url: string) => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } })
  const dialogs: Array<string> = []
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message())
    void dialog.accept()
  })
  await page.goto(url)
  return { page, dialogs }
}

const rowIds = (page: Page) => page.locator("tr.run").evaluateAll((rows) => rows.map((row) => row.getAttribute("data-id")))

const title = haveChromium
  ? "web inspector (headless chromium)"
  : `web inspector: skipped, no browser at ${executablePath} (apt-get install chromium)`

describe.skipIf(!haveChromium)(title, () => {
  beforeAll(async () => {
    await seed()
    readOnly = await start(false)
    writable = await start(true)
    browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] })
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await runtime.dispose()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("lists the store's runs with counts, and filters by status and workflow in the URL", async () => {
    const { page } = await open(readOnly)
    await page.waitForSelector("tr.run")
    const listed = await runs((store) => store.listRuns({ limit: 100 }))
    expect(await rowIds(page)).toEqual(listed.map((r) => r.id))
    expect(await page.locator('.count[data-status="completed"] b').textContent()).toBe("3")
    expect(await page.locator('.count[data-status="cancelled"] b').textContent()).toBe("1")

    await page.selectOption("select[name=status]", "failed")
    await expect.poll(() => rowIds(page), { timeout: 5000 }).toEqual(["order-1003"])
    expect(new URL(page.url()).searchParams.get("status")).toBe("failed")

    await page.selectOption("select[name=status]", "")
    await page.fill("input[name=workflow]", "render-note")
    await page.press("input[name=workflow]", "Enter")
    await expect.poll(() => rowIds(page), { timeout: 5000 }).toEqual(["note-7"])
    await page.reload()
    await expect.poll(() => rowIds(page), { timeout: 5000 }).toEqual(["note-7"])

    // a bad filter shows its error above the list and keeps the form, so it can be corrected
    await page.fill("input[name=since]", "yesterday")
    await page.press("input[name=since]", "Enter")
    await expect.poll(() => page.locator("p.error").textContent(), { timeout: 5000 }).toContain("yesterday")
    expect(await rowIds(page)).toEqual([])
    await page.fill("input[name=since]", "")
    await page.press("input[name=since]", "Enter")
    await expect.poll(() => rowIds(page), { timeout: 5000 }).toEqual(["note-7"])
    expect(await page.locator("p.error").isHidden()).toBe(true)
    await page.close()
  })

  it("shows a run's timeline as the store records it, with a screenshot", async () => {
    const { page, dialogs } = await open(`${readOnly}run?id=order-1003`)
    await page.waitForSelector("li.step")
    const details = Option.getOrThrow(await runs((store) => store.inspect("order-1003")))
    const shown = await page.locator("li.step").evaluateAll((items) =>
      items.map((item) => ({
        key: item.getAttribute("data-key"),
        outcome: item.getAttribute("data-outcome"),
        ms: Number(item.querySelector(".duration")!.getAttribute("data-ms"))
      })))
    expect(shown).toEqual(details.steps.map((step) => ({
      key: step.key,
      outcome: step.entry.result.ok ? "ok" : "failed",
      ms: Date.parse(step.completedAt!) - Date.parse(step.startedAt!)
    })))
    expect(shown.map((s) => s.key)).toEqual(["reserve-stock", "charge-card"])
    expect(shown[1]!.ms).toBeGreaterThanOrEqual(80)
    await page.click('li.step[data-key="charge-card"] summary')
    expect(await page.locator('li.step[data-key="charge-card"] pre').textContent()).toContain("card_declined")
    expect(await page.locator("button[data-action]").count()).toBe(0)

    await page.goto(`${readOnly}run?id=order-1002`)
    await page.waitForSelector("li.step")
    expect(await page.locator('li.step[data-key="reserve-stock"] [data-tag="replayed"]').count()).toBe(1)
    await page.click('li.step[data-key="charge-card"] summary')
    await page.screenshot({ path: path.join(import.meta.dirname, "../docs/inspector.png") })
    expect(dialogs).toEqual([])
    await page.close()
  })

  it("shows stored markup as text (no dialog, no injected element) and lossy-value warnings", async () => {
    const { page, dialogs } = await open(`${readOnly}run?id=note-7`)
    await page.waitForSelector('li.step[data-key="render"]')
    await page.click('li.step[data-key="render"] summary')
    expect(await page.locator('li.step[data-key="render"] pre').textContent()).toContain(xss)
    expect(await page.locator("main script, main img").count()).toBe(0)
    expect(await page.locator('li.step[data-key="stamp"] .warning').textContent()).toContain("non-json")
    await page.waitForTimeout(300)
    expect(dialogs).toEqual([])
    const csp = (await page.request.get(readOnly)).headers()["content-security-policy"]
    expect(csp).toContain("default-src 'none'")
    await page.close()
  })

  it("refreshes the list while runs are added", async () => {
    const { page } = await open(readOnly)
    await page.waitForSelector("tr.run")
    await run(Workflow.runDurable(notes, { id: "note-8" }))
    await page.waitForSelector('tr.run[data-id="note-8"]', { timeout: 5000 })
    await page.close()
  })

  it("has no write endpoints read-only; cancels and retries with allowWrites", async () => {
    const { page } = await open(readOnly)
    const refused = await page.request.post(`${readOnly}api/cancel?id=order-1005`, { headers: { "x-inspector": "1" } })
    expect(refused.status()).toBe(404)
    const forged = await page.request.post(`${writable}api/cancel?id=order-1005`)
    expect(forged.status()).toBe(403)

    await page.goto(`${writable}run?id=order-1005`)
    await page.click('button[data-action="cancel"]')
    await expect.poll(() => statusOf("order-1005"), { timeout: 5000 }).toBe("cancelled")
    await page.waitForSelector('h1 .status.cancelled')

    await page.goto(`${writable}run?id=order-1003`)
    await page.click('button[data-action="retry"]')
    await expect.poll(() => statusOf("order-1003"), { timeout: 5000 }).toBe("pending")
    await page.close()
  })
}, 60_000)
