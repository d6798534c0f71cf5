/**
 * The inspector's page, style and client script, as strings. The HTML shell holds no data: the
 * script fetches JSON and builds every element with createElement / textContent (never innerHTML),
 * so stored values show as text. Script and style are separate files, allowed by the CSP's 'self'.
 */

export const shell = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>effect-resume inspector</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header><a href="/" class="brand">effect-resume</a> <span class="sub">run inspector</span><span id="live" class="live"></span></header>
<main id="app"></main>
</body>
</html>
`

export const style = `
:root { --fg: #1d2330; --muted: #6b7385; --line: #e3e6ec; --bg: #f7f8fa; --ok: #2f9e62; --bad: #d1435b;
  --run: #3b7ddd; --pend: #b08a1e; --gray: #8a91a0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: baseline; gap: .5rem; padding: .7rem 1.5rem; background: #1d2330; color: #fff; }
header a { color: #fff; text-decoration: none; font-weight: 600; }
.sub { color: #aab2c3; }
.live { margin-left: auto; font-size: 12px; color: #aab2c3; }
main { padding: 1rem 1.5rem; max-width: 1200px; }
a { color: var(--run); }
h1 { font-size: 18px; margin: .2rem 0 .8rem; word-break: break-all; }
h2 { font-size: 15px; margin: 1.2rem 0 .5rem; }
form.filters { display: flex; flex-wrap: wrap; gap: .6rem; align-items: end; margin-bottom: .8rem; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
input, select, button { font: inherit; padding: .3rem .5rem; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
button { cursor: pointer; }
button.danger { border-color: var(--bad); color: var(--bad); }
.counts { display: flex; gap: .4rem; flex-wrap: wrap; margin-bottom: .8rem; }
.count { color: var(--fg); text-decoration: none; padding: .2rem .6rem; border-radius: 999px; background: #fff; border: 1px solid var(--line); font-size: 12px; }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.id { word-break: break-all; }
.status { display: inline-block; padding: 0 .5rem; border-radius: 999px; font-size: 12px; color: #fff; background: var(--gray); }
.status.completed, .outcome.ok { background: var(--ok); }
.status.failed, .status.dead, .outcome.failed { background: var(--bad); }
.status.running { background: var(--run); }
.status.pending { background: var(--pend); }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0 0 .8rem; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; word-break: break-all; }
.actions { display: flex; gap: .5rem; margin-bottom: .8rem; }
ol.timeline { list-style: none; padding: 0; margin: 0; background: #fff; border: 1px solid var(--line); }
li.step { padding: .45rem .6rem; border-bottom: 1px solid var(--line); }
.steprow { display: grid; grid-template-columns: 14rem 5rem 1fr 5.5rem; gap: .6rem; align-items: center; }
.key { font-family: ui-monospace, monospace; word-break: break-all; }
.outcome { display: inline-block; padding: 0 .4rem; border-radius: 3px; color: #fff; font-size: 12px; text-align: center; }
.track { position: relative; height: 12px; background: var(--bg); border-radius: 3px; }
.bar { position: absolute; top: 0; height: 12px; min-width: 2px; border-radius: 3px; background: var(--ok); }
.bar.failed { background: var(--bad); }
.duration { text-align: right; font-variant-numeric: tabular-nums; color: var(--muted); }
.tag { margin-left: .4rem; font-size: 11px; color: var(--muted); border: 1px solid var(--line); border-radius: 3px; padding: 0 .3rem; }
details { margin-top: .3rem; }
summary { cursor: pointer; color: var(--muted); font-size: 12px; }
pre { margin: .3rem 0 0; padding: .5rem; background: var(--bg); border-radius: 4px; overflow: auto; max-height: 16rem; white-space: pre-wrap; word-break: break-all; }
.warning { color: var(--pend); font-size: 12px; }
.error { color: var(--bad); }
.empty { color: var(--muted); padding: 1rem; }
`

const client = String.raw`
"use strict"
const STATUSES = ["pending", "running", "completed", "failed", "cancelled", "dead"]
const POLL_MS = 1500
const app = document.getElementById("app")

function el(tag, attrs, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value))
  }
  for (const child of children) {
    if (child === undefined || child === null) continue
    node.append(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child)
  }
  return node
}

const when = (iso) => iso ? new Date(iso).toLocaleString() : "–"
const ms = (n) => n === undefined || n === null ? "–" : n < 1000 ? n + " ms" : (n / 1000).toFixed(2) + " s"
const pretty = (value) => value === undefined ? "undefined" : JSON.stringify(value, null, 2)
const badge = (status) => el("span", { class: "status " + status }, status)

async function getJson(url) {
  const response = await fetch(url, { headers: { accept: "application/json" } })
  const body = await response.json()
  if (!response.ok) throw new Error(body.error || response.statusText)
  return body
}

function live(text) {
  document.getElementById("live").textContent = text
}

// The whole page becomes the error; the next successful poll renders the page again.
const pageError = (message) => app.replaceChildren(el("p", { class: "error" }, message))

// Polls load() every POLL_MS and re-renders only when the JSON changed, so open <details> stay open.
// showError(message) shows a failed poll, showError(null) clears it. Returns a function that polls at
// once (after a filter change).
function poll(load, render, showError = pageError) {
  let last = ""
  let failed = false
  let timer
  const tick = async () => {
    clearTimeout(timer)
    try {
      const data = await load()
      const text = JSON.stringify(data)
      if (failed) {
        failed = false
        if (showError !== pageError) showError(null)
      }
      if (text !== last) {
        last = text
        render(data)
      }
      live("updated " + new Date().toLocaleTimeString())
    } catch (error) {
      live("")
      failed = true
      showError(String(error.message || error))
      last = ""
    }
    clearTimeout(timer)
    timer = setTimeout(tick, POLL_MS)
  }
  tick()
  return tick
}

// ---------------------------------------------------------------- list page

const FILTERS = ["status", "workflow", "prefix", "since", "limit"]

function filterForm(params, onChange) {
  const form = el("form", { class: "filters" })
  const status = el("select", { name: "status" }, el("option", { value: "" }, "any status"))
  for (const s of STATUSES) status.append(el("option", { value: s }, s))
  status.value = params.get("status") || ""
  form.append(el("label", {}, "Status", status))
  const fields = [["workflow", "Workflow", "name"], ["prefix", "Id prefix", "order-"], ["since", "Since", "2h, 7d, 2026-01-31"], ["limit", "Limit", "100"]]
  for (const [name, label, placeholder] of fields) {
    const input = el("input", { name, placeholder, size: name === "limit" ? 5 : 14 })
    input.value = params.get(name) || ""
    form.append(el("label", {}, label, input))
  }
  form.addEventListener("change", onChange)
  form.addEventListener("submit", (event) => { event.preventDefault(); onChange() })
  return form
}

function listPage() {
  document.title = "Runs · effect-resume"
  const params = new URLSearchParams(location.search)
  const counts = el("div", { class: "counts" })
  const table = el("div", {})
  let query = ""
  let now = () => {}
  const form = filterForm(params, () => {
    const next = new URLSearchParams()
    for (const name of FILTERS) {
      const value = form.elements[name].value.trim()
      if (value !== "") next.set(name, value)
    }
    query = next.toString()
    history.replaceState(null, "", query === "" ? "/" : "/?" + query)
    now()
  })
  query = new URLSearchParams([...params].filter(([name]) => FILTERS.includes(name))).toString()
  // a failed poll (a bad filter, the server gone) shows here and keeps the form, so it can be corrected
  const error = el("p", { class: "error", hidden: "" })
  app.replaceChildren(el("h1", {}, "Runs"), form, error, counts, table)
  const showError = (message) => {
    error.textContent = message || ""
    error.hidden = message === null
    if (message !== null) table.replaceChildren()
  }
  now = poll(() => getJson("/api/runs?" + query).then((data) => ({ query, data })), ({ data }) => {
    counts.replaceChildren(...STATUSES.map((s) => {
      const only = new URLSearchParams(query)
      only.set("status", s)
      return el("a", { class: "count", "data-status": s, href: "/?" + only }, s + " ", el("b", {}, data.counts[s] || 0))
    }))
    table.replaceChildren(runTable(data.runs, data.limit))
  }, showError)
}

function runTable(runs, limit) {
  if (runs.length === 0) return el("p", { class: "empty" }, "No runs match.")
  const head = el("tr", {}, ...["Run", "Workflow", "Status", "Steps", "Attempts", "Updated"].map((h) => el("th", {}, h)))
  const rows = runs.map((run) =>
    el("tr", { class: "run", "data-id": run.id, "data-status": run.status },
      el("td", { class: "id" }, el("a", { href: "/run?id=" + encodeURIComponent(run.id) }, run.id)),
      el("td", {}, run.workflow || "–", run.version ? el("span", { class: "tag" }, run.version) : null),
      el("td", {}, badge(run.status)),
      el("td", {}, run.steps),
      el("td", {}, run.attempts),
      el("td", {}, when(run.updatedAt))))
  const note = runs.length >= limit ? el("p", { class: "empty" }, "Showing the first " + limit + " runs; narrow the filters or raise the limit.") : null
  return el("div", {}, el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows)), note)
}

// ---------------------------------------------------------------- run page

const open = new Set()

function expandable(id, label, value) {
  const details = el("details", { "data-part": id }, el("summary", {}, label), el("pre", {}, pretty(value)))
  if (open.has(id)) details.open = true
  details.addEventListener("toggle", () => details.open ? open.add(id) : open.delete(id))
  return details
}

function actions(run, refresh) {
  if (!WRITES) return null
  const box = el("div", { class: "actions" })
  const act = (action) => async () => {
    if (!confirm(action + " run " + run.id + "?")) return
    const response = await fetch("/api/" + action + "?id=" + encodeURIComponent(run.id), { method: "POST", headers: { "x-inspector": "1" } })
    if (!response.ok) alert((await response.json()).error || action + " failed")
    refresh()
  }
  if (run.status === "pending" || run.status === "running") {
    const button = el("button", { class: "danger", "data-action": "cancel" }, "Cancel run")
    button.addEventListener("click", act("cancel"))
    box.append(button)
  }
  if (run.status === "failed" || run.status === "dead") {
    const button = el("button", { "data-action": "retry" }, "Retry run")
    button.addEventListener("click", act("retry"))
    box.append(button)
  }
  return box.childElementCount === 0 ? null : box
}

function timeline(run, steps) {
  if (steps.length === 0) return el("p", { class: "empty" }, "No steps recorded.")
  const timed = steps.filter((s) => s.startedAt && s.completedAt)
  const start = Math.min(...timed.map((s) => Date.parse(s.startedAt)))
  const end = Math.max(...timed.map((s) => Date.parse(s.completedAt)))
  const span = Math.max(end - start, 1)
  return el("ol", { class: "timeline" }, ...steps.map((step) => {
    const result = step.entry.result
    const outcome = result.ok ? "ok" : "failed"
    const track = el("div", { class: "track" })
    if (step.startedAt && step.completedAt) {
      const bar = el("div", { class: "bar " + outcome })
      bar.style.left = ((Date.parse(step.startedAt) - start) / span * 100).toFixed(2) + "%"
      bar.style.width = (Math.max(step.durationMs, 0) / span * 100).toFixed(2) + "%"
      track.append(bar)
    }
    const tags = []
    // a step written by an earlier attempt was replayed from the store by the later ones
    if (step.attempt !== undefined && step.attempt !== null && step.attempt < run.attempts) {
      tags.push(el("span", { class: "tag", "data-tag": "replayed", title: "recorded by attempt " + step.attempt + ", replayed since" }, "replayed"))
    }
    if (!step.startedAt) tags.push(el("span", { class: "tag", "data-tag": "saved" }, "saved"))
    const item = el("li", { class: "step", "data-key": step.key, "data-outcome": outcome },
      el("div", { class: "steprow" },
        el("span", { class: "key" }, step.key, ...tags),
        el("span", { class: "outcome " + outcome }, outcome),
        track,
        el("span", { class: "duration", "data-ms": step.durationMs }, ms(step.durationMs))))
    item.append(result.ok
      ? expandable("value:" + step.key, "value", result.value)
      : expandable("error:" + step.key, "error", { error: result.error, cause: result.cause }))
    for (const w of step.entry.warnings || []) {
      item.append(el("div", { class: "warning" }, "⚠ lossy value at " + w.path + " (" + w.reason + ")"))
    }
    return item
  }))
}

function runPage() {
  const id = new URLSearchParams(location.search).get("id") || ""
  document.title = id + " · effect-resume"
  let refresh = () => {}
  poll(() => getJson("/api/run?id=" + encodeURIComponent(id)), ({ run, steps }) => {
    const meta = el("dl", { class: "meta" })
    const rows = [["Workflow", (run.workflow || "–") + (run.version ? " @ " + run.version : "")], ["Attempts", run.attempts],
      ["Created", when(run.createdAt)], ["Updated", when(run.updatedAt)], ["Completed", when(run.completedAt)]]
    for (const [name, value] of rows) meta.append(el("dt", {}, name), el("dd", {}, value))
    const parts = [el("p", {}, el("a", { href: "/" }, "← all runs")), el("h1", {}, run.id, " ", badge(run.status)), meta, actions(run, () => refresh())]
    if (run.input !== undefined) parts.push(expandable("input", "input", run.input))
    if (run.output !== undefined) parts.push(expandable("output", run.output.ok ? "result" : "error", run.output))
    parts.push(el("h2", {}, "Steps"), timeline(run, steps))
    app.replaceChildren(...parts.filter((p) => p !== null))
  })
  refresh = () => location.reload()
}

if (location.pathname === "/run") runPage()
else listPage()
`

/** The client script; `allowWrites` decides whether the cancel and retry buttons are drawn. */
export const script = (allowWrites: boolean): string => `const WRITES = ${allowWrites ? "true" : "false"}\n${client}`
