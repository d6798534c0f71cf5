// Module hook for bench/codec.ts: importing src/ with `?codec=<variant>` loads a separate copy of the
// src/ module graph whose internal/codec.ts is bench/codec/direct.ts for `direct` (and the library's own for
// `cached`), so both variants run in one process.
const src = new URL("../../src/", import.meta.url).href
const variants = new URL("./", import.meta.url).href

export const resolve = async (specifier, context, next) => {
  const resolved = await next(specifier, context)
  const variant = context.parentURL?.startsWith("file:") ? new URL(context.parentURL).searchParams.get("codec") : null
  if (variant === null || !resolved.url.startsWith(src)) return resolved
  const url = new URL(resolved.url)
  if (url.pathname.endsWith("/internal/codec.ts") && variant !== "cached") {
    return { ...resolved, url: `${variants}${variant}.ts?codec=${variant}` }
  }
  url.searchParams.set("codec", variant)
  return { ...resolved, url: url.href }
}
